"""Tests of rerouting._evaluate: the randomised mechanisms do what they say."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from rerouting._evaluate import DEV_SEEDS, HELDOUT_SEEDS, random_world


def test_seed_ranges_are_frozen_and_disjoint() -> None:
    assert (HELDOUT_SEEDS.start, HELDOUT_SEEDS.stop) == (900_000, 900_500)
    assert not set(HELDOUT_SEEDS) & set(DEV_SEEDS)


def test_random_world_is_reproducible_and_applies_its_mechanisms() -> None:
    seed = DEV_SEEDS[0]
    a, mech = random_world(seed, "export-control")
    b, _ = random_world(seed, "export-control")
    assert a.trade.equals(b.trade)
    event = a.scenario.event
    post = a.trade.filter(pl.col("period") >= event)
    if mech.origin_silent:
        eu = set(a.trade.filter(pl.col("period") < event)["reporter"]) - set(post["reporter"])
        assert eu, "a silent origin files nothing after the event"
    assert set(a.trade["frequency"].cast(pl.String)) == ({"A"} if mech.annual else {"M"})
    assert 0.1 <= mech.declared_share <= 1.0
    assert 0.0 <= mech.cif_fob <= 0.15


def test_family_adds_own_trade_lags_ramps_and_merges() -> None:
    """The mechanisms added before any detector change: each one is visible in the world."""
    import dataclasses

    import polars as pl

    from rerouting._evaluate import _merge_route, _own_trade
    from rerouting.synthetic import make_world

    world = make_world(7, max_lag=4, max_ramp=12, n_products=30, n_other_countries=4)
    routes = world.truth.filter(pl.col("kind") == "route")
    assert routes["lag"].max() <= 4
    assert routes["ramp"].max() <= 12
    mech = dataclasses.replace(random_world(DEV_SEEDS[0])[1], own_trade_max=20.0)
    rng = np.random.default_rng(0)
    more = _own_trade(world, mech, rng)
    hub, hs = routes.row(0, named=True)["hub"], routes.row(0, named=True)["hs"]

    def hub_exports(w: object) -> float:
        t = w.trade  # type: ignore[attr-defined]
        sel = (pl.col("reporter") == hub) & (pl.col("flow") == "export") & (pl.col("hs") == hs)
        return float(t.filter(sel)["value"].sum())

    assert hub_exports(more) > hub_exports(world)
    merged = _merge_route(world, np.random.default_rng(1))
    note = merged.truth.filter(pl.col("note").str.contains("merged"))
    assert note.height == 1
    old = note["hs"][0]
    assert old in (merged.scenario.products or ())
    late = merged.trade.filter(pl.col("period").dt.year() >= 2022)
    assert old not in late["hs"].to_list()  # the deleted code has no rows from 2022


def test_the_artefact_probe_spreads_under_declaration_and_own_trade_beyond_routes() -> None:
    from dataclasses import replace

    from rerouting._evaluate import PROBE_SEEDS, _apply, _members, _own_trade

    assert not set(PROBE_SEEDS) & (set(DEV_SEEDS) | set(HELDOUT_SEEDS))
    # a world whose destination reports after the event (own trade is sized on its record)
    seed = next(s for s in DEV_SEEDS if not random_world(s, "import-ban")[1].destination_silent)
    world, mech = random_world(seed, "import-ban")
    plain = replace(
        mech, noise_sd=(0.0, 0.0), skip_max=0.0, destination_silent=False,
        origin_silent=False, declared_share=0.5, cif_fob=0.06, annual=False,
        own_trade_max=5.0,
    )  # fmt: skip
    event = world.scenario.event
    dest = _members(world, world.scenario.destination)
    routes = world.truth.filter(pl.col("kind") == "route")
    others = (
        pl.col("partner").is_in(dest)
        & (pl.col("flow") == "export")
        & (pl.col("period") >= event)
        & ~pl.col("reporter").is_in(routes["hub"].unique().to_list())
        & ~pl.col("reporter").is_in([*dest, *_members(world, world.scenario.origin)])
    )

    def exported(every: bool) -> float:
        t = _apply(world, plain, np.random.default_rng(0), every_hub_declares=every)
        return float(t.filter(others)["value"].sum())

    assert exported(True) == pytest.approx(0.5 * exported(False))
    # own trade: on route legs only in the family, on as many other legs in the probe
    key = ["reporter", "partner", "flow", "hs"]
    base = world.trade.group_by(key).agg(pl.col("value").sum())

    def changed(decoy_legs: bool) -> set[tuple[str, str]]:
        t = _own_trade(world, plain, np.random.default_rng(1), decoy_legs=decoy_legs).trade
        diff = t.group_by(key).agg(pl.col("value").sum()).join(base, on=key, how="left")
        moved = diff.filter(
            (pl.col("flow") == "export") & (pl.col("value") != pl.col("value_right").fill_null(0))
        )
        return set(zip(moved["reporter"], moved["hs"], strict=True))

    planted = set(zip(routes["hub"], routes["hs"], strict=True))
    assert changed(False)
    assert changed(False) <= planted
    assert changed(True) - planted
