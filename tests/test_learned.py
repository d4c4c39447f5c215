"""The learned score: its fits (trees, and the additive model), the shipped trees and where
the default uses it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from rerouting._evaluate import DEV_SEEDS, HELDOUT_SEEDS, evaluate
from rerouting._learned import (
    INPUTS,
    fit_learned,
    learned_contributions,
    learned_inputs,
    learned_score,
    load_learned,
)
from rerouting._scan import outside_learned_domain, scan
from rerouting._score import default_score
from rerouting.synthetic import make_world

WORLD = {"n_products": 30, "n_other_countries": 4, "eu_members": 4}


def _routes(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Toy route features: planted routes grow on both legs and keep their mass."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    inflow = np.where(y, rng.uniform(2.0, 20.0, n), rng.uniform(0.5, 2.5, n))
    frame = pl.DataFrame(
        {
            "oh_ratio_kg": inflow,
            "oh_ratio_value": inflow * rng.uniform(0.9, 1.1, n),
            "hd_ratio_kg": np.where(y, rng.uniform(1.5, 10.0, n), rng.uniform(0.5, 2.0, n)),
            "hd_ratio_value": rng.uniform(0.5, 3.0, n),
            "balance_kg": np.where(y, rng.uniform(0.5, 1.0, n), rng.uniform(0.0, 0.6, n)),
            "direct_change": rng.uniform(-1.0, 0.0, n),
            "substitution_ratio": rng.uniform(0.0, 1.0, n),
            "comove_kg": rng.uniform(-0.5, 1.0, n),
            "comove_value": rng.uniform(-0.5, 1.0, n),
            "uv_gap_excess": rng.uniform(0.0, 1.0, n),
            "uv_gap_legs": rng.uniform(0.0, 1.0, n),
            "price_effect": rng.normal(0.0, 0.2, n),
            "persistence": rng.uniform(0.0, 1.0, n),
            "oh_shift_z": rng.normal(2.0, 2.0, n),
            "hd_shift_z": rng.normal(1.0, 2.0, n),
            "dest_other_growth": rng.uniform(0.8, 1.3, n),
            "hub_other_growth": rng.uniform(0.8, 1.3, n),
            "hub_import_growth": rng.uniform(0.8, 1.3, n),
            "hub_declared_ratio": [None] * n,
            "hd_under_recorded": [False] * n,
            "hd_excess_kg": rng.uniform(0.0, 1.0, n),
            "oh_excess_kg": rng.uniform(0.0, 1.0, n),
            "hd_excess_value": rng.uniform(0.0, 1.0, n),
            "oh_excess_value": rng.uniform(0.0, 1.0, n),
            "novelty": rng.random(n) < 0.2,
            "uv_gap_direct": rng.uniform(0.0, 1.0, n),
            "gap_oh": rng.uniform(-0.3, 0.3, n),
            "gap_hd": rng.uniform(-0.3, 0.3, n),
        },
        schema_overrides={"hub_declared_ratio": pl.Float64},
    )
    return default_score(frame), y


def _xor(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Planted where the two legs' co-movements agree in sign: an XOR of two inputs,
    which no additive model can rank above chance."""
    frame, _ = _routes(n, seed)
    a, b = frame["comove_kg"].to_numpy() - 0.25, frame["gap_oh"].to_numpy()
    return frame, (a > 0) == (b > 0)


def test_the_fitted_shapes_score_as_the_model_and_sum_to_its_log_odds() -> None:
    from sklearn.metrics import average_precision_score

    train, y = _routes(600, 0)
    test, y_test = _routes(400, 1)
    model = fit_learned(train, y)
    assert model["inputs"] == list(INPUTS)
    p = learned_score(test, model).to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    # the planted rows are told apart on rows the fit never saw
    assert average_precision_score(y_test, p) > 0.9
    # the inflow's shape rises: more growth in, more rerouting
    shape = model["shapes"]["oh_ratio_kg"]
    assert shape["s"][-1] - shape["s"][0] > 1.0
    # the log-odds are the intercept plus one contribution per input
    c = learned_contributions(test, model)
    logit = c.select(pl.sum_horizontal(pl.all())).to_series().to_numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), p, rtol=1e-12)


def test_a_pairwise_interaction_learns_what_no_sum_of_shapes_can() -> None:
    from sklearn.metrics import average_precision_score

    train, y = _xor(3000, 5)
    test, y_test = _xor(2000, 6)
    additive = fit_learned(train, y)
    paired = fit_learned(train, y, pairs=1)
    assert additive["pairs"] == []
    assert [p["inputs"] for p in paired["pairs"]] == [["comove_kg", "gap_oh"]]
    assert average_precision_score(y_test, learned_score(test, additive)) < 0.65
    assert average_precision_score(y_test, learned_score(test, paired)) > 0.9
    # the pair is one more contribution, and the log-odds still add up
    c = learned_contributions(test, paired)
    assert "lc_comove_kg×gap_oh" in c.columns
    logit = c.select(pl.sum_horizontal(pl.all())).to_series().to_numpy()
    p = learned_score(test, paired).to_numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), p, rtol=1e-12)
    # the same pair, named, is the same fit
    named = fit_learned(train, y, pairs=[("comove_kg", "gap_oh")])
    assert named["pairs"] == paired["pairs"]


def test_a_missing_input_takes_its_missing_value_contribution() -> None:
    train, y = _routes(600, 2)
    model = fit_learned(train, y)
    row = train.head(1).with_columns(comove_kg=pl.lit(None, dtype=pl.Float64))
    c = learned_contributions(row, model)
    assert c["lc_comove_kg"][0] == pytest.approx(model["shapes"]["comove_kg"]["missing"])
    assert learned_inputs(row)["comove_kg"][0] is None


def test_the_shipped_model_reads_the_scans_inputs_and_was_fitted_on_dev_seeds_only() -> None:
    model = load_learned()
    assert tuple(model["inputs"]) == INPUTS
    assert model["trained_on"].startswith("rerouting._evaluate.DEV_SEEDS")
    # the probe family's worlds are in the fit, so it cannot lean on the route-only
    # regularities of the family (docs/detection.md#learned-score)
    assert "families family, probe" in model["trained_on"]
    assert not set(DEV_SEEDS) & set(HELDOUT_SEEDS)
    trees = model["trees"]
    n = len(trees["feature"])
    assert all(len(trees[k]) == n for k in ("threshold", "left", "right", "missing_left", "expect"))
    assert np.isfinite(trees["expect"]).all()
    assert np.isfinite(trees["threshold"]).all()
    split = np.asarray(trees["feature"]) >= 0
    assert (np.asarray(trees["feature"])[split] < len(INPUTS)).all()
    # a split's children come after it, so that every walk ends at a leaf
    assert (np.asarray(trees["left"])[split] > np.flatnonzero(split)).all()
    assert (np.asarray(trees["right"])[split] > np.flatnonzero(split)).all()


@pytest.mark.parametrize("direction", ["import-ban", "export-control"])
def test_the_default_scan_ranks_by_the_learned_score_where_both_hub_legs_are_recorded(
    direction: str,
) -> None:
    w = make_world(1, direction=direction, **WORLD)  # type: ignore[arg-type]
    table = scan(w.trade, scenario=w.scenario)
    r = table.routes
    assert outside_learned_domain(r) == 0
    assert r["score"].to_list() == r["learned_score"].to_list()
    assert r["score"].to_list() != r["evidence_score"].to_list()
    assert evaluate(w, table)["ap"] >= 0.99
    assert not any("evidence score" in n for n in table.notes)
    gated = scan(w.trade, scenario=w.scenario, scorer="evidence").routes
    assert gated["score"].to_list() == gated["evidence_score"].to_list()


def test_the_default_falls_back_to_the_evidence_score_when_a_hub_leg_is_nobodys() -> None:
    """Exporter-only data: nobody reports hub→destination, unlike every fitted route."""
    w = make_world(3, direction="export-control", **WORLD)  # type: ignore[arg-type]
    origin_only = w.trade.filter(pl.col("reporter").is_in(["DEU", "FRA", "ITA", "POL"]))
    table = scan(origin_only, scenario=w.scenario)
    r = table.routes
    assert outside_learned_domain(r) == r.height
    assert r["score"].to_list() == r["evidence_score"].fill_null(0.0).to_list()
    assert any("the evidence score" in n and "hub leg" in n for n in table.notes)
    forced = scan(origin_only, scenario=w.scenario, scorer="learned").routes
    assert forced["score"].to_list() == forced["learned_score"].to_list()


def test_the_shipped_trees_score_as_scikit_learn_and_their_contributions_sum() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from rerouting._learned import _DECIMALS, _TREES, MONOTONE, fit_trees

    train, y = _routes(800, 3)
    test, _ = _routes(300, 4)
    # some inputs unknown, to walk the missing-value sides too
    test = test.with_columns(
        comove_kg=pl.when(pl.int_range(pl.len()) % 3 == 0).then(None).otherwise("comove_kg")
    )
    model = fit_trees(train, y)
    ours = learned_score(test, model).to_numpy()

    def x(frame: pl.DataFrame) -> np.ndarray:
        return np.round(learned_inputs(frame).select(INPUTS).to_numpy(), _DECIMALS)

    cst = [MONOTONE.get(c, 0) for c in INPUTS]
    ref = HistGradientBoostingClassifier(**_TREES, monotonic_cst=cst, random_state=0)
    want = ref.fit(x(train), y).predict_proba(x(test))[:, 1]
    np.testing.assert_allclose(ours, want, rtol=1e-9, atol=1e-12)
    c = learned_contributions(test, model)
    logit = c.select(pl.sum_horizontal(pl.all())).to_series().to_numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), ours, rtol=1e-12)
    # an input the trees never split on adds nothing
    used = set(np.asarray(model["trees"]["feature"])[np.asarray(model["trees"]["feature"]) >= 0])
    unused = [name for i, name in enumerate(INPUTS) if i not in used]
    assert unused
    assert all((c[f"lc_{name}"] == 0).all() for name in unused)


def test_the_trees_learn_an_interaction_and_never_read_more_balance_as_less_rerouting() -> None:
    from sklearn.metrics import average_precision_score

    from rerouting._learned import fit_trees

    train, y = _xor(3000, 5)
    test, y_test = _xor(2000, 6)
    model = fit_trees(train, y)
    assert average_precision_score(y_test, learned_score(test, model)) > 0.9
    # monotone in balance: fitted where planted routes have *less* balance (label noise
    # against the evidence), the same routes with more balance still never score lower
    base, _ = _routes(1500, 7)
    rng = np.random.default_rng(8)
    yb = rng.random(base.height) < 0.9 - 0.8 * base["balance_kg"].to_numpy()
    fitted = fit_trees(base, yb)
    more = default_score(base.with_columns(balance_kg=pl.col("balance_kg") + 0.3))
    lo, hi = learned_score(base, fitted).to_numpy(), learned_score(more, fitted).to_numpy()
    assert (hi >= lo - 1e-12).all()


def test_last_bit_differences_in_an_input_do_not_move_it_across_a_split() -> None:
    """Two engines may sum the same flows in another order, and routes sit exactly on
    splits (a saturated gate has one value for many routes): the trees read their
    inputs rounded, so one ulp either side of a split takes the same branch."""
    p = INPUTS.index("persistence")
    one_split = {
        "inputs": list(INPUTS),
        "intercept": 0.0,
        "trees": {
            "roots": [0],
            "feature": [p, -1, -1],
            "threshold": [0.5, 0.0, 0.0],
            "left": [1, 1, 2],
            "right": [2, 1, 2],
            "missing_left": [True, False, False],
            "expect": [0.0, -1.0, 1.0],
        },
    }
    frame, _ = _routes(3, 0)
    at = [0.5, float(np.nextafter(0.5, 1.0)), float(np.nextafter(0.5, 0.0))]
    frame = frame.with_columns(persistence=pl.Series(at))
    c = learned_contributions(frame, one_split)["lc_persistence"].to_list()
    assert c == [-1.0, -1.0, -1.0]
    # a real step across the split still counts
    above = frame.with_columns(persistence=pl.lit(0.5 + 1e-6))
    assert learned_contributions(above, one_split)["lc_persistence"].to_list() == [1.0] * 3


def test_every_route_explains_with_its_learned_contributions() -> None:
    """explain() rebuilds one route from its row, where a missing value has no type."""
    import math
    import re

    from rerouting.synthetic import load_world

    demo = load_world("fixtures/demo")
    table = scan(demo.trade, scenario=demo.scenario)
    r = table.routes
    assert r["gate_same_goods"].null_count() > 0  # routes with an unknown gate are in it
    for rank in r["rank"].to_list():
        text = table.explain(rank)
        found = re.search(r"Learned score: log-odds ([+-][\d.]+)", text)
        assert found, text
        score = r.filter(pl.col("rank") == rank)["learned_score"][0]
        logit = math.log(score / (1 - score)) if 0 < score < 1 else math.copysign(50, score - 0.5)
        assert float(found.group(1)) == pytest.approx(logit, abs=0.051)
