"""The engine seam: ``PolarsEngine`` gives the current scan results; custom engines plug in."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rerouting._config import Scenario
from rerouting._engine import LegBuilder, PolarsEngine, resolve_engine
from rerouting._exceptions import ConfigError
from rerouting._legs import LegSet, build_legs
from rerouting._scan import scan

DEMO = Path(__file__).parent.parent / "fixtures" / "demo"
SCENARIO = {"origin": "BLR", "destination": "EU", "event": "2022-03"}


@pytest.fixture(scope="module")
def trade() -> pl.LazyFrame:
    return pl.scan_parquet(DEMO / "trade.parquet")


def test_polars_engine_equals_current_scan(trade: pl.LazyFrame) -> None:
    default = scan(trade, **SCENARIO)
    explicit = scan(trade, **SCENARIO, engine=PolarsEngine())
    assert default.routes.height > 0
    assert_frame_equal(default.routes, explicit.routes, check_exact=False, rel_tol=1e-12)
    assert_frame_equal(default.legs, explicit.legs, check_exact=False, rel_tol=1e-12)


def test_polars_engine_builds_what_build_legs_builds(trade: pl.LazyFrame) -> None:
    sc = Scenario.build(**SCENARIO)
    a, b = PolarsEngine().build(trade, sc), build_legs(trade, sc)
    assert a.hubs == b.hubs
    key = ["src", "dst", "hs", "period"]
    assert_frame_equal(a.flows.collect().sort(key), b.flows.collect().sort(key))
    assert_frame_equal(a.totals.sort("country", "hs"), b.totals.sort("country", "hs"))


def test_a_custom_engine_is_what_the_scan_uses(trade: pl.LazyFrame) -> None:
    class OneHub:
        """Keeps the first hub only: the scan's routes must follow."""

        def build(self, trade: pl.LazyFrame, scenario: Scenario) -> LegSet:
            legs = build_legs(trade, scenario)
            legs.hubs = legs.hubs[:1]
            return legs

    assert isinstance(OneHub(), LegBuilder)
    out = scan(trade, **SCENARIO, engine=OneHub())
    assert out.routes["hub"].unique().len() == 1


def test_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown engine"):
        resolve_engine("spark")
    with pytest.raises(ConfigError, match="build"):
        resolve_engine(42)  # type: ignore[arg-type]
