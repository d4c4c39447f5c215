"""Tests of rerouting._evaluate: the randomised mechanisms do what they say."""

from __future__ import annotations

import polars as pl

from rerouting._evaluate import DEV_SEEDS, HELDOUT_SEEDS, random_world


def test_seed_ranges_are_frozen_and_disjoint() -> None:
    assert (HELDOUT_SEEDS.start, HELDOUT_SEEDS.stop) == (900_000, 900_100)
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
