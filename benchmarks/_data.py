"""Generated benchmark data, cached as Parquet under ``benchmarks/data/`` (gitignored).

``world_path(rows)`` returns a Parquet path (a file, or a folder of files for the
larger-than-memory set) and ``world_scenario(rows)`` the scenario to scan it with.
The first call generates the data with :func:`rerouting.synthetic.make_world`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Final

DATA: Final = Path(__file__).resolve().parent / "data"
SEED: Final = 0
#: Rows per generated chunk of a chunked set (one ``make_world`` call per chunk:
#: ~2.4 GB peak while generating, so generation itself fits in memory).
CHUNK_ROWS: Final = 25_000_000
#: Sets above this size are written as one file per seed (``part-SEED.parquet``).
MAX_SINGLE: Final = 50_000_000

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$")


def parse_rows(text: str) -> int:
    """``"1M"`` → 1,000,000; ``"250k"`` → 250,000; ``"25000000"`` → 25,000,000."""
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f"not a row count: {text!r} (use e.g. 1M, 25M, 250k)")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def label(rows: int) -> str:
    """Short label for a row count: 1M, 25M, 250k."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def _dir(rows: int) -> Path:
    return DATA / f"world-{label(rows)}-seed{SEED}"


def world_path(rows: int) -> Path:
    """Parquet file (or folder of Parquet files) holding about ``rows`` records."""
    d = _dir(rows)
    target = d / "parts" if rows > MAX_SINGLE else d / "trade.parquet"
    if not (d / "done").exists():
        _generate(rows, d)
    return target


def parquet_glob(path: Path) -> str:
    """A glob every reader understands (DuckDB, pandas via pyarrow, polars)."""
    return str(path / "*.parquet") if path.is_dir() else str(path)


def world_scenario(rows: int) -> dict[str, object]:
    """The scenario (as ``Scenario.model_dump`` JSON data) of the cached world."""
    world_path(rows)
    data: dict[str, object] = json.loads((_dir(rows) / "scenario.json").read_text())
    return data


def _generate(rows: int, d: Path) -> None:
    import polars as pl

    from rerouting.synthetic import make_world

    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if rows <= MAX_SINGLE:
        world = make_world(SEED, rows=rows)
        world.trade.write_parquet(d / "trade.parquet", compression="zstd")
        scenario, height = world.scenario, world.trade.height
        info = {"rows": height, "files": 1, "seeds": [SEED]}
    else:
        # One world per seed, each ``CHUNK_ROWS`` rows, written as its own file. The
        # scenario is seed 0's; the other seeds add the same kind of trade between the
        # same countries (their records of a shared key are summed by the scan).
        parts = d / "parts"
        parts.mkdir(exist_ok=True)
        n = -(-rows // CHUNK_ROWS)
        height, scenario = 0, None
        for k in range(n):
            world = make_world(SEED + k, rows=CHUNK_ROWS)
            world.trade.write_parquet(parts / f"part-{SEED + k:03d}.parquet", compression="zstd")
            height += world.trade.height
            if k == 0:
                scenario = world.scenario
            print(f"  chunk {k + 1}/{n}: {world.trade.height:,} rows", file=sys.stderr)
            del world
        assert scenario is not None
        info = {"rows": height, "files": n, "seeds": list(range(SEED, SEED + n))}
    assert scenario is not None
    info["seconds"] = round(time.perf_counter() - t0, 1)
    (d / "scenario.json").write_text(scenario.model_dump_json(indent=2))
    (d / "info.json").write_text(json.dumps(info, indent=2))
    (d / "done").write_text("")
    del pl


def world_info(rows: int) -> dict[str, object]:
    """What was generated: actual rows, files, seeds, generation seconds."""
    world_path(rows)
    data: dict[str, object] = json.loads((_dir(rows) / "info.json").read_text())
    return data


def main(argv: list[str] | None = None) -> None:
    """``python benchmarks/_data.py 1M 25M 250M``: generate and cache the data sets."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("sizes", nargs="+")
    args = parser.parse_args(argv)
    for size in args.sizes:
        rows = parse_rows(size)
        path = world_path(rows)
        print(f"{label(rows)}: {path} {world_info(rows)}")


if __name__ == "__main__":
    main()
