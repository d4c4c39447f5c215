"""Find input files and open them as lazy frames.

Handles paths, globs, folders (recursively), lists of those; CSV/TSV/.dat text
(plain or gzip, UTF-8 with or without BOM, cp1252 fallback) and Parquet.
Everything a user can get wrong here raises a :class:`~rerouting.ReroutingError`
that names the file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import glob
import gzip
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from rerouting._exceptions import InputError, ParseError, SourceNotFoundError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["SourceFile", "expand_sources", "normalise_header", "open_source", "parse_failure"]

#: File name endings read when a folder is given.
FOLDER_PATTERNS = ("*.csv", "*.csv.gz", "*.parquet", "*.tsv", "*.tsv.gz", "*.dat", "*.dat.gz")
_SAMPLE = 1 << 20  # bytes sniffed for encoding and separator
_FULL_CHECK_LIMIT = 64 << 20  # plain files up to this size are checked for UTF-8 in full


@dataclass(frozen=True)
class SourceFile:
    """One opened input: a lazy frame plus what we learnt while opening it.

    Attributes:
        path: The file as given (for messages and reports).
        frame: Lazy frame with the file's columns (CSV: all String).
        headers: Column names as found in the file.
        kind: ``csv`` or ``parquet``.
        notes: Remarks to copy into the ingest report (e.g. encoding fallback).
    """

    path: str
    frame: pl.LazyFrame
    headers: tuple[str, ...]
    kind: str
    notes: tuple[str, ...] = ()


def normalise_header(name: str) -> str:
    """Lower-case a column name and keep only letters and digits.

    ``"Trade Value (US$)"`` -> ``"tradevalueus"``; ``"netweight_kg"`` ->
    ``"netweightkg"``; ``"\ufeffperiod"`` -> ``"period"``.
    """
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _source_list(source: object) -> list[str | Path]:
    items = list(source) if isinstance(source, list | tuple) else None
    if items is None or not all(isinstance(i, str | Path) for i in items):
        raise InputError(
            "read_trade needs a path, a glob, a folder, a list of those, or a polars frame",
            value=repr(source)[:80],
            hint='e.g. rr.read_trade("data/*.csv") or rr.read_trade(["a.csv", "b.parquet"])',
        )
    return items


def expand_sources(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """Turn a path, glob, folder or list of those into a sorted list of files.

    Raises:
        SourceNotFoundError: A path does not exist, or a glob/folder matches no
            readable file.
    """
    items: Sequence[str | Path] = (
        [source] if isinstance(source, str | Path) else _source_list(source)
    )
    if not items:
        raise SourceNotFoundError(
            "no input given", hint="pass a file, a glob such as 'data/*.csv', or a folder"
        )
    files: list[Path] = []
    for item in items:
        text = str(item)
        path = Path(text).expanduser()
        if path.is_file():
            files.append(path)
            continue
        if path.is_dir():
            found = sorted(
                {p for pattern in FOLDER_PATTERNS for p in path.rglob(pattern) if p.is_file()}
            )
            if not found:
                raise SourceNotFoundError(
                    "folder contains no .csv, .csv.gz, .tsv, .dat or .parquet file",
                    file=text,
                    hint="point to the data files themselves or to a folder that holds them",
                )
            files.extend(found)
            continue
        if _is_glob(text):
            # Path.glob takes relative patterns only; users pass absolute globs too.
            found_glob = glob.glob(str(path), recursive=True)  # noqa: PTH207
            matched = sorted(Path(p) for p in found_glob)
            matched = [p for p in matched if p.is_file()]
            if not matched:
                raise SourceNotFoundError(
                    "glob matched no file", file=text, hint="check the pattern and the folder"
                )
            files.extend(matched)
            continue
        raise SourceNotFoundError(
            "file or folder not found",
            file=text,
            hint=f"check the path; the current folder is {Path.cwd()}",
        )
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _read_head(path: Path) -> tuple[bytes, bool]:
    """First bytes of the (decompressed) file, and whether it is gzip."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                return gz.read(_SAMPLE), True
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(
                f"gzip file cannot be decompressed: {exc}",
                file=str(path),
                hint="the download may be truncated; fetch the file again",
            ) from exc
    with path.open("rb") as fh:
        return fh.read(_SAMPLE), False


def _valid_utf8(data: bytes, *, final: bool) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _first_control(sample: bytes) -> int:
    """Offset of the first NUL or control byte (not tab/CR/LF/FF)."""
    return next((i for i, b in enumerate(sample) if b < 32 and b not in (9, 10, 12, 13)), 0)


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    if not sample:
        return False
    # Control bytes other than tab/CR/LF/FF are rare in text tables.
    controls = sum(1 for b in sample[:65536] if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(sample[:65536]) // 100)


def _separator(header_line: str, path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".tsv", ".tsv.gz")):
        return "\t"
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > 0 else ","


def _first_line(text: str) -> str:
    lines = text.lstrip("\ufeff").splitlines()
    return lines[0] if lines else ""


_BOM = b"\xef\xbb\xbf"
_CHUNK = 16 << 20


@dataclass(frozen=True)
class _Shape:
    """Byte facts of a text file, taken without parsing it."""

    quotes: bool
    cr_only: bool


def _shape(data: bytes | None, path: Path, is_gzip: bool) -> _Shape:
    """Look for quotes and CR-only line endings, by bytes (no CSV parsing).

    ``bytes.count`` runs at memory speed; big or gzip files are read in chunks.
    """
    lf = cr = 0
    quotes = False
    with contextlib.ExitStack() as stack:
        if data is not None:
            chunks: Iterator[bytes] = iter((data,))
        else:
            opener = gzip.open if is_gzip else open
            fh = stack.enter_context(opener(path, "rb"))
            chunks = iter(lambda: fh.read(_CHUNK), b"")
        for chunk in chunks:
            lf += chunk.count(b"\n")
            cr += chunk.count(b"\r")
            quotes = quotes or b'"' in chunk
    return _Shape(quotes, cr_only=lf == 0 and cr > 0)


def _field_re(sep: str) -> str:
    """One RFC 4180 field: quoted (``""`` inside), or unquoted without any quote."""
    s = re.escape(sep)
    return rf'(?:"(?:[^"]|"")*"|[^"{s}\r\n]*)'


def _stray_quote_line(text: str, sep: str) -> int | None:
    """1-based line where the text stops being RFC 4180 records, or ``None``.

    Quoted fields may span lines here (a legitimate multi-line value). Runs on
    the error path only: when some physical line, on its own, is not a row of
    well-formed fields.
    """
    field = _field_re(sep)
    record = re.compile(rf"{field}(?:{re.escape(sep)}{field})*(?:\r?\n|\r?\Z)")
    text = text.lstrip("\ufeff")
    pos, line = 0, 1
    while pos < len(text):
        found = record.match(text, pos)
        if found is None or found.end() == pos:
            return line
        line += text.count("\n", pos, found.end())
        pos = found.end()
    return None


def open_source(path: Path) -> SourceFile:
    """Open one file lazily (CSV variants or Parquet).

    Raises:
        ParseError: The file is empty, binary garbage, a broken gzip/Parquet file,
            or its header cannot be read.
    """
    shown = str(path)
    head, is_gzip = _read_head(path)
    if head[:4] == b"PAR1":
        try:
            frame = pl.scan_parquet(path, glob=False)
            headers = tuple(frame.collect_schema().names())
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise ParseError(
                f"Parquet file cannot be read: {str(exc).splitlines()[0]}",
                file=shown,
                hint="the file may be truncated or written by an incompatible tool",
            ) from exc
        return SourceFile(shown, frame, headers, "parquet")
    if not head.removeprefix(_BOM).strip():
        raise ParseError(
            "file is empty (no header line)", file=shown, hint="check the download or export"
        )
    if _looks_binary(head):
        at = _first_control(head)
        ending = b"\n" if b"\n" in head else b"\r"
        raise ParseError(
            "file is not a text table (CSV/TSV) or Parquet file: it holds control bytes",
            file=shown,
            line=head[:at].count(ending) + 1,
            value=head[head.rfind(ending, 0, at) + 1 :][:40],
            hint="expected CSV/TSV (optionally .gz) or Parquet; unzip archives first, "
            "or remove the NUL/control bytes from the line shown",
        )
    notes: list[str] = []
    small_plain = not is_gzip and path.stat().st_size <= _FULL_CHECK_LIMIT
    if small_plain:
        data = path.read_bytes()
        utf8 = _valid_utf8(data, final=True)
    else:
        data = b""
        utf8 = _valid_utf8(head, final=False)
    source: str | Path | io.BytesIO = path
    if not utf8:
        raw = data if small_plain else _read_all(path, is_gzip)
        text = raw.decode("cp1252", errors="replace")
        source = io.BytesIO(text.encode("utf-8"))
        notes.append(f"{path.name}: not valid UTF-8, read as Windows-1252 (cp1252)")
        header_line = _first_line(text[:_SAMPLE])
    else:
        header_line = _first_line(head.decode("utf-8", errors="ignore"))
    sep = _separator(header_line, path)
    shape = _shape(data if small_plain else None, path, is_gzip)
    if shape.cr_only:
        # polars splits records on LF only; classic-Mac files end lines with CR.
        raw = data if small_plain else _read_all(path, is_gzip)
        if isinstance(source, io.BytesIO):
            raw = source.getvalue()
        source = io.BytesIO(raw.replace(b"\r", b"\n"))
        notes.append(f"{path.name}: lines end with CR only (classic Mac); read as LF")
    try:
        frame = pl.scan_csv(
            source,
            separator=sep,
            infer_schema=False,
            has_header=True,
            raise_if_empty=False,
            truncate_ragged_lines=False,
            glob=False,
        )
        headers = tuple(frame.collect_schema().names())
        if shape.quotes:
            _check_quotes(source, path, is_gzip, sep, shown)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ParseError(
            f"CSV header cannot be read: {str(exc).splitlines()[0]}",
            file=shown,
            line=1,
            hint="the first line must hold the column names",
        ) from exc
    if len(set(headers)) != len(headers):
        raise ParseError(
            "CSV header has duplicate column names",
            file=shown,
            line=1,
            value=", ".join(headers)[:200],
        )
    return SourceFile(shown, frame, headers, "csv", tuple(notes))


def _check_quotes(
    source: str | Path | io.BytesIO, path: Path, is_gzip: bool, sep: str, shown: str
) -> None:
    """Refuse a file whose quotes do not form quoted fields, naming the line.

    An unquoted field holding ``"`` (``15" screen``), or text after a closing
    quote (``"a"b``), is read differently by different CSV parsers: polars
    toggles on every quote and may swallow the lines up to the next one, RFC
    4180 readers keep the quote literally or merge other lines. Either way the
    fields (and the row count) are a guess, so such a file is refused. Every
    physical line holding a quote is matched, vectorised, against "well-formed
    fields"; only if one fails is the text walked record by record (quoted
    fields may legitimately span lines) to find the line at fault.
    """
    field = _field_re(sep)
    well_formed = rf"^{field}(?:{re.escape(sep)}{field})*\r?$"
    lines = pl.scan_lines(
        source.getvalue() if isinstance(source, io.BytesIO) else source, glob=False
    )
    suspect = (
        lines.filter(
            pl.col("line").str.contains('"', literal=True)
            & ~pl.col("line").str.contains(well_formed)
        )
        .head(1)
        .collect()
    )
    if suspect.is_empty():
        return
    raw = source.getvalue() if isinstance(source, io.BytesIO) else _read_all(path, is_gzip)
    text = raw.decode("utf-8", errors="replace")
    bad = _stray_quote_line(text, sep)
    if bad is None:
        return  # quoted fields that span lines, all well formed
    column, value = _bad_field(text, sep, bad)
    raise ParseError(
        "a double quote outside a quoted field: the line cannot be split into fields "
        "unambiguously (lines may merge into one record)",
        file=shown,
        line=bad,
        column=column,
        value=value,
        hint='quote the field and double the quote inside it ("15"" screen"), or remove it',
    )


def _bad_field(text: str, sep: str, line: int) -> tuple[str | None, str]:
    """The header name (data lines only) and the line from its first malformed field on.

    Where that field ends is exactly what is ambiguous, so the rest of the line is
    shown (cut to 60 characters).
    """
    lines = text.lstrip("\ufeff").split("\n")
    raw = lines[line - 1].rstrip("\r")
    ok = re.match(rf"(?:{_field_re(sep)}{re.escape(sep)})*", raw)
    start = ok.end() if ok else 0
    value = raw[start : start + 60]
    if line == 1:
        return None, value
    header = next(csv.reader([lines[0]], delimiter=sep), [])
    index = raw[:start].count(sep)
    return (header[index] if index < len(header) else None), value


_PARSE_HINT = (
    "check that every line has as many fields as the header and that the file is a "
    "CSV/TSV or Parquet table"
)


#: How polars names the value it gave up on (its message is the only place it says so).
_POLARS_VALUE = re.compile(
    r"could not parse `(?P<value>.*?)` as dtype .*? at column '(?P<col>.*?)'"
)


def parse_failure(path: str, exc: Exception) -> ParseError:
    """The error for a file the parser gave up on, naming the line where it can.

    Runs on the error path only. The file is re-read with Python's csv module to
    find the first line with more fields than the header; failing that, the
    first line whose quotes do not form quoted fields; failing that, the first
    line holding the value the parser quotes in its message.
    """
    message = f"file cannot be parsed: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    p = Path(path)
    try:
        head, is_gzip = _read_head(p)
        if head[:4] == b"PAR1":
            return ParseError(message, file=path, hint=_PARSE_HINT)
        raw = _read_all(p, is_gzip)
    except (OSError, ParseError):
        return ParseError(message, file=path, hint=_PARSE_HINT)
    text = raw.decode("utf-8" if _valid_utf8(raw, final=True) else "cp1252", errors="replace")
    text = text.lstrip("\ufeff")
    if "\n" not in text:
        text = text.replace("\r", "\n")
    sep = _separator(_first_line(text), p)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        width = len(next(reader))
        for row in reader:
            if len(row) > width:
                return ParseError(
                    f"line has {len(row)} fields, the header {width}",
                    file=path,
                    line=reader.line_num,
                    value=sep.join(row),
                    hint="a separator inside an unquoted field shifts the columns; quote it",
                )
    except (csv.Error, StopIteration):
        pass
    lines = text.split("\n")
    stray = _stray_quote_line(text, sep)
    if stray is not None:
        return ParseError(
            "a double quote inside an unquoted field breaks the line into wrong fields",
            file=path,
            line=stray,
            value=lines[stray - 1],
            hint='quote the field and double the quote inside it ("15"" screen"), or remove it',
        )
    found = _POLARS_VALUE.search(str(exc))
    if found:
        value = found["value"]
        at = next((i for i, line in enumerate(lines, start=1) if value in line), None)
        if at is not None:
            return ParseError(
                "value cannot be read",
                file=path,
                line=at,
                column=found["col"],
                value=value,
                hint=_PARSE_HINT,
            )
    return ParseError(message, file=path, hint=_PARSE_HINT)


def _read_all(path: Path, is_gzip: bool) -> bytes:
    if is_gzip:
        with gzip.open(path, "rb") as gz:
            return gz.read()
    return path.read_bytes()
