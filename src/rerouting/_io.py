"""Read trade statistics into the canonical trade table.

One entry point, :func:`read_trade`, reads UN Comtrade (current and legacy),
Eurostat Comext (bulk files and Data-Browser extracts), CEPII BACI and tidy
tables, from files, globs, folders or in-memory frames, and returns the
canonical table (:mod:`rerouting.schema`) together with an
:class:`~rerouting._ingest.IngestReport` that accounts for every row::

    import rerouting as rr

    trade = rr.read_trade("comtrade/*.csv")
    trade.frame            # canonical columns
    print(trade.report.summary())

See ``docs/readers.md`` for each format's rules.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from rerouting._exceptions import ConfigError, FormatDetectionError, ParseError, SchemaError
from rerouting._readers import tidy
from rerouting._readers._common import (
    REASONS,
    Staged,
    canonical_cast,
    collect_staged,
    finish,
)
from rerouting._readers._reader import Reader, StageArgs
from rerouting._readers._registry import READERS, get_reader, reader_for_headers
from rerouting._readers._source import SourceFile, expand_sources, normalise_header, open_source
from rerouting._readers._stream import PATH_COLUMN
from rerouting.schema import CANONICAL_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from rerouting._ingest import IngestReport

__all__ = [
    "FORMATS",
    "Format",
    "LazyTradeData",
    "TradeData",
    "detect_format",
    "read_trade",
    "scan_trade",
    "spool_trade",
    "write_partitioned",
]

#: A format name from :data:`FORMATS`, or ``"auto"`` to detect it from the header.
Format = str
#: Formats :func:`read_trade` understands (``auto`` detects from the header).
#: The formats ``read_trade`` reads, in detection order (from the reader registry).
FORMATS: Final = tuple(r.name for r in READERS)

_SKIP_FILE_RE: Final = re.compile(r"^(country|product)_codes_V\d+\.csv$", re.IGNORECASE)
_MEMORY: Final = "<in-memory frame>"


@dataclass(frozen=True)
class TradeData:
    """The canonical trade table and how it was made.

    Attributes:
        frame: Canonical columns in :data:`rerouting.schema.CANONICAL_SCHEMA` order.
        report: Rows read, kept and dropped (by reason), per file.
    """

    frame: pl.DataFrame
    report: IngestReport

    def lazy(self) -> pl.LazyFrame:
        """The frame as a LazyFrame, for further lazy processing."""
        return self.frame.lazy()

    def __len__(self) -> int:
        return self.frame.height

    def __repr__(self) -> str:
        return (
            f"TradeData({self.frame.height:,} records; {self.report.rows_read:,} rows read, "
            f"{self.report.rows_dropped:,} dropped)"
        )


@dataclass(frozen=True)
class LazyTradeData:
    """The canonical trade table as a lazy plan, and the accounting of its rows.

    Made by :func:`scan_trade`. ``rerouting.scan`` accepts it like
    :class:`TradeData`; nothing is materialised until a result is collected.

    Attributes:
        frame: Canonical columns in :data:`rerouting.schema.CANONICAL_SCHEMA` order.
        report: Rows read, kept and dropped (by reason), per file.
    """

    frame: pl.LazyFrame
    report: IngestReport
    #: What the plan reads from and must outlive it (a temporary spool folder).
    _keep: object = field(default=None, repr=False, compare=False)

    def lazy(self) -> pl.LazyFrame:
        """The lazy frame."""
        return self.frame

    def collect(self) -> TradeData:
        """Materialise the table."""
        return TradeData(self.frame.collect(), self.report)

    def close(self) -> None:
        """Remove the temporary files the frame reads, if any (it can't be collected after)."""
        close = getattr(self._keep, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        return (
            f"LazyTradeData({self.report.rows_kept:,} rows kept of {self.report.rows_read:,} "
            f"read, {self.report.rows_dropped:,} dropped; lazy)"
        )


def _detect_from_headers(headers: Sequence[str]) -> str | None:
    reader = reader_for_headers({normalise_header(x) for x in headers})
    return reader.name if reader else None


def _near_format(headers: Sequence[str]) -> tuple[str, list[tuple[str, str | None]]] | None:
    """The format the header almost matches: its name and each missing column with a guess.

    A format is "almost" matched when at most two of its required columns are missing
    and more are present than missing; the guess is the file's closest column name.
    """
    from rerouting._exceptions import near_miss
    from rerouting._readers._reader import missing_groups

    normalised = {normalise_header(h) for h in headers}
    best: tuple[int, Reader, list[tuple[str, ...]]] | None = None
    for reader in READERS:
        if not reader.requires:
            continue
        missing = missing_groups(reader.requires, normalised)
        present = len(reader.requires) - len(missing)
        near = 0 < len(missing) <= 2 and present > len(missing)
        if near and (best is None or len(missing) < best[0]):
            best = (len(missing), reader, missing)
    if best is None:
        return None
    _, reader, missing = best
    unused = [h for h in headers if normalise_header(h) not in reader_names(reader)]
    return reader.name, [(group[0], near_miss(group[0], unused)) for group in missing]


def reader_names(reader: Reader) -> set[str]:
    """Every normalised header name a reader's requirements mention."""
    return {name for group in reader.requires for name in group}


def _detection_error(src: SourceFile) -> FormatDetectionError:
    shown = ", ".join(src.headers[:25]) + (" ..." if len(src.headers) > 25 else "")
    where: dict[str, Any] = {
        "file": src.path,
        "line": 1 if src.kind == "csv" else None,
        "value": shown,
    }
    near = _near_format(src.headers)
    if near is not None:
        fmt, missing = near
        parts = [f"{m!r}" + (f" (did you mean {g!r}?)" if g else "") for m, g in missing]
        if fmt == "tidy":  # tidy files can be mapped: say how, with the guesses filled in
            py = ", ".join(f"{m!r}: {g or '...'!r}" for m, g in missing)
            cli = shlex.quote(",".join(f"{m}={g or 'YOURS'}" for m, g in missing))
            hint, cli_hint = f"map it: columns={{{py}}}", f"map it: --columns {cli}"
        else:
            hint = (
                f"rename the column, name the format to see every check (format={fmt!r}), "
                "or map your columns to the canonical ones: columns={'value': ..., ...}"
            )
            cli_hint = (
                f"rename the column, name the format to see every check (--format {fmt}), "
                "or map your columns to the canonical ones: --columns value=YOURS,..."
            )
        return FormatDetectionError(
            f"the columns match no known trade format; looks like {fmt}, missing "
            + ", ".join(parts),
            hint=hint,
            cli_hint=cli_hint,
            **where,
        )
    canonical = "period, reporter, partner, flow, hs, value"
    return FormatDetectionError(
        "the columns match no known trade format",
        hint=(
            f"known formats: {', '.join(FORMATS)}. Name the format with format='...', or map "
            "your columns to the canonical ones with columns={'period': ..., 'reporter': ..., "
            "'partner': ..., 'flow': ..., 'hs': ..., 'value': ...}"
        ),
        cli_hint=(
            f"known formats: {', '.join(FORMATS)}. Name the format with --format FORMAT, or "
            f"map your columns to the canonical ones ({canonical}) with "
            "--columns period=month,reporter=country,..."
        ),
        **where,
    )


def detect_format(path: str | Path) -> str:
    """Detect the format of one file from its header.

    Args:
        path: A CSV/TSV (optionally gzip) or Parquet file.

    Returns:
        One of :data:`FORMATS`.

    Raises:
        SourceNotFoundError: The file does not exist.
        ParseError: The file is not a readable table.
        FormatDetectionError: The header matches no format.
    """
    files = expand_sources(path)
    src = open_source(files[0])
    fmt = _detect_from_headers(src.headers)
    if fmt is None:
        raise _detection_error(src)
    return fmt


def _frame_source(frame: pl.DataFrame | pl.LazyFrame) -> SourceFile:
    lf = frame.lazy()
    headers = tuple(lf.collect_schema().names())
    return SourceFile(_MEMORY, lf, headers, "memory")


def _stage_one(
    src: SourceFile,
    fmt: str,
    *,
    columns: Mapping[str, str] | None,
    currency: str | None,
    baci_table: Path | None,
    notes: list[str],
    file_index: int,
) -> pl.LazyFrame:
    reader = get_reader(fmt)
    if reader is None:
        raise ConfigError(f"unknown format {fmt!r}", hint=f"use one of: auto, {', '.join(FORMATS)}")
    args = StageArgs(
        file_index=file_index,
        columns=columns,
        overrides=_format_overrides(reader, columns),
        currency=currency,
        baci_table=baci_table,
        notes=notes,
    )
    for key, column in (columns or {}).items():
        if src.kind != "memory" and column not in src.headers:
            raise SchemaError.column_not_found(key, column, list(src.headers), file=src.path)
    return reader.stage(src, args)


def _format_overrides(reader: Reader, columns: Mapping[str, str] | None) -> dict[str, str] | None:
    fmt, table = reader.name, reader.fields
    if not columns or table is None:
        return None
    if not table:
        raise ConfigError(
            f"columns= is not supported for format {fmt!r}",
            hint="BACI files have fixed columns t,i,j,k,v,q; rename them or use format='tidy'",
        )
    unknown = [c for c in columns if c not in table]
    if unknown:
        raise ConfigError(
            f"columns= names column(s) {', '.join(map(repr, unknown))} that format {fmt!r} "
            "does not read",
            hint=f"for {fmt} you can map: {', '.join(table)}",
        )
    return {table[c]: col for c, col in columns.items()}


def _check_args(fmt: str, currency: str | None) -> None:
    if fmt != "auto" and get_reader(fmt) is None:
        raise ConfigError(f"unknown format {fmt!r}", hint=f"use one of: auto, {', '.join(FORMATS)}")
    if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise ConfigError(
            "currency must be a three-letter ISO 4217 code",
            value=currency,
            hint="e.g. currency='USD' or currency='EUR'",
        )


def _open_inputs(source: str | Path | Sequence[str | Path], notes: list[str]) -> list[SourceFile]:
    """Open every file of ``source`` lazily, skipping BACI code tables (with a note)."""
    opened = []
    for path in expand_sources(source):
        if _SKIP_FILE_RE.match(path.name):
            notes.append(f"{path}: BACI code table, not read as trade data")
            continue
        src = open_source(path)
        notes.extend(src.notes)
        opened.append(src)
    if not opened:
        raise ParseError(
            "no trade data file among the inputs",
            file=str(source),
            hint="only code tables were found; add the data files",
        )
    return opened


def _staged_inputs(
    source: str | Path | Sequence[str | Path] | pl.DataFrame | pl.LazyFrame,
    format: Format,
    columns: Mapping[str, str] | None,
    currency: str | None,
    baci_country_table: str | Path | None,
) -> tuple[dict[str, Staged], list[str]]:
    """Open and stage every input lazily, grouped by format (nothing is read yet)."""
    _check_args(format, currency)
    if columns is not None and format == "auto":
        format = "tidy"
    notes: list[str] = []
    sources: list[tuple[SourceFile, str]] = []
    table = Path(baci_country_table) if baci_country_table is not None else None
    if table is not None and not table.is_file():
        from rerouting._exceptions import SourceNotFoundError

        raise SourceNotFoundError("BACI country table not found", file=str(table))
    if isinstance(source, pl.DataFrame | pl.LazyFrame):
        src = _frame_source(source)
        fmt: str = format
        if fmt == "auto":
            fmt = _detect_from_headers(src.headers) or "tidy"
        sources.append((src, fmt))
    else:
        for src in _open_inputs(source, notes):
            fmt = format
            if fmt == "auto":
                detected = _detect_from_headers(src.headers)
                if detected is None:
                    raise _detection_error(src)
                fmt = detected
            sources.append((src, fmt))
    by_format: dict[str, Staged] = {}
    for src, fmt in sources:
        staged = by_format.setdefault(fmt, Staged(fmt))
        lf = _stage_one(
            src,
            fmt,
            columns=columns,
            currency=currency,
            baci_table=table,
            notes=staged.notes,
            file_index=len(staged.frames),
        )
        staged.frames.append((src.path, lf))
    return by_format, notes


def read_trade(
    source: str | Path | Sequence[str | Path] | pl.DataFrame | pl.LazyFrame,
    *,
    format: Format = "auto",
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    baci_country_table: str | Path | None = None,
) -> TradeData:
    """Read trade statistics into the canonical trade table.

    Args:
        source: A file, a glob (``"data/*.csv"``), a folder (read recursively:
            ``*.csv``, ``*.csv.gz``, ``*.tsv``, ``*.dat``, ``*.parquet``), a list of
            those, or an in-memory polars frame (tidy unless ``format`` says else).
        format: ``auto`` (detect each file from its header), ``tidy``,
            ``comtrade`` (Comtrade+), ``comtrade-legacy``, ``comext`` (bulk),
            ``comext-browser`` (Data-Browser extract with labels) or ``baci``.
        columns: Map canonical column names to your column names, e.g.
            ``{"reporter": "country", "value": "usd"}``; implies ``tidy`` when the
            format is ``auto``.
        currency: ISO 4217 code of the values; overrides the format's default
            (USD for Comtrade/BACI, EUR for Comext, USD for tidy files without a
            ``currency`` column).
        baci_country_table: BACI ``country_codes_V*.csv``; by default the one beside
            the BACI file is used, if any.

    Returns:
        :class:`TradeData` with the canonical frame and the ingest report.

    Raises:
        SourceNotFoundError: A path or glob matched nothing.
        FormatDetectionError: A file's header matches no format.
        SchemaError: A required column is missing.
        ParseError: A file is not a readable table.
        ConfigError: An argument is invalid.

    Example:
        >>> import polars as pl
        >>> from rerouting._io import read_trade
        >>> df = pl.DataFrame({"period": ["2022-01"], "reporter": ["KAZ"], "partner": ["DEU"],
        ...                    "flow": ["import"], "hs": ["870321"], "value": [1.5e6]})
        >>> read_trade(df, currency="EUR").frame.select("reporter", "hs", "value").row(0)
        ('KAZ', '870321', 1500000.0)
    """
    by_format, notes = _staged_inputs(source, format, columns, currency, baci_country_table)
    frames: list[pl.DataFrame] = []
    report: IngestReport | None = None
    # One pass over every input: all formats' plans are collected together.
    collected = collect_staged(list(by_format.values()))
    for staged, rows in zip(by_format.values(), collected, strict=True):
        files = [p for p, _ in staged.frames]
        frame, rep = finish(staged, files, rows)
        frames.append(frame)
        report = rep if report is None else report + rep
    assert report is not None
    if notes:
        report = report.model_copy(update={"notes": tuple(notes) + report.notes})
    out = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    out = canonical_cast(out)
    return TradeData(out, report)


def spool_trade(
    source: str | Path | Sequence[str | Path] | pl.DataFrame | pl.LazyFrame,
    *,
    format: Format = "auto",
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    baci_country_table: str | Path | None = None,
) -> LazyTradeData:
    """:func:`read_trade`'s records and report as a lazy plan, in bounded memory.

    The default read of ``rerouting.scan`` and ``rerouting scan``: every format, every
    row rule (parent commodity rows, duplicates, merged split rows included), each row
    staged once into a temporary Parquet file that lives as long as the returned frame
    (see :mod:`rerouting._readers._spool`). Arguments are :func:`read_trade`'s.
    """
    from rerouting._readers._spool import Spool, passthrough, spool

    by_format, notes = _staged_inputs(source, format, columns, currency, baci_country_table)
    where = Spool()
    frames: list[pl.LazyFrame] = []
    report: IngestReport | None = None
    for staged in by_format.values():
        files = [p for p, _ in staged.frames]
        as_is = passthrough(staged, files, currency) if columns is None else None
        frame, rep = as_is if as_is is not None else spool(staged, files, where)
        frames.append(frame)
        report = rep if report is None else report + rep
    assert report is not None
    if notes:
        report = report.model_copy(update={"notes": tuple(notes) + report.notes})
    out = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    return LazyTradeData(out, report, _keep=where)


def write_partitioned(trade: TradeData | LazyTradeData, folder: str | Path) -> list[Path]:
    """Write canonical records as Parquet files under ``folder/year=Y/chapter=CC/``.

    The files hold the canonical columns only (the folder names are not columns), so a
    later ``rerouting scan folder`` reads them as they are, and a product list skips
    every other chapter's files by their statistics. Every file carries the run's stamp
    (:data:`rerouting._readers._spool.STAMP_KEY`): a scan of one run's files trusts
    this run's checks instead of checking every row again. ``folder`` must not hold Parquet
    files already (they would be read as part of the data).

    Returns:
        The files written, sorted.
    """
    out = Path(folder)
    if out.exists() and any(out.rglob("*.parquet")):
        raise ConfigError(
            "the output folder already holds Parquet files",
            file=str(out),
            hint="write to a new or empty folder (its files are all read back as one input)",
        )
    from rerouting._readers._spool import converted_stamp

    key = {"year": pl.col("period").dt.year(), "chapter": pl.col("hs").str.slice(0, 2)}
    trade.frame.lazy().select(CANONICAL_COLUMNS).sink_parquet(
        pl.PartitionBy(out, key=key, include_key=False), mkdir=True, metadata=converted_stamp()
    )
    return sorted(out.rglob("*.parquet"))


def scan_trade(
    source: str | Path | Sequence[str | Path],
    *,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
) -> LazyTradeData:
    """Read tidy trade files lazily, for inputs too large to hold in memory.

    Every row is checked and counted by the same row rules as :func:`read_trade`
    (unmapped or aggregate countries, bad codes, periods and values ...), in one
    streaming pass; the returned frame is a lazy plan that re-reads the files when
    collected. Parquet files already in the canonical layout pass through as a plain
    Parquet scan, so a scan's filters skip whole row groups. The rules that compare
    rows with each other (parent commodity rows, exact duplicates) are not applied:
    the report says so. For Comtrade, Comext and BACI files use :func:`read_trade`
    (once), write its frame to Parquet, and stream that.

    Args:
        source: A file, a glob, a folder or a list of those (tidy CSV or Parquet).
        columns: Map canonical column names to your column names.
        currency: ISO 4217 code of the values (default: the ``currency`` column, or USD).

    Returns:
        :class:`LazyTradeData`: the lazy canonical frame and the ingest report.

    Raises:
        SourceNotFoundError: A path or glob matched nothing.
        ConfigError: A file is not a tidy table, or an argument is invalid.
        SchemaError: A required column is missing.

    Example:
        >>> import rerouting as rr
        >>> trade = rr.scan_trade("fixtures/demo/trade.parquet")  # doctest: +SKIP
        >>> rr.scan(trade, origin="BLR", destination="EU", event="2022-03")  # doctest: +SKIP
    """
    from rerouting._readers import _stream

    _check_args("tidy", currency)
    notes: list[str] = []
    opened = _open_inputs(source, notes)
    for src in opened if columns is None else ():
        detected = _detect_from_headers(src.headers)
        if detected is None:
            raise _detection_error(src)
        if detected != "tidy":
            raise ConfigError(
                f"scan_trade streams tidy tables; this file is {detected}",
                file=src.path,
                hint="read it once with read_trade (rerouting validate FILE --output "
                "trade.parquet) and stream the Parquet file",
            )
    # Canonical Parquet files, grouped by schema: one multi-file scan per group keeps
    # memory flat however many files there are.
    groups: dict[tuple[object, ...], tuple[_stream.Recipe, list[int]]] = {}
    for pos, src in enumerate(opened if columns is None else ()):
        if src.kind != "parquet":
            continue
        schema = src.frame.collect_schema()
        key = tuple(schema.items())
        if key not in groups:
            recipe = _stream.canonical_recipe(schema, currency=currency)
            if recipe is None:
                continue
            groups[key] = (recipe, [])
        groups[key][1].append(pos)
        if currency is None and "currency" not in schema:
            notes.append(f"{src.path}: no currency column and no currency= given; assumed USD")
    counts: dict[int, list[dict[str, object]]] = {}
    examples: dict[str, tuple[str, ...]] = {}
    changed: set[int] = set()
    for recipe, members in groups.values():
        found = _collect_counts(recipe.counts(_scan_parquet([opened[p] for p in members])))
        by_path = {row[PATH_COLUMN]: row for row in found.iter_rows(named=True)}
        for p in list(members):
            row = by_path.get(opened[p].path)
            if row is not None and row["bad"]:  # a failing row: the file is staged
                members.remove(p)
                continue
            counts[p] = [row] if row is not None else []
            if row is not None and row["changed"]:
                changed.add(p)
    canonical = {p for _, members in groups.values() for p in members}
    staged_pos = [p for p in range(len(opened)) if p not in canonical]
    staged_lf: pl.LazyFrame | None = None
    if staged_pos:
        parts = [
            tidy.stage_tidy(
                opened[p], file_index=i, columns=columns, currency=currency, notes=notes
            )
            for i, p in enumerate(staged_pos)
        ]
        staged_lf = pl.concat(parts, how="vertical")
        found = _collect_counts(
            _stream.staged_counts(staged_lf),
            [
                (opened[p].path, _stream.staged_counts(lf))
                for p, lf in zip(staged_pos, parts, strict=True)
            ],
        )
        for row in found.iter_rows(named=True):
            counts.setdefault(staged_pos[int(row["_file"])], []).append(row)
        if (found["_drop"] != 0).any():  # a second pass, over the dropped rows only
            shown = _collect_counts(_stream.staged_examples(staged_lf))
            examples = {REASONS[int(code) - 1]: tuple(values) for code, values in shown.iter_rows()}
    files = [
        _stream.FileCounts(src.path, "canonical" if p in canonical else "staged", counts.get(p, []))
        for p, src in enumerate(opened)
    ]
    report, totals_dropped = _stream.stream_report(files, notes, examples)
    frames = []
    for recipe, members in groups.values():
        if not members:
            continue
        as_is = recipe.passthrough is not None and not changed.intersection(members)
        cols = recipe.passthrough if as_is and recipe.passthrough is not None else recipe.exprs
        dropping = [opened[p].path for p in members if p in totals_dropped]
        lf = _scan_parquet([opened[p] for p in members], with_path=bool(dropping))
        if dropping:  # TOTAL rows of files that also hold product rows
            lf = lf.filter(~((pl.col("hs") == "TOTAL") & pl.col(PATH_COLUMN).is_in(dropping)))
        frames.append(lf.select(cols))
    if staged_lf is not None:
        dropped_idx = [staged_pos.index(p) for p in totals_dropped if p in staged_pos]
        frames.append(_stream.staged_kept(staged_lf, dropped_idx))
    frame = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    return LazyTradeData(frame, report)


def _scan_parquet(files: Sequence[SourceFile], *, with_path: bool = True) -> pl.LazyFrame:
    """One scan over several Parquet files of one schema (optionally naming each row's file)."""
    paths = [f.path for f in files]
    if with_path:
        return pl.scan_parquet(paths, include_file_paths=PATH_COLUMN, glob=False)
    return pl.scan_parquet(paths, glob=False)


def _collect_counts(
    plan: pl.LazyFrame, per_file: Sequence[tuple[str, pl.LazyFrame]] = ()
) -> pl.DataFrame:
    """Collect an accounting plan; on a parse error, name the file at fault."""
    hint = (
        "check that every line has as many fields as the header and that the file is a "
        "CSV/TSV or Parquet table"
    )
    try:
        return plan.collect()
    except pl.exceptions.PolarsError as exc:
        for path, one in per_file:  # the error path only: find the file, one at a time
            try:
                one.collect()
            except pl.exceptions.PolarsError as inner:
                from rerouting._readers._source import parse_failure

                raise parse_failure(path, inner) from inner
        raise ParseError(f"input cannot be parsed: {str(exc).splitlines()[0]}", hint=hint) from exc
