"""Shared parsing and the pipeline that turns staged rows into canonical records.

Each format reader maps one file to the *staged* layout with :func:`prepare`
and :func:`stage`: the canonical columns (possibly null) plus bookkeeping:

``_file``
    Index of the file the row came from (UInt32).
``_drop``
    Drop reason code (UInt8): 0 = kept, ``i + 1`` = ``REASONS[i]``.
``_example``
    The offending raw value of a dropped row, for ``IngestReport.examples``.
``_padded``
    True where a product code lost a leading zero and got it back.
``_total_code``
    True where the product code is a grand total (``TOTAL``).
``_split``
    Raw values of the dimensions a record is split by (mode of transport,
    customs procedure, second partner, statistical regime), or null.
``_tot1``, ``_tot2``, ``_tot3``
    Whether the row is the *total* of split dimension 1, 2 and 3 (see
    :func:`finish`).

:func:`finish` collects all files of one format in one pass, applies the rules
that need more than one row (``commodity_total``, ``parent_commodity_row``,
``duplicate``), merges split rows into records and builds the
:class:`~rerouting._ingest.IngestReport`.

Speed: every parser has a fast path for data that is already clean (Parquet
with canonical dtypes, ``YYYY-MM`` months, ISO3 codes, flow words, 6-digit codes,
plain numbers), checked with one cheap vectorised test per column and written as
plain polars expressions (no Python call, so both cores stage a file); only the
rows that fail it take the slow path, a Python callback, and slow parsers run once
per *distinct* value (periods, codes, labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import polars as pl

from rerouting import _countries
from rerouting._currencies import ISO_4217
from rerouting._exceptions import ParseError, SchemaError
from rerouting._ingest import DROP_REASONS, FileReport, IngestReport
from rerouting.schema import (
    CANONICAL_COLUMNS,
    CANONICAL_SCHEMA,
    FLOW_DTYPE,
    FREQUENCY_DTYPE,
    RECORD_KEY,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "REASONS",
    "Fields",
    "Staged",
    "collect_staged",
    "country",
    "find_fields",
    "finish",
    "flow_from_text",
    "hs_code",
    "number",
    "parse_period",
    "period_struct",
    "prepare",
    "stage",
    "text",
]

#: Drop reasons in code order: code ``i + 1`` is ``REASONS[i]``; 0 means kept.
REASONS: Final = tuple(DROP_REASONS)
_CODE: Final = {r: i + 1 for i, r in enumerate(REASONS)}

#: Rows of one group are compared for parent/child product codes.
GROUP_KEY: Final = ("period", "frequency", "reporter", "partner", "flow", "hs_vintage", "source")

#: Product codes that mean "all products".
TOTAL_CODES: Final = ("TOTAL", "ALL", "AG0", "AG1", "AG2", "AG4", "AG6", "AG8", "00TOTAL")

# Country status codes inside staged structs.
_ST_COUNTRY: Final = 0
_ST_AGGREGATE: Final = 1
_ST_UNMAPPED: Final = 2
_STATUS_CODE: Final = {
    _countries.COUNTRY: _ST_COUNTRY,
    _countries.AGGREGATE: _ST_AGGREGATE,
    _countries.UNMAPPED: _ST_UNMAPPED,
}
COUNTRY_DTYPE: Final = pl.Struct({"iso3": pl.String(), "status": pl.UInt8()})
_PERIOD_DTYPE: Final = pl.Struct({"o_period": pl.Date(), "o_freq": FREQUENCY_DTYPE})
#: Years a period may carry (both the parser and its fast path read them here).
_YEARS: Final = (1800, 2200)
_HS_DTYPE: Final = pl.Struct(
    {"o_hs": pl.String(), "o_pad": pl.Boolean(), "o_tot": pl.Boolean(), "o_ok": pl.Boolean()}
)

Dtype = pl.DataType


@dataclass
class Fields:
    """Columns found in one file for the fields a format reads.

    ``found[field]`` is the file's column name, ``dtypes[field]`` its dtype.
    """

    found: dict[str, str]
    dtypes: dict[str, Dtype]
    file: str

    def has(self, name: str) -> bool:
        """Whether the file has a column for ``name``."""
        return name in self.found

    def col(self, name: str) -> pl.Expr:
        """The column for ``name``, or a String null literal when absent."""
        if name in self.found:
            return pl.col(self.found[name])
        return pl.lit(None, dtype=pl.String)

    def dtype(self, name: str) -> Dtype:
        """The dtype of ``name`` (String when absent)."""
        return self.dtypes.get(name, pl.String())

    def require(self, names: Sequence[str], available: Sequence[str]) -> None:
        """Raise SchemaError if any of ``names`` was not found."""
        missing = [n for n in names if n not in self.found]
        if missing:
            raise SchemaError.from_missing_columns(missing, list(available), file=self.file)


def find_fields(
    headers: Sequence[str],
    schema: Mapping[str, Dtype],
    aliases: Mapping[str, Sequence[str]],
    *,
    overrides: Mapping[str, str] | None = None,
    file: str,
) -> Fields:
    """Match a file's columns to fields by normalised name (first alias wins)."""
    from rerouting._readers._source import normalise_header

    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalise_header(h), h)
    found: dict[str, str] = {}
    for fld, names in aliases.items():
        for alias in names:
            if alias in by_norm:
                found[fld] = by_norm[alias]
                break
    for fld, column in (overrides or {}).items():
        if column not in headers:
            raise SchemaError.from_missing_columns([column], list(headers), file=file)
        found[fld] = column
    dtypes = {fld: schema[column] for fld, column in found.items()}
    return Fields(found, dtypes, file)


# --------------------------------------------------------------------------- helpers


def _constant(s: pl.Series) -> bool:
    """True when every value is the same non-null value (cheap: min == max)."""
    if s.len() == 0 or s.null_count():
        return False
    try:
        return bool(s.min() == s.max())
    except (pl.exceptions.PolarsError, TypeError):
        return False


def _by_unique(frame: pl.DataFrame, fn: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """Apply ``fn`` to the distinct rows of ``frame`` and spread the result back.

    ``fn`` gets the distinct rows and returns them with extra columns; the
    result has ``frame``'s rows in order with those extra columns only.
    """
    names = frame.columns
    if frame.height and all(_constant(frame[c]) for c in names):
        res = fn(frame.head(1)).drop(names)
        return pl.DataFrame([res[c].new_from_index(0, frame.height) for c in res.columns])
    if len(names) == 1 and frame.dtypes[0] == pl.String:
        return _by_unique_text(frame.to_series(), fn)
    uniq = frame.unique()
    res = fn(uniq)
    extra = [c for c in res.columns if c not in names]
    joined = frame.join(res, on=names, how="left", nulls_equal=True, maintain_order="left")
    return joined.select(extra)


def _by_unique_text(s: pl.Series, fn: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """:func:`_by_unique` of one text column, through its Categorical codes.

    A Categorical cast hashes each string once; distinct values and the spreading back
    are then integer work (a gather by code), 3x faster than a join on the strings.
    """
    name = s.name
    cat = s.cast(pl.Categorical)
    codes = cat.to_physical()
    distinct = cat.unique().drop_nulls()
    used = distinct.to_physical()
    values = distinct.cast(pl.String).alias(name)
    n = used.len()
    has_null = s.null_count() > 0
    if has_null:  # null is a value of its own (e.g. a missing code is a bad code)
        values = values.append(pl.Series(name, [None], dtype=pl.String))
    res = fn(values.to_frame())
    extra = [c for c in res.columns if c != name]
    size = int(used.max()) + 1 if n else 0  # type: ignore[arg-type]
    pos = pl.repeat(None, size, dtype=pl.UInt32, eager=True).scatter(
        used, pl.int_range(0, n, dtype=pl.UInt32, eager=True)
    )
    idx = pos.gather(codes)
    if has_null:
        idx = idx.fill_null(n)
    return res.select(extra)[idx]


def _fast_slow(
    series: pl.Series,
    fast_ok: pl.Series,
    fast: Callable[[pl.Series], pl.DataFrame],
    slow: Callable[[pl.Series], pl.DataFrame],
) -> pl.DataFrame:
    """Rows where ``fast_ok`` holds use ``fast``; the others ``slow`` (by index)."""
    fast_ok = fast_ok.fill_null(False)
    if fast_ok.all():
        return fast(series)
    if not fast_ok.any():
        return slow(series)
    out = fast(series)
    bad = (~fast_ok).arg_true()
    fixed = slow(series.gather(bad))
    return out.with_columns([out[c].scatter(bad, fixed[c]) for c in out.columns])


#: Off in tests only: every row then takes the Python parsers (see :func:`_fast_rows`).
_FAST_PATHS = True


def _fast_rows(
    fast_ok: pl.Expr,
    fast: pl.Expr,
    slow_input: pl.Expr,
    slow: Callable[[pl.Series], pl.Series],
    dtype: pl.DataType,
) -> pl.Expr:
    """``fast`` where ``fast_ok`` holds, else ``slow`` (a batch parser) of ``slow_input``.

    The test and the fast result are plain polars expressions, so the rows they cover
    cost no Python call: ``slow`` sees ``slow_input`` only where ``fast_ok`` fails (null
    elsewhere), and a batch of nulls is answered from one parsed null row. ``fast``
    must equal ``slow`` on every row where ``fast_ok`` holds. Callbacks hold the GIL, so
    this is what lets both cores stage a file.
    """
    ok = fast_ok.fill_null(False)
    cache: dict[str, pl.Series] = {}

    def batch(s: pl.Series) -> pl.Series:
        n = s.len()
        if n and s.null_count() == n:
            if "null" not in cache:
                cache["null"] = slow(s.head(1))
            return cache["null"].new_from_index(0, n).alias(s.name)
        return slow(s)

    rest = pl.when(~ok).then(slow_input)
    parsed = rest.map_batches(batch, return_dtype=dtype, is_elementwise=True)
    return pl.when(ok).then(fast).otherwise(parsed)


# --------------------------------------------------------------------------- parsing


def _strip_empty(s: pl.Series) -> pl.Series:
    stripped = s.str.strip_chars()
    return stripped.set(stripped == "", None)


def text(expr: pl.Expr, *, upper: bool = False) -> pl.Expr:
    """Cast to String, strip blanks, turn empty strings into null (and upper-case).

    Constant columns (one currency, one source) cost one comparison.
    """

    def clean(s: pl.Series) -> pl.Series:
        out = _strip_empty(s)
        return out.str.to_uppercase() if upper else out

    def batch(s: pl.Series) -> pl.Series:
        s = s.cast(pl.String)
        if _constant(s):
            return clean(s.head(1)).new_from_index(0, s.len()).alias(s.name)
        return clean(s)

    return expr.map_batches(batch, return_dtype=pl.String, is_elementwise=True)


def number(expr: pl.Expr, dtype: Dtype) -> pl.Expr:
    """Parse a numeric cell: numbers pass through, text is parsed, junk is null.

    ``NA``, empty, ``:`` and other non-numbers become null (counted as
    ``non_numeric_value``); ``inf``/``NaN`` stay non-finite
    (``non_finite_value``). Blanks and non-breaking spaces inside are removed.
    """
    if dtype.is_numeric():
        return expr.cast(pl.Float64)
    if dtype == pl.Null():
        return pl.lit(None, dtype=pl.Float64)
    if dtype == pl.Boolean():
        return pl.lit(None, dtype=pl.Float64)

    def batch(s: pl.Series) -> pl.Series:
        s = s.cast(pl.String)
        parsed = s.cast(pl.Float64, strict=False)
        # Only cells that fail the plain parse pay for the clean-up (an expression
        # would run it on every row: 13x the parse).
        bad = (parsed.is_null() & s.is_not_null()).arg_true()
        if bad.len() == 0:
            return parsed
        fixed = (
            s.gather(bad)
            .str.strip_chars()
            .str.replace_all(r"[\s\u00a0]", "")
            .cast(pl.Float64, strict=False)
        )
        return parsed.scatter(bad, fixed)

    if not _FAST_PATHS:
        return expr.map_batches(batch, return_dtype=pl.Float64, is_elementwise=True)
    raw = expr.cast(pl.String)
    parsed = raw.cast(pl.Float64, strict=False)
    return _fast_rows(parsed.is_not_null() | raw.is_null(), parsed, raw, batch, pl.Float64())


def frequency_enum(expr: pl.Expr, dtype: Dtype | None = None) -> pl.Expr:
    """``A``/``M`` (also ``Annual``, ``monthly``...) as the frequency Enum; others null."""
    if dtype is not None and dtype == FREQUENCY_DTYPE:
        return expr

    def fn(uniq: pl.DataFrame) -> pl.DataFrame:
        first = pl.col("x").str.strip_chars().str.to_uppercase().str.slice(0, 1)
        return uniq.with_columns(o=pl.when(first.is_in(["A", "M"])).then(first))

    def batch(s: pl.Series) -> pl.Series:
        out = _by_unique(s.cast(pl.String).alias("x").to_frame(), fn)["o"]
        return out.cast(FREQUENCY_DTYPE).alias(s.name)

    return expr.map_batches(batch, return_dtype=FREQUENCY_DTYPE, is_elementwise=True)


def parse_period(
    expr: pl.Expr,
    dtype: Dtype,
    *,
    frequency: pl.Expr | None = None,
    freq_dtype: Dtype | None = None,
    comext_annual: bool = False,
) -> tuple[pl.Expr, pl.Expr]:
    """Parse a period into (first day of month/year as Date, frequency M/A).

    Accepts ``YYYY``, ``YYYYMM``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYYMmm``,
    ``Y2019``; with ``comext_annual`` also Eurostat's ``YYYY52`` (annual).
    Dates and datetimes are truncated to the month (or year when the frequency
    says ``A``). When ``frequency`` is given (``A``/``M``) it must agree with
    the period's shape, otherwise the period is null (counted as ``bad_period``).

    Returns:
        ``(period, frequency)`` expressions; both null where unreadable.
    """
    if dtype == pl.Date() or isinstance(dtype, pl.Datetime):
        date = expr.cast(pl.Date)
        if frequency is None:
            return date.dt.truncate("1mo"), pl.lit("M").cast(FREQUENCY_DTYPE)
        freq = frequency_enum(frequency, freq_dtype)
        trunc = pl.when(freq == "A").then(date.dt.truncate("1y")).otherwise(date.dt.truncate("1mo"))
        return pl.when(freq.is_not_null()).then(trunc), freq
    freq_given = None
    if frequency is not None:
        freq_given = frequency.cast(pl.String).str.strip_chars().str.to_uppercase().str.slice(0, 1)
    raw = expr.cast(pl.String).str.strip_chars().str.replace(r"\.0+$", "")
    annual_year = raw.str.extract(r"^Y?(\d{4})$", 1)
    parts = raw.str.extract_groups(r"^(\d{4})(?:-|M|/|\.)?(\d{2})(?:-\d{2}(?:[T ].*)?)?$")
    year_m = parts.struct.field("1")
    month_s = parts.struct.field("2")
    if comext_annual:
        annual_year = pl.coalesce(annual_year, pl.when(month_s == "52").then(year_m))
    month = month_s.cast(pl.Int32, strict=False)
    month_ok = month.is_between(1, 12)
    year = pl.coalesce(annual_year, pl.when(month_ok).then(year_m)).cast(pl.Int32, strict=False)
    year_ok = year.is_between(*_YEARS)
    shape: pl.Expr = (
        pl.when(annual_year.is_not_null()).then(pl.lit("A")).when(month_ok).then(pl.lit("M"))
    )
    if freq_given is not None:
        shape = pl.when(freq_given.is_null() | (freq_given == shape)).then(shape)
    shape = pl.when(year_ok).then(shape)
    month_num = pl.when(shape == "M").then(month).otherwise(pl.lit(1, pl.Int32))
    date = pl.when(shape.is_not_null()).then(pl.date(year, month_num, 1))
    return date, shape.cast(FREQUENCY_DTYPE)


def period_struct(
    expr: pl.Expr,
    dtype: Dtype,
    *,
    frequency: pl.Expr | None = None,
    freq_dtype: Dtype | None = None,
    comext_annual: bool = False,
) -> pl.Expr:
    """:func:`parse_period` as ``Struct{o_period, o_freq}``, parsed per distinct value."""
    if dtype == pl.Date() or isinstance(dtype, pl.Datetime):
        date, freq = parse_period(expr, dtype, frequency=frequency, freq_dtype=freq_dtype)
        return pl.struct(date.alias("o_period"), freq.alias("o_freq"))
    inputs = [expr.cast(pl.String).alias("p")]
    if frequency is not None:
        inputs.append(frequency.cast(pl.String).alias("f"))

    def fn(uniq: pl.DataFrame) -> pl.DataFrame:
        freq = pl.col("f") if "f" in uniq.columns else None
        date, shape = parse_period(
            pl.col("p"), pl.String(), frequency=freq, comext_annual=comext_annual
        )
        return uniq.with_columns(o_period=date, o_freq=shape)

    def batch(s: pl.Series) -> pl.Series:
        return _by_unique(s.struct.unnest(), fn).to_struct(s.name)

    if not _FAST_PATHS:
        return pl.struct(inputs).map_batches(batch, return_dtype=_PERIOD_DTYPE, is_elementwise=True)
    # Fast path: plain YYYY-MM months (and a frequency, if any, that is empty or M).
    raw = inputs[0]
    date = raw.str.to_date("%Y-%m", strict=False)
    ok = raw.str.contains(r"^[0-9]{4}-[0-9]{2}$") & date.dt.year().is_between(*_YEARS)
    if frequency is not None:
        given = inputs[1].str.strip_chars().str.to_uppercase().str.slice(0, 1)
        ok = ok & (given.is_null() | (given == "M"))
    monthly = pl.struct(date.alias("o_period"), pl.lit("M", dtype=FREQUENCY_DTYPE).alias("o_freq"))
    return _fast_rows(ok, monthly, pl.struct(inputs), batch, _PERIOD_DTYPE)


_FLOW_WORDS: Final[dict[str, str]] = {
    "import": "import",
    "imports": "import",
    "m": "import",
    "1": "import",
    "export": "export",
    "exports": "export",
    "x": "export",
    "2": "export",
    "re-import": "re-import",
    "reimport": "re-import",
    "re-imports": "re-import",
    "rm": "re-import",
    "re-export": "re-export",
    "reexport": "re-export",
    "re-exports": "re-export",
    "rx": "re-export",
}


def flow_from_text(
    expr: pl.Expr,
    extra: Mapping[str, str] | None = None,
    *,
    dtype: Dtype | None = None,
) -> pl.Expr:
    """Map flow labels/codes (case-insensitive) to the flow Enum; others null.

    Default map: Import/Export/Re-import/Re-export (also plural, no hyphen),
    Comtrade+ ``M``/``X``/``RM``/``RX``, and ``1``/``2`` = import/export.
    A column that already has the flow Enum dtype passes through.
    """
    if dtype is not None and dtype == FLOW_DTYPE:
        return expr
    mapping = dict(_FLOW_WORDS)
    if extra:
        mapping.update(extra)

    def fn(uniq: pl.DataFrame) -> pl.DataFrame:
        cleaned = (
            pl.col("x")
            .str.strip_chars()
            .str.to_lowercase()
            .str.replace_all(r"[\s_]+", "-")
            .str.replace(r"\.0+$", "")
        )
        return uniq.with_columns(
            o=cleaned.replace_strict(mapping, default=None, return_dtype=pl.String)
        )

    def batch(s: pl.Series) -> pl.Series:
        out = _by_unique(s.cast(pl.String).alias("x").to_frame(), fn)["o"]
        return out.cast(FLOW_DTYPE).alias(s.name)

    if not _FAST_PATHS:
        return expr.map_batches(batch, return_dtype=FLOW_DTYPE, is_elementwise=True)
    # Fast path: the flow words themselves (unless ``extra`` maps them elsewhere).
    words = [w for w in FLOW_DTYPE.categories if mapping.get(w) == w]
    raw = expr.cast(pl.String)
    ok = raw.is_in(words)
    return _fast_rows(ok, pl.when(ok).then(raw).cast(FLOW_DTYPE), raw, batch, FLOW_DTYPE)


def hs_code(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """Clean a product code (row by row; see :func:`hs_struct` for the fast path).

    Strips blanks and dots (``"8703.21"``), restores a leading zero lost by
    spreadsheets or integer columns (HS codes have an even number of digits:
    ``"10121"`` -> ``"010121"``), and recognises grand totals (``TOTAL``).

    Returns:
        ``(hs, padded, is_total, is_valid)``; ``hs`` is ``"TOTAL"`` for totals.
    """
    raw = expr.cast(pl.String).str.strip_chars().str.replace(r"^(\d+)\.0$", "$1")
    raw = raw.str.replace_all(r"[\s.]", "")
    upper = raw.str.to_uppercase()
    is_total = upper.is_in(list(TOTAL_CODES))
    digits = raw.str.contains(r"^\d{1,10}$")
    odd = digits & (raw.str.len_chars() % 2 == 1) & (raw.str.len_chars() < 10)
    padded_code = pl.when(odd).then(pl.lit("0") + raw).otherwise(raw)
    valid = digits & padded_code.str.len_chars().is_between(2, 10)
    hs = pl.when(is_total).then(pl.lit("TOTAL")).when(valid).then(padded_code)
    return hs, odd.fill_null(False), is_total.fill_null(False), (valid | is_total).fill_null(False)


def hs_struct(expr: pl.Expr) -> pl.Expr:
    """:func:`hs_code` as ``Struct{o_hs, o_pad, o_tot, o_ok}``.

    Fast path: codes of 2, 4, 6, 8 or 10 plain digits are taken as they are.
    """

    def fast(s: pl.Series) -> pl.DataFrame:
        n = s.len()
        return pl.DataFrame(
            {
                "o_hs": s,
                "o_pad": pl.repeat(False, n, eager=True),
                "o_tot": pl.repeat(False, n, eager=True),
                "o_ok": pl.repeat(True, n, eager=True),
            }
        )

    def fn(uniq: pl.DataFrame) -> pl.DataFrame:
        hs, pad, tot, ok = hs_code(pl.col("c"))
        return uniq.with_columns(o_hs=hs, o_pad=pad, o_tot=tot, o_ok=ok)

    def slow(s: pl.Series) -> pl.DataFrame:
        return _by_unique(s.alias("c").to_frame(), fn)

    def plain(s: Any) -> Any:
        # Plain digits parse as integers; a sign would too, so rule it out by length parity.
        n_bytes = s.str.len_bytes()
        return (
            s.str.to_integer(strict=False).is_not_null()
            & n_bytes.is_between(2, 10)
            & (n_bytes % 2 == 0)
            & ~s.str.starts_with("+")
            & ~s.str.starts_with("-")
        )

    def batch(s: pl.Series) -> pl.Series:
        s = s.cast(pl.String)
        return _fast_slow(s, plain(s), fast, slow).to_struct(s.name)

    if not _FAST_PATHS:
        return expr.map_batches(batch, return_dtype=_HS_DTYPE, is_elementwise=True)
    raw = expr.cast(pl.String)
    as_is = pl.struct(
        raw.alias("o_hs"),
        pl.lit(False).alias("o_pad"),
        pl.lit(False).alias("o_tot"),
        pl.lit(True).alias("o_ok"),
    )
    return _fast_rows(plain(raw), as_is, raw, batch, _HS_DTYPE)


def country(
    expr: pl.Expr,
    *,
    scheme: _countries.Scheme = "auto",
    role: Literal["reporter", "partner"] = "partner",
    extra: Mapping[str, str] | None = None,
) -> pl.Expr:
    """Resolve a country column to ``Struct{iso3, status}`` (status: 0 country,
    1 aggregate, 2 unmapped).

    Fast path (``auto``/``iso3`` schemes): values that are already ISO3 codes
    pass through; the rest are resolved once per distinct value. ``extra`` maps
    raw values to ISO3 before the shipped tables (e.g. a BACI country table).
    """
    known = dict(extra or {})
    iso3 = sorted(_countries.ISO3_CODES)

    def fast(s: pl.Series) -> pl.DataFrame:
        return pl.DataFrame(
            {"iso3": s, "status": pl.repeat(_ST_COUNTRY, s.len(), dtype=pl.UInt8, eager=True)}
        )

    def slow(s: pl.Series) -> pl.DataFrame:
        values = s.str.strip_chars()
        table = _countries.country_label_table(values, scheme=scheme, role=role)
        iso = dict(zip(table["value"].to_list(), table["iso3"].to_list(), strict=True))
        status = {
            v: _STATUS_CODE[st]
            for v, st in zip(table["value"].to_list(), table["status"].to_list(), strict=True)
        }
        for code, iso_code in known.items():
            iso[code] = iso_code
            status[code] = _ST_COUNTRY
        return pl.DataFrame(
            {
                "iso3": values.replace_strict(iso, default=None, return_dtype=pl.String),
                "status": values.replace_strict(
                    status, default=_ST_UNMAPPED, return_dtype=pl.UInt8
                ),
            }
        )

    as_is = scheme in ("auto", "iso3", "name") and not known

    def batch(s: pl.Series) -> pl.Series:
        s = s.cast(pl.String)
        if not as_is:
            return slow(s).to_struct(s.name)
        return _fast_slow(s, s.is_in(iso3), fast, slow).to_struct(s.name)

    if not (_FAST_PATHS and as_is):
        return expr.map_batches(batch, return_dtype=COUNTRY_DTYPE, is_elementwise=True)
    raw = expr.cast(pl.String)
    code = pl.struct(raw.alias("iso3"), pl.lit(_ST_COUNTRY, dtype=pl.UInt8).alias("status"))
    return _fast_rows(raw.is_in(iso3), code, raw, batch, COUNTRY_DTYPE)


# --------------------------------------------------------------------------- staging


def prepare(
    lf: pl.LazyFrame,
    *,
    period: pl.Expr,
    reporter: pl.Expr,
    partner: pl.Expr,
    flow: pl.Expr,
    hs: pl.Expr,
    value: pl.Expr,
) -> pl.LazyFrame:
    """Compute the parsed fields once, as ``__`` columns, before :func:`stage`.

    Args:
        lf: The file's lazy frame.
        period: ``Struct{o_period, o_freq}`` from :func:`period_struct`.
        reporter: Struct from :func:`country`.
        partner: Struct from :func:`country`.
        flow: Flow Enum expression.
        hs: Raw product code expression.
        value: Parsed value (Float64).
    """
    hs_s = pl.col("__hs_struct")
    per_s = pl.col("__period_struct")
    return lf.with_columns(
        __period_struct=period,
        __hs_struct=hs_struct(hs),
        __rep=reporter,
        __par=partner,
        __flow=flow.cast(FLOW_DTYPE),
        __value=value.cast(pl.Float64),
    ).with_columns(
        __period=per_s.struct.field("o_period"),
        __freq=per_s.struct.field("o_freq"),
        __hs=hs_s.struct.field("o_hs"),
        __hs_pad=hs_s.struct.field("o_pad"),
        __hs_tot=hs_s.struct.field("o_tot"),
        __hs_ok=hs_s.struct.field("o_ok"),
    )


def _examples(codes: pl.Expr, raw: Mapping[str, pl.Expr], by_code: Mapping[int, str]) -> pl.Expr:
    """The raw value behind each drop code, computed only for dropped rows."""
    names = list(raw)

    def batch(s: pl.Series) -> pl.Series:
        frame = s.struct.unnest()
        code = frame["_code"]
        out = pl.repeat(None, s.len(), dtype=pl.String, eager=True).alias(s.name)
        idx = (code != 0).arg_true()
        if idx.len() == 0:
            return out
        sub = frame[idx]
        shown = pl.repeat(None, sub.height, dtype=pl.String, eager=True)
        for c, name in by_code.items():
            hit = (sub["_code"] == c).arg_true()
            if hit.len():
                shown = shown.scatter(hit, sub[name].gather(hit).cast(pl.String))
        return out.scatter(idx, shown)

    struct = pl.struct(codes.alias("_code"), *[e.alias(n) for n, e in raw.items()])
    del names
    shown = struct.map_batches(batch, return_dtype=pl.String, is_elementwise=True)
    # polars skips a branch that no row of a batch takes: batches without a dropped row
    # build no struct and make no Python call.
    return pl.when(codes != 0).then(shown)


def stage(
    lf: pl.LazyFrame,
    *,
    file_index: int,
    raw: Mapping[str, pl.Expr],
    source: pl.Expr,
    currency: pl.Expr,
    extra_rules: Sequence[tuple[pl.Expr, str, pl.Expr]] = (),
    net_weight_kg: pl.Expr | None = None,
    quantity: pl.Expr | None = None,
    quantity_unit: pl.Expr | None = None,
    hs_vintage: pl.Expr | None = None,
    split: pl.Expr | None = None,
    totals: tuple[pl.Expr, pl.Expr, pl.Expr] | None = None,
) -> pl.LazyFrame:
    """Select the staged layout from a frame made by :func:`prepare`.

    Row-level rules, first match wins: empty_row (every raw field empty),
    ``extra_rules`` (e.g. unsupported indicator), then bad_period,
    unsupported_flow, unmapped/aggregate reporter, unmapped/aggregate partner,
    not_a_country_pair, bad_hs_code, non_numeric_value, non_finite_value,
    negative_value.

    Args:
        raw: Raw values shown as examples, keyed ``period``, ``reporter``,
            ``partner``, ``flow``, ``hs``, ``value``.
    """
    rep, par = pl.col("__rep"), pl.col("__par")
    rep_status, par_status = rep.struct.field("status"), par.struct.field("status")
    rep_iso, par_iso = rep.struct.field("iso3"), par.struct.field("iso3")
    value = pl.col("__value")
    raw_all = {**{k: pl.lit(None, pl.String) for k in _RAW_KEYS}, **raw}
    raw_all["iso3"] = rep_iso
    null_f = pl.lit(None, pl.Float64)
    # Parsed once, as columns: the rules below use each several times, and the
    # streaming engine would run a parser (a Python callback) once per use (7x for
    # the weight of a tidy CSV file).
    lf = lf.with_columns(
        (net_weight_kg if net_weight_kg is not None else null_f).cast(pl.Float64).alias("__weight"),
        (quantity if quantity is not None else null_f).cast(pl.Float64).alias("__qty"),
        currency.cast(pl.String).alias("__cur"),
    )
    weight, qty, cur = pl.col("__weight"), pl.col("__qty"), pl.col("__cur")
    # The offending amount (weight when it is the bad one, else quantity); floats
    # are cast to text only for dropped rows, in _examples.
    weight_ok = weight.is_null() | (weight.is_finite() & (weight >= 0))
    raw_all["amount"] = pl.when(weight_ok).then(qty).otherwise(weight)
    raw_all["currency"] = cur
    # A blank line is read as a row of nulls: name it so, before any rule blames
    # one of its (missing) fields.
    rules: list[tuple[pl.Expr, str, str]] = [
        (pl.all_horizontal(e.is_null() for e in raw.values()), "empty_row", "period")
    ]
    extra_raw: dict[str, pl.Expr] = {}
    for i, (cond, reason, shown) in enumerate(extra_rules):
        extra_raw[f"extra{i}"] = shown
        rules.append((cond, reason, f"extra{i}"))
    rules += [
        (pl.col("__period").is_null(), "bad_period", "period"),
        (pl.col("__flow").is_null(), "unsupported_flow", "flow"),
        (rep_status == _ST_UNMAPPED, "unmapped_reporter", "reporter"),
        (rep_status == _ST_AGGREGATE, "aggregate_reporter", "reporter"),
        (par_status == _ST_UNMAPPED, "unmapped_partner", "partner"),
        (par_status == _ST_AGGREGATE, "aggregate_partner", "partner"),
        (rep_iso == par_iso, "not_a_country_pair", "iso3"),
        (~pl.col("__hs_ok"), "bad_hs_code", "hs"),
        (value.is_null(), "non_numeric_value", "value"),
        (~value.is_finite(), "non_finite_value", "value"),
        (value < 0, "negative_value", "value"),
        (~weight.is_finite() | ~qty.is_finite(), "non_finite_quantity", "amount"),
        ((weight < 0) | (qty < 0), "negative_quantity", "amount"),
        (~cur.is_in(_ISO_4217) & cur.is_not_null(), "bad_currency", "currency"),
    ]
    chain: Any = None
    for cond, reason, _ in rules:
        code = pl.lit(_CODE[reason], pl.UInt8)
        chain = (
            pl.when(cond.fill_null(False)).then(code)
            if chain is None
            else chain.when(cond.fill_null(False)).then(code)
        )
    drop = chain.otherwise(pl.lit(0, pl.UInt8))
    by_code = {_CODE[reason]: shown for _, reason, shown in rules}
    null_s = pl.lit(None, pl.String)
    tot = totals or (pl.lit(True), pl.lit(True), pl.lit(True))
    staged = lf.with_columns(_drop=drop).select(
        pl.col("__period").alias("period"),
        pl.col("__freq").cast(FREQUENCY_DTYPE).alias("frequency"),
        rep_iso.alias("reporter"),
        par_iso.alias("partner"),
        pl.col("__flow").cast(FLOW_DTYPE).alias("flow"),
        pl.col("__hs").alias("hs"),
        value.alias("value"),
        cur.alias("currency"),
        weight.alias("net_weight_kg"),
        qty.alias("quantity"),
        (quantity_unit if quantity_unit is not None else null_s)
        .cast(pl.String)
        .alias("quantity_unit"),
        (hs_vintage if hs_vintage is not None else null_s).cast(pl.String).alias("hs_vintage"),
        source.cast(pl.String).alias("source"),
        pl.lit(file_index, pl.UInt32).alias("_file"),
        pl.col("_drop"),
        _examples(pl.col("_drop"), {**raw_all, **extra_raw}, by_code).alias("_example"),
        pl.col("__hs_pad").alias("_padded"),
        pl.col("__hs_tot").alias("_total_code"),
        (split if split is not None else null_s).cast(pl.String).alias("_split"),
        tot[0].fill_null(True).alias("_tot1"),
        tot[1].fill_null(True).alias("_tot2"),
        tot[2].fill_null(True).alias("_tot3"),
    )
    return staged


_ISO_4217: Final = pl.Series(sorted(ISO_4217), dtype=pl.String).implode()
_RAW_KEYS: Final = ("period", "reporter", "partner", "flow", "hs", "value")


# --------------------------------------------------------------------------- finishing


@dataclass
class Staged:
    """Staged lazy frames of one format plus notes gathered while staging."""

    format: str
    frames: list[tuple[str, pl.LazyFrame]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _collect(staged: Staged) -> pl.DataFrame:
    """Collect all files of one format in one go; name the file on failure."""
    lfs = [lf for _, lf in staged.frames]
    try:
        return pl.concat(lfs, how="vertical").collect()
    except pl.exceptions.PolarsError as exc:
        for path, lf in staged.frames:  # find the file at fault to name it
            try:
                lf.collect()
            except pl.exceptions.PolarsError as inner:
                from rerouting._readers._source import parse_failure

                raise parse_failure(path, inner) from inner
        raise ParseError(f"input cannot be parsed: {str(exc).splitlines()[0]}") from exc


def _maybe_repeated(frame: pl.DataFrame, key: Sequence[str], among: pl.Series) -> pl.Series:
    """Rows (within ``among``) whose key *may* repeat among those rows.

    A 64-bit hash per row, sorted, finds repeated hashes far faster than a hash
    table of whole rows; exact comparisons follow on the (usually tiny)
    candidate set, so a collision costs time, never correctness.
    """
    h = frame.select(pl.struct(list(key)).hash()).to_series()
    s = (h if bool(among.all()) else h.filter(among)).sort()
    repeated = s.filter(s == s.shift(1))
    if repeated.len() == 0:
        return pl.repeat(False, frame.height, eager=True)
    return h.is_in(repeated.unique().implode()) & among


def _parents(ok: pl.DataFrame) -> pl.Series:
    """Row indices (``_idx``) whose code is a prefix of a longer code in their group.

    Sorted by group and code, every code that starts with ``c`` follows ``c``
    (and its repeats) directly, so a code is a parent exactly when the next
    code of its group starts with it and is longer. Groups are told apart by a
    64-bit hash of their key (reporter, partner, flow, period, vintage,
    source); two groups would have to collide *and* hold prefix-related codes
    for a row to be misfiled, which we accept.
    """
    if ok.height < 2:
        return pl.Series("_idx", [], dtype=pl.UInt32)
    n_bytes = ok["hs"].str.len_bytes()
    if n_bytes.min() == n_bytes.max():
        return pl.Series("_idx", [], dtype=pl.UInt32)
    frame = ok.select("_idx", "hs", _g=pl.struct(list(GROUP_KEY)).hash())
    nxt = pl.col("hs").shift(-1)
    flagged = (
        frame.select("_g", "hs")
        .sort("_g", "hs")
        .filter(
            (pl.col("_g").shift(-1) == pl.col("_g"))
            & nxt.str.starts_with(pl.col("hs"))
            & (nxt.str.len_bytes() > pl.col("hs").str.len_bytes())
        )
    )
    if flagged.height == 0:
        return pl.Series("_idx", [], dtype=pl.UInt32)
    return frame.join(flagged.unique(), on=["_g", "hs"], how="semi")["_idx"]


def _merge(multi: pl.DataFrame) -> pl.DataFrame:
    """Sum rows that share a record key into one record (split rows, regimes...).

    Totals of split dimensions win over the rows they total: dimension by
    dimension (second partner, mode of transport, customs procedure), a record
    that has a total row keeps only its total rows; the rest are summed.
    """
    key = list(RECORD_KEY)
    multi = multi.with_columns(_sel=pl.lit(True))
    for tot in ("_tot1", "_tot2", "_tot3"):
        has_total = (pl.col(tot) & pl.col("_sel")).any().over(key)
        multi = multi.with_columns(_sel=pl.col("_sel") & (pl.col(tot) | ~has_total))

    def total(col: str) -> pl.Expr:
        picked = pl.col(col).filter(pl.col("_sel"))
        return pl.when(picked.count() > 0).then(picked.sum()).otherwise(None).alias(col)

    unit_ok = pl.col("quantity_unit").filter(pl.col("_sel")).drop_nulls().n_unique() <= 1
    merged = multi.group_by(key, maintain_order=True).agg(
        total("value"),
        total("net_weight_kg"),
        pl.when(unit_ok).then(total("quantity")).alias("quantity"),
        pl.col("quantity_unit").filter(pl.col("_sel")).drop_nulls().first(),
    )
    return merged.select(CANONICAL_COLUMNS)


def _check_sums(
    merged: pl.DataFrame,
    multi: pl.DataFrame,
    df: pl.DataFrame | Callable[[], pl.DataFrame],
    files: Sequence[str],
) -> None:
    """Refuse records whose summed rows overflow to infinity (1.7e308 + 1.6e308).

    ``df`` holds ``_file`` and ``_idx`` of (at least) each file's first row, to turn a
    row index into a line number; a callable is only called when a record overflows.
    """
    sums = ("value", "net_weight_kg", "quantity")
    bad = merged.filter(pl.any_horizontal(~pl.col(c).is_finite() for c in sums))
    if bad.height == 0:
        return
    first = multi.join(
        bad.select(RECORD_KEY), on=list(RECORD_KEY), how="semi", nulls_equal=True
    ).row(0, named=True)
    if callable(df):
        df = df()
    file_rows = df.filter(pl.col("_file") == first["_file"])["_idx"]
    line = int(first["_idx"]) - int(file_rows.min()) + 2  # type: ignore[arg-type]
    raise ParseError(
        "rows of one record sum to infinity (the numbers overflow)",
        file=files[int(first["_file"])],
        line=line,
        column="value",
        value=first["value"],
        hint="the values are too large to add up; check the units of the column",
    )


def collect_staged(staged: Sequence[Staged]) -> list[pl.DataFrame]:
    """Collect the staged rows of several formats together (``pl.collect_all``).

    On a parse error each format, then each file, is collected alone to name the
    file at fault.
    """
    plans = [pl.concat([lf for _, lf in st.frames], how="vertical") for st in staged]
    try:
        return pl.collect_all(plans)
    except pl.exceptions.PolarsError:
        return [_collect(st) for st in staged]


def finish(
    staged: Staged, files: Sequence[str], collected: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, IngestReport]:
    """Apply the group rules, merge records and account for every row.

    Group rules, applied to rows that passed the row-level rules:

    * ``commodity_total``: a TOTAL row, when its file also has product rows;
    * ``parent_commodity_row``: a code that prefixes a longer code of the same
      reporter, partner, flow, period and vintage (8703 when 870321 is there);
    * ``duplicate``: a row equal to an earlier one in every canonical column and
      in its split dimensions.

    Rows that share a record key after that are merged by :func:`_merge`.
    Records that stand alone keep the input order; merged records follow.

    Args:
        staged: Staged frames of one format.
        files: Every file of this format, in ``_file`` index order.
        collected: The staged rows, if already collected (see :func:`collect_staged`).

    Returns:
        The canonical frame and its ingest report.
    """
    df = (collected if collected is not None else _collect(staged)).with_row_index("_idx")
    notes = list(staged.notes)
    drop = df["_drop"]
    example = df["_example"]

    def label(idx: pl.Series, reason: str) -> None:
        nonlocal drop, example
        if idx.len():
            drop = drop.scatter(idx, _CODE[reason])
            example = example.scatter(idx, df["hs"].gather(idx))

    ok = drop == 0
    if df["_total_code"].any():
        detail_files = df.filter(ok & ~df["_total_code"])["_file"].unique()
        mask = ok & df["_total_code"] & df["_file"].is_in(detail_files.implode())
        label(mask.arg_true(), "commodity_total")
        ok = drop == 0
    parents = _parents(df if bool(ok.all()) else df.filter(ok))
    if parents.len():
        label(parents, "parent_commodity_row")
        ok = drop == 0
    merged: pl.DataFrame | None = None
    in_merge = None
    if df.height > 1 and ok.any():
        maybe = _maybe_repeated(df, RECORD_KEY, ok)
        if maybe.any():
            cand = df.filter(maybe)
            first = cand.select(pl.struct([*CANONICAL_COLUMNS, "_split"]).is_first_distinct())
            label(cand.filter(~first.to_series())["_idx"], "duplicate")
            cand = cand.filter(first.to_series())
            multi = cand.filter(
                cand.select(pl.struct(list(RECORD_KEY)).is_duplicated()).to_series()
            )
            if multi.height:
                merged = _merge(multi)
                _check_sums(merged, multi, df, files)
                in_merge = df["_idx"].is_in(multi["_idx"].implode())
            ok = drop == 0
    keep = ok if in_merge is None else ok & ~in_merge
    frame = (
        df.select(CANONICAL_COLUMNS)
        if bool(keep.all())
        else df.filter(keep).select(CANONICAL_COLUMNS)
    )
    if merged is not None:
        frame = pl.concat([frame, merged], how="vertical")
    n_padded = int(df["_padded"].filter(ok).sum())
    if n_padded:
        notes.append(
            f"{n_padded:,} product code(s) had an odd number of digits and got their leading "
            "zero back (e.g. 10121 -> 010121)"
        )
    book = pl.DataFrame({"_file": df["_file"], "_drop": drop, "_example": example})
    notes.extend(_unmapped_value_notes(drop, df["value"]))
    report = _report(book, staged.format, files, frame.height, notes)
    return frame, report


def unmapped_note(n: int, reason: str, share: str) -> str:
    """The note that ``n`` rows dropped for ``reason`` carry ``share`` of the value read."""
    return (
        f"{n:,} row(s) dropped as {reason} carry {share} of the value read; "
        "the ingest report's examples show the codes"
    )


def _unmapped_value_notes(drop: pl.Series, value: pl.Series) -> list[str]:
    """Say how much of the value read sits in rows dropped for unmapped countries."""
    codes = [_CODE["unmapped_reporter"], _CODE["unmapped_partner"]]
    if not drop.is_in(codes).any():
        return []
    usable = value.is_finite().fill_null(False) & (value >= 0).fill_null(False)
    total = float(value.filter(usable).sum())
    out = []
    for code in codes:
        hit = (drop == code) & usable
        n = int((drop == code).sum())
        if n:
            lost = float(value.filter(hit).sum())
            share = f"{lost / total:.1%}" if total > 0 else "n/a"
            out.append(unmapped_note(n, REASONS[code - 1], share))
    return out


def drop_examples() -> pl.Expr:
    """Up to five distinct raw values (trimmed, 60 characters) of the rows of one drop reason."""
    return (
        pl.col("_example")
        .str.strip_chars()
        .fill_null("<empty>")
        .str.slice(0, 60)
        .unique(maintain_order=True)
        .head(5)
    )


def _report(
    df: pl.DataFrame, fmt: str, files: Sequence[str], records: int, notes: list[str]
) -> IngestReport:
    combo = (pl.col("_file").cast(pl.UInt64) * 256 + pl.col("_drop").cast(pl.UInt64)).alias("k")
    counts = df.select(combo).to_series().value_counts()
    per_file: dict[int, dict[int, int]] = {}
    for k, n in counts.iter_rows():
        per_file.setdefault(int(k) // 256, {})[int(k) % 256] = int(n)
    dropped_rows = df.filter(pl.col("_drop") != 0)
    examples: dict[str, tuple[str, ...]] = {}
    if dropped_rows.height:
        ex = dropped_rows.group_by("_drop", maintain_order=True).agg(drop_examples())
        examples = {REASONS[int(c) - 1]: tuple(v) for c, v in ex.iter_rows()}
    return report_of(file_reports(per_file, fmt, files), records, notes, examples)


def file_reports(
    per_file: Mapping[int, Mapping[int, int]], fmt: str, files: Sequence[str]
) -> list[FileReport]:
    """One :class:`FileReport` per file from row counts by file index and drop code."""
    out = []
    for i, path in enumerate(files):
        by_code = per_file.get(i, {})
        dropped = {REASONS[c - 1]: n for c, n in sorted(by_code.items()) if c and n}
        kept = by_code.get(0, 0)
        out.append(
            FileReport(
                path=path,
                format=fmt,
                rows_read=kept + sum(dropped.values()),
                rows_kept=kept,
                dropped=dropped,
            )
        )
    return out


def report_of(
    reports: Sequence[FileReport],
    records: int,
    notes: Sequence[str],
    examples: dict[str, tuple[str, ...]],
) -> IngestReport:
    """The :class:`IngestReport` of one format's files."""
    dropped_total: dict[str, int] = {}
    for fr in reports:
        for r, n in fr.dropped.items():
            dropped_total[r] = dropped_total.get(r, 0) + n
    return IngestReport(
        rows_read=sum(fr.rows_read for fr in reports),
        rows_kept=sum(fr.rows_kept for fr in reports),
        records_out=records,
        dropped=dropped_total,
        files=tuple(reports),
        notes=tuple(notes),
        examples=examples,
    )


def canonical_cast(frame: pl.DataFrame) -> pl.DataFrame:
    """Select and cast to :data:`rerouting.schema.CANONICAL_SCHEMA`."""
    return frame.select([pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()])
