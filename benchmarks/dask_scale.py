"""The CLI on a Dask cluster: wall time, peak memory per worker, bytes moved between workers.

``python benchmarks/dask_scale.py`` (or ``--runs 25M:polars 25M:2 ...``) generates (or reuses)
the 250M-row world of ``_data.py`` (ten Parquet files of ~25M rows; the 25M input is
its first file), then for each size runs, in the same run:

- ``rerouting scan INPUT --config scan.toml --stream`` (the polars engine, one process),
- ``rerouting scan INPUT --config scan.toml --stream --scheduler ADDRESS`` on a
  ``LocalCluster`` of N worker processes (one thread and ``--memory-limit`` each) that
  this script starts, so that it can sample every worker's RSS (psutil, every 0.1 s).

It prints one Markdown row per run and checks that both engines wrote the same routes.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import CHUNK_ROWS, parse_rows, world_path, world_scenario


def _rss(pid: int) -> int:
    """RSS of a process and its children (bytes); 0 once it is gone."""
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for q in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += q.memory_info().rss
    return total


class Sampler:
    """Peak RSS of each watched process while the block runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in list(self.pids.items()):
                self.peak[name] = max(self.peak[name], _rss(pid))
            time.sleep(0.1)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _config(path: Path, rows: int) -> Path:
    sc = world_scenario(rows)
    products = ", ".join(f'"{p}"' for p in sc["products"])  # type: ignore[union-attr]
    path.write_text(
        f"origin = {sc['origin']!r}\ndestination = {sc['destination']!r}\n".replace("'", '"')
        + f'event = "{str(sc["event"])[:7]}"\nproducts = [{products}]\n'
    )
    return path


def _cli(args: list[str], watch_workers: dict[str, int]) -> tuple[float, dict[str, int], str]:
    cmd = [sys.executable, "-m", "rerouting", "scan", *args, "-q"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with Sampler({"client": proc.pid, **watch_workers}) as s:
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, s.peak, out


def _same_routes(a_path: Path, b_path: Path) -> bool | None:
    """Both route tables equal: exact, or floats within 1e-9 of the column's largest value."""
    if not a_path.exists():
        return None
    key = ["origin", "hub", "destination", "hs"]
    a, b = pl.read_parquet(a_path).sort(key), pl.read_parquet(b_path).sort(key)
    if a.height != b.height:
        return False
    for c in a.columns:
        if a[c].equals(b[c]):
            continue
        if not a[c].dtype.is_float():
            return False
        scale = a[c].abs().max() or 1.0
        if not ((a[c] - b[c]).abs().fill_null(0.0) <= 1e-9 * scale).all():  # type: ignore[operator]
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--runs",
        nargs="+",
        default=["25M:polars", "25M:1", "25M:2", "250M:polars", "250M:2", "250M:1"],
        help="SIZE:polars or SIZE:WORKERS, run in this order",
    )
    parser.add_argument("--world", default="250M", help="the generated world to read")
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--out", type=Path, default=Path("/tmp/rerouting-dask-bench"))
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    args.out.mkdir(parents=True, exist_ok=True)
    big = world_path(parse_rows(args.world))
    config = _config(args.out / "scan.toml", parse_rows(args.world))
    gb = 1024**3
    print(f"load before: {os.getloadavg()[0]:.1f}; memory limit per worker {args.memory_limit}")
    print(
        "| rows | engine | workers | wall s | peak RSS per worker GB | client RSS GB "
        "| bytes moved between workers | load | routes equal polars |"
    )
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for run in args.runs:
        size, how = run.split(":")
        rows = parse_rows(size)
        files = (
            [big] if big.is_file() else sorted(big.glob("*.parquet"))[: max(1, rows // CHUNK_ROWS)]
        )
        n = pl.scan_parquet(files).select(pl.len()).collect().item()
        common = [*(str(f) for f in files), "--config", str(config), "--stream"]
        polars_out = args.out / f"routes-polars-{size}.parquet"
        if how == "polars":
            wall, peak, _ = _cli([*common, "-o", str(polars_out)], {})
            print(
                f"| {n:,} | polars | 1 process | {wall:.1f} | – | {peak['client'] / gb:.2f} "
                f"| – | {os.getloadavg()[0]:.1f} | – |",
                flush=True,
            )
            continue
        w = int(how)
        with (
            LocalCluster(
                n_workers=w,
                threads_per_worker=1,
                processes=True,
                memory_limit=args.memory_limit,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            pids: dict[str, int] = client.run(os.getpid)

            def moved(dask_worker: object) -> int:
                return int(dask_worker.transfer_outgoing_bytes_total)  # type: ignore[attr-defined]

            before = sum(client.run(moved).values())
            dask_out = args.out / f"routes-dask{w}-{size}.parquet"
            wall, peak, _ = _cli(
                [*common, "--scheduler", cluster.scheduler_address, "-o", str(dask_out)], pids
            )
            after = sum(client.run(moved).values())
        workers = ", ".join(f"{peak[a] / gb:.2f}" for a in sorted(pids))
        print(
            f"| {n:,} | dask | {w} | {wall:.1f} | {workers} | {peak['client'] / gb:.2f} "
            f"| {after - before:,} | {os.getloadavg()[0]:.1f} "
            f"| {_same_routes(polars_out, dask_out)} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
