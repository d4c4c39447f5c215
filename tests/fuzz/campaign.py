"""Mutation corpus, generators, an independent oracle and the outcome classifier.

Every input is a seed file of one reader format (tidy CSV/Parquet, Comtrade
current and legacy, Comext bulk and Data Browser, BACI) run through one
mutation class. The oracle counts the rows itself (Python's ``csv`` module on
the bytes), never asking ``rerouting``. Each entry point's outcome is one of:

``accepted``     rows read == oracle rows == kept + dropped by reason
``clean``        a ``ReroutingError`` (CLI: its documented exit code 2/3/4)
``crash``        any other exception (CLI: exit 1 or a traceback)
``silent_loss``  accepted, but the counts do not add up to the oracle's rows
``unescaped``    output with formula cells or terminal control characters
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from rerouting import read_trade, scan_trade
from rerouting._exceptions import ReroutingError

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "formats"

TIDY = (
    "period,reporter,partner,flow,hs,value,currency,net_weight_kg,note\n"
    "2022-01,KAZ,DEU,import,847130,100,USD,5,a\n"
    "2022-01,KAZ,FRA,import,847130,200,USD,6,b\n"
    "2022-02,KAZ,CHN,export,870323,300,USD,7,c\n"
    "2022-02,ARM,RUS,export,870323,400,USD,8,d\n"
)


def _head(name: str, lines: int = 8) -> str:
    raw = (ROOT / name).read_bytes()
    text = raw.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[:lines]) + "\n"


def seeds() -> dict[str, tuple[str, str]]:
    """Seed text and file name per format."""
    return {
        "tidy_csv": (TIDY, "trade.csv"),
        "tidy_parquet": (TIDY, "trade.parquet"),
        "comtrade": (_head("comtrade_plus_armenia_cars_2022.csv"), "comtrade.csv"),
        "comtrade_legacy": (_head("comtrade_legacy_kazakhstan_2019.csv"), "legacy.csv"),
        "comext_bulk": (_head("comext_bulk_full202201_excerpt.dat"), "full202201.dat"),
        "comext_browser": (
            _head("comext_browser_reg833_LT_KG_2022-05_06_excerpt.csv"),
            "browser.csv",
        ),
        "baci": (_head("baci/BACI_HS17_Y2022_V202401_excerpt.csv"), "BACI_HS17_Y2022_V202401.csv"),
    }


HOSTILE = [
    '15" screen',
    '=HYPERLINK("http://x")',
    "@SUM(A1)",
    "+1+1",
    "-2+3",
    "\tTAB",
    "[/x]",
    "[bold]X",
    "\x1b]0;title\x07",
    "\x1b[31mred",
    "NaN",
    "inf",
    "-inf",
    "-5",
    "1.7e308",
    "1e-320",
    "",
    "=CMD|X",
    "2022-13",
    "\u202eRLO",
    "é€",
    "a,b",
    "\x00",
]


def _cell_mutation(rng: random.Random, lines: list[str], sep: str) -> list[str]:
    i = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
    cells = lines[i].split(sep)
    j = rng.randrange(len(cells))
    cells[j] = rng.choice(HOSTILE) if rng.random() < 0.7 else _random_text(rng)
    lines[i] = sep.join(cells)
    return lines


def _random_text(rng: random.Random) -> str:
    alphabet = "abcXYZ019 .,;:-+=@\"'[]/\\\t\r\n\x1b\x07é€\ufeff"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))


def mutate(kind: str, text: str, rng: random.Random) -> bytes:
    """Apply one mutation class to a seed's text and return the bytes."""
    sep = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    lines = text.rstrip("\n").split("\n")
    if kind == "none":
        pass
    elif kind == "cell":
        lines = _cell_mutation(rng, lines, sep)
    elif kind == "stray_quotes":
        for _ in range(rng.choice((1, 2, 2, 4))):
            i = rng.randrange(len(lines))
            k = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:k] + '"' + lines[i][k:]
    elif kind == "ragged":
        i = rng.randrange(1, len(lines))
        lines[i] = lines[i] + sep + "extra" if rng.random() < 0.5 else lines[i].rsplit(sep, 1)[0]
    elif kind == "drop_line":
        del lines[rng.randrange(len(lines))]
    elif kind == "dup_line":
        i = rng.randrange(1, len(lines))
        lines.insert(i, lines[i])
    elif kind == "header":
        cells = lines[0].split(sep)
        j = rng.randrange(len(cells))
        cells[j] = rng.choice(['size (")', "[/x]", "", cells[j].upper(), "\ufeff" + cells[j]])
        lines[0] = sep.join(cells)
    out = "\n".join(lines) + "\n"
    if kind == "crlf":
        out = out.replace("\n", "\r\n")
    elif kind == "cr_only":
        out = out.replace("\n", "\r")
    elif kind == "no_final_newline":
        out = out.rstrip("\n")
    data = out.encode("utf-8")
    if kind == "bom":
        data = b"\xef\xbb\xbf" + data
    elif kind == "bom_only":
        data = b"\xef\xbb\xbf"
    elif kind == "empty":
        data = b""
    elif kind == "truncate":
        data = data[: rng.randrange(len(data))]
    elif kind == "byte_flip":
        b = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        data = bytes(b)
    elif kind == "cp1252":
        data = out.replace("a", "é").encode("cp1252", errors="replace")
    return data


MUTATIONS = (
    "none",
    "cell",
    "cell",
    "cell",
    "stray_quotes",
    "ragged",
    "drop_line",
    "dup_line",
    "header",
    "crlf",
    "cr_only",
    "no_final_newline",
    "bom",
    "bom_only",
    "empty",
    "truncate",
    "byte_flip",
    "cp1252",
)

NAMES = ("{}", "x[v2]{}", "exports [2022]{}", "a[b{}", "t*{}", "q?{}", "[/x]{}")


def oracle_rows(data: bytes) -> int | None:
    """Data rows by Python's csv module (header excluded, blank lines skipped).

    ``None`` when the bytes are not a table the csv module can read.
    """
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    # Records end at LF or CRLF (CR-only files: at CR); a lone CR inside an LF
    # file is data, as in RFC 4180 readers that split on the file's line ending.
    text = text.replace("\r", "\n") if "\n" not in text else re.sub(r"\r(?!\n)", " ", text)
    try:
        first = text.split("\n", 1)[0]
        sep = max((",", ";", "\t", "|"), key=first.count)
        got = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if r]
    except csv.Error:
        return None
    return max(len(got) - 1, 0) if got else 0


def oracle_blank(data: bytes) -> int:
    """Blank lines between data rows: a reader may count them as (dropped) rows."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip("\r\n")
    # the file's last line ending ends a record; blank lines after it are lines too
    text = re.sub(r"(?:\r\n|\n|\r)\Z", "", text)
    lines = re.split(r"\r\n|\n|\r", text)
    return sum(1 for line in lines if not line)


@dataclass(frozen=True)
class Result:
    """One input's outcome at one entry point."""

    format: str
    mutation: str
    entry: str
    outcome: str
    names_row: bool | None = None  # for clean errors: file, line/row and hint named?
    index: int = -1  # the input's number in its campaign
    detail: str = ""  # the error or the reason for the outcome


@dataclass(frozen=True)
class Case:
    """One generated input on disk, with what the oracle expects of it."""

    index: int
    format: str
    mutation: str
    path: Path
    expected: int | None  # oracle's data rows; None when it cannot tell
    blank: int  # blank lines a reader may count as (dropped) rows


def _check_read(data: object, expected: int | None, blank: int = 0) -> tuple[str, str]:
    report = data.report  # type: ignore[attr-defined]
    dropped = sum(report.dropped.values())
    if report.rows_read != report.rows_kept + dropped:
        return "silent_loss", f"read {report.rows_read} != kept {report.rows_kept} + {dropped}"
    if expected is not None and not expected <= report.rows_read <= expected + blank:
        return "silent_loss", f"read {report.rows_read}, oracle {expected} (+{blank} blank)"
    frame = data.frame  # type: ignore[attr-defined]
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    for col in ("value", "net_weight_kg", "quantity"):
        s = frame[col].drop_nulls()
        if s.len() and (not bool(s.is_finite().all()) or bool((s < 0).any())):
            return "silent_loss", f"a non-finite or negative {col} was kept"
    return "accepted", ""


def _names_row(exc: ReroutingError) -> bool:
    """The error tells the user where (file and line or row) and what to do (hint)."""
    return exc.file is not None and (exc.line is not None or exc.row is not None) and bool(exc.hint)


def _entry(fn: object, case: Case) -> tuple[str, bool | None, str]:
    try:
        data = fn(case.path)  # type: ignore[operator]
        outcome, detail = _check_read(data, case.expected, case.blank)
        return outcome, None, detail
    except ReroutingError as exc:
        # No rows (empty, BOM only), or Parquet (no lines): nothing to name.
        if not case.expected or case.format.endswith("parquet"):
            return "clean", None, str(exc)
        return "clean", _names_row(exc), str(exc)
    except Exception as exc:  # the point: anything else is a crash
        return "crash", None, f"{type(exc).__name__}: {exc}"


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _unescaped_csv(path: Path) -> bool:
    if not path.exists():
        return False
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            for cell in row:
                if cell.startswith(_FORMULA):
                    try:
                        float(cell)
                    except ValueError:
                        return True
    return False


def _cli_entry(case: Case) -> tuple[str, bool | None, str]:
    from rerouting._cli import main

    out = case.path.parent / "o.csv"

    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(["validate", str(case.path), "-o", str(out)])
        except SystemExit as exc:
            code = int(exc.code or 0)
    text = stdout.getvalue() + stderr.getvalue()
    unescaped = _unescaped_csv(out)
    out.unlink(missing_ok=True)  # a replay or the next entry point starts clean
    if code == 1 or "Traceback" in text:
        return "crash", None, text
    if "\x1b" in text or "\x07" in text or unescaped:
        return "unescaped", None, text
    return ("clean" if code else "accepted"), None, text


ENTRIES = ("read_trade", "scan_trade", "cli")


def classify(case: Case, entries: tuple[str, ...] = ENTRIES) -> list[Result]:
    """Run one input through the chosen entry points and classify each outcome."""
    results = []
    for entry in entries:
        if entry == "read_trade":
            outcome, named, detail = _entry(read_trade, case)
        elif entry == "scan_trade" and case.format.startswith("tidy"):
            outcome, named, detail = _entry(scan_trade, case)
        elif entry == "cli":
            outcome, named, detail = _cli_entry(case)
            entry = "cli validate -o"
        else:
            continue
        results.append(
            Result(case.format, case.mutation, entry, outcome, named, case.index, detail)
        )
    return results


def failing(result: Result) -> bool:
    """The result breaks the goal: crash, silent loss, unescaped, or an error naming no row."""
    return result.outcome in ("crash", "silent_loss", "unescaped") or result.names_row is False


def make_case(i: int, rng: random.Random, folder: Path, base: dict[str, tuple[str, str]]) -> Case:
    """Generate input number ``i`` into ``folder`` (the rng draws fix the whole campaign)."""
    formats = list(base)
    fmt = formats[i % len(formats)]
    kind = MUTATIONS[rng.randrange(len(MUTATIONS))]
    text, name = base[fmt]
    data = mutate(kind, text, rng)
    stem, dot, ext = name.partition(".")
    fname = rng.choice(NAMES).format("") if fmt != "baci" else stem
    fname = (fname.replace("/", "_") or "x") + dot + ext
    if fmt == "baci":
        shutil.copy(ROOT / "baci" / "country_codes_V202401.csv", folder)
    path = folder / fname
    expected: int | None
    if fmt == "tidy_parquet":
        try:
            frame = pl.read_csv(data, infer_schema=False, truncate_ragged_lines=True)
        except Exception:
            frame = pl.DataFrame({"period": ["2022-01"]})
        frame.write_parquet(path)
        expected = frame.height
        if kind in ("truncate", "byte_flip"):
            raw = path.read_bytes()
            path.write_bytes(mutate(kind, raw.decode("latin-1"), rng)[: len(raw)])
            expected = None
    else:
        path.write_bytes(data)
        expected = oracle_rows(data)
    blank = 0 if fmt.endswith("parquet") else oracle_blank(data)
    return Case(i, fmt, kind, path, expected, blank)


def _dump(case: Case, results: list[Result], dump: Path) -> None:
    """Copy a failing input's folder and its outcomes to ``dump/NNNNNN`` for replay."""
    target = dump / f"{case.index:06d}"
    shutil.copytree(case.path.parent, target, dirs_exist_ok=True)
    meta = {
        "index": case.index,
        "format": case.format,
        "mutation": case.mutation,
        "file": case.path.name,
        "expected": case.expected,
        "blank": case.blank,
        "results": [
            {"entry": r.entry, "outcome": r.outcome, "names_row": r.names_row, "detail": r.detail}
            for r in results
        ],
    }
    (target / CASE_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")


CASE_FILE = "case.json"


def run(
    n: int,
    *,
    seed: int = 14,
    cli_every: int = 10,
    entries: tuple[str, ...] = ENTRIES,
    dump: Path | None = None,
    max_seconds: float | None = None,
) -> list[Result]:
    """Generate ``n`` inputs and classify each at the chosen entry points.

    The CLI runs on every ``cli_every``-th input only (0: never). With ``dump``,
    every input with a failing result is copied there (see :func:`replay`).
    With ``max_seconds``, no new input starts after that time (the inputs done
    are the first ones of the full campaign).
    """
    stop = None if max_seconds is None else time.monotonic() + max_seconds
    rng = random.Random(seed)
    base = seeds()
    results: list[Result] = []
    tmp = Path(tempfile.mkdtemp(prefix="rerouting-fuzz-"))
    try:
        for i in range(n):
            if stop is not None and time.monotonic() > stop:
                break
            folder = tmp / str(i)
            folder.mkdir()
            case = make_case(i, rng, folder, base)
            chosen = tuple(e for e in entries if e != "cli" or (cli_every and i % cli_every == 0))
            got = classify(case, chosen)
            results += got
            if dump is not None and any(map(failing, got)):
                _dump(case, got, dump)
            shutil.rmtree(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def replay(dump: Path, entries: tuple[str, ...] = ENTRIES) -> list[Result]:
    """Re-run every input dumped under ``dump`` (one folder per input) as it is now."""
    results: list[Result] = []
    for meta_path in sorted(dump.glob(f"*/{CASE_FILE}")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory(prefix="rerouting-replay-") as tmp:
            folder = Path(tmp) / "case"
            shutil.copytree(meta_path.parent, folder)
            (folder / CASE_FILE).unlink()
            path = folder / meta["file"]
            expected, blank = meta["expected"], meta["blank"]
            if not meta["format"].endswith("parquet"):  # the oracle as it is now
                data = path.read_bytes()
                expected, blank = oracle_rows(data), oracle_blank(data)
            case = Case(meta["index"], meta["format"], meta["mutation"], path, expected, blank)
            results += classify(case, entries)
    return results


def table(results: list[Result]) -> str:
    """Markdown tables: inputs per format and mutation, outcomes per entry point."""
    inputs = Counter((r.format, r.mutation) for r in results if r.entry == "read_trade")
    fmts = sorted({f for f, _ in inputs})
    kinds = sorted({k for _, k in inputs})
    lines = ["| mutation | " + " | ".join(fmts) + " | total |", "|---" * (len(fmts) + 2) + "|"]
    for k in kinds:
        row = [inputs[(f, k)] for f in fmts]
        lines.append(f"| {k} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    totals = [sum(inputs[(f, k)] for k in kinds) for f in fmts]
    lines.append("| **total** | " + " | ".join(map(str, totals)) + f" | {sum(totals)} |")
    outcomes = ("accepted", "clean", "crash", "silent_loss", "unescaped")
    lines += ["", "| entry point | " + " | ".join(outcomes) + " | clean without a line |"]
    lines.append("|---" * (len(outcomes) + 2) + "|")
    for entry in sorted({r.entry for r in results}):
        got = Counter(r.outcome for r in results if r.entry == entry)
        unnamed = sum(1 for r in results if r.entry == entry and r.names_row is False)
        lines.append(
            f"| {entry} | " + " | ".join(str(got[o]) for o in outcomes) + f" | {unnamed} |"
        )
    return "\n".join(lines)


def bad(results: list[Result]) -> list[Result]:
    """Results that break the goal (see :func:`failing`)."""
    return [r for r in results if failing(r)]
