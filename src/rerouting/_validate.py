"""Check that a frame really is a canonical trade table.

:func:`validate_trade` runs named rules (in the spirit of dataframely) over a
frame that claims to follow :data:`rerouting.schema.CANONICAL_SCHEMA` and
returns a :class:`ValidationReport` with a failure count and example values per
rule. Frames made by :func:`rerouting.read_trade` pass; hand-made or
third-party frames often do not::

    report = rr.validate_trade(frame)
    report.ok                 # False
    report.to_frame()         # one row per rule
    report.raise_for_errors() # SchemaError naming the first failing column/row/value

All rules run in one pass over the data (one ``collect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import polars as pl

from rerouting._countries import AGGREGATE_CODES, ISO3_CODES
from rerouting._exceptions import SchemaError
from rerouting._frames import FrameLike, frame_of
from rerouting.schema import CANONICAL_SCHEMA, RECORD_KEY, REQUIRED_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["RULES", "RuleResult", "ValidationReport", "validate_trade"]

#: Rule name -> what it checks.
RULES: Final[dict[str, str]] = {
    "required_columns": "every required canonical column is present",
    "dtypes": "each canonical column has the canonical dtype",
    "required_not_null": "required columns have no nulls",
    "period_alignment": "period is the 1st of the month (M) or of January (A)",
    "iso3_format": "reporter and partner are three upper-case letters",
    "aggregate_country": "reporter and partner are countries, not World/EU/areas nes",
    "unknown_country": "reporter and partner are known ISO 3166 alpha-3 codes",
    "not_a_country_pair": "reporter differs from partner",
    "hs_format": "hs is 2-10 digits (or TOTAL for all-goods records)",
    "negative_value": "value, net_weight_kg and quantity are not negative",
    "non_finite_value": "value, net_weight_kg and quantity are finite",
    "currency_format": "currency is a three-letter ISO 4217 code",
    "duplicate_records": "one record per period, reporter, partner, flow, hs, currency, "
    "hs_vintage and source",
}


@dataclass(frozen=True)
class RuleResult:
    """Outcome of one rule.

    Attributes:
        rule: Rule name (a key of :data:`RULES`).
        column: The column checked (``None`` for frame-level rules).
        failures: Number of failing rows (or columns, for schema rules).
        examples: Up to five offending values, as text.
        first_row: 0-based index of the first failing row, if any.
    """

    rule: str
    column: str | None
    failures: int
    examples: tuple[str, ...] = ()
    first_row: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the rule passed."""
        return self.failures == 0


@dataclass(frozen=True)
class ValidationReport:
    """Results of :func:`validate_trade`, one entry per rule and column.

    Attributes:
        results: Every rule result, passing ones included.
        rows: Number of rows checked.
    """

    results: tuple[RuleResult, ...]
    rows: int

    @property
    def ok(self) -> bool:
        """True when every rule passed."""
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """The failing rule results only."""
        return tuple(r for r in self.results if not r.ok)

    def to_frame(self) -> pl.DataFrame:
        """One row per rule result: rule, column, failures, examples, description."""
        return pl.DataFrame(
            {
                "rule": [r.rule for r in self.results],
                "column": [r.column for r in self.results],
                "failures": [r.failures for r in self.results],
                "examples": [list(r.examples) for r in self.results],
                "description": [RULES[r.rule] for r in self.results],
            },
            schema={
                "rule": pl.String,
                "column": pl.String,
                "failures": pl.Int64,
                "examples": pl.List(pl.String),
                "description": pl.String,
            },
        )

    def raise_for_errors(self) -> None:
        """Raise :class:`~rerouting.SchemaError` for the first failing rule.

        Raises:
            SchemaError: Naming the rule, column, first failing row and value.
        """
        bad = self.failures
        if not bad:
            return
        first = bad[0]
        others = f" ({len(bad) - 1} more failing rule(s))" if len(bad) > 1 else ""
        raise SchemaError(
            f"canonical trade table fails rule {first.rule!r}: {RULES[first.rule]}; "
            f"{first.failures:,} failure(s){others}",
            column=first.column,
            row=None if first.first_row is None else first.first_row + 1,
            value=first.examples[0] if first.examples else None,
            hint="read raw files with rerouting.read_trade(), which cleans and accounts for "
            "every row; see docs/data-model.md for the canonical table",
        )

    def __str__(self) -> str:
        if self.ok:
            return f"canonical trade table OK ({self.rows:,} rows, {len(self.results)} checks)"
        lines = [f"canonical trade table has problems ({self.rows:,} rows):"]
        for r in self.failures:
            shown = f" e.g. {', '.join(r.examples[:3])}" if r.examples else ""
            where = f" [{r.column}]" if r.column else ""
            lines.append(f"  - {r.rule}{where}: {r.failures:,}{shown}")
        return "\n".join(lines)


def _dtype_ok(actual: pl.DataType, expected: pl.DataType) -> bool:
    if isinstance(expected, pl.Enum):
        return isinstance(actual, pl.Enum) and list(actual.categories) == list(expected.categories)
    return bool(actual == expected)


def _duplicated(df: pl.DataFrame, key: Sequence[str]) -> pl.Expr:
    """Rows whose record key repeats, found by sorting 64-bit hashes first."""
    h = df.select(pl.struct(list(key)).hash()).to_series()
    s = h.sort()
    repeated = s.filter(s == s.shift(1))
    if repeated.len() == 0:
        return pl.lit(False)
    cand = h.is_in(repeated.unique().implode())
    exact = pl.repeat(False, df.height, eager=True)
    sub_idx = cand.arg_true()
    dup = df[sub_idx].select(pl.struct(list(key)).is_duplicated()).to_series()
    exact = exact.scatter(sub_idx.filter(dup), True)
    return pl.lit(exact)


def validate_trade(frame: FrameLike) -> ValidationReport:
    """Validate a frame that claims to be a canonical trade table.

    Args:
        frame: Eager or lazy frame.

    Returns:
        A :class:`ValidationReport`; nothing is raised for data problems (call
        :meth:`ValidationReport.raise_for_errors` for that).
    """
    lf = frame_of(frame).lazy()
    schema = lf.collect_schema()
    results: list[RuleResult] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in schema]
    results.append(RuleResult("required_columns", None, len(missing), tuple(missing), None))
    wrong = {
        c: str(schema[c])
        for c, t in CANONICAL_SCHEMA.items()
        if c in schema and not _dtype_ok(schema[c], t)
    }
    for c in CANONICAL_SCHEMA:
        if c in schema:
            shown = (f"{wrong[c]} (expected {CANONICAL_SCHEMA[c]})",) if c in wrong else ()
            results.append(RuleResult("dtypes", c, int(c in wrong), shown))
    usable = {c for c in CANONICAL_SCHEMA if c in schema and c not in wrong}

    checks: list[tuple[str, str | None, pl.Expr, Sequence[str]]] = []

    def add(rule: str, column: str | None, failed: pl.Expr, shown: Sequence[str]) -> None:
        checks.append((rule, column, failed.fill_null(False), shown))

    for c in REQUIRED_COLUMNS:
        if c in schema:
            add("required_not_null", c, pl.col(c).is_null(), [c])
    if {"period", "frequency"} <= usable:
        p, f = pl.col("period"), pl.col("frequency")
        misaligned = (p.dt.day() != 1) | ((f == "A") & (p.dt.month() != 1))
        add("period_alignment", "period", misaligned, ["period"])
    for c in ("reporter", "partner"):
        if c in usable:
            code = pl.col(c)
            is_agg = code.is_in(sorted(AGGREGATE_CODES)) | code.str.starts_with("_")
            add("iso3_format", c, ~code.str.contains(r"^[A-Z]{3}$") & ~is_agg, [c])
            add("aggregate_country", c, is_agg, [c])
            unknown = code.str.contains(r"^[A-Z]{3}$") & ~code.is_in(sorted(ISO3_CODES)) & ~is_agg
            add("unknown_country", c, unknown, [c])
    if {"reporter", "partner"} <= usable:
        add(
            "not_a_country_pair",
            "partner",
            pl.col("reporter") == pl.col("partner"),
            ["partner"],
        )
    if "hs" in usable:
        hs = pl.col("hs")
        add("hs_format", "hs", ~(hs.str.contains(r"^\d{2,10}$") | (hs == "TOTAL")), ["hs"])
    for c in ("value", "net_weight_kg", "quantity"):
        if c in usable:
            add("negative_value", c, pl.col(c) < 0, [c])
            add("non_finite_value", c, ~pl.col(c).is_finite(), [c])
    if "currency" in usable:
        add(
            "currency_format",
            "currency",
            ~pl.col("currency").str.contains(r"^[A-Z]{3}$"),
            ["currency"],
        )
    df = frame if isinstance(frame, pl.DataFrame) else lf.collect()
    key: list[str] = [c for c in RECORD_KEY if c in usable]
    if set(REQUIRED_COLUMNS) <= usable and df.height > 1:
        add("duplicate_records", None, _duplicated(df, key), key)

    idx = pl.int_range(pl.len(), dtype=pl.UInt32)
    exprs: list[pl.Expr] = [pl.len().alias("__rows")]
    for i, (_, _, failed, cols) in enumerate(checks):
        text = pl.concat_str(
            [pl.col(c).filter(failed).cast(pl.String).fill_null("null") for c in cols],
            separator="|",
        )
        exprs += [
            failed.sum().alias(f"n{i}"),
            idx.filter(failed).first().alias(f"r{i}"),
            text.unique(maintain_order=True).head(5).implode().alias(f"e{i}"),
        ]
    row = df.lazy().select(exprs).collect().row(0, named=True)
    for i, (rule, column, _, _) in enumerate(checks):
        n = int(row[f"n{i}"] or 0)
        results.append(
            RuleResult(
                rule,
                column,
                n,
                tuple(row[f"e{i}"] or ()) if n else (),
                row[f"r{i}"] if n else None,
            )
        )
    return ValidationReport(tuple(results), int(row["__rows"]))
