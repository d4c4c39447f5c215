"""The default read for a scan: stage every row once, spool it to a temporary Parquet file.

:func:`rerouting._io.read_trade` collects the staged rows of every file into memory and
applies the rules that compare rows with each other there (:func:`._common.finish`): 5 GB
at 25M rows. This module applies the same rules, with the same counts, without holding
the rows:

1. the staged rows of one format (canonical columns plus bookkeeping, see
   :mod:`._common`) are written once, in one streaming pass, to a temporary Parquet
   file; read back, each row gets its index and a 64-bit hash of its record key;
2. small passes over that file count the rows by file and drop reason, and find the
   few rows the group rules concern: ``commodity_total`` (a file's TOTAL rows next to
   product rows), ``parent_commodity_row`` (only looked for when code lengths differ),
   ``duplicate`` and rows to merge (only among rows whose record-key hash repeats);
3. the result is a lazy scan of the file without those rows, plus the merged records.

Later passes of the scan read canonical columns from a local Parquet file: staging
(period parsing, country look-ups, code clean-up) runs once, not once per pass.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import tempfile
import uuid
import zlib
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

import polars as pl

from rerouting._atomic import process_alive
from rerouting._exceptions import ParseError
from rerouting._readers._common import (
    _CODE,
    REASONS,
    _check_sums,
    _collect,
    _merge,
    _parents,
    drop_examples,
    file_reports,
    report_of,
    unmapped_note,
)
from rerouting.schema import CANONICAL_COLUMNS, CANONICAL_SCHEMA, RECORD_KEY

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rerouting._ingest import IngestReport
    from rerouting._readers._common import Staged
    from rerouting._readers._stream import Recipe

__all__ = ["Spool", "converted_stamp", "passthrough", "remove_spools", "spool"]

_KEY: Final = "_key"

#: Parquet key-value metadata that ``rerouting convert`` writes into every file. The
#: rows of one convert run passed every rule in that run and no record key repeats, so
#: a scan of files that all carry one run's stamp need not check them again. A new
#: ``version`` is due whenever a row rule or the canonical layout changes: older stamps
#: are then ignored and the files are checked as any other.
STAMP_KEY: Final = "rerouting.converted"
_STAMP_VERSION: Final = "1"


def converted_stamp() -> dict[str, str]:
    """The metadata for the files of one ``rerouting convert`` run (a fresh run id)."""
    return {STAMP_KEY: json.dumps({"version": _STAMP_VERSION, "run": uuid.uuid4().hex})}


def _one_run(files: Sequence[str]) -> bool:
    """Whether every file carries the stamp of the same convert run, at this version."""
    runs = set()
    for f in files:
        try:
            stamp = json.loads(pl.read_parquet_metadata(f).get(STAMP_KEY, "null"))
        except (ValueError, pl.exceptions.PolarsError):
            return False
        if not isinstance(stamp, dict) or stamp.get("version") != _STAMP_VERSION:
            return False
        runs.add(str(stamp.get("run")))
    return len(runs) == 1


#: The spool folders of this process that still exist (for :func:`remove_spools`).
_LIVE: set[Path] = set()
#: This machine's name, hashed: a temporary folder shared by containers (other PID
#: namespaces) holds folders whose process id means nothing here, and they are left alone.
_HOST: Final = f"{zlib.crc32(socket.gethostname().encode()):08x}"


def _stale_spools() -> list[Path]:
    """Spool folders of this machine whose process no longer runs."""
    stale = []
    for folder in Path(tempfile.gettempdir()).glob(f"rerouting-*-{_HOST}-*"):
        pid = folder.name.split("-")[1]
        if folder.is_dir() and pid.isdigit() and not process_alive(int(pid)):
            stale.append(folder)
    return stale


def remove_spools() -> None:
    """Remove every spool folder of this process (the CLI calls it on SIGTERM)."""
    for folder in list(_LIVE):
        shutil.rmtree(folder, ignore_errors=True)
        _LIVE.discard(folder)


class Spool:
    """A temporary folder for spooled rows: removed by :meth:`close`, or at exit.

    Not when the object is garbage-collected: a lazy frame reading from the folder
    may outlive every reference to its owner (``spool_trade(p).frame.collect()``).
    The folder is ``rerouting-PID-HOST-XXXX``: a process killed before its exit
    handlers ran (SIGKILL, the kernel's OOM killer) leaves it behind, so every new spool
    first removes the folders of this machine's processes that no longer run.
    """

    def __init__(self) -> None:
        for folder in _stale_spools():
            shutil.rmtree(folder, ignore_errors=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"rerouting-{os.getpid()}-{_HOST}-"))
        _LIVE.add(self.dir)
        atexit.register(self.close)

    def path(self, name: str) -> Path:
        """A file in the folder."""
        return self.dir / name

    def close(self) -> None:
        """Remove the folder (the frames reading from it can no longer be collected)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        _LIVE.discard(self.dir)


def _sink(staged: Staged, out: Path) -> None:
    plan = pl.concat([lf for _, lf in staged.frames], how="vertical")
    try:
        # Row index and key hash are made when reading back: writing them costs more.
        plan.sink_parquet(out, compression="lz4")
    except pl.exceptions.PolarsError as exc:
        _collect(staged)  # names the file at fault
        raise ParseError(f"input cannot be parsed: {str(exc).splitlines()[0]}") from exc


def spool(staged: Staged, files: Sequence[str], where: Spool) -> tuple[pl.LazyFrame, IngestReport]:
    """Stage one format's files once into ``where`` and apply every row rule.

    Returns the canonical rows as a lazy frame over the spooled file (plus merged
    records) and the ingest report; both equal :func:`._common.finish`'s up to row order
    of merged records.
    """
    out = where.path(f"{staged.format}-{id(staged)}.parquet")
    _sink(staged, out)
    lf = pl.scan_parquet(out, row_index_name="_idx")
    key = pl.struct(list(RECORD_KEY)).hash().alias(_KEY)
    usable = (pl.col("value").is_finite() & (pl.col("value") >= 0)).fill_null(False)
    kept = pl.col("_drop") == 0
    counts_plan = lf.group_by("_file", "_drop").agg(
        pl.len().alias("n"),
        pl.when(usable).then("value").sum().alias("value"),
        pl.col("_padded").sum().alias("padded"),
        (pl.col("_total_code") & kept).sum().alias("total"),
    )
    lens_plan = lf.filter(kept).select(
        pl.col("hs").str.len_bytes().min().alias("lo"),
        pl.col("hs").str.len_bytes().max().alias("hi"),
    )
    keys_plan = lf.filter(kept).select(key)
    (counts, lens), repeated, n_candidates = _with_repeated(lf, [counts_plan, lens_plan], keys_plan)
    book: dict[int, dict[int, int]] = {}
    value_by: dict[int, float] = {}
    padded = 0
    totals: dict[int, int] = {}
    for row in counts.iter_rows(named=True):
        f, code = int(row["_file"]), int(row["_drop"])
        book.setdefault(f, {})[code] = int(row["n"])
        value_by[code] = value_by.get(code, 0.0) + float(row["value"] or 0.0)
        if code == 0:
            padded += int(row["padded"] or 0)
            totals[f] = int(row["total"] or 0)

    def move(file: int, reason: str, n: int) -> None:
        by = book.setdefault(file, {})
        by[0] = by.get(0, 0) - n
        by[_CODE[reason]] = by.get(_CODE[reason], 0) + n

    group_examples: dict[str, list[str]] = {}
    # commodity_total: the TOTAL rows of files that also hold product rows.
    total_files = [f for f, n in totals.items() if n and book[f].get(0, 0) > n]
    for f in total_files:
        move(f, "commodity_total", totals[f])
        group_examples["commodity_total"] = ["TOTAL"]
    not_total = ~(pl.col("_total_code") & pl.col("_file").is_in(total_files))
    ok = kept & not_total if total_files else kept
    # parent_commodity_row: only possible when codes of different lengths are kept.
    lo, hi = lens.row(0)
    parent_idx = pl.Series("_idx", [], dtype=pl.UInt32)
    if lo is not None and lo != hi:
        from rerouting._readers._common import GROUP_KEY

        rows = lf.filter(ok).select("_idx", "_file", "_padded", "hs", *GROUP_KEY).collect()
        parent_idx = _parents(rows)
        if parent_idx.len():
            hit = rows.filter(pl.col("_idx").is_in(parent_idx.implode()))
            for (f,), part in hit.group_by("_file"):
                move(int(f), "parent_commodity_row", part.height)
            padded -= int(hit["_padded"].sum())
            group_examples["parent_commodity_row"] = hit["hs"].to_list()
            ok = ok & ~pl.col("_idx").is_in(parent_idx.implode())
        del rows
    parent_dropped = bool(parent_idx.len())
    # Duplicates and records to merge: only rows whose record-key hash repeats. They
    # are looked at in slices of the hash range, so that memory stays bounded when
    # many keys repeat (e.g. several files of overlapping downloads); every candidate
    # row is replaced by its slice's records, which are spooled, not held.
    merged_frames: list[pl.LazyFrame] = []
    merged_away = 0  # rows summed into another row of their record
    dup_examples: list[tuple[int, str]] = []
    slices = max(1, -(-n_candidates // _CANDIDATES_AT_ONCE))
    is_candidate = key.is_in(repeated.implode())
    by_slice = where.path(f"{staged.format}-{id(staged)}-slices")
    if slices > 1:
        # One pass writes each slice's candidate rows to its own folder, and every other
        # kept row to one more (``_slice`` = ``slices``), which is the scan's input with
        # the merged records: no second pass over all rows to filter the candidates out.
        lf.filter(ok).sink_parquet(
            pl.PartitionBy(
                by_slice,
                key={"_slice": pl.when(is_candidate).then(key % slices).otherwise(slices)},
                include_key=False,
            ),
            mkdir=True,
            # Each open partition buffers a row group: bound the rows held across all.
            row_group_size=max(_MIN_ROW_GROUP, _SINK_BUFFERED_ROWS // slices),
        )
    for slice_no in range(slices) if repeated.len() else ():
        if slices == 1:
            cand = lf.filter(ok & is_candidate).collect()
        elif (by_slice / f"_slice={slice_no}").is_dir():
            cand = pl.read_parquet(by_slice / f"_slice={slice_no}", glob=False)
        else:
            continue
        first = cand.select(pl.struct([*CANONICAL_COLUMNS, "_split"]).is_first_distinct())
        dups = cand.filter(~first.to_series())
        for (f,), rows in dups.group_by("_file"):
            move(int(f), "duplicate", rows.height)
        if dups.height:
            padded -= int(dups["_padded"].sum())
            # A slice's first five codes (in file order) hold the whole input's first five.
            seen = dups.sort("_idx").unique("hs", keep="first", maintain_order=True)
            dup_examples.extend(seen.head(5).select("_idx", "hs").iter_rows())
        cand = cand.filter(first.to_series())
        del dups, first
        records = _merge(cand)
        # The files' first rows only if a record overflows: finding them reads the
        # whole spool file, once per slice (67 slices in the 250M-row benchmark).
        _check_sums(records, cand, partial(_line_frame, lf, cand), files)
        merged_away += cand.height - records.height
        path = where.path(f"{staged.format}-{id(staged)}-records-{slice_no}.parquet")
        records.write_parquet(path, compression="lz4")
        merged_frames.append(pl.scan_parquet(path))
        del cand, records
    # The scan's passes read this plan: no row index and no filter unless needed, so
    # that their own filters reach the Parquet reader.
    canon = [pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()]
    rest = by_slice / f"_slice={slices}"
    if slices > 1:
        frame = (
            pl.scan_parquet(rest, glob=False).select(canon)
            if rest.is_dir()
            else pl.LazyFrame(schema=CANONICAL_SCHEMA)
        )
    elif merged_frames or parent_dropped:
        keep = ok & ~is_candidate if merged_frames else ok
        frame = lf.filter(keep).select(canon)
    else:
        frame = pl.scan_parquet(out)
        dropped_any = any(n for b in book.values() for c, n in b.items() if c)
        frame = (frame.filter(ok) if dropped_any else frame).select(canon)
    n_records = sum(b.get(0, 0) for b in book.values()) - merged_away
    if dup_examples:
        group_examples["duplicate"] = [hs for _, hs in sorted(dup_examples)]
    if merged_frames:
        merged = pl.concat(merged_frames, how="vertical").select(list(CANONICAL_SCHEMA))
        if slices > 1:
            frame = pl.concat([frame, merged], how="vertical")
        else:
            # Written once more, so that the scan's passes read a plain file: a filter on
            # the key hash in every pass costs more than this one pass (4x the scan's
            # time at 50M rows with 5M candidates).
            final = where.path(f"{staged.format}-{id(staged)}-final.parquet")
            pl.concat([frame, merged], how="vertical").sink_parquet(final, compression="lz4")
            frame = pl.scan_parquet(final)
    examples = _row_examples(lf)
    for reason, values in group_examples.items():
        examples[reason] = tuple(dict.fromkeys(v.strip()[:60] for v in values))[:5]
    notes = list(staged.notes)
    if padded:
        notes.append(
            f"{padded:,} product code(s) had an odd number of digits and got their leading "
            "zero back (e.g. 10121 -> 010121)"
        )
    notes.extend(_unmapped_notes(book, value_by))
    reports = file_reports(book, staged.format, files)
    return frame, report_of(reports, n_records, notes, examples)


def passthrough(
    staged: Staged, files: Sequence[str], currency: str | None
) -> tuple[pl.LazyFrame, IngestReport] | None:
    """Canonical Parquet files whose every row passes every rule, as a plain Parquet scan.

    One pass checks the row rules (on the distinct values of the columns a rule reads
    where it can, :func:`_rule_checks`) and hashes each record key. When no row fails,
    no code is a TOTAL, codes have one length (no parent rows) and no record key
    repeats (no duplicate, nothing to merge), nothing needs staging and the scan's
    filters reach the Parquet reader. Otherwise ``None``: the files are spooled. Files
    that all carry one ``rerouting convert`` run's stamp skip the check: that run
    applied every rule. Row counts come from the Parquet footers.
    """
    from rerouting._readers._stream import canonical_recipe

    if staged.format != "tidy" or not all(f.endswith(".parquet") for f in files):
        return None
    schemas = {tuple(pl.scan_parquet(f, glob=False).collect_schema().items()) for f in files}
    if len(schemas) != 1:
        return None
    recipe = canonical_recipe(pl.Schema(next(iter(schemas))), currency=currency)
    if recipe is None or recipe.passthrough is None:
        return None
    frame = pl.scan_parquet(list(files), glob=False).select(recipe.passthrough)
    # Footer row counts; one collect_all, since one collect per file costs 2 ms each.
    counts = pl.collect_all([pl.scan_parquet(f, glob=False).select(pl.len()) for f in files])
    rows = [c.item() for c in counts]
    book = {i: {0: int(n)} for i, n in enumerate(rows)}
    reports = file_reports(book, staged.format, files)
    if not _one_run(files):
        raw = pl.scan_parquet(list(files), glob=False)
        canon = {e.meta.output_name(): e for e in recipe.passthrough}
        keys = raw.select(pl.struct([canon[c] for c in RECORD_KEY]).hash().alias(_KEY))
        passes, repeated, _ = _with_repeated(raw, _rule_checks(raw, recipe), keys)
        if not all(p.item() for p in passes) or repeated.len():
            return None
    return frame, report_of(reports, int(sum(rows)), list(staged.notes), {})


def _rule_checks(raw: pl.LazyFrame, recipe: Recipe) -> list[pl.LazyFrame]:
    """One-value plans, each ``True`` when every row of ``raw`` passes: the recipe's
    rules, no TOTAL row and one code length (no parent rows).

    The columns of a canonical file are in their canonical dtypes: a term over one
    text column, or over dates and enums only, is checked on the distinct values of its
    columns (a few thousand codes for 25M rows), the others on every row.
    """
    schema = raw.collect_schema()
    by_columns: dict[tuple[str, ...], list[pl.Expr]] = {
        ("hs",): [pl.col("hs") != "TOTAL", pl.col("hs").str.len_bytes().n_unique() == 1]
    }
    on_rows: list[pl.Expr] = []
    for columns, term in recipe.checks:
        few = all(isinstance(schema[c], (pl.Date, pl.Enum, pl.Categorical)) for c in columns)
        one_column = len(columns) == 1 and not schema[columns[0]].is_numeric()
        if columns and (few or one_column):
            by_columns.setdefault(columns, []).append(term)
        else:
            on_rows.append(term)
    plans = [
        raw.select(columns).unique().select(pl.all_horizontal(terms).fill_null(False).all())
        for columns, terms in by_columns.items()
    ]
    plans.append(raw.select(pl.all_horizontal(on_rows).fill_null(False).all()))
    return plans


#: Record-key hashes held at once when looking for repeated keys (8 bytes each, and as
#: much again to sort them): larger inputs are looked at in slices of the hash range.
_KEYS_AT_ONCE: Final = 40_000_000
#: Rows whose record key repeats, collected at once to find duplicates and merge
#: records: all staged columns, about 200 bytes a row, and as much again or more for
#: the group and window operations (4M rows at once peaked at 4.5 GB).
_CANDIDATES_AT_ONCE: Final = 2_000_000


#: Rows buffered across the open files of the partitioned sink by hash slice (each file
#: holds one row group in memory until it is full): with polars' default row group,
#: 124 slices of 25M candidate rows peaked at 3.4 GB, at 16,384 rows a group at 1.2 GB.
_SINK_BUFFERED_ROWS: Final = 2_000_000
_MIN_ROW_GROUP: Final = 4_096


#: The plans of one pass read the same file: common-subplan elimination would read it
#: once and hold every row for all of them (2.6 GB at 25M rows against 0.6 GB, and
#: slower: 3.3 s against 2.2 s, measured on a spooled 25M-row tidy file).
_NO_SHARED_SCAN: Final = pl.QueryOptFlags(comm_subplan_elim=False)


def _with_repeated(
    source: pl.LazyFrame, plans: list[pl.LazyFrame], keys: pl.LazyFrame
) -> tuple[list[pl.DataFrame], pl.Series, int]:
    """Collect ``plans``, the record-key hashes (column ``_key`` of ``keys``) that repeat,
    and the number of rows that carry a repeated hash.

    Up to :data:`_KEYS_AT_ONCE` rows the hashes are sorted in one go, in the same pass as
    ``plans``; beyond, one pass per slice of the hash range keeps memory bounded.
    """
    n = int(source.select(pl.len()).collect().item())  # Parquet metadata: no data read
    slices = -(-n // _KEYS_AT_ONCE) if n else 1
    if slices == 1:
        *out, h = pl.collect_all([*plans, keys], optimizations=_NO_SHARED_SCAN)
        return out, *_repeats(h[_KEY])
    out = pl.collect_all(plans, optimizations=_NO_SHARED_SCAN)
    parts = [
        _repeats(keys.filter(pl.col(_KEY) % slices == i).collect()[_KEY]) for i in range(slices)
    ]
    return out, pl.concat([h for h, _ in parts]), sum(n for _, n in parts)


def _repeats(h: pl.Series) -> tuple[pl.Series, int]:
    """The hashes that occur more than once, and how many rows carry one of them."""
    h = h.sort()
    again = h == h.shift(1)
    rows = int((again | (h == h.shift(-1))).sum())
    return h.filter(again).unique(), rows


def _line_frame(lf: pl.LazyFrame, multi: pl.DataFrame) -> pl.DataFrame:
    """``_file`` and ``_idx`` of the first row of each file that ``multi`` touches."""
    files = multi["_file"].unique().implode()
    return (
        lf.filter(pl.col("_file").is_in(files))
        .group_by("_file")
        .agg(pl.col("_idx").min())
        .collect()
    )


def _row_examples(lf: pl.LazyFrame) -> dict[str, tuple[str, ...]]:
    ex = (
        lf.filter(pl.col("_drop") != 0)
        .group_by("_drop", maintain_order=True)
        .agg(drop_examples())
        .collect()
    )
    return {REASONS[int(c) - 1]: tuple(v) for c, v in ex.iter_rows()}


def _unmapped_notes(book: dict[int, dict[int, int]], value_by: dict[int, float]) -> list[str]:
    total = sum(value_by.values())
    out = []
    for reason in ("unmapped_reporter", "unmapped_partner"):
        code = _CODE[reason]
        n = sum(b.get(code, 0) for b in book.values())
        if n:
            share = f"{value_by.get(code, 0.0) / total:.1%}" if total > 0 else "n/a"
            out.append(unmapped_note(n, reason, share))
    return out
