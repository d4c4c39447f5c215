"""The ranking: ``score`` is evidence, ``value_at_stake`` is money, ``priority`` joins them.

The routes are built by hand from the mechanism (a sanctioned direct flow collapses, the
same goods go through a hub a month later), so their sizes and their evidence are known.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from typing import TYPE_CHECKING

import polars as pl
import pytest

from rerouting._exceptions import ConfigError
from rerouting._rank import PRIORITY_ALPHA
from rerouting._scan import scan
from rerouting.schema import CANONICAL_SCHEMA

if TYPE_CHECKING:
    from pathlib import Path

    from rerouting._result import RouteTable

EVENT = dt.date(2022, 3, 1)
SCENARIO = {"origin": "BLR", "destination": "DEU", "event": "2022-03"}


def _route(hub: str, hs: str, size: float, direct_left: float) -> list[tuple[object, ...]]:
    """BLR → ``hub`` → DEU in ``hs``, every flow reported by both sides (imports CIF +6%).

    The direct flow falls to ``direct_left`` of its level at the event; the hub's imports
    from Belarus jump ×18 and its exports to Germany follow a month later; a third
    supplier (POL) stays flat. ``size`` scales every flow of the route (value and kg).
    """
    rows: list[tuple[object, ...]] = []
    months = pl.date_range(dt.date(2020, 3, 1), dt.date(2023, 2, 1), "1mo", eager=True)
    for i, p in enumerate(months.to_list()):
        wave, prev = 1.0 + 0.3 * math.sin(1.3 * i), 1.0 + 0.3 * math.sin(1.3 * (i - 1))
        direct = (direct_left if p >= EVENT else 1.0) * 100.0 * (1 + 0.05 * math.cos(i))
        inflow = (90.0 if p >= EVENT else 5.0) * wave
        outflow = (88.0 if p >= dt.date(2022, 4, 1) else 5.0) * prev
        other = 50.0 * (1 + 0.05 * math.sin(2 * i))
        for rep, par, flow, v in (
            ("BLR", "DEU", "export", direct), ("DEU", "BLR", "import", direct * 1.06),
            ("BLR", hub, "export", inflow), (hub, "BLR", "import", inflow * 1.06),
            (hub, "DEU", "export", outflow), ("DEU", hub, "import", outflow * 1.06),
            ("POL", "DEU", "export", other), ("DEU", "POL", "import", other * 1.06),
        ):  # fmt: skip
            rows.append((p, rep, par, flow, hs, v * size * 1e4, v * size * 1e4 / 3.0))
    return rows


def _frame(rows: list[tuple[object, ...]], unit: float = 1.0) -> pl.DataFrame:
    df = pl.DataFrame(
        rows,
        schema=["period", "reporter", "partner", "flow", "hs", "value", "net_weight_kg"],
        orient="row",
    )
    return df.with_columns(
        pl.col("value") * unit,
        frequency=pl.lit("M"),
        currency=pl.lit("EUR"),
        quantity=pl.lit(None, pl.Float64),
        quantity_unit=pl.lit(None, pl.String),
        hs_vintage=pl.lit("HS2017"),
        source=pl.lit("test"),
    ).select([pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()])


def _two_routes(unit: float = 1.0) -> pl.DataFrame:
    # The small route's direct flow falls a little further (−95% against −90%): its
    # evidence is a shade stronger, so the score alone would put it first.
    small = _route("KAZ", "440711", 1.0, direct_left=0.05)
    big = _route("KGZ", "440712", 50.0, direct_left=0.10)
    return _frame(small + big, unit)


@pytest.fixture(scope="module")
def tables() -> dict[str, RouteTable]:
    trade = _two_routes()
    return {s: scan(trade, **SCENARIO, sort=s) for s in ("priority", "score", "value")}  # type: ignore[arg-type]


def test_equally_clean_routes_50x_apart_come_out_largest_first(
    tables: dict[str, RouteTable],
) -> None:
    r = tables["priority"].routes
    small, big = (r.filter(pl.col("hs") == hs).row(0, named=True) for hs in ("440711", "440712"))
    # equally clean: both well above 0.5, within 0.01 of each other
    assert min(small["score"], big["score"]) > 0.9
    assert abs(small["score"] - big["score"]) < 0.01
    assert small["score"] > big["score"]
    assert big["value_at_stake"] / small["value_at_stake"] == pytest.approx(50.0, rel=1e-6)
    # priority: the large route first, by (1/50)^α of the evidence
    assert r["hs"].to_list() == ["440712", "440711"]
    assert r["rank"].to_list() == [1, 2]
    assert big["priority"] == pytest.approx(big["score"])
    assert small["priority"] == pytest.approx(small["score"] * (1 / 50) ** PRIORITY_ALPHA)
    # the other orders do what they say
    assert tables["score"].routes["hs"].to_list() == ["440711", "440712"]
    assert tables["value"].routes["hs"].to_list() == ["440712", "440711"]
    assert tables["priority"].scenario.sort == "priority"
    assert tables["score"].scenario.sort == "score"


def test_value_at_stake_is_the_yearly_excess_capped_by_the_pass_through(
    tables: dict[str, RouteTable],
) -> None:
    r = tables["priority"].routes.filter(pl.col("hs") == "440711").row(0, named=True)
    # 12 post months: per year = the excess of the smaller leg, monthly, × 12 (it is
    # below the post-window mean of either leg, the Iyoha bound)
    monthly = min(r["oh_excess_value"], r["hd_excess_value"])
    assert r["value_at_stake"] == pytest.approx(12 * monthly)
    assert r["value_at_stake"] <= r["pass_through"]  # the bound over the 12 post months
    assert r["value_at_stake"] == pytest.approx(r["materiality"])


def test_the_currency_unit_never_changes_the_order_or_the_priority(
    tables: dict[str, RouteTable],
) -> None:
    cents = scan(_two_routes(unit=100.0), **SCENARIO)  # type: ignore[arg-type]
    base = tables["priority"].routes
    assert cents.routes["hs"].to_list() == base["hs"].to_list()
    assert cents.routes["priority"].to_list() == pytest.approx(base["priority"].to_list())
    assert cents.routes["value_at_stake"].to_list() == pytest.approx(
        [100.0 * v for v in base["value_at_stake"]]
    )


def test_the_report_lists_routes_by_priority_with_their_value(
    tables: dict[str, RouteTable], tmp_path: Path
) -> None:
    html = tables["priority"].to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "At stake / yr" in html
    # KGZ (the large route) is the first route section, KAZ the second
    assert html.index("BLR → KGZ → DEU") < html.index("BLR → KAZ → DEU")


def test_hubs_follow_priority_by_default(tables: dict[str, RouteTable]) -> None:
    t = tables["score"]  # the hub order does not depend on the routes' order
    assert t.hubs()["hub"].to_list() == ["KGZ", "KAZ"]
    assert t.hubs(sort="score")["hub"].to_list() == ["KAZ", "KGZ"]
    assert t.hubs(sort="value")["hub"].to_list() == ["KGZ", "KAZ"]
    hubs = t.hubs()
    assert hubs["hub_priority"].to_list() == pytest.approx(
        tables["priority"].routes.sort("priority", descending=True)["priority"].to_list()
    )
    with pytest.raises(ConfigError, match="unknown sort") as err:
        t.hubs(sort="money")  # type: ignore[arg-type]
    assert "hubs(sort='score')" in (err.value.hint or "")


def test_the_sort_is_a_scenario_field(tmp_path: Path) -> None:
    from rerouting._config import Scenario

    toml = tmp_path / "scan.toml"
    toml.write_text('origin = "BLR"\ndestination = "DEU"\nevent = "2022-03"\nsort = "value"\n')
    sc = Scenario.from_toml(toml)
    assert sc.sort == "value"
    assert sc.with_overrides(sort="score").sort == "score"
    assert Scenario(origin="BLR", destination="DEU", event="2022-03").sort == "priority"


def test_an_unknown_sort_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as err:
        scan(_two_routes(), **SCENARIO, sort="money")  # type: ignore[arg-type]
    assert err.value.column == "sort"
    assert "money" in str(err.value)


def test_cli_sort_flag(tmp_path: Path) -> None:
    path = tmp_path / "two_routes.parquet"
    _two_routes().write_parquet(path)
    args = [sys.executable, "-m", "rerouting", "scan", str(path), "--origin", "BLR"]
    args += ["--destination", "DEU", "--event", "2022-03", "--quiet"]
    orders = {}
    for sort in ("score", None):  # None: the default, priority
        out = tmp_path / f"{sort}.csv"
        flag = ["--sort", sort] if sort else []
        proc = subprocess.run(
            [*args, *flag, "-o", str(out)], capture_output=True, text=True, timeout=300, check=False
        )
        assert proc.returncode == 0, proc.stderr
        orders[sort] = pl.read_csv(out, schema_overrides={"hs": pl.String})["hs"].to_list()
    assert orders == {"score": ["440711", "440712"], None: ["440712", "440711"]}
