"""Row accounting for everything that is read.

Every input row is either kept or dropped for a named reason, and the counts
always add up: ``rows_read == rows_kept + sum(dropped.values())``. Rows that are
kept may still be merged (e.g. Comtrade rows split by mode of transport are
summed), so ``records_out <= rows_kept``.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DROP_REASONS", "FileReport", "IngestReport"]

#: Reasons a row may be dropped, with the sentence shown to users.
DROP_REASONS: Final[dict[str, str]] = {
    "unmapped_reporter": "reporter code or name maps to no country",
    "unmapped_partner": "partner code or name maps to no country",
    "aggregate_partner": "partner is an aggregate (World, Areas nes, a bloc total), not a country",
    "aggregate_reporter": "reporter is an aggregate (EU27 total, World), not a country",
    "non_numeric_value": "value is missing or not a number",
    "negative_value": "value is negative",
    "non_finite_value": "value is infinite or NaN",
    "bad_period": "period cannot be read as a month or a year",
    "bad_hs_code": "product code is not 2-10 digits",
    "parent_commodity_row": "commodity row is the parent (total) of more detailed rows in the file",
    "commodity_total": "commodity code is a grand total (TOTAL, AG2 summary ...)",
    "unsupported_flow": "flow is not import, export, re-import or re-export",
    "duplicate": "exact duplicate of another record",
    "unsupported_indicator": "indicator is not a trade value (e.g. a quantity-only row)",
    "not_a_country_pair": "reporter equals partner",
    "filtered_out": "outside the scenario's countries, products or periods",
    "non_finite_quantity": "net weight or quantity is infinite or NaN",
    "negative_quantity": "net weight or quantity is negative",
    "bad_currency": "currency is not an ISO 4217 code",
    "empty_row": "row is empty (a blank line, or separators only)",
}


class FileReport(BaseModel):
    """Accounting for one input file."""

    model_config = ConfigDict(frozen=True)

    path: str
    format: str
    rows_read: int
    rows_kept: int
    dropped: dict[str, int] = Field(default_factory=dict)


class IngestReport(BaseModel):
    """Rows read, kept and dropped (by reason), per file and in total.

    Attributes:
        rows_read: Data rows read from every file (headers excluded).
        rows_kept: Rows that reached the canonical table (possibly merged).
        records_out: Canonical records after merging split rows.
        dropped: Row count by drop reason (keys of ``DROP_REASONS``).
        files: One ``FileReport`` per file.
        notes: Human-readable remarks (assumptions made, conversions applied).
        examples: Up to a few offending values per drop reason, to show users.
    """

    model_config = ConfigDict(frozen=True)

    rows_read: int = 0
    rows_kept: int = 0
    records_out: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    files: tuple[FileReport, ...] = ()
    notes: tuple[str, ...] = ()
    examples: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _counts_add_up(self) -> IngestReport:
        total = self.rows_kept + sum(self.dropped.values())
        if total != self.rows_read:
            msg = (
                f"ingest accounting is broken: read {self.rows_read} rows but kept "
                f"{self.rows_kept} and dropped {sum(self.dropped.values())}"
            )
            raise ValueError(msg)
        return self

    @property
    def rows_dropped(self) -> int:
        """Total rows dropped, all reasons together."""
        return sum(self.dropped.values())

    def __add__(self, other: IngestReport) -> IngestReport:
        """Combine the reports of two reads."""
        dropped = Counter(self.dropped)
        dropped.update(other.dropped)
        examples = {k: tuple(v) for k, v in self.examples.items()}
        for k, v in other.examples.items():
            examples[k] = (examples.get(k, ()) + tuple(v))[:5]
        return IngestReport(
            rows_read=self.rows_read + other.rows_read,
            rows_kept=self.rows_kept + other.rows_kept,
            records_out=self.records_out + other.records_out,
            dropped=dict(dropped),
            files=self.files + other.files,
            notes=self.notes + tuple(n for n in other.notes if n not in self.notes),
            examples=examples,
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per drop reason (plus ``kept``), with counts and descriptions."""
        rows = [("kept", self.rows_kept, "kept in the canonical table")]
        rows += [(k, v, DROP_REASONS.get(k, k)) for k, v in sorted(self.dropped.items()) if v]
        return pl.DataFrame(rows, schema=["reason", "rows", "description"], orient="row")

    def summary(self) -> str:
        """A few plain lines for terminals and logs."""
        lines = [
            f"read {self.rows_read:,} rows from {len(self.files)} file(s); "
            f"kept {self.rows_kept:,} ({self.records_out:,} records); "
            f"dropped {self.rows_dropped:,}"
        ]
        for reason, n in sorted(self.dropped.items(), key=lambda kv: -kv[1]):
            if n:
                example = self.examples.get(reason)
                shown = f" e.g. {', '.join(example[:3])}" if example else ""
                lines.append(f"  - {n:,} {DROP_REASONS.get(reason, reason)}{shown}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)
