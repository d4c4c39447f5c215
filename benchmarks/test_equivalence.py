"""The references compute what the library computes (not a benchmark; fast).

    .venv/bin/pytest benchmarks/test_equivalence.py

A benchmark is only fair if its contenders produce the same result. For each stage,
every contender's summary (row counts and column sums of its materialised result) must
match the library's on a small generated world.
"""

from __future__ import annotations

import pytest

from _data import parquet_glob, world_path, world_scenario
from _stages import OTHER_WORK, STAGES, Ctx

ROWS = 200_000


@pytest.fixture(scope="module")
def small() -> Ctx:
    return Ctx(parquet_glob(world_path(ROWS)), world_scenario(ROWS))


@pytest.mark.parametrize("stage", [s for s, c in STAGES.items() if len(c) > 1])
def test_contenders_agree(small: Ctx, stage: str) -> None:
    contenders = STAGES[stage]
    expected = contenders["polars"](small)()
    assert expected
    assert all(v == v for v in expected.values())
    for name, fn in contenders.items():
        if (stage, name) in OTHER_WORK:
            continue
        got = fn(small)()
        common = set(expected) & set(got)
        assert len(common) >= min(len(expected), len(got)) - 1, name
        for key in sorted(common):
            assert got[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-6), (name, key)
