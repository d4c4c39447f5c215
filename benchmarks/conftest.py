"""pytest options for the benchmarks (``pytest benchmarks --benchmark-only``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import parquet_glob, parse_rows, world_path, world_scenario
from _stages import Ctx


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rerouting benchmarks")
    group.addoption(
        "--bench-rows",
        default="1M",
        help="comma-separated data sizes for the benchmarks, e.g. 1M,25M (default 1M)",
    )
    group.addoption(
        "--bench-pandas-max",
        default="1M",
        help="largest size the pandas reference runs at (default 1M)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rows" in metafunc.fixturenames:
        sizes = [parse_rows(s) for s in metafunc.config.getoption("--bench-rows").split(",")]
        metafunc.parametrize("rows", sizes, ids=[f"{s:,}" for s in sizes], scope="session")


@pytest.fixture(scope="session")
def pandas_max(request: pytest.FixtureRequest) -> int:
    return parse_rows(request.config.getoption("--bench-pandas-max"))


@pytest.fixture(scope="session")
def ctx(rows: int) -> Ctx:
    """The cached generated world of ``rows`` rows (generated on first use)."""
    return Ctx(parquet_glob(world_path(rows)), world_scenario(rows))
