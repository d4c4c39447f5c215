"""pytest-benchmark versions of ``benchmarks/run.py`` (times only; run.py adds peak memory).

    .venv/bin/pytest benchmarks --benchmark-only --bench-rows 1M
    .venv/bin/pytest benchmarks --benchmark-only --bench-rows 25M -k "mirror or legs"

Each stage is one benchmark group; polars (the library), DuckDB SQL and pandas run in
it side by side. The default test run skips these (``--benchmark-skip`` in pyproject).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

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
