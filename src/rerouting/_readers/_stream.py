"""Streaming reads of tidy tables: row-level accounting without materialising the rows.

:func:`rerouting._io.scan_trade` uses this. Each file takes one of two routes:

* **canonical**: a Parquet file whose columns already have the canonical names and
  types. The canonical rules (:class:`Recipe`) check every row, on the distinct values
  of a column where a rule reads one; if every row passes, the file is handed on as a
  plain Parquet scan (so later filters reach the Parquet reader and skip row groups).
* **staged**: any other tidy file, or a canonical file with a failing row. The rows
  go through the same staging as :func:`rerouting._io.read_trade` (country names,
  odd-length codes, text periods ...), lazily.

Either way the accounting is one streaming aggregation per route, counted by the
same drop reasons as ``read_trade``. The rules that compare rows with each other
(parent commodity rows, exact duplicates, merging split rows) need every record at
once and are not applied; the ingest report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from rerouting import _countries
from rerouting._ingest import FileReport, IngestReport
from rerouting._readers._common import REASONS, unmapped_note
from rerouting.schema import (
    CANONICAL_SCHEMA,
    FLOW_DTYPE,
    FLOWS,
    FREQUENCIES,
    FREQUENCY_DTYPE,
    REQUIRED_COLUMNS,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "PATH_COLUMN",
    "FileCounts",
    "Recipe",
    "canonical_recipe",
    "staged_counts",
    "staged_examples",
    "staged_kept",
    "stream_report",
]

_TEXT: Final = (pl.String, pl.Categorical, pl.Enum)
_OPTIONAL_TEXT: Final = ("quantity_unit", "hs_vintage", "source")
GROUP_RULES_NOTE: Final = (
    "streamed read: each row was checked on its own; parent commodity rows and exact "
    "duplicates were not looked for (read_trade does), and rows that share a record key "
    "are summed by the analysis"
)


def _is_text(dtype: pl.DataType) -> bool:
    return isinstance(dtype, _TEXT)


def _eligible(schema: pl.Schema) -> bool:
    """Whether the columns already have the canonical names and compatible types."""
    if any(c not in schema for c in REQUIRED_COLUMNS):
        return False
    period = schema["period"]
    if not (period == pl.Date() or isinstance(period, pl.Datetime)):
        return False
    if not all(_is_text(schema[c]) for c in ("reporter", "partner", "flow", "hs")):
        return False
    if not schema["value"].is_numeric():
        return False
    for col in ("net_weight_kg", "quantity"):
        if col in schema and not schema[col].is_numeric():
            return False
    return all(
        _is_text(schema[c]) for c in ("frequency", "currency", *_OPTIONAL_TEXT) if c in schema
    )


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    return col if dtype == pl.String() else col.cast(pl.String)


def _stripped(name: str, dtype: pl.DataType) -> pl.Expr:
    s = _text(name, dtype).str.strip_chars()
    return pl.when(s != "").then(s)


#: Column holding each row's file in a multi-file scan.
PATH_COLUMN: Final = "_path"


#: One term of a row rule: the raw columns it reads, and the per-row expression.
Term = tuple[tuple[str, ...], pl.Expr]


@dataclass(frozen=True)
class Recipe:
    """How to check and read Parquet files that share one canonical-layout schema.

    Attributes:
        oks: The canonical row rules, each a term with the raw columns it reads: a
            term over one column (or only dates and enums) can be checked on the
            columns' distinct values instead of on every row.
        sames: The same for "the column is already in its canonical form" (the period
            truncated, text stripped, no null to fill).
        exprs: The canonical columns, made from the raw ones.
        passthrough: The canonical columns taken as they are, if every present
            column already has its canonical dtype; valid only when :attr:`same` holds
            for every row.
    """

    oks: tuple[Term, ...]
    sames: tuple[Term, ...]
    exprs: list[pl.Expr]
    passthrough: list[pl.Expr] | None

    @property
    def ok(self) -> pl.Expr:
        """Per raw row: it passes every canonical row rule."""
        return pl.all_horizontal([t for _, t in self.oks]).fill_null(False)

    @property
    def same(self) -> pl.Expr:
        """Per raw row: every column is already in its canonical form."""
        return pl.all_horizontal([t for _, t in self.sames]).fill_null(False)

    @property
    def checks(self) -> tuple[Term, ...]:
        """Every term of :attr:`ok` and :attr:`same`."""
        return (*self.oks, *self.sames)

    def counts(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        """Per file (``raw`` carries :data:`PATH_COLUMN`): rows, rows failing the
        rules, rows not as-is, TOTAL rows and value, as plain sums (streaming)."""
        ok = pl.col("_ok")
        return (
            raw.select(
                PATH_COLUMN,
                self.ok.alias("_ok"),
                self.same.alias("_same"),
                (pl.col("hs").cast(pl.String) == "TOTAL").fill_null(False).alias("_total"),
                pl.col("value").cast(pl.Float64),
            )
            .group_by(PATH_COLUMN)
            .agg(
                pl.len().alias("n"),
                (~ok).sum().alias("bad"),
                (~pl.col("_same")).sum().alias("changed"),
                (ok & pl.col("_total")).sum().alias("total"),
                pl.when(ok).then("value").sum().alias("value"),
            )
        )


def canonical_recipe(schema: pl.Schema, *, currency: str | None) -> Recipe | None:
    """The canonical recipe for Parquet files of ``schema``, or ``None`` when they
    need staging."""
    if not _eligible(schema):
        return None
    iso3 = sorted(_countries.ISO3_CODES)
    has = schema.__contains__
    freq = _text("frequency", schema["frequency"]) if has("frequency") else pl.lit("M")
    date = pl.col("period").cast(pl.Date) if schema["period"] != pl.Date() else pl.col("period")
    # Staging truncates dates to the month (the year when annual): so does this route.
    if has("frequency"):
        period = (
            pl.when(freq == "A").then(date.dt.truncate("1y")).otherwise(date.dt.truncate("1mo"))
        )
    else:
        period = date.dt.truncate("1mo")
    reporter, partner = (_text(c, schema[c]) for c in ("reporter", "partner"))
    hs = _text("hs", schema["hs"])
    flow = _text("flow", schema["flow"])
    value = pl.col("value").cast(pl.Float64)
    freq_cols = ("frequency",) if has("frequency") else ()
    # `oks` are the rules, `sames` say that nothing needs changing.
    oks: list[Term] = [
        (("period",), date.is_not_null()),
        (freq_cols, freq.is_in(list(FREQUENCIES))),
        (("flow",), flow.is_in(list(FLOWS))),
        (("reporter",), reporter.is_in(iso3)),
        (("partner",), partner.is_in(iso3)),
        (("reporter", "partner"), reporter != partner),
        (("hs",), hs.str.contains(r"^(?:\d\d){1,5}$") | (hs == "TOTAL")),
        (("value",), value.is_finite() & (value >= 0)),
    ]
    sames: list[Term] = [(("period", *freq_cols), period == date)]
    literal: dict[str, pl.Expr] = {}
    if currency is not None:
        cur: pl.Expr = pl.lit(currency.upper())
        literal["currency"] = cur
    elif has("currency"):
        raw_cur = _text("currency", schema["currency"])
        cur = raw_cur.fill_null("USD")
        oks.append((("currency",), raw_cur.is_null() | raw_cur.str.contains(r"^[A-Z]{3}$")))
        sames.append((("currency",), raw_cur.is_not_null()))
    else:
        cur = pl.lit("USD")
        literal["currency"] = cur

    def opt(name: str) -> pl.Expr:
        if not has(name):
            return pl.lit(None, CANONICAL_SCHEMA[name])
        if name in _OPTIONAL_TEXT:
            return _stripped(name, schema[name])
        return pl.col(name).cast(pl.Float64)

    for name in _OPTIONAL_TEXT:
        if has(name):
            raw_text = _text(name, schema[name])
            stripped = (raw_text == raw_text.str.strip_chars()) & (raw_text != "")
            sames.append(((name,), raw_text.is_null() | stripped))
    exprs = {
        "period": period,
        "frequency": freq.cast(FREQUENCY_DTYPE),
        "reporter": reporter,
        "partner": partner,
        "flow": flow.cast(FLOW_DTYPE),
        "hs": hs,
        "value": value,
        "currency": cur,
        **{c: opt(c) for c in ("net_weight_kg", "quantity", *_OPTIONAL_TEXT)},
    }
    if has("source"):
        exprs["source"] = exprs["source"].fill_null("tidy")
        sames.append((("source",), pl.col("source").is_not_null()))
    else:
        exprs["source"] = literal["source"] = pl.lit("tidy")
    if not has("frequency"):
        literal["frequency"] = pl.lit("M")
    canon = [e.cast(CANONICAL_SCHEMA[c]).alias(c) for c, e in exprs.items()]
    passthrough = None
    if all(schema[c] == t for c, t in CANONICAL_SCHEMA.items() if c in schema):
        # Columns taken as they are let later filters reach the Parquet reader.
        passthrough = [
            (
                literal[c].cast(t) if c in literal else pl.col(c) if has(c) else pl.lit(None, t)
            ).alias(c)
            for c, t in CANONICAL_SCHEMA.items()
        ]
    return Recipe(tuple(oks), tuple(sames), canon, passthrough)


def staged_counts(staged: pl.LazyFrame) -> pl.LazyFrame:
    """Per file and drop code: rows, usable value, padded codes, TOTAL rows."""
    usable = (pl.col("value").is_finite() & (pl.col("value") >= 0)).fill_null(False)
    # Plain sums only: they keep the aggregation on the streaming engine.
    return staged.group_by("_file", "_drop").agg(
        pl.len().alias("n"),
        pl.when(usable).then("value").sum().alias("value"),
        pl.col("_padded").sum().alias("padded"),
        pl.col("_total_code").sum().alias("total"),
    )


def staged_examples(staged: pl.LazyFrame) -> pl.LazyFrame:
    """Up to five raw values per drop code, from the dropped rows only."""
    return (
        staged.filter(pl.col("_drop") != 0)
        .group_by("_drop")
        .agg(
            pl.col("_example")
            .drop_nulls()
            .str.strip_chars()
            .str.slice(0, 60)
            .unique(maintain_order=True)
            .head(5)
            .alias("examples")
        )
    )


def staged_kept(staged: pl.LazyFrame, totals_dropped: Sequence[int]) -> pl.LazyFrame:
    """The kept rows of staged files, canonical columns only."""
    keep = pl.col("_drop") == 0
    if totals_dropped:
        keep &= ~(pl.col("_total_code") & pl.col("_file").is_in(list(totals_dropped)))
    return staged.filter(keep).select([pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()])


@dataclass(frozen=True)
class FileCounts:
    """What the accounting pass found in one file.

    Attributes:
        path: The file.
        route: ``canonical`` or ``staged``.
        rows: Canonical: one dict (``n``, ``total``, ``value``); staged: one dict per
            drop code (``_drop``, ``n``, ``value``, ``padded``, ``total``).
    """

    path: str
    route: str
    rows: Sequence[dict[str, Any]]


def stream_report(
    files: Sequence[FileCounts], notes: Sequence[str], examples: dict[str, tuple[str, ...]]
) -> tuple[IngestReport, list[int]]:
    """Build the ingest report from the per-file counts.

    Returns:
        The report, and the positions (in ``files``) of the files whose ``TOTAL``
        rows are dropped because the file also holds product rows.
    """
    reports: list[FileReport] = []
    totals_dropped: list[int] = []
    padded = 0
    value_read = 0.0
    unmapped: dict[str, tuple[int, float]] = {}
    for pos, fc in enumerate(files):
        dropped: dict[str, int] = {}
        n = kept_n = kept_total = 0
        for r in fc.rows:
            code = int(r.get("_drop", 0))
            count = int(r["n"])
            n += count
            value_read += float(r["value"] or 0.0)
            if code == 0:
                kept_n += count
                kept_total += int(r["total"])
                padded += int(r.get("padded", 0))
                continue
            reason = REASONS[code - 1]
            dropped[reason] = dropped.get(reason, 0) + count
            if reason in ("unmapped_reporter", "unmapped_partner"):
                k, v = unmapped.get(reason, (0, 0.0))
                unmapped[reason] = (k + count, v + float(r["value"] or 0.0))
        if kept_total and kept_n > kept_total:
            dropped["commodity_total"] = kept_total
            totals_dropped.append(pos)
        fmt = "tidy (canonical Parquet)" if fc.route == "canonical" else "tidy"
        kept = n - sum(dropped.values())
        reports.append(
            FileReport(path=fc.path, format=fmt, rows_read=n, rows_kept=kept, dropped=dropped)
        )
    all_notes = list(notes)
    if padded:
        all_notes.append(
            f"{padded:,} product code(s) had an odd number of digits and got their leading "
            "zero back (e.g. 10121 -> 010121)"
        )
    for reason, (k, v) in sorted(unmapped.items()):
        share = f"{v / value_read:.1%}" if value_read > 0 else "n/a"
        all_notes.append(unmapped_note(k, reason, share))
    all_notes.append(GROUP_RULES_NOTE)
    dropped_total: dict[str, int] = {}
    for fr in reports:
        for reason, k in fr.dropped.items():
            dropped_total[reason] = dropped_total.get(reason, 0) + k
    kept_all = sum(fr.rows_kept for fr in reports)
    report = IngestReport(
        rows_read=sum(fr.rows_read for fr in reports),
        rows_kept=kept_all,
        records_out=kept_all,
        dropped=dropped_total,
        files=tuple(reports),
        notes=tuple(dict.fromkeys(all_notes)),
        examples=examples,
    )
    return report, totals_dropped
