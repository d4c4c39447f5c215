"""pytest-benchmark versions of ``benchmarks/run.py`` (times only; run.py adds peak memory).

    .venv/bin/pytest benchmarks --benchmark-only --bench-rows 1M
    .venv/bin/pytest benchmarks --benchmark-only --bench-rows 25M -k "mirror or legs"
    .venv/bin/pytest benchmarks --benchmark-only -k cli     # the CLI per input format

Each stage is one benchmark group; polars (the library), DuckDB SQL and pandas run in
it side by side. The default test run skips these (``--benchmark-skip`` in pyproject).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from _cli import FORMATS, contenders
from _data import label
from _stages import STAGES

if TYPE_CHECKING:
    from pytest_benchmark.fixture import BenchmarkFixture

    from _stages import Ctx

CASES = [(stage, contender) for stage, contenders in STAGES.items() for contender in contenders]


@pytest.mark.parametrize(("stage", "contender"), CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_stage(
    benchmark: BenchmarkFixture, ctx: Ctx, rows: int, pandas_max: int, stage: str, contender: str
) -> None:
    if contender.startswith("pandas") and rows > pandas_max:
        pytest.skip(f"pandas runs up to {label(pandas_max)} rows (--bench-pandas-max)")
    benchmark.group = f"{stage} {label(rows)}"
    benchmark.extra_info.update(stage=stage, contender=contender, rows=rows)
    rounds = 3 if rows <= 5_000_000 else 1
    summary = benchmark.pedantic(STAGES[stage][contender], args=(ctx,), rounds=rounds)
    result = summary()
    benchmark.extra_info.update(result)
    assert all(v == v for v in result.values())  # no NaN: the stage produced numbers
    assert next(iter(result.values())) > 0


CLI_CASES = [(fmt, who) for fmt in FORMATS for who in ("rerouting", "duckdb")]


@pytest.mark.parametrize(("fmt", "who"), CLI_CASES, ids=[f"cli-{w}-{f}" for f, w in CLI_CASES])
def test_cli(benchmark: BenchmarkFixture, ctx: Ctx, rows: int, fmt: str, who: str) -> None:
    """The command a user types, a fresh process each round, against DuckDB on the same file."""
    cmd = contenders(Path(ctx.path), ctx.scenario_data, [fmt])[f"{who} ({fmt})"]
    benchmark.group = f"cli {fmt} {label(rows)}"
    benchmark.extra_info.update(stage="cli", contender=f"{who} ({fmt})", rows=rows)
    proc = benchmark.pedantic(
        subprocess.run, args=(cmd,), kwargs={"capture_output": True, "text": True}, rounds=3
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip()  # a ranking (rerouting) or the pair count (DuckDB)
