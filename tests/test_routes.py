"""Scenario sides, windows, leg coverage and candidate routes on hand-made records."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from rerouting._config import Scenario
from rerouting._countries import AGGREGATE_CODES
from rerouting._exceptions import ConfigError, NoDataError
from rerouting._legs import (
    build_legs,
    candidate_routes,
    missing_legs,
    observed,
    resolve_sides,
    scenario_windows,
)
from rerouting.schema import CANONICAL_SCHEMA, LEG_NAMES, LEGS, ROUTE_KEY

D = dt.date


def canonical(rows: list[tuple[D, str, str, str, str, float]], freq: str = "M") -> pl.DataFrame:
    df = pl.DataFrame(
        rows, schema=["period", "reporter", "partner", "flow", "hs", "value"], orient="row"
    )
    return df.with_columns(
        frequency=pl.lit(freq),
        currency=pl.lit("EUR"),
        net_weight_kg=pl.col("value") / 3.0,
        quantity=pl.lit(None, pl.Float64),
        quantity_unit=pl.lit(None, pl.String),
        hs_vintage=pl.lit("HS2017"),
        source=pl.lit("test"),
    ).select([pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()])


def months(first: D, last: D) -> list[D]:
    return pl.date_range(first, last, "1mo", eager=True).to_list()


# ------------------------------------------------------------------ windows
def test_default_windows_are_24_months_before_and_event_to_end() -> None:
    sc = Scenario(origin="BLR", destination="EU", event="2022-03")
    w = scenario_windows(sc, D(2019, 1, 1), D(2023, 12, 1), "M")
    assert w.baseline == (D(2020, 3, 1), D(2022, 2, 1))
    assert w.post == (D(2022, 3, 1), D(2023, 12, 1))
    assert (w.n_baseline, w.n_post) == (24, 22)
    # data that start later clip the baseline
    short = scenario_windows(sc, D(2021, 1, 1), D(2022, 11, 1), "M")
    assert short.baseline == (D(2021, 1, 1), D(2022, 2, 1))
    assert short.n_baseline == 14
    assert short.n_post == 9


def test_explicit_and_annual_windows() -> None:
    sc = Scenario(
        origin="EU", destination="RUS", event="2022-03", baseline="2019-01:2021-12",
        post="2022-03:2022-12",
    )  # fmt: skip
    w = scenario_windows(sc, D(2017, 1, 1), D(2023, 12, 1), "M")
    assert (w.n_baseline, w.n_post) == (36, 10)
    annual = scenario_windows(
        Scenario(origin="EU", destination="RUS", event="2022-03"), D(2018, 1, 1), D(2023, 1, 1), "A"
    )
    # the event's year is post (EC and IESEG compare 2022 with 2021); two baseline years
    assert annual.baseline == (D(2020, 1, 1), D(2021, 1, 1))
    assert annual.post == (D(2022, 1, 1), D(2023, 1, 1))
    assert annual.step == 12
    assert annual.n_post == 2


def test_windows_need_data_on_both_sides_of_the_event() -> None:
    sc = Scenario(origin="BLR", destination="EU", event="2022-03")
    with pytest.raises(NoDataError, match="before the event"):
        scenario_windows(sc, D(2022, 3, 1), D(2023, 1, 1), "M")
    with pytest.raises(NoDataError, match="after the event"):
        scenario_windows(sc, D(2020, 1, 1), D(2022, 2, 1), "M")


# ------------------------------------------------------------------ sides
def test_blocs_expand_and_countries_stay_separate() -> None:
    sides = resolve_sides(Scenario(origin="BLR,RUS", destination="EU", event="2022-03"))
    assert sides.origin == {"BLR": "BLR", "RUS": "RUS"}
    assert len(sides.destination) == 27
    assert set(sides.destination.values()) == {"EU"}
    assert sides.destination["LTU"] == "EU"


def test_overlapping_sides_are_refused() -> None:
    with pytest.raises(ConfigError, match="overlap"):
        resolve_sides(Scenario(origin="EU", destination="DEU", event="2022-03"))
    with pytest.raises(ConfigError, match="hub is also"):
        resolve_sides(Scenario(origin="BLR", destination="EU", hubs="KAZ,POL", event="2022-03"))


# ------------------------------------------------------------------ legs and coverage
def _eu_only() -> pl.DataFrame:
    """Only EU members report (like Comext): exports to KAZ, ARM and RUS, 2021-2022."""
    rows = []
    for p in months(D(2021, 1, 1), D(2022, 12, 1)):
        post = p >= D(2022, 3, 1)
        rows += [
            (p, "DEU", "RUS", "export", "870323", 5.0 if post else 100.0),
            (p, "DEU", "KAZ", "export", "870323", 60.0 if post else 10.0),
            (p, "POL", "ARM", "export", "870323", 8.0),
            (p, "POL", "WLD", "export", "870323", 999.0),  # an aggregate partner
            (p, "CHN", "TUR", "export", "870323", 50.0),  # between two third countries
        ]
    return canonical(rows)


def test_a_leg_nobody_reports_is_missing_not_zero() -> None:
    sc = Scenario(origin="EU", destination="RUS", event="2022-03")
    legs = build_legs(_eu_only().lazy(), sc)
    assert legs.hubs == ("ARM", "KAZ")  # WLD is an aggregate, CHN/TUR never meet the sides
    routes = candidate_routes(legs).collect().sort("hub")
    assert routes["hub"].to_list() == ["ARM", "KAZ"]
    assert routes["oh_obs_post"].all()
    assert routes["dr_obs_post"].all()
    assert not routes["hd_obs_baseline"].any()
    assert not routes["hd_obs_post"].any()


def test_hub_only_data_miss_the_direct_leg() -> None:
    rows = []
    for p in months(D(2021, 1, 1), D(2022, 12, 1)):
        rows += [
            (p, "KAZ", "DEU", "import", "870323", 10.0),
            (p, "KAZ", "RUS", "export", "870323", 12.0),
            (p, "KAZ", "CHN", "import", "870324", 10.0),  # not from the origin
        ]
    sc = Scenario(origin="EU", destination="RUS", event="2022-03")
    routes = candidate_routes(build_legs(canonical(rows).lazy(), sc)).collect()
    assert routes.select("hub", "hs").rows() == [("KAZ", "870323")]
    assert not routes["dr_obs_baseline"][0]
    assert not routes["dr_obs_post"][0]
    assert routes["oh_obs_post"][0]
    assert routes["hd_obs_post"][0]


def test_an_observed_leg_without_trade_rules_the_route_out() -> None:
    """KAZ reports exports: it never sold 870323 to Russia, so there is no route."""
    rows = []
    for p in months(D(2021, 1, 1), D(2022, 12, 1)):
        rows += [
            (p, "DEU", "KAZ", "export", "870323", 60.0),
            (p, "KAZ", "RUS", "export", "940360", 5.0),
            (p, "DEU", "RUS", "export", "870323", 100.0),
        ]
    sc = Scenario(origin="EU", destination="RUS", event="2022-03")
    assert candidate_routes(build_legs(canonical(rows).lazy(), sc)).collect().is_empty()


def test_explicit_hubs_and_products_are_pushed_down() -> None:
    sc = Scenario(origin="EU", destination="RUS", event="2022-03", hubs="KAZ", products="8703")
    legs = build_legs(_eu_only().lazy(), sc)
    assert legs.hubs == ("KAZ",)
    flows = legs.flows.collect()
    assert set(flows["hs"]) == {"870323"}
    # records touching the sides or the hub stay (the origin's world trade is a control);
    # records between two other countries do not
    assert "TUR" not in set(flows["dst"])
    assert "CHN" not in set(flows["src"])
    # a product the data do not hold at all is named as such (issue 17), not "no hub"
    with pytest.raises(NoDataError, match="none of the 1 codes of product list"):
        build_legs(_eu_only().lazy(), sc.model_copy(update={"products": "4407"}))


def test_monthly_data_win_over_annual_records() -> None:
    monthly = _eu_only()
    annual = canonical([(D(2021, 1, 1), "DEU", "KAZ", "export", "870323", 1e9)], freq="A")
    sc = Scenario(origin="EU", destination="RUS", event="2022-03")
    legs = build_legs(pl.concat([monthly, annual]).lazy(), sc)
    assert legs.windows.frequency == "M"
    assert any("mixed frequencies" in n for n in legs.notes)
    assert legs.flows.select(pl.col("value").max()).collect().item() < 1e9


# ------------------------------------------------------------------ the legs' one home
def test_the_legs_name_their_key_columns_and_prefixes() -> None:
    assert LEG_NAMES == ("origin_hub", "hub_destination", "direct")
    assert [(leg.prefix, leg.src, leg.dst) for leg in LEGS] == [
        ("oh", "origin", "hub"),
        ("hd", "hub", "destination"),
        ("dr", "origin", "destination"),
    ]
    assert {leg.src for leg in LEGS} | {leg.dst for leg in LEGS} == set(ROUTE_KEY) - {"hs"}
    route = {"origin": "BLR", "hub": "KAZ", "destination": "DEU"}
    assert [leg.between(route) for leg in LEGS] == [
        "BLR → KAZ",
        "KAZ → DEU",
        "BLR → DEU (direct)",
    ]
    assert LEGS[0].title == "origin → hub"


def test_missing_legs_name_each_unreported_leg_and_window() -> None:
    obs = pl.DataFrame(
        {
            "oh_obs_baseline": [True, True, False],
            "oh_obs_post": [True, False, False],
            "hd_obs_baseline": [True, True, True],
            "hd_obs_post": [True, True, True],
            "dr_obs_baseline": [True, False, None],  # null: unknown counts as unreported
            "dr_obs_post": [True, False, True],
        }
    )
    out = obs.select(m=missing_legs(), oh=observed("oh"), dr=observed("dr"))
    assert out["m"].to_list() == [
        None,
        "origin_hub (post), direct",
        "origin_hub, direct (baseline)",
    ]
    assert out["oh"].to_list() == [True, True, False]
    assert out["dr"].to_list() == [True, False, True]


@pytest.mark.parametrize("code", sorted(c for c in AGGREGATE_CODES if len(c) == 3))
def test_no_aggregate_code_is_a_hub(code: str) -> None:
    rows = []
    for p in months(D(2021, 1, 1), D(2022, 12, 1)):
        rows += [
            (p, "DEU", "KAZ", "export", "870323", 60.0),
            (p, "DEU", code, "export", "870323", 999.0),
            (p, "KAZ", "RUS", "export", "870323", 50.0),
            (p, code, "RUS", "export", "870323", 999.0),
        ]
    sc = Scenario(origin="EU", destination="RUS", event="2022-03")
    assert build_legs(canonical(rows).lazy(), sc).hubs == ("KAZ",)
