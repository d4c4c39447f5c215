"""Route features on hand-made data whose answers are computed by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from rerouting._config import Scenario
from rerouting._legs import scenario_windows
from rerouting._scan import scan
from rerouting.features import (
    FEATURES,
    comovement,
    interquartile_mean,
    log_ratio,
    mirror_gap,
)
from rerouting.schema import CANONICAL_SCHEMA

EVENT = dt.date(2022, 3, 1)


def _months(start: dt.date, n: int) -> list[dt.date]:
    out = []
    for i in range(n):
        m = start.month - 1 + i
        out.append(dt.date(start.year + m // 12, m % 12 + 1, 1))
    return out


def canonical(rows: list[tuple[dt.date, str, str, str, str, float, float | None]]) -> pl.DataFrame:
    """Rows of (period, reporter, partner, flow, hs, value, kg) as a canonical table."""
    df = pl.DataFrame(
        rows,
        schema=["period", "reporter", "partner", "flow", "hs", "value", "net_weight_kg"],
        orient="row",
    )
    return df.with_columns(
        frequency=pl.lit("M"),
        currency=pl.lit("USD"),
        quantity=pl.lit(None, pl.Float64),
        quantity_unit=pl.lit(None, pl.String),
        hs_vintage=pl.lit("HS2017"),
        source=pl.lit("test"),
    ).select([pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()])


# ------------------------------------------------------------------ window statistics
@pytest.mark.parametrize(
    ("values", "n", "expected"),
    [
        # [0, 0, 0, 1, 5, 100]: middle half = ranks 1..4 = [0, 0, 1, 5] → 1.5
        ([5.0, 1.0, 100.0], 6, 1.5),
        # [0, 0, 3, 3, 3, 50] → [0, 3, 3, 3] → 2.25: the 50 shipment does not count
        ([3.0, 3.0, 3.0, 50.0], 6, 2.25),
        # fully observed: [1..8] → [3, 4, 5, 6] → 4.5
        ([float(v) for v in range(1, 9)], 8, 4.5),
        # n = 2 keeps every value (plain mean)
        ([2.0, 4.0], 2, 3.0),
    ],
)
def test_interquartile_mean_counts_absent_months_as_zeros(
    values: list[float], n: int, expected: float
) -> None:
    df = pl.DataFrame({"g": [1] * len(values), "v": values})
    got = df.group_by("g").agg(interquartile_mean(pl.col("v"), n).alias("iqm"))["iqm"][0]
    assert got == pytest.approx(expected)


def test_log_ratio_is_capped_and_finite_on_zero_baseline() -> None:
    df = pl.DataFrame({"p": [50.0, 10.0, 0.0], "b": [0.0, 10.0, 20.0]})
    got = df.select(
        r=log_ratio(pl.col("p"), pl.col("b"), 0.05 * pl.max_horizontal("p", "b") + 1e-9)
    )["r"]
    assert got[0] == pytest.approx(math.log(21.0))  # (50 + 2.5) / 2.5
    assert got[1] == pytest.approx(0.0)
    assert got[2] == pytest.approx(math.log(1.0 / 21.0))


def test_mirror_gap_is_negative_when_exports_do_not_arrive() -> None:
    df = pl.DataFrame({"oh_p_exp": [84.0, 10.0], "oh_p_imp": [11.0, 10.0]})
    got = df.select(g=mirror_gap("oh"))["g"].to_list()
    assert got[0] == pytest.approx((11.0 - 84.0) / 84.0)
    assert got[1] == pytest.approx(0.0)


# ------------------------------------------------------------------ co-movement
def test_comovement_recovers_the_lag_and_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    periods = _months(dt.date(2020, 3, 1), 36)
    x = rng.lognormal(3.0, 0.5, size=len(periods))
    lag = 2
    y = np.concatenate([rng.lognormal(3.0, 0.5, size=lag), x[:-lag] * 1.05])
    flows = pl.DataFrame(
        {
            "src": ["BLR"] * 36 + ["KAZ"] * 36,
            "dst": ["KAZ"] * 36 + ["EU"] * 36,
            "hs": ["441231"] * 72,
            "period": periods + periods,
            "value": np.concatenate([x, y]),
        }
    ).with_columns(kg=pl.col("value") / 2.0, value_kg=pl.col("value"))
    routes = pl.LazyFrame(
        {"origin": ["BLR"], "hub": ["KAZ"], "destination": ["EU"], "hs": ["441231"]}
    )
    sc = Scenario(origin="BLR", destination="EU", event="2022-03")
    w = scenario_windows(sc, periods[0], periods[-1], "M")
    got = comovement(flows.lazy(), routes, w, max_lag=3, measure="value").collect()
    assert got["comove_lag"][0] == lag
    assert got["comove"][0] == pytest.approx(1.0)
    lag0 = comovement(flows.lazy(), routes, w, max_lag=0, measure="value").collect()
    assert lag0["comove"][0] == pytest.approx(np.corrcoef(x, y)[0, 1])


# ------------------------------------------------------------------ a route end to end
def _wiggle(i: int) -> float:
    return 1.0 + 0.1 * math.sin(i)  # the route's shared month-to-month pattern


def _toy_trade() -> pl.DataFrame:
    """BLR wood to DEU stops at the event; BLR→KAZ and KAZ→DEU carry 90 a month instead.

    Every flow is reported by its exporter only, so the numbers pass unchanged.
    A control product (940360) keeps trading as before everywhere.
    """
    periods = _months(dt.date(2020, 3, 1), 36)
    rows: list[tuple[dt.date, str, str, str, str, float, float | None]] = []
    for i, p in enumerate(periods):
        post = p >= EVENT
        via = 90.0 * _wiggle(i) if post else 10.0
        if not post:
            rows.append((p, "BLR", "DEU", "export", "441231", 100.0, 200.0))
        rows.append((p, "BLR", "KAZ", "export", "441231", via, via * 2))
        rows.append((p, "KAZ", "DEU", "export", "441231", via * 1.05, via * 2))
        rows.append((p, "POL", "DEU", "export", "441231", 300.0, 600.0))  # DEU's other supplier
        for exp, imp in (("BLR", "DEU"), ("BLR", "KAZ"), ("KAZ", "DEU")):
            rows.append((p, exp, imp, "export", "940360", 50.0, 10.0))
    return canonical(rows)


def _iqm(values: list[float]) -> float:
    v = sorted(values)
    lo = len(v) // 4
    return float(np.mean(v[lo : len(v) - lo]))


@pytest.fixture(scope="module")
def toy() -> pl.DataFrame:
    table = scan(_toy_trade(), origin="BLR", destination="DEU", event="2022-03", products="4412")
    return table.routes


def test_toy_route_features_by_hand(toy: pl.DataFrame) -> None:
    r = toy.filter(pl.col("hub") == "KAZ").row(0, named=True)
    post = [90.0 * _wiggle(i) for i in range(24, 36)]  # 2022-03 .. 2023-02
    floor = 0.001 * np.mean(post)
    assert r["direct_change"] == pytest.approx(-1.0)
    assert r["oh_ratio_value"] == pytest.approx((_iqm(post) + floor) / (10.0 + floor))
    assert r["oh_excess_value"] == pytest.approx(_iqm(post) - 10.0)
    assert r["oh_ratio_kg"] == pytest.approx(r["oh_ratio_value"])  # same unit value
    assert r["hd_excess_value"] == pytest.approx(r["oh_excess_value"] * 1.05, rel=1e-6)
    assert r["balance_kg"] == pytest.approx(1.0, abs=1e-9)  # same kg in and out
    assert r["uv_gap_legs"] == pytest.approx(math.log(1.05))  # the hub's 5% markup
    # the goods each leg added since the event: 1.05 against 1.00 per kg, same markup
    assert r["uv_gap_excess"] == pytest.approx(math.log(1.05), rel=1e-6)
    assert r["price_effect"] == pytest.approx(0.0, abs=1e-9)
    assert r["persistence"] == pytest.approx(1.0)
    assert r["novelty"] is False
    assert r["substitution_ratio"] == pytest.approx((np.mean(post) - 10.0) / 100.0)
    assert r["pass_through"] == pytest.approx(sum(post))  # Σ min(in, out) = Σ in
    assert r["dest_other_growth"] == pytest.approx(1.0)  # POL kept selling the same
    assert r["comove_kg"] == pytest.approx(1.0)
    assert r["comove_lag_kg"] == 0
    assert r["missing_legs"] is None
    assert r["freund_c4"] is True
    assert r["score"] > 0.9


def test_every_catalogued_feature_is_a_column(toy: pl.DataFrame) -> None:
    assert set(FEATURES) <= set(toy.columns)
    contrib = [c for c in toy.columns if c.startswith("contrib_")]
    sums = toy.select(pl.sum_horizontal(contrib) - pl.col("evidence_score"))
    assert sums.to_series().abs().max() < 1e-9


# -- detection changes of the second wave: one test per mechanism (issue 13) ------------
def _legs(**cols: list[float]) -> pl.DataFrame:
    return pl.DataFrame(cols, schema=dict.fromkeys(cols, pl.Float64))


def test_persistence_tells_a_shifted_level_from_spikes_whatever_the_noise() -> None:
    from rerouting.features import persistence

    rng = np.random.default_rng(3)
    n_b, n_p = 24, 24

    def leg(base: np.ndarray, post: np.ndarray) -> dict[str, float]:
        def iqm(x: np.ndarray) -> float:
            s = np.sort(x)
            return float(s[len(s) // 4 : len(s) - len(s) // 4].mean())

        return {
            "b_mean_v": float(base.mean()), "p_mean_v": float(post.mean()),
            "b_lvl_v": iqm(base), "p_lvl_v": iqm(post), "p_low_v": iqm(post),
        }  # fmt: skip

    noisy = 100 * np.exp(rng.normal(0, 0.3, n_b + n_p))  # 30% noise
    ramp = np.minimum(np.arange(1, n_p + 1) / 12, 1.0)  # a route built up over a year
    shifted = leg(noisy[:n_b], noisy[n_b:] + 80 * ramp)
    spikes = noisy[n_b:].copy()
    spikes[[5, 17]] += 900  # two large shipments
    one_off = leg(noisy[:n_b], spikes)
    rows = []
    for case in (shifted, one_off):
        rows.append({f"{lg}_{k}": v for lg in ("oh", "hd") for k, v in case.items()})
    frame = pl.DataFrame(rows)
    out = frame.select(p=persistence())["p"].to_list()
    assert out[0] > 0.6  # a ramping level shift on a 30%-noise leg is lasting
    assert out[1] < 0.2  # two spikes are not


def test_persistence_reads_one_shipment_in_one_of_two_post_years_as_a_spike() -> None:
    """Annual data, 2020-2023, event 2022: two baseline years and two post years.

    Through KAZ a route starts at the event and builds up (2022 carries part of it, 2023
    all of it); through ARM one shipment, as large as the route's two years together,
    lands in 2022 and nothing follows in 2023. The interquartile mean of two years is
    their mean, so both legs read as the same rise; the post level without its largest
    year tells them apart.
    """
    rows: list[tuple[dt.date, str, str, str, str, float, float | None]] = []
    route = {2020: 10.0, 2021: 10.0, 2022: 60.0, 2023: 110.0}
    one_off = {2020: 10.0, 2021: 10.0, 2022: 160.0, 2023: 10.0}
    for year in range(2020, 2024):
        p = dt.date(year, 1, 1)
        if year < 2022:
            rows.append((p, "BLR", "DEU", "export", "441231", 200.0, 400.0))
        for hub, size in (("KAZ", route[year]), ("ARM", one_off[year])):
            rows.append((p, "BLR", hub, "export", "441231", size, size * 2))
            rows.append((p, hub, "DEU", "export", "441231", size * 1.05, size * 2))
        rows.append((p, "POL", "DEU", "export", "441231", 300.0, 600.0))
    trade = canonical(rows).with_columns(frequency=pl.lit("A"))
    table = scan(trade, origin="BLR", destination="DEU", event="2022-03", products="4412")
    r = {h: table.routes.filter(pl.col("hub") == h).row(0, named=True) for h in ("KAZ", "ARM")}
    # the same rise by the mean: 75 a year over 10 in both
    assert r["KAZ"]["oh_excess_value"] == pytest.approx(r["ARM"]["oh_excess_value"])
    assert r["KAZ"]["persistence"] == pytest.approx(50.0 / 75.0)  # 2022's rise / mean rise
    assert r["ARM"]["persistence"] == 0.0  # 2023 is back at the baseline
    assert r["KAZ"]["score"] > r["ARM"]["score"]


def test_a_small_steady_rise_on_a_big_hub_leg_counts_as_a_rise() -> None:
    """Own trade 15x the route: the ratio moves ×1.07 but the shift is many SEs."""
    from rerouting._score import default_score

    base = {"oh_ratio_kg": [20.0], "oh_ratio_value": [20.0], "oh_shift_z": [12.0]}
    small = pl.DataFrame(
        {**base, "hd_ratio_kg": [1.07], "hd_ratio_value": [1.07], "hd_shift_z": [6.0]}
    )
    noise = pl.DataFrame(
        {**base, "hd_ratio_kg": [1.07], "hd_ratio_value": [1.07], "hd_shift_z": [0.8]}
    )
    neutral = {
        "balance_kg": 0.8, "direct_change": -0.9, "comove_kg": 0.5, "comove_value": 0.5,
        "uv_gap_legs": 0.05, "uv_gap_excess": 0.05, "dest_other_growth": 1.0,
        "hub_other_growth": 1.0, "hub_import_growth": 1.0, "persistence": 1.0,
        "price_effect": 0.0, "hd_under_recorded": False, "hub_declared_ratio": 1.0,
        "oh_excess_kg": 1.0, "hd_excess_kg": 1.0, "oh_excess_value": 1.0, "hd_excess_value": 1.0,
    }  # fmt: skip
    got = [
        default_score(f.with_columns(**{k: pl.lit(v) for k, v in neutral.items()}))["gate_outflow"][
            0
        ]
        for f in (small, noise)
    ]
    assert got[0] > 0.95
    assert got[1] < 0.3  # only the ×1.07 growth speaks: a weak rise


def test_periods_nobody_filed_are_missing_not_zero() -> None:
    """A hub that files 6 of 12 post months while its partner is silent: level is 10, not 5."""
    from rerouting._legs import Windows
    from rerouting.features import leg_stats

    months = [dt.date(2021, m, 1) for m in range(1, 13)] + [
        dt.date(2022, m, 1) for m in range(1, 13)
    ]
    filed = months[:12] + months[12::2]  # every baseline month, every other post month
    flows = pl.LazyFrame(
        {
            "src": "HUB",
            "dst": "DST",
            "hs": "000000",
            "period": filed,
            "value": 10.0,
            "kg": 1.0,
            "value_kg": 10.0,
            "exp_value": 10.0,
            "imp_value_fob": None,
            "has_exp": True,
            "has_imp": False,
            "provenance": "exporter_only",
        },
        schema_overrides={"imp_value_fob": pl.Float64},
    )
    windows = Windows(
        frequency="M", baseline=(months[0], months[11]), post=(months[12], months[23]),
        n_baseline=12, n_post=12, step=1,
    )  # fmt: skip
    observed = pl.DataFrame({"src": ["HUB"], "dst": ["DST"], "n_b": [12], "n_p": [6]})
    with_obs = leg_stats(flows, windows, observed).collect().row(0, named=True)
    without = leg_stats(flows, windows).collect().row(0, named=True)
    assert with_obs["p_mean_v"] == pytest.approx(10.0)
    assert with_obs["p_lvl_v"] == pytest.approx(10.0)
    assert without["p_mean_v"] == pytest.approx(5.0)  # the old reading: zeros


def test_the_feature_registry_is_the_one_home_of_names_docs_and_model_inputs() -> None:
    from rerouting import features
    from rerouting._score import feature_matrix

    names = [f.name for f in features.REGISTRY]
    assert len(names) == len(set(names))
    assert {f.name: f.doc for f in features.REGISTRY} == features.FEATURES
    assert tuple(f.name for f in features.REGISTRY if f.model) == features.MODEL_FEATURES
    assert set(features.MODEL_FEATURES) >= features.LOG_FEATURES
    # the model matrix reads a log feature on a log scale, the others as they are
    frame = pl.DataFrame({n: [1.0, math.e] for n in features.MODEL_FEATURES})
    x = feature_matrix(frame)
    col = features.MODEL_FEATURES.index("oh_ratio_kg")
    assert x[1, col] == pytest.approx(1.0, abs=1e-5)
    assert x[1, features.MODEL_FEATURES.index("balance_kg")] == pytest.approx(math.e)


def test_an_outflow_is_under_recorded_when_the_destination_is_silent_or_in_a_customs_union() -> (
    None
):
    from rerouting._score import default_score
    from rerouting.features import hd_under_recorded, hub_declared_ratio

    routes = pl.DataFrame(
        {
            "hub": ["KGZ", "TUR", "TUR"],
            "destination": ["RUS", "RUS", "EU"],
            "dest_import_share_post": [1.0, 0.0, 1.0],  # Russia silent in the 2nd row
            "hub_oth_b": [100.0, 100.0, 100.0],
            "hub_oth_p": [30.0, 30.0, 150.0],
        }
    )
    got = routes.select(u=hd_under_recorded(), r=hub_declared_ratio())
    assert got["u"].to_list() == [True, True, False]  # EAEU pair; silent; neither
    assert got["r"].to_list() == pytest.approx([0.3, 0.3, 1.0])  # capped at 1
    # Lost in transit: an under-recorded, uncorrectable outflow smaller than the inflow
    # leaves the mass balance out; the same shortfall on a recorded outflow counts.
    legs = {
        "oh_ratio_kg": [20.0, 20.0], "oh_ratio_value": [20.0, 20.0],
        "hd_ratio_kg": [5.0, 5.0], "hd_ratio_value": [5.0, 5.0],
        "oh_shift_z": [10.0, 10.0], "hd_shift_z": [10.0, 10.0],
        "balance_kg": [0.1, 0.1], "oh_excess_kg": [10.0, 10.0], "hd_excess_kg": [1.0, 1.0],
        "oh_excess_value": [10.0, 10.0], "hd_excess_value": [1.0, 1.0],
        "direct_change": [-0.9, -0.9], "comove_kg": [0.8, 0.8], "comove_value": [0.8, 0.8],
        "uv_gap_legs": [0.05, 0.05], "uv_gap_excess": [0.05, 0.05],
        "dest_other_growth": [1.0, 1.0], "hub_other_growth": [1.0, 1.0],
        "hub_import_growth": [1.0, 1.0], "persistence": [1.0, 1.0], "price_effect": [0.0, 0.0],
        "hub_declared_ratio": [None, None],
    }  # fmt: skip
    frame = pl.DataFrame(legs, schema=dict.fromkeys(legs, pl.Float64)).with_columns(
        hd_under_recorded=pl.Series([True, False])
    )
    out = default_score(frame)
    assert out["gate_balance"].to_list()[0] is None
    assert out["gate_balance"].to_list()[1] < 0.2
    assert out["score"][0] > 3 * out["score"][1]


def test_one_registry_entry_adds_a_feature_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipe of CONTRIBUTING.md: one definition plus one registry line."""
    from rerouting import features
    from rerouting.synthetic import make_world

    def doubled_balance() -> pl.Expr:  # the definition
        return 2.0 * features.balance_kg()

    extra = features.Feature("balance_x2", "twice the mass balance", doubled_balance)
    monkeypatch.setattr(features, "REGISTRY", (*features.REGISTRY, extra))  # the entry
    world = make_world(0, n_products=26, n_other_countries=3, eu_members=3, n_routes=4)
    routes = scan(world.trade, scenario=world.scenario).routes
    assert routes.columns.index("balance_x2") > routes.columns.index("materiality")
    got, base = routes["balance_x2"], routes["balance_kg"]
    assert got.drop_nulls().len() > 0
    assert got.to_list() == pytest.approx((2.0 * base).to_list(), nan_ok=True)


def test_a_hub_that_cuts_its_declarations_is_read_on_the_destinations_record() -> None:
    """KAZ declares a fifth of its exports to DEU after the event; DEU records them all.

    KAZ sells DEU 1000 a month of its own plywood and, after the event, 90 more of
    Belarusian plywood. The leg's value mixes the two sides' records; on it the leg
    falls. On DEU's record (importer basis, both sides report in both windows) it rises.
    """
    periods = _months(dt.date(2020, 3, 1), 36)
    rows: list[tuple[dt.date, str, str, str, str, float, float | None]] = []
    for i, p in enumerate(periods):
        post = p >= EVENT
        declared = 0.2 if post else 1.0
        via = 90.0 * _wiggle(i) if post else 0.0
        if not post:
            rows.append((p, "BLR", "DEU", "export", "441231", 100.0, 200.0))
        rows.append((p, "BLR", "KAZ", "export", "441231", 10.0 + via, (10.0 + via) * 2))
        hd = 1000.0 * _wiggle(i + 7) + via
        rows.append((p, "KAZ", "DEU", "export", "441231", hd * declared, hd * 2 * declared))
        rows.append((p, "DEU", "KAZ", "import", "441231", hd * 1.06, hd * 2))
        for exp, imp in (("BLR", "DEU"), ("BLR", "KAZ"), ("KAZ", "DEU")):
            x = 50.0 * (declared if exp == "KAZ" else 1.0)
            rows.append((p, exp, imp, "export", "940360", x, x / 5))
            rows.append((p, imp, exp, "import", "940360", 53.0, 10.0))
    table = scan(canonical(rows), origin="BLR", destination="DEU", event="2022-03", products="4412")
    r = table.routes.filter(pl.col("hub") == "KAZ").row(0, named=True)
    assert r["hd_under_recorded"] is False  # DEU reports; not a customs union
    assert r["hd_ratio_value"] > 1.05  # (1000 + 90) / 1000 on DEU's record
    assert r["hd_excess_value"] == pytest.approx(90.0, rel=0.25)


def test_freund_c2_is_false_when_a_known_share_fails_and_null_when_only_unknowns_remain() -> None:
    """Hub-only data: the direct leg is unknown, so C2 is three-valued (Kleene logic)."""
    from rerouting.features import freund_c2

    rows = {
        "dr_b_mean_v": [None, None], "dr_p_mean_v": [None, None],
        "dest_tot_b": [100.0, 100.0], "dest_tot_p": [100.0, 100.0],
        "oh_b_mean_v": [1.0, 1.0], "oh_p_mean_v": [5.0, 5.0],
        "hub_imp_tot_b": [10.0, 10.0], "hub_imp_tot_p": [10.0, 10.0],
        # the hub's share of the destination's imports rises, then falls
        "hd_b_mean_v": [1.0, 5.0], "hd_p_mean_v": [5.0, 1.0],
    }  # fmt: skip
    got = pl.DataFrame(rows, schema=dict.fromkeys(rows, pl.Float64)).select(c2=freund_c2())
    assert got["c2"].to_list() == [None, False]
