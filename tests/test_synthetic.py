"""Tests of rerouting.synthetic: the generated worlds behave as their truth says."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest

from rerouting._config import Scenario
from rerouting._exceptions import ConfigError, SourceNotFoundError
from rerouting._synthetic._products import nomenclature
from rerouting.schema import CANONICAL_SCHEMA
from rerouting.synthetic import (
    DECOY_TYPES,
    MARGIN_RANGE,
    TRUTH_SCHEMA,
    World,
    load_world,
    make_world,
)

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
SMALL: dict[str, Any] = {
    "eu_members": 6,
    "n_other_countries": 5,
    "n_products": 20,
    "n_routes": 5,
    "start": "2020-01",
    "end": "2023-06",
}


@pytest.fixture(scope="module")
def ban() -> World:
    return make_world(11, **SMALL)


@pytest.fixture(scope="module")
def control() -> World:
    return make_world(12, direction="export-control", **SMALL)


@pytest.fixture(scope="module", params=["ban", "control"])
def world(request: pytest.FixtureRequest) -> World:
    w: World = request.getfixturevalue(request.param)
    return w


# ----------------------------------------------------------------------------------------
# helpers: harmonise to HS2017 and measure legs the way a mirror analysis would
# ----------------------------------------------------------------------------------------

_PARENT = {kid: old for old, kids in nomenclature().splits.items() for kid in kids}


def _h17(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("hs").replace(_PARENT))


def _months_after(d: dt.date, k: int) -> dt.date:
    m = d.month - 1 + k
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def _side(w: World, name: str) -> list[str]:
    return list(w.params["eu"]) if name == "EU" else [name]  # type: ignore[call-overload]


def _leg(
    w: World, hs: str, exporters: list[str], importers: list[str], side: str | None = None
) -> pl.DataFrame:
    """Monthly flows exporters -> importers of ``hs`` at HS2017 level, one series per pair.

    ``side`` picks whose reports to use (``"import"`` or ``"export"``); by default the
    importer's, unless the importer is a reporter that goes silent after the event.
    """
    silent = set(w.params["silent_reporters"])  # type: ignore[call-overload]
    if side is None:
        side = "export" if set(importers) & silent else "import"
    t = _h17(w.trade).filter(pl.col("hs") == hs)
    if side == "import":
        t = t.filter(
            pl.col("flow") == "import",
            pl.col("reporter").is_in(importers),
            pl.col("partner").is_in(exporters),
        )
    else:
        t = t.filter(
            pl.col("flow") == "export",
            pl.col("reporter").is_in(exporters),
            pl.col("partner").is_in(importers),
        )
    kg = pl.col("net_weight_kg")
    return t.group_by("period", "reporter", "partner").agg(
        pl.col("value").sum(), pl.when(kg.is_not_null().any()).then(kg.sum())
    )


def _mean(leg: pl.DataFrame, col: str, lo: dt.date, hi: dt.date, *, zeros: bool) -> float:
    """Monthly level in [lo, hi), summed over the leg's pairs.

    With ``zeros`` a month without a record counts as no trade; without, each pair is
    averaged over the months it reported, which keeps missing reports out of the level
    (but overstates lumpy flows that really had empty months).
    """
    x = leg.filter((pl.col("period") >= lo) & (pl.col("period") < hi))
    if zeros:
        n = (hi.year - lo.year) * 12 + hi.month - lo.month
        return float(x[col].sum()) / n
    return float(x.group_by("reporter", "partner").agg(pl.col(col).mean())[col].sum())


def _pre_post(
    w: World,
    leg: pl.DataFrame,
    col: str = "value",
    skip: int = 0,
    *,
    zeros: bool = True,
    before: int = 12,
) -> tuple[float, float]:
    """Level in the ``before`` months before the event and from ``skip`` months after it."""
    ev = w.scenario.event
    end = _months_after(dt.date.fromisoformat(f"{w.params['end']}-01"), 1)
    pre = _mean(leg, col, _months_after(ev, -before), ev, zeros=zeros)
    post = _mean(leg, col, _months_after(ev, skip), end, zeros=zeros)
    return pre, post


def _legs(w: World, row: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Origin -> hub, hub -> destination and direct flows of a truth row.

    A hub that under-reports is measured from its partners' reports (the honest side).
    """
    o, h, d = _side(w, row["origin"]), [row["hub"]], _side(w, row["destination"])
    hides = bool(row.get("hub_underreports"))
    leg1 = _leg(w, row["hs"], o, h, "export" if hides and row["origin"] == "EU" else None)
    return leg1, _leg(w, row["hs"], h, d), _leg(w, row["hs"], o, d)


def _decoy(w: World, kind: str) -> dict[str, Any]:
    rows = w.truth.filter(pl.col("decoy_type") == kind).to_dicts()
    assert rows, f"no {kind} decoy"
    return rows[0]


# ----------------------------------------------------------------------------------------
# shape, schema, truth, scenario
# ----------------------------------------------------------------------------------------


def test_trade_follows_the_canonical_schema(world: World) -> None:
    assert world.trade.schema == pl.Schema(CANONICAL_SCHEMA)
    t = world.trade
    assert t["source"].unique().to_list() == ["synthetic"]
    assert t["currency"].unique().to_list() == ["USD"]
    assert t["frequency"].unique().to_list() == ["M"]
    assert set(t["flow"].unique().to_list()) == {"import", "export"}
    assert t["value"].min() >= 1.0  # type: ignore[operator]
    assert t.filter(pl.col("reporter") == pl.col("partner")).height == 0
    assert t["period"].dt.day().unique().to_list() == [1]
    # no duplicate records: one report per reporter, partner, flow, product and month
    key = ["period", "reporter", "partner", "flow", "hs"]
    assert t.select(key).is_duplicated().sum() == 0
    # some weights are missing, as in real data, but most are there
    share_null = t["net_weight_kg"].null_count() / t.height
    assert 0.005 < share_null < 0.05


def test_truth_lists_routes_and_every_decoy_type(world: World) -> None:
    tr = world.truth
    assert tr.schema == pl.Schema(TRUTH_SCHEMA)
    routes = tr.filter(pl.col("kind") == "route")
    assert routes.height == SMALL["n_routes"]
    assert sorted(tr.filter(pl.col("kind") == "decoy")["decoy_type"].to_list()) == sorted(
        DECOY_TYPES
    )
    assert routes["decoy_type"].null_count() == routes.height
    assert routes["strength"].min() >= 0.1  # type: ignore[operator]
    assert routes["strength"].max() <= 0.8  # type: ignore[operator]
    # a product split across two hubs never reroutes more than 80% of the lost flow
    per_product = routes.group_by("hs").agg(pl.col("strength").sum(), pl.len())
    assert per_product["strength"].max() <= 0.8  # type: ignore[operator]
    assert per_product["len"].max() == 2
    assert set(routes["lag"].to_list()) <= {0, 1, 2, 3}
    assert routes["hub_underreports"].any()
    assert set(tr["hub"].to_list()) <= set(world.params["hubs"])  # type: ignore[call-overload]
    assert set(tr["hs"].to_list()) <= set(world.sanctioned)
    assert set(tr["hs"].to_list()) <= set(nomenclature().hs2017)
    # each decoy has its own product, never shared with a route
    decoy_hs = tr.filter(pl.col("kind") == "decoy")["hs"]
    assert decoy_hs.n_unique() == decoy_hs.len()
    assert not set(decoy_hs.to_list()) & set(routes["hs"].to_list())


def test_scenario_and_sanctioned_list(ban: World, control: World) -> None:
    sc = ban.scenario
    assert (sc.origin, sc.destination, sc.hubs) == (("BLR",), ("EU",), None)
    assert sc.event == dt.date(2022, 3, 1)
    assert sc.products == ban.sanctioned
    assert list(ban.sanctioned) == sorted(ban.sanctioned)
    assert set(ban.truth["origin"]) == {"BLR"}
    assert set(ban.truth["destination"]) == {"EU"}
    # import ban: wood, potash, steel, cement, tyres, fuels
    assert {c[:2] for c in ban.sanctioned} <= {"44", "31", "72", "73", "25", "40", "27"}
    sc2 = control.scenario
    assert (sc2.origin, sc2.destination) == (("EU",), ("RUS",))
    chpl = pl.read_csv(
        ROOT / "src/rerouting/_data/chpl_common_high_priority_list_hs6.csv",
        schema_overrides={"hs6": pl.String},
    )["hs6"]
    headings = {c[:4] for c in chpl} | {"8703"}
    assert {c[:4] for c in control.sanctioned} <= headings
    # controls exist: products that are not listed
    products = ban.products
    assert products.filter(~pl.col("listed")).height >= 3
    assert set(products.filter(pl.col("listed"))["hs"].to_list()) == set(ban.sanctioned)


# ----------------------------------------------------------------------------------------
# reporting layer
# ----------------------------------------------------------------------------------------


def test_sanctioned_reporter_is_silent_after_the_event(ban: World, control: World) -> None:
    for w, who in ((ban, "BLR"), (control, "RUS")):
        assert w.params["silent_reporters"] == [who]
        t = w.trade.filter(pl.col("reporter") == who)
        assert t.filter(pl.col("period") >= w.scenario.event).height == 0
        assert t.filter(pl.col("period") < w.scenario.event).height > 100
        # partners keep reporting their side of the trade with it
        mirror = w.trade.filter(pl.col("partner") == who, pl.col("period") >= w.scenario.event)
        assert mirror.height > 100


def test_codes_keep_leading_zeros_and_follow_their_vintage(world: World) -> None:
    t = world.trade
    assert t["hs"].str.len_chars().unique().to_list() == [6]
    assert t["hs"].str.contains(r"^\d{6}$").all()
    assert t.filter(pl.col("hs").str.starts_with("0")).height > 0
    nom = nomenclature()
    split = dt.date(2022, 1, 1)
    pre = t.filter(pl.col("period") < split)
    post = t.filter(pl.col("period") >= split)
    assert set(pre["hs_vintage"].unique()) == {"HS2017"}
    assert set(post["hs_vintage"].unique()) == {"HS2022"}
    assert set(pre["hs"].unique()) <= set(nom.hs2017)
    assert set(post["hs"].unique()) <= set(nom.hs2022)


def test_hs_split_decoy_changes_codes_but_not_trade(world: World) -> None:
    row = _decoy(world, "hs_split")
    parent = row["hs"]
    kids = nomenclature().splits[parent]
    t = world.trade
    split = dt.date(2022, 1, 1)
    assert t.filter(pl.col("hs") == parent, pl.col("period") >= split).height == 0
    assert t.filter(pl.col("hs") == parent, pl.col("period") < split).height > 0
    for kid in kids:
        assert t.filter(pl.col("hs") == kid, pl.col("period") < split).height == 0
        assert t.filter(pl.col("hs") == kid, pl.col("period") >= split).height > 0
    # naive per-code view: the children jump from nothing; at HS2017 level the legs are flat
    leg1, leg2, _ = _legs(world, row)
    for leg in (leg1, leg2):
        pre, post = _pre_post(world, leg, zeros=False)
        assert 0.6 < post / pre < 1.6, (pre, post)


def test_cif_fob_margins_lie_in_the_planted_range(world: World) -> None:
    t = world.trade
    exp = t.filter(pl.col("flow") == "export").select(
        "period", "hs", exporter="reporter", importer="partner", x="value"
    )
    imp = t.filter(pl.col("flow") == "import").select(
        "period", "hs", importer="reporter", exporter="partner", m="value"
    )
    pairs = (
        exp.join(imp, on=["period", "hs", "exporter", "importer"])
        .group_by("exporter", "importer")
        .agg(ratio=(pl.col("m") / pl.col("x")).median(), n=pl.len())
        .filter(pl.col("n") >= 30)
        .join(world.margins, on=["exporter", "importer"])
    )
    assert pairs.height > 50
    lo, hi = MARGIN_RANGE
    assert world.margins["cif_fob_margin"].min() >= lo  # type: ignore[operator]
    assert world.margins["cif_fob_margin"].max() <= hi  # type: ignore[operator]
    assert 1 + lo < pairs["ratio"].median() < 1 + hi  # type: ignore[operator]
    inside = pairs["ratio"].is_between(1 + lo - 0.01, 1 + hi + 0.01)
    assert inside.mean() > 0.9  # type: ignore[operator]
    # each pair's median sits on its own planted margin, unless a hub under-reports or the
    # pair trades inside the EAEU (no customs border, noisier statistics)
    eaeu = ["RUS", "BLR", "KAZ", "KGZ", "ARM"]
    clean = pairs.filter(~(pl.col("exporter").is_in(eaeu) & pl.col("importer").is_in(eaeu)))
    close = (clean["ratio"] - 1 - clean["cif_fob_margin"]).abs() < 0.03
    assert close.mean() > 0.9  # type: ignore[operator]


def test_weights_match_unit_values(ban: World) -> None:
    uv = (
        _h17(ban.trade)
        .filter(pl.col("net_weight_kg").is_not_null())
        .group_by("hs")
        .agg(uv=(pl.col("value") / pl.col("net_weight_kg")).median())
        .join(ban.products.filter(pl.col("role") != "decoy"), on="hs")
    )
    ratio = uv["uv"] / uv["unit_value"]
    assert ratio.min() > 1 / 1.6  # type: ignore[operator]
    assert ratio.max() < 1.6  # type: ignore[operator]


# ----------------------------------------------------------------------------------------
# planted effects
# ----------------------------------------------------------------------------------------


def test_direct_flows_of_sanctioned_products_collapse(world: World) -> None:
    products = world.products.filter(pl.col("binding"))
    assert products.height >= 8
    o, d = world.scenario.origin[0], world.scenario.destination[0]
    for hs in products["hs"]:
        leg = _leg(world, hs, _side(world, o), _side(world, d))
        pre, post = _pre_post(world, leg, skip=3)
        assert pre > 1e5
        assert post / pre < 0.15, hs


def test_planted_routes_raise_both_legs_in_value_and_kg(world: World) -> None:
    for row in world.truth.filter(pl.col("kind") == "route").iter_rows(named=True):
        leg1, leg2, direct = _legs(world, row)
        skip = row["lag"] + row["ramp"]
        for col in ("value", "net_weight_kg"):
            d_pre, d_post = _pre_post(world, direct, col)
            planted = row["strength"] * (d_pre - d_post)
            for leg in (leg1, leg2):
                pre, post = _pre_post(world, leg, col, skip=skip)
                where = (row["hub"], row["hs"], col, pre, post, planted)
                assert post > 1.1 * pre, where
                # the rise is about the planted share of the lost direct flow (loose bounds:
                # noise, lumpy months, CIF vs FOB)
                assert 0.2 * planted < post - pre < 2.5 * planted, where


def test_rerouted_goods_keep_the_direct_unit_value(ban: World) -> None:
    ev = ban.scenario.event
    for row in ban.truth.filter(pl.col("kind") == "route").iter_rows(named=True):
        _, leg2, direct = _legs(ban, row)
        d = direct.filter(pl.col("period") < ev)
        uv_direct = d["value"].sum() / d["net_weight_kg"].sum()
        skip = row["lag"] + row["ramp"]
        # zero-filled totals: a missing report removes value and kg alike
        v_pre, v_post = _pre_post(ban, leg2, "value", skip=skip)
        k_pre, k_post = _pre_post(ban, leg2, "net_weight_kg", skip=skip)
        uv_added = (v_post - v_pre) / (k_post - k_pre)
        assert 0.75 < uv_added / uv_direct < 1.4, (row["hub"], row["hs"])


def test_underreporting_hubs_declare_less_than_their_partners(world: World) -> None:
    rows = world.truth.filter(pl.col("kind") == "route", pl.col("hub_underreports"))
    assert rows.height >= 1
    ban = world.params["direction"] == "import-ban"
    t = _h17(world.trade)
    for row in rows.iter_rows(named=True):
        o, h, d = _side(world, row["origin"]), [row["hub"]], _side(world, row["destination"])
        # import ban: the hub declares less exports than the EU declares imports;
        # export control: less imports than the EU declares exports ("lost in transit")
        ex, im = (h, d) if ban else (o, h)
        x = t.filter(
            pl.col("hs") == row["hs"],
            pl.col("flow") == "export",
            pl.col("reporter").is_in(ex),
            pl.col("partner").is_in(im),
        ).select("period", exporter="reporter", importer="partner", x="value")
        m = t.filter(
            pl.col("hs") == row["hs"],
            pl.col("flow") == "import",
            pl.col("reporter").is_in(im),
            pl.col("partner").is_in(ex),
        ).select("period", importer="reporter", exporter="partner", m="value")
        both = x.join(m, on=["period", "exporter", "importer"])  # months both sides report
        after = _months_after(world.scenario.event, row["lag"] + row["ramp"])
        pre = both.filter(pl.col("period") < world.scenario.event)
        post = both.filter(pl.col("period") >= after)
        ratio_pre = pre["m"].sum() / pre["x"].sum()  # ~ 1 + CIF/FOB margin
        ratio_post = post["m"].sum() / post["x"].sum()
        where = (row["hub"], row["hs"], ratio_pre, ratio_post)
        if pre.height >= 5:
            assert 0.95 < ratio_pre < 1.25, where
        else:  # no overlap before the event: use a typical CIF/FOB ratio
            ratio_pre = 1.07
        if ban:
            assert ratio_post > 1.15 * ratio_pre, where
        else:
            assert ratio_post < 0.9 * ratio_pre, where


def test_hub_production_decoy_first_leg_does_not_rise(world: World) -> None:
    leg1, leg2, _ = _legs(world, _decoy(world, "hub_production"))
    pre1, post1 = _pre_post(world, leg1, skip=6, zeros=False)
    pre2, post2 = _pre_post(world, leg2, skip=6, zeros=False)
    assert post2 > 2 * pre2, (pre2, post2)
    assert post1 < 1.4 * pre1, (pre1, post1)


def test_hub_demand_decoy_second_leg_does_not_rise(world: World) -> None:
    leg1, leg2, _ = _legs(world, _decoy(world, "hub_demand"))
    pre1, post1 = _pre_post(world, leg1, skip=6, zeros=False)
    pre2, post2 = _pre_post(world, leg2, skip=6, zeros=False)
    assert post1 > 2 * pre1, (pre1, post1)
    assert post2 < 1.4 * pre2, (pre2, post2)


def test_demand_boom_lifts_every_flow_including_the_direct_one(world: World) -> None:
    row = _decoy(world, "demand_boom")
    leg1, leg2, direct = _legs(world, row)
    skip = row["ramp"]
    for k, leg in enumerate((leg1, leg2, direct)):
        pre, post = _pre_post(world, leg, skip=skip, zeros=False)
        assert post > 1.4 * pre, (k, pre, post)
    # the destination buys more from everyone: its imports from all partners rise
    dest = _side(world, row["destination"])
    everyone = [c for c in world.params["countries"] if c not in dest]  # type: ignore[attr-defined]
    pre, post = _pre_post(world, _leg(world, row["hs"], everyone, dest), skip=skip, zeros=False)
    assert post > 1.5 * pre, (pre, post)


def test_price_shock_doubles_values_with_flat_kilograms(world: World) -> None:
    row = _decoy(world, "price_shock")
    leg1, leg2, direct = _legs(world, row)
    silent = world.params["silent_reporters"]
    everything = world.trade.filter(
        pl.col("hs") == row["hs"], pl.col("flow") == "import", ~pl.col("reporter").is_in(silent)
    )
    for k, leg in enumerate((everything, leg1, leg2, direct)):
        # 20 months before the event: long enough to average out noise, after the 2020 dip
        # (steady flows: average each pair over the months it reported)
        v_pre, v_post = _pre_post(world, leg, "value", skip=2, before=20, zeros=False)
        k_pre, k_post = _pre_post(world, leg, "net_weight_kg", skip=2, before=20, zeros=False)
        assert v_post >= 2.0 * v_pre, (k, v_pre, v_post)
        assert 0.85 <= k_post / k_pre <= 1.15, (k, k_pre, k_post)


def test_one_off_decoy_is_a_single_month(world: World) -> None:
    row = _decoy(world, "one_off")
    leg1, leg2, _ = _legs(world, row)
    ev = world.scenario.event
    for leg in (leg1, leg2):
        post = leg.filter(pl.col("period") >= ev).sort("value")
        peak = float(post["value"][-1])
        rest = post["value"][:-1]
        pre = leg.filter(pl.col("period") < ev)["value"]
        base = float(pre.median())  # type: ignore[arg-type]
        assert peak > 5 * base, (peak, base)
        assert 0.5 < float(rest.median()) / base < 2.0, (rest.median(), base)  # type: ignore[arg-type]


def _coincidence(w: World) -> tuple[dict[str, Any], list[dt.date], pl.DataFrame, pl.DataFrame]:
    """The coincidence decoy, its two start months (from the note) and its hub legs."""
    row = _decoy(w, "coincidence")
    starts = [
        dt.date.fromisoformat(f"{m}-01") for m in re.findall(r"from (\d{4}-\d{2})", row["note"])
    ]
    leg1, leg2, _ = _legs(w, row)
    return row, starts, leg1, leg2


def _late(w: World, leg: pl.DataFrame, col: str) -> tuple[float, float]:
    """Pre-event level and the level of the last 4 months (both rises have ramped up)."""
    pre, _ = _pre_post(w, leg, col, zeros=False)
    end = _months_after(dt.date.fromisoformat(f"{w.params['end']}-01"), 1)
    return pre, _mean(leg, col, _months_after(end, -4), end, zeros=False)


def test_coincidence_decoy_both_legs_rise(world: World) -> None:
    _, starts, leg1, leg2 = _coincidence(world)
    assert len(starts) == 2
    for k, leg in enumerate((leg1, leg2)):
        for col in ("value", "net_weight_kg"):
            pre, late = _late(world, leg, col)
            assert late > 1.5 * pre, (k, col, pre, late)


def test_coincidence_decoy_legs_carry_different_goods(world: World) -> None:
    # unit value of what each leg added after the event, from the later rise on and over
    # the records that carry a weight: the hub's own grade differs by x1.8-3
    _, starts, leg1, leg2 = _coincidence(world)
    ev = world.scenario.event
    skip = (max(starts).year - ev.year) * 12 + max(starts).month - ev.month
    uv = []
    for leg in (leg1, leg2):
        weighed = leg.filter(pl.col("net_weight_kg").is_not_null())
        v0, v1 = _pre_post(world, weighed, "value", skip, zeros=False)
        k0, k1 = _pre_post(world, weighed, "net_weight_kg", skip, zeros=False)
        uv.append((v1 - v0) / (k1 - k0))
    ratio = uv[1] / uv[0]
    assert ratio > 1.5 or ratio < 1 / 1.5, uv


def test_coincidence_decoy_mass_does_not_balance(world: World) -> None:
    # over the whole post window, what the hub sells is 3-6x more or less than it buys
    _, _, leg1, leg2 = _coincidence(world)
    excess = []
    for leg in (leg1, leg2):
        pre, post = _pre_post(world, leg, "net_weight_kg", zeros=False)
        excess.append(post - pre)
    assert min(excess) > 0, excess
    ratio = excess[1] / excess[0]
    assert ratio > 2.0 or ratio < 0.5, excess


def test_coincidence_decoy_legs_do_not_move_together(world: World) -> None:
    # the two rises start at least 4 months apart, more than the scan's 3-month lag
    # window, and each leg's rise shows when its own story starts, not the other's
    _, starts, leg1, leg2 = _coincidence(world)
    gap = abs((starts[1].year - starts[0].year) * 12 + starts[1].month - starts[0].month)
    assert gap >= 4, starts
    first = min(starts)
    for leg, start in ((leg1, starts[0]), (leg2, starts[1])):
        pre, _ = _pre_post(world, leg, "net_weight_kg", zeros=False)
        if start > first:  # the later leg is still at its pre-event level meanwhile
            between = _mean(leg, "net_weight_kg", first, start, zeros=False)
            assert between < 1.5 * pre, (start, pre, between)


# ----------------------------------------------------------------------------------------
# determinism, size, errors, files
# ----------------------------------------------------------------------------------------


def test_same_seed_same_world_different_seed_different_world(ban: World) -> None:
    again = make_world(11, **SMALL)
    assert again.trade.equals(ban.trade)
    assert again.truth.equals(ban.truth)
    assert again.params == ban.params
    other = make_world(13, **SMALL)
    assert not other.trade.equals(ban.trade)
    assert not other.truth.equals(ban.truth)


def test_rows_target_scales_the_world() -> None:
    small = make_world(5, rows=10_000, **SMALL)
    assert 0.8 * 10_000 < small.trade.height < 1.2 * 10_000
    core = make_world(5, **SMALL)
    big = make_world(5, rows=3 * core.trade.height, **SMALL)
    assert big.params["background_products"] > 0  # type: ignore[operator]
    assert 0.9 < big.trade.height / (3 * core.trade.height) < 1.1
    # background products add volume but never change the planted truth
    assert big.truth.equals(core.truth)
    assert big.sanctioned == core.sanctioned
    roles = big.products.group_by("role").len()
    assert "background" in roles["role"].to_list()


def test_invalid_parameters_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="n_products"):
        make_world(0, n_products=8)
    with pytest.raises(ConfigError, match="direction"):
        make_world(0, direction="embargo")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="start"):
        make_world(0, start="2021-09")
    with pytest.raises(ConfigError, match="event"):
        make_world(0, event="March")
    with pytest.raises(ConfigError, match="decoys_per_type"):
        make_world(0, decoys_per_type=9)


def test_write_and_load_round_trip(ban: World, tmp_path: Path) -> None:
    ban.write(tmp_path / "w")
    back = load_world(tmp_path / "w")
    assert back.trade.equals(ban.trade)
    assert back.truth.equals(ban.truth)
    assert back.scenario == ban.scenario
    assert back.sanctioned == ban.sanctioned
    assert back.products.equals(ban.products)
    assert back.reporters.equals(ban.reporters)
    assert Scenario.from_toml(tmp_path / "w" / "scenario.toml") == ban.scenario
    with pytest.raises(SourceNotFoundError):
        load_world(tmp_path / "nowhere")


def _make_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_fixtures", ROOT / "fixtures/make_fixtures.py"
    )
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["demo", "demo_export_control"])
def test_committed_fixture_equals_a_fresh_regeneration(name: str) -> None:
    mf = _make_fixtures()
    fresh = mf.build(name)
    committed = load_world(ROOT / "fixtures" / name)
    assert committed.trade.equals(fresh.trade)
    assert committed.truth.equals(fresh.truth)
    assert committed.scenario == fresh.scenario
    assert (ROOT / "fixtures" / name / "README.md").is_file()
    size = sum(f.stat().st_size for f in (ROOT / "fixtures" / name).iterdir())
    assert size < 5_000_000
