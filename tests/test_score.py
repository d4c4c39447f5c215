"""Scores: the default score's decomposition, the baselines' rules, the classifier contract."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError, SkipTestWarning
from sklearn.utils.estimator_checks import check_estimator

from rerouting._classifier import RouteClassifier
from rerouting._exceptions import ConfigError
from rerouting._scan import scan
from rerouting._score import (
    GATES,
    MODEL_FEATURES,
    TERMS,
    baseline_scores,
    check_scorer,
    default_score,
    iforest_score,
)
from rerouting.synthetic import make_world

WORLD = {"n_products": 30, "n_other_countries": 4, "eu_members": 4}


def _features(**cols: list[float | bool | None]) -> pl.DataFrame:
    """A features frame with neutral values for every column not given."""
    n = len(next(iter(cols.values())))
    neutral: dict[str, float | bool | None] = {
        "oh_ratio_kg": 1.0, "oh_ratio_value": 1.0, "hd_ratio_kg": 1.0, "hd_ratio_value": 1.0,
        "balance_kg": 0.0, "direct_change": 0.0, "comove_kg": 0.0, "comove_value": 0.0,
        "uv_gap_legs": 0.0, "uv_gap_excess": 0.0, "dest_other_growth": 1.0, "hub_other_growth": 1.0,
        "hub_import_growth": 1.0, "persistence": 0.0, "price_effect": 0.0,
        "oh_shift_z": 0.0, "hd_shift_z": 0.0, "hd_under_recorded": False,
        "hub_declared_ratio": 1.0, "oh_excess_kg": 0.0, "hd_excess_kg": 0.0,
        "oh_excess_value": 0.0, "hd_excess_value": 0.0,
    }  # fmt: skip
    data = {k: [v] * n for k, v in neutral.items()}
    data.update(cols)  # type: ignore[arg-type]
    schema = {k: pl.Boolean if k == "hd_under_recorded" else pl.Float64 for k in data}
    return pl.DataFrame(data, schema=schema)


def test_contributions_sum_to_the_score_and_the_gate_is_a_product() -> None:
    f = _features(
        oh_ratio_kg=[5.0, 5.0, 1.0],
        hd_ratio_kg=[4.0, 4.0, 1.0],
        balance_kg=[0.9, 0.0, 0.0],
        direct_change=[-0.95, -0.95, 0.0],
        comove_kg=[0.8, 0.8, 0.0],
        persistence=[1.0, 1.0, 0.0],
    )
    out = default_score(f)
    contrib = [f"contrib_{t.name}" for t in TERMS]
    gates = [f"gate_{g.name}" for g in GATES]
    resid = out.select(pl.sum_horizontal(contrib) - pl.col("score")).to_series()
    assert resid.abs().max() < 1e-12
    prod = out.select(pl.reduce(lambda a, b: a * b, [pl.col(g) for g in gates])).to_series()
    assert (prod - out["gate"]).abs().max() < 1e-12
    s = out["score"].to_list()
    assert s[0] > 0.8  # a textbook route
    assert s[1] < 0.1 * s[0]  # same, but nothing balances: the hub keeps what it buys
    assert s[2] < 0.01  # nothing moved


def test_different_goods_on_the_two_legs_close_the_gate() -> None:
    # Both legs rise, the direct flow collapses, the masses roughly balance, but what the
    # hub sells is another grade (unit value of the added goods x2.4): two unrelated rises.
    route = {
        "oh_ratio_kg": [5.0, 5.0, 5.0],
        "hd_ratio_kg": [4.0, 4.0, 4.0],
        "balance_kg": [0.6, 0.6, 0.6],
        "direct_change": [-0.95, -0.95, -0.95],
        "comove_kg": [0.8, 0.8, 0.8],
        "persistence": [1.0, 1.0, 1.0],
    }
    out = default_score(_features(**route, uv_gap_excess=[0.05, 0.30, math.log(2.4)]))
    same = out["gate_same_goods"].to_list()
    assert same[0] > 0.95  # a markup and freight: the same goods
    assert 0.5 < same[1] < 0.8  # x1.35: borderline, loses part of its score
    assert same[2] < 0.02
    s = out["score"].to_list()
    assert s[2] < 0.02 * s[0]


def test_a_missing_leg_leaves_its_terms_out() -> None:
    f = _features(
        oh_ratio_kg=[5.0],
        hd_ratio_kg=[None],
        hd_ratio_value=[None],
        hd_shift_z=[None],
        balance_kg=[None],
        comove_kg=[None],
        comove_value=[None],
        uv_gap_legs=[None],
        uv_gap_excess=[None],
        direct_change=[-0.9],
        persistence=[1.0],
    )
    out = default_score(f).row(0, named=True)
    assert out["gate_outflow"] is None
    assert out["gate_balance"] is None
    assert out["gate_same_goods"] is None
    assert out["gate"] == pytest.approx(out["gate_inflow"] * out["gate_direct"])
    assert out["contrib_comove"] == 0.0
    assert out["contrib_uv_match"] == 0.0
    assert out["score"] > 0.5


def test_baseline_rules_flag_exactly_at_their_thresholds() -> None:
    # hub→destination mean 100 → 300 a month (+200%), 3,600 a year; EC threshold 1,000
    f = pl.DataFrame(
        {
            "oh_b_mean_v": [100.0, 100.0, 100.0],
            "oh_p_mean_v": [300.0, 300.0, 90.0],
            "hd_b_mean_v": [100.0, 100.0, 100.0],
            "hd_p_mean_v": [300.0, 199.0, 300.0],
            "freund_c2": [True, True, True],
            "freund_c4": [True, True, False],
            "freund_t": [150.0, 50.0, 0.0],
            "_per_year": [12.0, 12.0, 12.0],
        }
    )
    out = baseline_scores(f, ec_min_value=1000.0)
    assert out["ec_surge_flag"].to_list() == [True, False, True]  # +99% is not +100%
    assert out["freund_flag"].to_list() == [True, True, False]
    assert out["both_up_flag"].to_list() == [True, True, False]
    for name in ("ec_surge", "freund", "both_up"):
        assert ((out[name] >= 0.5) == out[f"{name}_flag"]).all()
    high = baseline_scores(f, ec_min_value=1e9)
    assert not high["ec_surge_flag"].any()  # too small to matter


def test_iforest_score_is_an_anomaly_score() -> None:
    rng = np.random.default_rng(0)
    n = 200
    data = {c: rng.normal(size=n) for c in MODEL_FEATURES}
    for c in MODEL_FEATURES:  # one route far from the rest on every feature
        data[c][0] = 12.0
    frame = pl.DataFrame(data).with_columns(
        [pl.col(c).abs() + 1.0 for c in MODEL_FEATURES if "growth" in c or "ratio" in c]
    )
    s = iforest_score(frame)
    assert s.min() > 0.0
    assert s.max() <= 1.0
    assert s.arg_max() == 0


@pytest.fixture(scope="module")
def labelled() -> tuple[pl.DataFrame, np.ndarray]:
    w = make_world(5, **WORLD)  # type: ignore[arg-type]
    routes = scan(w.trade, scenario=w.scenario).routes
    truth = w.truth.filter(pl.col("kind") == "route").select("hub", "hs", y=pl.lit(1))
    y = routes.join(truth, on=["hub", "hs"], how="left")["y"].fill_null(0).to_numpy()
    return routes, y


def test_classifier_follows_the_sklearn_contract() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)
        results = check_estimator(RouteClassifier(), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert not failed


def test_classifier_learns_from_route_tables(labelled: tuple[pl.DataFrame, np.ndarray]) -> None:
    routes, y = labelled
    clf = RouteClassifier(C=0.5)
    assert clone(clf).get_params()["C"] == 0.5
    with pytest.raises(NotFittedError):
        clf.predict_proba(routes)
    clf.fit(routes, y)
    assert clf.features_ == MODEL_FEATURES
    assert clf.n_features_in_ == len(MODEL_FEATURES)
    proba = clf.predict_proba(routes)
    assert proba.shape == (routes.height, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert clf.average_precision(routes, y) > 0.9  # in-sample: it can learn the pattern
    lo = clf.decision_function(routes)
    parts = clf.contributions(routes).sum(axis=1) + clf.model_.intercept_[0]
    assert np.allclose(parts, lo)


def test_scan_with_a_fitted_classifier(labelled: tuple[pl.DataFrame, np.ndarray]) -> None:
    routes, y = labelled
    clf = RouteClassifier().fit(routes, y)
    w = make_world(6, **WORLD)  # type: ignore[arg-type]
    table = scan(w.trade, scenario=w.scenario, scorer=clf, sort="score")
    assert table.routes["score"].is_sorted(descending=True)
    expected = clf.predict_proba(table.routes)[:, 1]
    assert np.allclose(np.sort(expected)[::-1], table.routes["score"].to_numpy())


def test_scorer_must_be_known_or_fitted() -> None:
    with pytest.raises(ConfigError, match="unknown scorer"):
        check_scorer("best")
    with pytest.raises(NotFittedError):
        check_scorer(RouteClassifier())
    assert check_scorer("both-up") == "both-up"


def test_one_registry_entry_adds_a_scorer_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    import rerouting._score as score_module
    from rerouting import _cli
    from rerouting._config import Scenario
    from rerouting._scan import scan
    from rerouting.synthetic import demo_world

    spec = score_module.ScorerSpec("iforest-copy", "iforest_score", "a test entry")
    monkeypatch.setitem(score_module.SCORERS, spec.name, spec)
    assert "iforest-copy" in score_module.get_scorer_names()
    world = demo_world()
    sc = Scenario.build(**{**world.scenario.model_dump(exclude_none=True), "scorer": spec.name})
    table = scan(world.trade, scenario=sc)
    assert table.routes["score"].to_list() == table.routes["iforest_score"].to_list()
    # the CLI's --scorer choices are the registry as it stood when the command was defined
    (option,) = [p for p in _cli.scan.params if p.name == "scorer"]
    assert list(option.type.choices) == [n for n in score_module.SCORERS if n != spec.name]  # type: ignore[attr-defined]
