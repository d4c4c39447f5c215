"""Put trade data on one product nomenclature and one currency.

Two steps make records from different reporters and years comparable:

* :func:`harmonise_hs` cuts CN8/national codes to HS6 and maps every code to one HS
  vintage with the UN conversion tables (``docs/normalise.md`` gives the rule);
* :func:`convert_currency` converts values with a user-supplied rate table, and
  :func:`check_single_currency` refuses to go on when currencies are mixed.

Both take the canonical table (``rerouting.schema``), lazy or eager, and return a
``LazyFrame``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import warnings
from pathlib import Path
from typing import Final

import polars as pl

from rerouting._exceptions import (
    CodeMappingError,
    ConfigError,
    CurrencyError,
    DataQualityWarning,
    ReroutingError,
    SchemaError,
)
from rerouting._frames import FrameLike, frame_of
from rerouting._hs import (
    _ALIASES,
    VINTAGES,
    Vintage,
    concordance,
    conversion_table,
    merge_families,
    nomenclature,
    normalise_vintage,
    vintage_for_period,
)

__all__ = [
    "HarmoniseSummary",
    "check_single_currency",
    "convert_currency",
    "effective_vintage",
    "harmonise_hs",
    "harmonise_hs_with_summary",
    "read_rates",
    "to_hs6",
]

# hs_vintage labels that say "the classification in force then" rather than a revision.
_INFER_PREFIXES: Final = ("CN", "HTS", "TARIC", "NAT", "TN", "NC")
_INFER_EXACT: Final = frozenset({"", "HS", "AS REPORTED", "H"})


def _lazy(trade: FrameLike) -> pl.LazyFrame:
    frame = frame_of(trade)
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def to_hs6(expr: pl.Expr | str = "hs") -> pl.Expr:
    """Cut product codes to their first six digits (HS6); shorter codes stay as they are.

    The first six digits of a CN8 code (EU) or a national 8-10 digit tariff line are
    the HS6 code of the HS revision in force that year.
    """
    code = pl.col(expr) if isinstance(expr, str) else expr
    return code.str.slice(0, 6)


def effective_vintage(schema: pl.Schema | dict[str, pl.DataType]) -> pl.Expr:
    """Expression for the HS vintage of each row of a canonical table.

    ``hs_vintage`` is read when it names a revision (``HS2017``, ``H5``, ``HS17``);
    when it is null, ``CN``/national or plain ``HS``, the vintage in force at ``period``
    is used. Unrecognised labels are returned as they are (upper-cased) so callers can
    report them.
    """
    inferred = vintage_for_period("period") if "period" in schema else pl.lit(None, dtype=pl.String)
    if "hs_vintage" not in schema:
        return inferred
    raw = pl.col("hs_vintage").cast(pl.String).str.strip_chars().str.to_uppercase()
    known = raw.replace_strict(
        list(_ALIASES), list(_ALIASES.values()), default=None, return_dtype=pl.String
    )
    infer = (
        raw.is_null()
        | raw.is_in(pl.Series(sorted(_INFER_EXACT), dtype=pl.String).implode())
        | pl.any_horizontal(raw.str.starts_with(p) for p in _INFER_PREFIXES)
    )
    return pl.when(known.is_not_null()).then(known).when(infer).then(inferred).otherwise(raw)


@dataclasses.dataclass(frozen=True)
class _LabelVintages:
    """Row tests on the HS vintage, built from the data's distinct ``hs_vintage`` labels.

    Same answers as comparing :func:`effective_vintage` per row, but the label clean-up
    (strip, upper-case, alias lookup) runs once per distinct label instead of once per
    row, and no vintage string is built per row: tens of millions of rows cost a few
    set-membership tests (docs/performance.md). Labels not seen when this was built
    have no vintage (the caller passes every label of the data).
    """

    has_label: bool
    has_period: bool
    by_label: dict[str, str]  # label -> the revision it names
    infer: tuple[str, ...]  # labels meaning "the vintage in force at period"
    has_null: bool  # some rows have no label (their vintage comes from the period)

    @classmethod
    def of(cls, schema: pl.Schema, labels: pl.Series | None) -> _LabelVintages:
        has_label = "hs_vintage" in schema and labels is not None
        by_label: dict[str, str] = {}
        infer: list[str] = []
        if has_label:
            assert labels is not None
            resolved = (
                pl.DataFrame({"hs_vintage": labels.cast(pl.String)})
                .drop_nulls()
                .unique()
                .with_columns(v=effective_vintage({"hs_vintage": pl.String()}))
            )
            for label, v in resolved.iter_rows():
                if v is None:
                    infer.append(label)
                else:
                    by_label[label] = v
        has_null = bool(has_label and labels is not None and labels.null_count())
        return cls(has_label, "period" in schema, by_label, tuple(sorted(infer)), has_null)

    def _inferred(self) -> pl.Expr:
        if self.has_period:
            return vintage_for_period("period")
        return pl.lit(None, dtype=pl.String)

    def _by_period(self) -> pl.Expr | None:
        """Rows whose vintage comes from their period; None when there are none."""
        if not (self.infer or self.has_null):
            return None
        label = pl.col("hs_vintage").cast(pl.String)
        return label.is_null() | label.is_in(pl.Series(self.infer, dtype=pl.String).implode())

    def _fixed(self, labels: list[str]) -> pl.Expr:
        label = pl.col("hs_vintage").cast(pl.String)
        if len(labels) == 1:
            return label == labels[0]
        return label.is_in(pl.Series(labels, dtype=pl.String).implode())

    def is_vintage(self, vintage: str) -> pl.Expr:
        """Rows whose effective vintage is ``vintage`` (null or false otherwise)."""
        inferred = self._inferred() == vintage
        if not self.has_label:
            return inferred
        fixed = self._fixed([k for k, v in self.by_label.items() if v == vintage])
        by_period = self._by_period()
        return fixed if by_period is None else fixed | (by_period & inferred)

    def is_known(self) -> pl.Expr:
        """Rows that have an effective vintage."""
        dated = pl.col("period").is_not_null() if self.has_period else pl.lit(False)
        if not self.has_label:
            return dated
        fixed = self._fixed(list(self.by_label))
        by_period = self._by_period()
        return fixed if by_period is None else fixed | (by_period & dated)


@dataclasses.dataclass(frozen=True)
class HarmoniseSummary:
    """What :func:`harmonise_hs` did, in row counts.

    Attributes:
        target: The HS vintage every code was mapped to.
        rows: Rows seen.
        rows_by_vintage: Rows per source vintage (after inference from ``period``).
        rows_cut: Codes longer than six digits cut to HS6.
        rows_mapped: Six-digit codes changed by the conversion.
        rows_short: HS2/HS4 codes left as they are.
        rows_valid_in_target: Codes that do not exist in their source vintage but do in
            the target, passed through (e.g. a reporter still on HS2017 in 2022).
        rows_unknown: Codes that exist in neither vintage, left unchanged.
        rows_split: Codes split by a later revision (only when mapping older → newer),
            left unchanged.
        rows_no_vintage: Rows whose vintage cannot be told (no period, no label).
        unknown_examples: A few unknown codes as ``VINTAGE:code``.
    """

    target: str
    rows: int = 0
    rows_by_vintage: dict[str, int] = dataclasses.field(default_factory=dict)
    rows_cut: int = 0
    rows_mapped: int = 0
    rows_short: int = 0
    rows_valid_in_target: int = 0
    rows_unknown: int = 0
    rows_split: int = 0
    rows_no_vintage: int = 0
    unknown_examples: tuple[str, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        """Plain sentences for an ingest report's ``notes``."""
        by = ", ".join(f"{v} {n:,}" for v, n in self.rows_by_vintage.items())
        out = [f"HS codes harmonised to {self.target} HS6 ({by or 'no rows'})"]
        if self.rows_cut:
            out.append(f"{self.rows_cut:,} rows with 8-10 digit codes cut to HS6")
        if self.rows_mapped:
            out.append(f"{self.rows_mapped:,} rows had their HS6 code converted with the UN tables")
        if self.rows_valid_in_target:
            out.append(
                f"{self.rows_valid_in_target:,} rows had codes missing from their own "
                f"vintage but valid in {self.target}; kept as they are"
            )
        if self.rows_unknown:
            shown = ", ".join(self.unknown_examples[:5])
            out.append(
                f"{self.rows_unknown:,} rows have HS codes that exist in no shipped "
                f"vintage; kept unchanged (e.g. {shown})"
            )
        if self.rows_split:
            out.append(
                f"{self.rows_split:,} rows have codes that {self.target} split into several "
                "codes; kept unchanged (map to the oldest vintage to avoid this)"
            )
        if self.rows_no_vintage:
            out.append(f"{self.rows_no_vintage:,} rows have no period or vintage; codes cut only")
        return tuple(out)


def _check_columns(schema: pl.Schema) -> None:
    missing = [c for c in ("hs",) if c not in schema]
    if "hs_vintage" not in schema and "period" not in schema:
        missing.append("period")
    if missing:
        raise SchemaError.from_missing_columns(missing, list(schema))


def _mapping(src: Vintage, dst: Vintage) -> tuple[dict[str, str], frozenset[str]]:
    """(code → mapped code for codes that change, codes split by dst) for src → dst."""
    if VINTAGES.index(src) > VINTAGES.index(dst):
        table = conversion_table(src, dst).filter(pl.col("from_code") != pl.col("to_code"))
        return dict(zip(table["from_code"], table["to_code"], strict=True)), frozenset()
    conc = concordance(src, dst)
    single = conc.filter((pl.col("n_new") == 1) & (pl.col("old_code") != pl.col("new_code")))
    split = frozenset(conc.filter(pl.col("n_new") > 1)["old_code"])
    return dict(zip(single["old_code"], single["new_code"], strict=True)), split


def harmonise_hs_with_summary(
    trade: FrameLike, *, target: str | None = None, level: int = 6
) -> tuple[pl.LazyFrame, HarmoniseSummary]:
    """:func:`harmonise_hs`, also returning a :class:`HarmoniseSummary` of what changed.

    Runs one aggregation over the data (distinct vintage × code with row counts) to pick
    the target and count unknown codes; the returned frame stays lazy.
    """
    if level not in (2, 4, 6):
        raise ConfigError("level must be 2, 4 or 6", column="level", value=level)
    lf = _lazy(trade)
    schema = lf.collect_schema()
    _check_columns(schema)
    hs6 = to_hs6("hs")
    # Group by the raw label and period, not by the vintage: the label rule (string
    # clean-up per row) then runs on the distinct keys only, which is several times
    # cheaper on tens of millions of rows (docs/performance.md).
    keys = [hs6.alias("code")]
    if "hs_vintage" in schema:
        keys.append(pl.col("hs_vintage").cast(pl.String))
    if "period" in schema:
        keys.append(pl.col("period"))
    raw_stats = (
        lf.group_by(keys).agg(n=pl.len(), long=(pl.col("hs").str.len_chars() > 6).sum()).collect()
    )
    stats = (
        raw_stats.with_columns(v=effective_vintage(schema))
        .group_by("v", "code")
        .agg(pl.col("n").sum(), pl.col("long").sum())
    )
    vintage = _LabelVintages.of(schema, raw_stats["hs_vintage"] if "hs_vintage" in schema else None)
    bad = sorted(set(stats["v"].drop_nulls()) - set(VINTAGES))
    if bad:
        raise CodeMappingError(
            "unsupported HS vintage in the data",
            column="hs_vintage",
            value=bad[0],
            hint=f"rerouting maps {', '.join(VINTAGES)} (labels like H5, HS17, CN are "
            "understood); convert older revisions first or clear hs_vintage to infer "
            "it from the period",
        )
    present = [v for v in VINTAGES if v in set(stats["v"].drop_nulls())]
    dst: Vintage = normalise_vintage(target) if target else (present[0] if present else "HS2022")

    six = stats.filter(pl.col("code").str.len_chars() == 6)
    counts = dict.fromkeys(
        ("mapped", "valid_in_target", "unknown", "split"),
        0,
    )
    examples: list[str] = []
    branches: list[tuple[Vintage, dict[str, str]]] = []
    target_codes = set(nomenclature(dst).filter(pl.col("level") == 6)["code"])
    for src in present:
        part = six.filter(pl.col("v") == src)
        own = set(nomenclature(src).filter(pl.col("level") == 6)["code"])
        in_src = part["code"].is_in(pl.Series(sorted(own), dtype=pl.String).implode())
        in_dst = part["code"].is_in(pl.Series(sorted(target_codes), dtype=pl.String).implode())
        counts["valid_in_target"] += int(part.filter(~in_src & in_dst)["n"].sum())
        unknown = part.filter(~in_src & ~in_dst).sort("n", descending=True)
        counts["unknown"] += int(unknown["n"].sum())
        examples += [f"{src}:{c}" for c in unknown["code"].head(10)]
        if src == dst:
            continue
        mapping, split = _mapping(src, dst)
        branches.append((src, mapping))
        codes = part["code"]
        counts["mapped"] += int(
            part.filter(codes.is_in(pl.Series(list(mapping), dtype=pl.String).implode()))["n"].sum()
        )
        counts["split"] += int(
            part.filter(codes.is_in(pl.Series(sorted(split), dtype=pl.String).implode()))["n"].sum()
        )
    summary = HarmoniseSummary(
        target=dst,
        rows=int(stats["n"].sum()),
        rows_by_vintage={v: int(stats.filter(pl.col("v") == v)["n"].sum()) for v in present},
        rows_cut=int(stats["long"].sum()),
        rows_mapped=counts["mapped"],
        rows_short=int(stats.filter(pl.col("code").str.len_chars() < 6)["n"].sum()),
        rows_valid_in_target=counts["valid_in_target"],
        rows_unknown=counts["unknown"],
        rows_split=counts["split"],
        rows_no_vintage=int(stats.filter(pl.col("v").is_null())["n"].sum()),
        unknown_examples=tuple(examples[:10]),
    )

    mapped = hs6
    for src, mapping in branches:
        converted = hs6.replace_strict(
            list(mapping), list(mapping.values()), default=hs6, return_dtype=pl.String
        )
        mapped = pl.when(vintage.is_vintage(src)).then(converted).otherwise(mapped)
    # Codes a newer revision present in the data merged into others are read as one
    # family in every period, so that neither reads "vanished" nor "jumped".
    families: dict[str, str] = {}
    for src, _ in branches:
        if VINTAGES.index(src) > VINTAGES.index(dst):
            families.update(merge_families(dst, src))
    if families:
        moved = {k: v for k, v in families.items() if k != v}
        mapped = mapped.replace(list(moved), list(moved.values()))
    if level < 6:
        mapped = mapped.str.slice(0, level)
    original = pl.col("hs_original") if "hs_original" in schema else pl.col("hs")
    out = lf.with_columns(
        original.alias("hs_original"),
        mapped.alias("hs"),
        pl.when(vintage.is_known())
        .then(pl.lit(dst))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("hs_vintage"),
    )
    return out, summary


def harmonise_hs(trade: FrameLike, *, target: str | None = None, level: int = 6) -> pl.LazyFrame:
    """Map every product code to one HS vintage at HS6 (or HS4/HS2).

    1. ``hs_original`` keeps the code as reported (an existing ``hs_original`` is kept).
    2. Codes longer than six digits (CN8, national tariff lines) are cut to HS6.
    3. Each row's vintage is ``hs_vintage`` when it names a revision, else the one in
       force at ``period`` (before 2017 → HS2012, 2017-2021 → HS2017, from 2022 →
       HS2022).
    4. Codes are mapped to ``target`` with the UN conversion tables (newer → older,
       one-to-one). Codes already valid in the target but missing from their own
       vintage pass through. Mapping older → newer uses the unique successor; codes the
       newer revision split are left unchanged.
    5. HS2/HS4 codes stay as they are; codes found in no vintage are kept unchanged and
       counted (a :class:`~rerouting.DataQualityWarning` says how many).

    Args:
        trade: The canonical trade table (needs ``hs`` and ``period``; ``hs_vintage``
            optional).
        target: Vintage to map to; default the oldest vintage present in the data, so
            that no code has to be split.
        level: 6 (default), 4 or 2: cut the harmonised codes to this many digits.

    Returns:
        The table with ``hs`` harmonised, ``hs_vintage`` set to the target and a new
        ``hs_original`` column.

    Example:
        >>> lf = harmonise_hs(trade)  # doctest: +SKIP
        >>> lf = harmonise_hs(trade, target="HS2017", level=4)  # doctest: +SKIP
    """
    out, summary = harmonise_hs_with_summary(trade, target=target, level=level)
    if summary.rows_unknown or summary.rows_split:
        problems = [n for n in summary.notes if "unchanged" in n]
        warnings.warn("; ".join(problems), DataQualityWarning, stacklevel=2)
    return out


# -- currency --------------------------------------------------------------------------

_RATE_HINT: Final = (
    "give a rate table with --rates FILE (Python: rates=...): a CSV with columns "
    "currency, period, rate, where rate is units of {to} per one unit of currency and "
    "period is YYYY (annual) or YYYY-MM (monthly)"
)
_PERIOD = re.compile(r"^\s*(\d{4})(?:\s*[-/.]?\s*(\d{1,2}))?\s*$")


def _parse_rate_period(value: object, *, file: str | None, row: int) -> tuple[str, int, int]:
    text = str(value).strip() if value is not None else ""
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        text = text.rsplit("-", 1)[0]  # a full date stands for its month
    match = _PERIOD.match(text)
    if match:
        year, month = int(match.group(1)), match.group(2)
        if month is None:
            return "A", year, 1
        if 1 <= int(month) <= 12:
            return "M", year, int(month)
    raise CurrencyError(
        "the rate table has a period that is not YYYY or YYYY-MM",
        file=file,
        row=row,
        column="period",
        value=value,
        hint="write periods as 2022 (annual rate) or 2022-03 (monthly rate)",
    )


def read_rates(rates: pl.DataFrame | str | Path, *, to: str | None = None) -> pl.DataFrame:
    """Read and check an exchange-rate table.

    The table has columns ``currency`` (ISO 4217), ``period`` (``YYYY`` for an annual
    rate or ``YYYY-MM`` for a monthly one) and ``rate``: **units of the target currency
    per one unit of ``currency``** (to convert EUR to USD in March 2022: ``EUR,
    2022-03, 1.10``).

    Args:
        rates: A DataFrame or the path of a CSV file.
        to: The target currency, only used to word error hints.

    Returns:
        Columns ``currency`` (str), ``kind`` (``M`` or ``A``), ``start`` (Date, first day
        of the month or year) and ``rate`` (Float64).

    Raises:
        CurrencyError: the file is missing, a column is missing, or a value is bad
            (naming the row), or a currency/period appears twice.
    """
    file: str | None = None
    if isinstance(rates, str | Path):
        file = str(rates)
        if not Path(rates).is_file():
            raise CurrencyError(
                "rate table file not found",
                file=file,
                hint=_RATE_HINT.format(to=to or "the target currency"),
            )
        from rerouting._readers._source import open_source

        try:
            df = open_source(Path(rates)).frame.collect()
        except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ReroutingError) as exc:
            raise CurrencyError(
                "cannot read the rate table",
                file=file,
                hint=f"{exc}. " + _RATE_HINT.format(to=to or "the target currency"),
            ) from exc
    else:
        df = rates
    lower = {c.strip().lower(): c for c in df.columns}
    missing = [c for c in ("currency", "period", "rate") if c not in lower]
    if missing:
        raise CurrencyError(
            f"the rate table lacks column(s) {', '.join(missing)}",
            file=file,
            hint=f"columns found: {', '.join(df.columns)}. "
            + _RATE_HINT.format(to=to or "the target currency"),
        )
    rows: list[tuple[str, str, dt.date, float]] = []
    seen: dict[tuple[str, str, int, int], int] = {}
    for i, (cur, per, rate) in enumerate(
        zip(df[lower["currency"]], df[lower["period"]], df[lower["rate"]], strict=True),
        start=2 if file else 1,
    ):
        code = str(cur).strip().upper() if cur is not None else ""
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise CurrencyError(
                "the rate table has a currency that is not a 3-letter ISO 4217 code",
                file=file,
                row=i,
                column="currency",
                value=cur,
            )
        kind, year, month = _parse_rate_period(per, file=file, row=i)
        try:
            value = float(str(rate).strip())
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise CurrencyError(
                "the rate table has a rate that is not a positive number",
                file=file,
                row=i,
                column="rate",
                value=rate,
                hint="rate = units of the target currency per one unit of currency",
            )
        key = (code, kind, year, month)
        if key in seen:
            raise CurrencyError(
                f"the rate table gives {code} for {year}{'' if kind == 'A' else f'-{month:02d}'}"
                f" twice (rows {seen[key]} and {i})",
                file=file,
                row=i,
                hint="keep one rate per currency and period",
            )
        seen[key] = i
        rows.append((code, kind, dt.date(year, month, 1), value))
    return pl.DataFrame(
        rows,
        schema={"currency": pl.String, "kind": pl.String, "start": pl.Date, "rate": pl.Float64},
        orient="row",
    )


def _currency_counts(lf: pl.LazyFrame) -> pl.DataFrame:
    return lf.group_by("currency").agg(n=pl.len()).sort("n", descending=True).collect()


def check_single_currency(trade: FrameLike) -> str | None:
    """Return the one currency of the table, refusing mixed currencies.

    Returns:
        The ISO 4217 code, or ``None`` when the table has no ``currency`` column or
        every value is null (currency unknown but uniform).

    Raises:
        CurrencyError: several currencies, or some rows without a currency; the hint
            says how to convert (``--currency`` and ``--rates``).
    """
    lf = _lazy(trade)
    if "currency" not in lf.collect_schema():
        return None
    counts = _currency_counts(lf)
    named = counts.filter(pl.col("currency").is_not_null())
    nulls = int(counts.filter(pl.col("currency").is_null())["n"].sum())
    if named.height == 0:
        return None
    if named.height == 1 and not nulls:
        return str(named["currency"][0])
    listed = ", ".join(f"{c} ({n:,} rows)" for c, n in named.iter_rows())
    if nulls:
        listed += f", no currency ({nulls:,} rows)"
    raise CurrencyError(
        "values come in more than one currency",
        column="currency",
        value=listed,
        hint="convert to one currency: --currency USD --rates FILE (Python: "
        "convert_currency(trade, to='USD', rates=...)); "
        + _RATE_HINT.format(to="the target currency"),
    )


def convert_currency(
    trade: FrameLike,
    *,
    to: str,
    rates: pl.DataFrame | str | Path | None = None,
) -> pl.LazyFrame:
    """Convert ``value`` to the currency ``to`` with a rate table.

    ``value_to = value × rate``, where ``rate`` is units of ``to`` per one unit of the
    row's currency for the row's month (a monthly ``YYYY-MM`` rate), falling back to the
    annual ``YYYY`` rate. Annual rows (``frequency == "A"``) use annual rates only.
    Rows already in ``to`` are unchanged and need no rate.

    Args:
        trade: The canonical table (``value``, ``currency``, ``period``; ``frequency``
            optional).
        to: Target ISO 4217 code, e.g. ``USD``.
        rates: A rate table (see :func:`read_rates`) or the path of a CSV file.

    Raises:
        CurrencyError: rows are in another currency and no rates were given; a rate is
            missing (naming the currency and period); some rows have no currency.
    """
    target = str(to).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", target):
        raise ConfigError(
            "the target currency is not a 3-letter ISO 4217 code",
            column="currency",
            value=to,
            hint="e.g. USD or EUR",
        )
    lf = _lazy(trade)
    schema = lf.collect_schema()
    missing_cols = [c for c in ("value", "period") if c not in schema]
    if missing_cols:
        raise SchemaError.from_missing_columns(missing_cols, list(schema))
    if "currency" not in schema:
        raise CurrencyError(
            "the data have no currency column, so they cannot be converted",
            hint="say which currency the values are in when reading (the currency column)",
        )
    counts = _currency_counts(lf)
    nulls = int(counts.filter(pl.col("currency").is_null())["n"].sum())
    if nulls:
        raise CurrencyError(
            f"{nulls:,} rows have no currency, so they cannot be converted",
            column="currency",
            hint="fill the currency column when reading the data",
        )
    others = [c for c in counts["currency"] if c != target]
    if not others:
        return lf
    if rates is None:
        raise CurrencyError(
            f"values are in {', '.join(counts['currency'])}; converting to {target} needs "
            "exchange rates",
            column="currency",
            value=others[0],
            hint=_RATE_HINT.format(to=target),
        )
    table = read_rates(rates, to=target)
    freq = (
        pl.col("frequency").cast(pl.String).fill_null("M") if "frequency" in schema else pl.lit("M")
    )
    need = (
        lf.filter(pl.col("currency") != target)
        .select("currency", pl.col("period").dt.month_start().alias("month"), freq.alias("f"))
        .unique()
        .collect()
        .with_columns(year=pl.col("month").dt.truncate("1y"))
    )
    monthly = table.filter(pl.col("kind") == "M").select(
        "currency", pl.col("start").alias("month"), pl.col("rate").alias("rate_m")
    )
    annual = table.filter(pl.col("kind") == "A").select(
        "currency", pl.col("start").alias("year"), pl.col("rate").alias("rate_a")
    )
    factors = (
        need.join(monthly, on=["currency", "month"], how="left")
        .join(annual, on=["currency", "year"], how="left")
        .with_columns(
            factor=pl.when(pl.col("f") == "A")
            .then(pl.col("rate_a"))
            .otherwise(pl.coalesce("rate_m", "rate_a"))
        )
    )
    missing = factors.filter(pl.col("factor").is_null()).sort("currency", "month")
    if missing.height:
        gaps = [
            (r["currency"], str(r["month"].year) if r["f"] == "A" else f"{r['month']:%Y-%m}")
            for r in missing.iter_rows(named=True)
        ]
        cur, when = gaps[0]
        shown = ", ".join(f"{c} {w}" for c, w in gaps[:5])
        more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
        alt = f" or an annual row '{cur},{when[:4]},<rate>'" if len(when) > 4 else ""
        raise CurrencyError(
            f"no exchange rate for {cur} in {when} (missing: {shown}{more})",
            column="currency",
            value=cur,
            hint=f"add a row '{cur},{when},<rate>' (units of {target} per 1 {cur}){alt} "
            "to the rate table; annual data need annual (YYYY) rates",
        )
    keys = factors.select("currency", "month", "f", "factor")
    return (
        lf.with_columns(pl.col("period").dt.month_start().alias("__month"), freq.alias("__f"))
        .join(
            keys.lazy(),
            left_on=["currency", "__month", "__f"],
            right_on=["currency", "month", "f"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            (pl.col("value") * pl.col("factor").fill_null(1.0)).alias("value"),
            pl.lit(target).alias("currency"),
        )
        .drop("__month", "__f", "factor")
    )
