"""Benchmark the pipeline against DuckDB SQL and pandas; print times, ratios, peak memory.

    .venv/bin/python benchmarks/run.py --rows 1M,25M

Each (size, stage, contender) runs ``--repeat`` times, every time in a fresh Python
process, so its peak RSS (``ru_maxrss``, the whole process: interpreter, imports and
work) is its own. Wall time and CPU time (user + system) cover only the stage, not
interpreter start-up or imports; the best of the repeats is reported. DuckDB and
polars both use 2 threads. See ``docs/performance.md`` for the method and results.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _cli  # noqa: E402
from _data import label, parquet_glob, parse_rows, world_info, world_path, world_scenario  # noqa: E402
from _stages import EXPERIMENTS, STAGES, STREAMING, Ctx  # noqa: E402

ALL: Final = {**STAGES, **EXPERIMENTS}

#: The contender each target compares with, per stage.
DUCKDB: Final = ("duckdb", "duckdb (union)")


def _worker(stage: str, contender: str, rows: int, engine: str | None) -> None:
    if engine:
        import polars as pl

        pl.Config.set_engine_affinity(engine)  # type: ignore[arg-type]
    path = world_path(rows)
    ctx = Ctx(parquet_glob(path), world_scenario(rows))
    fn = ALL[stage][contender]
    ctx.plan  # noqa: B018  (scenario facts a reference would hard-code: not timed)
    # Import the contender's libraries before timing (as a warm interpreter would).
    __import__({"duckdb": "duckdb", "pandas": "pandas"}.get(contender.split()[0], "polars"))
    if contender.startswith("polars"):
        # scan imports scikit-learn lazily for its IsolationForest: 1-1.7 s once per
        # process, which is start-up, not work (docs/performance.md).
        import sklearn.ensemble  # noqa: F401

        import rerouting._scan  # noqa: F401
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    summary = fn(ctx)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    out = {"wall": wall, "cpu": cpu, "rss_gb": r1.ru_maxrss / 1e6, "summary": summary()}
    print(json.dumps(out))


def _run_one(stage: str, contender: str, rows: int, engine: str | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", stage, contender, str(rows)]
    if engine:
        cmd += ["--engine", engine]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    res["load"] = load
    return res


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "—" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print a table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", default="1M,25M", help="sizes, e.g. 1M,25M (250M: scan only)")
    p.add_argument(
        "--stages", default=",".join(STAGES), help="read,mirror,legs,scan (also: keys, cli)"
    )
    p.add_argument(
        "--formats",
        default=",".join(_cli.FORMATS),
        help="cli stage: input formats (" + ",".join(_cli.FORMATS) + ")",
    )
    p.add_argument("--contenders", default="", help="only these (comma-separated); default all")
    p.add_argument("--repeat", type=int, default=3, help="runs per cell (best is reported)")
    p.add_argument("--repeat-large", type=int, default=2, help="runs per cell above 5M rows")
    p.add_argument(
        "--pandas-max", default="1M", help="largest size pandas runs at (it needs ~10x memory)"
    )
    p.add_argument(
        "--before",
        default=None,
        metavar="SRC",
        help="cli stage: also run the package in this src folder (e.g. a checkout of the "
        "code before a change), interleaved",
    )
    p.add_argument(
        "--src",
        default=None,
        metavar="SRC",
        help="cli stage: run `rerouting` from this src folder (default: the installed one)",
    )
    p.add_argument("--engine", default=None, help="polars engine affinity (streaming/in-memory)")
    p.add_argument("--json", type=Path, default=None, help="also write all results here")
    p.add_argument(
        "--worker", nargs=3, metavar=("STAGE", "CONTENDER", "ROWS"), help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    if args.worker:
        _worker(args.worker[0], args.worker[1], int(args.worker[2]), args.engine)
        return 0

    sizes = [parse_rows(s) for s in args.rows.split(",") if s]
    stages = [s for s in args.stages.split(",") if s]
    only = {c.strip() for c in args.contenders.split(",") if c.strip()}
    pandas_max = parse_rows(args.pandas_max)
    results: list[dict[str, Any]] = []
    print(f"machine: {os.cpu_count()} cores; load average before: {os.getloadavg()}", flush=True)
    for rows in sizes:
        info = world_info(rows)  # generates and caches the data on first use
        big = rows > 50_000_000
        for stage in stages:
            if stage == "cli":
                reps = args.repeat if rows <= 5_000_000 else args.repeat_large
                formats = [f for f in args.formats.split(",") if f]
                results.extend(_run_cli(rows, info, formats, reps, only, args.before, args.src))
                continue
            contenders = [
                c
                for c in ALL[stage]
                if not (only and c not in only and c.split()[0] not in only)
                and not (c.startswith("pandas") and rows > pandas_max)
                and not (big and (stage, c) not in STREAMING)
            ]
            reps = args.repeat if rows <= 5_000_000 else args.repeat_large
            # Interleave the contenders (A B C, A B C, ...) so that load from other
            # users of the machine falls on all of them alike.
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
            for _ in range(reps):
                for contender in contenders:
                    runs[contender].append(_run_one(stage, contender, rows, args.engine))
            for contender in contenders:
                ok = [r for r in runs[contender] if "error" not in r]
                row: dict[str, Any] = {
                    "rows": rows,
                    "actual_rows": info["rows"],
                    "stage": stage,
                    "contender": contender,
                    "runs": runs[contender],
                }
                if ok:
                    row |= {
                        "wall": min(r["wall"] for r in ok),
                        "cpu": min(r["cpu"] for r in ok),
                        "rss_gb": max(r["rss_gb"] for r in ok),
                        "load": sum(r["load"] for r in ok) / len(ok),
                        "summary": ok[0]["summary"],
                    }
                else:
                    row["error"] = runs[contender][0]["error"]
                results.append(row)
                print(
                    f"  {label(rows):>5} {stage:7} {contender:22} "
                    + (
                        f"{row['wall']:8.2f} s  cpu {row['cpu']:7.2f} s  "
                        f"{row['rss_gb']:5.2f} GB  load {row['load']:.1f}"
                        if "wall" in row
                        else f"ERROR {row['error']}"
                    ),
                    flush=True,
                )
    print()
    print(table(results))
    print()
    print(targets(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def _run_cli(
    rows: int,
    info: dict[str, Any],
    formats: list[str],
    reps: int,
    only: set[str],
    before: str | None,
    src: str | None,
) -> list[dict[str, Any]]:
    """The ``cli`` stage: each command a fresh process, contenders interleaved."""
    cmds = _cli.contenders(world_path(rows), world_scenario(rows), formats, before, src)
    cmds = {k: v for k, v in cmds.items() if not only or k in only or k.split()[0] in only}
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in cmds}
    for _ in range(reps):
        for name, cmd in cmds.items():
            runs[name].append(_cli.timed(cmd))
    out = []
    for name in cmds:
        ok = [r for r in runs[name] if "error" not in r]
        row: dict[str, Any] = {
            "rows": rows,
            "actual_rows": info["rows"],
            "stage": "cli",
            "contender": name,
            "runs": runs[name],
            "command": " ".join(cmds[name][cmds[name].index("scan") :])
            if not name.startswith("duckdb")
            else "duckdb SQL (benchmarks/_cli.py)",
        }
        if ok:
            walls = sorted(r["wall"] for r in ok)
            row |= {
                "wall": walls[0],
                "wall_median": walls[len(walls) // 2],
                "cpu": min(r["cpu"] for r in ok),
                "rss_gb": max(r["rss_gb"] for r in ok),
                "load": sum(r["load"] for r in ok) / len(ok),
                "summary": {},
            }
        else:
            row["error"] = runs[name][0]["error"]
        out.append(row)
        print(
            f"  {label(rows):>5} cli     {name:32} "
            + (
                f"{row['wall']:8.2f} s  cpu {row['cpu']:7.2f} s  "
                f"{row['rss_gb']:5.2f} GB  load {row['load']:.1f}"
                if "wall" in row
                else f"ERROR {row['error']}"
            ),
            flush=True,
        )
    return out


def _find(
    results: list[dict[str, Any]], rows: int, stage: str, contender: str
) -> dict[str, Any] | None:
    for r in results:
        if (
            r["rows"] == rows
            and r["stage"] == stage
            and r["contender"] == contender
            and "wall" in r
        ):
            return r
    return None


def _best_duckdb(results: list[dict[str, Any]], rows: int, stage: str) -> dict[str, Any] | None:
    cands = [r for c in DUCKDB if (r := _find(results, rows, stage, c))]
    return min(cands, key=lambda r: r["wall"]) if cands else None


def table(results: list[dict[str, Any]]) -> str:
    """Markdown table: time, CPU, peak RSS and ratios against the best DuckDB and pandas."""
    head = (
        "| rows | stage | contender | wall s | CPU s | peak RSS GB | ÷ best DuckDB | "
        "pandas ÷ this | load |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in results:
        if "wall" not in r:
            lines.append(f"| {label(r['rows'])} | {r['stage']} | {r['contender']} | error: "
                         f"{r['error']} | | | | | |")  # fmt: skip
            continue
        ref_stage = "mirror" if r["stage"] == "scan" else r["stage"]
        duck = _best_duckdb(results, r["rows"], ref_stage)
        if r["stage"] == "cli":  # DuckDB reading the same file
            duck = _find(results, r["rows"], "cli", "duckdb " + r["contender"].split(" ", 1)[1])
        pandas_stage = "legs" if r["stage"] == "scan" else r["stage"]
        pd_row = _find(results, r["rows"], pandas_stage, "pandas")
        vs_duck = r["wall"] / duck["wall"] if duck else None
        vs_pd = (
            pd_row["wall"] / r["wall"]
            if pd_row and not r["contender"].startswith("pandas")
            else None
        )
        lines.append(
            f"| {label(r['rows'])} | {r['stage']} | {r['contender']} | {r['wall']:.2f} | "
            f"{r['cpu']:.2f} | {r['rss_gb']:.2f} | {_fmt(vs_duck)} | {_fmt(vs_pd, '.1f')} | "
            f"{r['load']:.1f} |"
        )
    return "\n".join(lines)


def targets(results: list[dict[str, Any]]) -> str:
    """The issue's targets, checked on this run's numbers."""
    out = ["Targets (same run):"]
    limits = {"tidy-parquet": 1.5, "tidy-csv": 1.5, "canonical-parquet": 0.5}
    for rows in sorted({r["rows"] for r in results}):
        for fmt, limit in limits.items():
            mine = _find(results, rows, "cli", f"rerouting ({fmt})")
            duck = _find(results, rows, "cli", f"duckdb ({fmt})")
            if mine and duck:
                ratio = mine["wall"] / duck["wall"]
                out.append(
                    f"  {label(rows):>5} cli {fmt}: rerouting scan / DuckDB pairing = "
                    f"{ratio:.2f} (target ≤ {limit}) {'OK' if ratio <= limit else 'MISSED'}; "
                    f"peak RSS {mine['rss_gb']:.2f} GB"
                )
        for stage in ("mirror", "legs"):
            mine, duck = _find(results, rows, stage, "polars"), _best_duckdb(results, rows, stage)
            if mine and duck:
                ratio = mine["wall"] / duck["wall"]
                out.append(
                    f"  {label(rows):>5} {stage}: polars / best DuckDB = {ratio:.2f} "
                    f"(target ≤ 1.00) {'OK' if ratio <= 1.0 else 'MISSED'}"
                )
        scan = _find(results, rows, "scan", "polars")
        duck = _best_duckdb(results, rows, "mirror")
        if scan and duck:
            ratio = scan["wall"] / duck["wall"]
            out.append(
                f"  {label(rows):>5} scan: scan / DuckDB mirror pairing = {ratio:.2f} "
                f"(target ≤ 2.00) {'OK' if ratio <= 2.0 else 'MISSED'}"
            )
        if scan:
            limit = 3.0 if rows <= 50_000_000 else 8.0
            out.append(
                f"  {label(rows):>5} scan: peak RSS {scan['rss_gb']:.2f} GB "
                f"(target ≤ {limit:.0f} GB) {'OK' if scan['rss_gb'] <= limit else 'MISSED'}"
            )
        for stage in ("read", "mirror", "legs", "scan"):
            mine = _find(results, rows, stage, "polars")
            pd_row = _find(results, rows, "legs" if stage == "scan" else stage, "pandas")
            if mine and pd_row:
                speedup = pd_row["wall"] / mine["wall"]
                out.append(
                    f"  {label(rows):>5} {stage}: pandas / polars = {speedup:.1f}x "
                    f"(target ≥ 10x) {'OK' if speedup >= 10 else 'MISSED'}"
                )
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
