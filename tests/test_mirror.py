"""Mirror pairing: hand-computed examples for every formula and the pairing rules."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
import pytest

from rerouting._exceptions import ConfigError, CurrencyError, InputError, SchemaError
from rerouting._mirror import FLOW_COLUMNS, arrival_ratio, mirror, reporter_reliability
from rerouting.mirror_formulas import (
    absolute_gap,
    cif_to_fob,
    log_mirror_ratio,
    quantity_agreement,
    relative_gap,
    symmetric_gap,
    unit_value,
    uv_in_band,
    uv_ratio,
)
from rerouting.schema import CANONICAL_SCHEMA

Y2021 = dt.date(2021, 1, 1)


def canon(*rows: dict[str, Any]) -> pl.DataFrame:
    """Canonical trade rows with defaults for everything but the essentials."""
    base: dict[str, Any] = {
        "period": Y2021,
        "frequency": "A",
        "hs": "010101",
        "currency": "USD",
        "net_weight_kg": None,
        "quantity": None,
        "quantity_unit": None,
        "hs_vintage": "HS2017",
        "source": "comtrade",
    }
    full = [base | r for r in rows]
    return pl.DataFrame(full, schema=CANONICAL_SCHEMA)


def x(rep: str, par: str, value: float, **kw: Any) -> dict[str, Any]:
    return {"reporter": rep, "partner": par, "flow": "export", "value": value} | kw


def m(rep: str, par: str, value: float, **kw: Any) -> dict[str, Any]:
    return {"reporter": rep, "partner": par, "flow": "import", "value": value} | kw


def ev(expr: pl.Expr, **cols: list[Any]) -> list[Any]:
    return pl.DataFrame(cols).select(out=expr).get_column("out").to_list()


def row(flows: pl.DataFrame, exporter: str, importer: str, **key: Any) -> dict[str, Any]:
    sel = flows.filter(pl.col("exporter") == exporter, pl.col("importer") == importer)
    for k, v in key.items():
        sel = sel.filter(pl.col(k) == v)
    assert sel.height == 1, sel
    return sel.row(0, named=True)


# ---------------------------------------------------------------- formulas, by hand


def test_cif_to_fob_imf_factor() -> None:
    # 106 CIF at the IMF 6% margin is 100 FOB; per-row margins work too
    assert ev(cif_to_fob("m", 0.06), m=[106.0]) == [pytest.approx(100.0)]
    assert ev(cif_to_fob("m", "tau"), m=[110.0, 100.0], tau=[0.10, 0.0]) == [
        pytest.approx(100.0),
        pytest.approx(100.0),
    ]


def test_absolute_and_relative_gap() -> None:
    assert ev(absolute_gap("x", "m"), x=[100.0, 50.0, None], m=[80.0, 75.0, 1.0]) == [
        -20.0,
        25.0,
        None,
    ]
    assert ev(relative_gap("x", "m"), x=[100.0, 50.0], m=[80.0, 100.0]) == [-0.2, 0.5]


def test_log_mirror_ratio_by_hand_and_nulls() -> None:
    out = ev(log_mirror_ratio("x", "m"), x=[100.0, 100.0, 0.0, None], m=[50.0, 0.0, 10.0, 5.0])
    assert out[0] == pytest.approx(math.log(0.5))  # −0.6931
    assert out[1:] == [None, None, None]  # no log of zero, no invented side


def test_symmetric_gap_by_hand() -> None:
    assert ev(symmetric_gap("x", "m"), x=[100.0, 30.0, 0.0], m=[60.0, 0.0, 0.0]) == [
        0.25,  # 40 / 160
        1.0,  # one side zero: total disagreement
        None,  # 0 / 0
    ]


def test_quantity_agreement_gfi() -> None:
    out = ev(
        quantity_agreement("qx", "qm"),
        qx=[1000.0, 800.0, 10.0, None, 0.0],
        qm=[800.0, 1000.0, 10.0, 5.0, 0.0],
    )
    assert out == [pytest.approx(0.8), pytest.approx(0.8), 1.0, None, None]


def test_unit_values_ratio_and_band() -> None:
    assert ev(unit_value("v", "kg"), v=[5000.0, 1.0, 1.0], kg=[250.0, 0.0, None]) == [
        20.0,
        None,
        None,
    ]
    assert ev(uv_ratio("ux", "um"), ux=[20.0, 0.0], um=[25.0, 3.0]) == [1.25, None]
    band = ev(uv_in_band("r"), r=[1.25, 2.0, 0.75, 1.75, 0.76, None])
    assert band == [True, False, False, False, True, None]
    assert ev(uv_in_band("r", low=0.5, high=3.0), r=[2.0]) == [True]


# ---------------------------------------------------------------- pairing rules


def test_one_both_reported_flow_by_hand() -> None:
    trade = canon(
        x("DEU", "KAZ", 100.0, net_weight_kg=10.0),
        m("KAZ", "DEU", 84.8, net_weight_kg=8.0),
    )
    r = mirror(trade, reliability=False).collect().row(0, named=True)
    assert (r["exporter"], r["importer"], r["provenance"]) == ("DEU", "KAZ", "both")
    assert r["import_value_fob"] == pytest.approx(80.0)  # 84.8 / 1.06
    assert r["gap"] == pytest.approx(-20.0)
    assert r["rel_gap"] == pytest.approx(-0.2)
    assert r["log_ratio"] == pytest.approx(math.log(0.8))
    assert r["sym_gap"] == pytest.approx(20.0 / 180.0)  # on the FOB basis
    assert r["qty_agreement"] == pytest.approx(0.8)
    assert r["export_uv"] == pytest.approx(10.0)
    assert r["import_uv"] == pytest.approx(10.6)  # CIF unit value
    assert r["uv_ratio"] == pytest.approx(1.06)
    assert r["uv_in_band"] is True
    # no reliability: equal weights
    assert r["export_weight"] == 0.5
    assert r["best_value"] == pytest.approx(90.0)
    assert r["best_kg"] == pytest.approx(9.0)
    assert (r["n_export_records"], r["n_import_records"]) == (1, 1)


def test_output_schema_and_laziness() -> None:
    out = mirror(canon(x("DEU", "KAZ", 1.0)).lazy())
    assert isinstance(out, pl.LazyFrame)
    assert dict(out.collect_schema()) == FLOW_COLUMNS


def test_same_side_records_are_summed_and_sides_kept_apart() -> None:
    trade = canon(
        x("DEU", "KAZ", 60.0, net_weight_kg=3.0),
        x("DEU", "KAZ", 40.0, net_weight_kg=None),  # kg unknown on one record
        m("KAZ", "DEU", 53.0),
        m("KAZ", "DEU", 53.0),
    )
    r = mirror(trade, reliability=False).collect().row(0, named=True)
    assert r["export_value"] == 100.0
    assert r["export_kg"] == 3.0
    assert r["import_value"] == 106.0
    assert r["import_kg"] is None  # missing, not zero
    assert (r["n_export_records"], r["n_import_records"]) == (2, 2)


def test_one_sided_flows_keep_their_side_and_no_gap() -> None:
    # Russia stopped reporting: the partner's side carries the flow
    trade = canon(x("DEU", "RUS", 100.0), m("DEU", "RUS", 212.0))
    flows = mirror(trade, reliability=False).collect()
    out = row(flows, "DEU", "RUS")
    assert out["provenance"] == "exporter_only"
    assert out["best_value"] == 100.0
    assert out["gap"] is None
    assert out["log_ratio"] is None
    assert out["sym_gap"] is None
    back = row(flows, "RUS", "DEU")
    assert back["provenance"] == "importer_only"
    assert back["export_value"] is None
    assert back["best_value"] == pytest.approx(200.0)  # on an FOB basis


def test_annual_and_monthly_never_pair() -> None:
    trade = canon(
        x("DEU", "KAZ", 1200.0, frequency="A"),
        m("KAZ", "DEU", 106.0, frequency="M", period=dt.date(2021, 1, 1)),
    )
    flows = mirror(trade, reliability=False).collect()
    assert flows.height == 2
    assert sorted(flows.get_column("provenance").cast(pl.String).to_list()) == [
        "exporter_only",
        "importer_only",
    ]


def test_re_exports_and_re_imports() -> None:
    trade = canon(
        x("ARE", "RUS", 10.0, flow="re-export"),
        x("ARE", "RUS", 5.0),
        m("KAZ", "DEU", 53.0, flow="re-import"),
    )
    flows = mirror(trade, reliability=False).collect()
    assert row(flows, "ARE", "RUS")["export_value"] == 15.0
    assert row(flows, "DEU", "KAZ")["import_value"] == 53.0  # re-import counts as import
    without = mirror(trade, reliability=False, include_re_exports=False).collect()
    assert row(without, "ARE", "RUS")["export_value"] == 5.0


def test_blocs_aggregate_members_before_summing() -> None:
    trade = canon(
        x("LTU", "KGZ", 100.0),
        x("DEU", "KGZ", 50.0),
        m("KGZ", "LTU", 21.2),
        m("KGZ", "DEU", 31.8),
        x("LTU", "DEU", 7.0),  # intra-bloc trade stays, as EU → EU
    )
    flows = mirror(trade, reliability=False, blocs={"EU": ["LTU", "DEU", "FRA"]}).collect()
    eu = row(flows, "EU", "KGZ")
    assert eu["export_value"] == 150.0
    assert eu["import_value"] == pytest.approx(53.0)
    assert (eu["n_export_records"], eu["n_import_records"]) == (2, 2)
    assert row(flows, "EU", "EU")["export_value"] == 7.0


def test_blocs_must_not_overlap() -> None:
    with pytest.raises(ConfigError, match="two blocs"):
        mirror(canon(x("LTU", "KGZ", 1.0)), blocs={"EU": ["LTU"], "BALTIC": ["LTU"]})
    with pytest.raises(ConfigError, match="list of ISO3"):
        mirror(canon(x("LTU", "KGZ", 1.0)), blocs={"EU": "LTU"})


def test_currencies_never_mix() -> None:
    trade = canon(x("DEU", "KAZ", 100.0, currency="EUR"), m("KAZ", "DEU", 120.0))
    flows = mirror(trade, reliability=False).collect()
    assert flows.height == 2  # one row per currency
    with pytest.raises(CurrencyError, match="several currencies"):
        mirror(trade)  # the reliability step sees both currencies


def test_reconciled_source_is_marked_and_taken_as_is() -> None:
    trade = canon(x("CHN", "KAZ", 500.0, source="baci"), m("KAZ", "CHN", 106.0))
    r = mirror(trade, reliability=False).collect().row(0, named=True)
    assert r["provenance"] == "reconciled"
    assert r["best_value"] == 500.0


def test_missing_columns_and_bad_types() -> None:
    with pytest.raises(SchemaError, match="'flow'"):
        mirror(canon(x("DEU", "KAZ", 1.0)).drop("flow"))
    with pytest.raises(SchemaError, match="must be a string"):
        mirror(canon(x("DEU", "KAZ", 1.0)).with_columns(pl.lit(1).alias("hs")))
    bad_flow = canon(x("DEU", "KAZ", 1.0)).with_columns(pl.lit("transit").alias("flow"))
    with pytest.raises(SchemaError, match="unknown flow"):
        mirror(bad_flow)
    with pytest.raises(ConfigError, match=r"between 0 and 0\.5"):
        mirror(canon(x("DEU", "KAZ", 1.0)), cif_fob_margin=1.06)
    with pytest.raises(ConfigError, match="pair-median"):
        mirror(canon(x("DEU", "KAZ", 1.0)), margin="median")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="DataFrame or LazyFrame"):
        mirror([1, 2, 3])  # type: ignore[arg-type]


def test_optional_columns_may_be_absent() -> None:
    trade = canon(x("DEU", "KAZ", 100.0), m("KAZ", "DEU", 106.0)).drop(
        "net_weight_kg", "currency", "source", "quantity", "quantity_unit", "hs_vintage"
    )
    r = mirror(trade).collect().row(0, named=True)
    assert r["provenance"] == "both"
    assert r["import_value_fob"] == pytest.approx(100.0)
    assert r["export_kg"] is None
    assert r["currency"] is None


# ---------------------------------------------------------------- CIF/FOB margin per pair


def test_pair_median_margin_by_hand() -> None:
    rows = []
    for hs, ratio in (("01", 1.02), ("02", 1.10), ("03", 1.30)):  # median ln ratio = ln 1.10
        rows += [x("DEU", "KAZ", 100.0, hs=hs), m("KAZ", "DEU", 100.0 * ratio, hs=hs)]
    rows += [x("DEU", "KAZ", 40.0, hs="04")]  # one-sided: gets the pair's margin too
    rows += [x("FRA", "KAZ", 100.0), m("KAZ", "FRA", 150.0)]  # 50% → capped at 20%
    rows += [x("ITA", "KAZ", 100.0), m("KAZ", "ITA", 90.0)]  # below FOB → floored at 0
    rows += [x("ESP", "KAZ", 100.0)]  # never both-reported → the fixed fallback
    flows = mirror(canon(*rows), margin="pair-median", reliability=False).collect()
    tau = dict(
        flows.group_by("exporter").agg(pl.col("cif_fob_margin").unique().first()).iter_rows()
    )
    assert tau["DEU"] == pytest.approx(0.10)
    assert tau["FRA"] == pytest.approx(0.20)
    assert tau["ITA"] == 0.0
    assert tau["ESP"] == 0.06
    assert row(flows, "DEU", "KAZ", hs="02")["gap"] == pytest.approx(0.0)
    assert row(flows, "FRA", "KAZ")["import_value_fob"] == pytest.approx(125.0)


# ---------------------------------------------------------------- reliability


def reliability_world() -> pl.DataFrame:
    # s(A→C) = 20/100 = 0.2, s(A→D) = 50/100 = 0.5, s(B→C) = 10/100 = 0.1 (margin 0)
    return canon(
        x("AAA", "CCC", 60.0),
        m("CCC", "AAA", 40.0),
        x("AAA", "DDD", 75.0),
        m("DDD", "AAA", 25.0),
        x("BBB", "CCC", 55.0),
        m("CCC", "BBB", 45.0),
    )


def scores(table: pl.DataFrame) -> dict[tuple[str, str], float]:
    return {(c, str(r)): s for c, r, s in table.select("country", "role", "score").iter_rows()}


def test_reliability_iterations_by_hand() -> None:
    # iteration 1 from A = 1: A_e = n_e / Σ s, A_i = n_i / Σ s
    one = scores(reporter_reliability(reliability_world(), cif_fob_margin=0.0, iterations=1))
    assert one[("AAA", "exporter")] == pytest.approx(2 / 0.7)
    assert one[("BBB", "exporter")] == pytest.approx(10.0)
    assert one[("CCC", "importer")] == pytest.approx(2 / 0.3)
    assert one[("DDD", "importer")] == pytest.approx(2.0)
    # iteration 2 uses the partners' iteration-1 scores
    two = scores(reporter_reliability(reliability_world(), cif_fob_margin=0.0, iterations=2))
    assert two[("AAA", "exporter")] == pytest.approx(2 / (0.2 * 2 / 0.3 + 0.5 * 2.0))
    assert two[("BBB", "exporter")] == pytest.approx(1 / (0.1 * 2 / 0.3))
    assert two[("CCC", "importer")] == pytest.approx(2 / (0.2 * 2 / 0.7 + 0.1 * 10.0))
    assert two[("DDD", "importer")] == pytest.approx(1 / (0.5 * 2 / 0.7))


def test_reliability_table_columns_and_counts() -> None:
    table = reporter_reliability(reliability_world(), cif_fob_margin=0.0)
    assert table.columns == [
        "country",
        "role",
        "score",
        "n_pairs",
        "mean_discrepancy",
        "reported_value",
    ]
    a = table.filter(pl.col("country") == "AAA").row(0, named=True)
    assert (a["role"], a["n_pairs"]) == ("exporter", 2)
    assert a["mean_discrepancy"] == pytest.approx(0.35)
    assert a["reported_value"] == pytest.approx(135.0)
    # the same scores from the flow table as from the trade table
    flows = mirror(reliability_world(), cif_fob_margin=0.0, reliability=False)
    assert scores(reporter_reliability(flows)) == pytest.approx(
        scores(reporter_reliability(reliability_world(), cif_fob_margin=0.0))
    )


def test_reliability_ignores_silent_reporters() -> None:
    # EEE reports nothing at all in 2021: its partners' exports to it are not held against it
    trade = pl.concat([reliability_world(), canon(x("AAA", "EEE", 99.0))])
    table = reporter_reliability(trade, cif_fob_margin=0.0)
    assert "EEE" not in table.get_column("country").to_list()
    assert scores(table) == pytest.approx(
        scores(reporter_reliability(reliability_world(), cif_fob_margin=0.0))
    )


def test_reliability_min_partners_and_errors() -> None:
    table = reporter_reliability(reliability_world(), cif_fob_margin=0.0, min_partners=2)
    # only A→C survives the repeated filter; B (1 partner) and D go first, then C has 1
    assert table.height == 0
    with pytest.raises(ConfigError):
        reporter_reliability(reliability_world(), iterations=0)


def test_best_value_uses_the_given_scores() -> None:
    trade = canon(x("AAA", "BBB", 100.0), m("BBB", "AAA", 53.0))  # M_fob = 50
    table = pl.DataFrame(
        {"country": ["AAA", "BBB"], "role": ["exporter", "importer"], "score": [1.0, 2.0]}
    )
    r = mirror(trade, reliability=table).collect().row(0, named=True)
    w = math.e / (math.e + math.e**2)  # = 0.2689
    assert r["export_weight"] == pytest.approx(w)
    assert r["best_value"] == pytest.approx(w * 100 + (1 - w) * 50)  # 63.45
    assert (r["exporter_score"], r["importer_score"]) == (1.0, 2.0)
    with pytest.raises(SchemaError, match="'score'"):
        mirror(trade, reliability=table.drop("score"))
    with pytest.raises(SchemaError, match="unknown role"):
        mirror(trade, reliability=table.with_columns(pl.lit("both").alias("role")))


def test_best_value_leans_on_the_reliable_reporter() -> None:
    # KGZ's imports disagree with every partner; DEU/FRA agree with each other's partners
    rows = [
        x("DEU", "FRA", 100.0),
        m("FRA", "DEU", 106.0),
        x("FRA", "DEU", 100.0),
        m("DEU", "FRA", 105.0),
        x("DEU", "KGZ", 100.0),
        m("KGZ", "DEU", 21.2),
        x("FRA", "KGZ", 100.0),
        m("KGZ", "FRA", 31.8),
        x("KGZ", "DEU", 10.0),
        m("DEU", "KGZ", 10.6),
    ]
    flows = mirror(canon(*rows)).collect()
    table = reporter_reliability(canon(*rows))
    s = scores(table)
    assert s[("KGZ", "importer")] < s[("DEU", "importer")]
    deu_kgz = row(flows, "DEU", "KGZ")
    assert deu_kgz["export_weight"] > 0.5
    assert deu_kgz["best_value"] > (100.0 + 20.0) / 2


# ---------------------------------------------------------------- arrival ratio


def months(start: dt.date, n: int) -> list[dt.date]:
    return [
        dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        for i in range(n)
    ]


def test_arrival_ratio_ft_ghost_trade_example() -> None:
    # FT, Nov 2023: LT reported US$28m of exports to KZ in the 13 months before the war and
    # KZ US$9m of imports; 13 months after, US$84m against US$11m → 0.32 → 0.13, 54m lost
    pre, post = months(dt.date(2021, 2, 1), 13), months(dt.date(2022, 3, 1), 13)
    rows = []
    for months_, xv, mv in ((pre, 28.0, 9.0), (post, 84.0, 11.0)):
        for p in months_:
            rows += [
                x("LTU", "KAZ", xv / 13, period=p, frequency="M"),
                m("KAZ", "LTU", mv / 13, period=p, frequency="M"),
            ]
    flows = mirror(canon(*rows), cif_fob_margin=0.0, reliability=False)
    ar = arrival_ratio(flows, event=dt.date(2022, 3, 1)).row(0, named=True)
    assert ar["x_pre"] == pytest.approx(28.0)
    assert ar["m_fob_pre"] == pytest.approx(9.0)
    assert ar["ar_pre"] == pytest.approx(0.3214, abs=1e-4)
    assert ar["ar_post"] == pytest.approx(0.1310, abs=1e-4)
    assert ar["delta"] == pytest.approx(11 / 84 - 9 / 28)
    assert ar["lost_in_transit"] == pytest.approx(54.0)
    assert (ar["n_periods_pre"], ar["n_periods_post"]) == (13, 13)
    # an explicit string window picks the same months
    same = arrival_ratio(flows, event="2022-03", baseline="2021-02:2022-02", post="2022-03:2023-03")
    assert same.row(0, named=True)["ar_post"] == pytest.approx(ar["ar_post"])


def test_arrival_ratio_event_inside_an_annual_period_counts_as_post() -> None:
    rows = [
        x("LTU", "KGZ", 100.0, period=dt.date(2021, 1, 1)),
        m("KGZ", "LTU", 106.0, period=dt.date(2021, 1, 1)),
        x("LTU", "KGZ", 400.0, period=dt.date(2022, 1, 1)),
        m("KGZ", "LTU", 106.0, period=dt.date(2022, 1, 1)),
    ]
    ar = arrival_ratio(mirror(canon(*rows)), event=dt.date(2022, 3, 1)).row(0, named=True)
    assert ar["ar_pre"] == pytest.approx(1.0)
    assert ar["ar_post"] == pytest.approx(0.25)
    assert ar["lost_in_transit"] == pytest.approx(300.0)


def test_arrival_ratio_skips_periods_of_a_silent_importer() -> None:
    rows = [
        x("LTU", "KGZ", 100.0, period=dt.date(2021, 1, 1)),
        m("KGZ", "LTU", 53.0, period=dt.date(2021, 1, 1)),
        x("LTU", "KGZ", 100.0, period=dt.date(2022, 1, 1)),
        m("KGZ", "LTU", 53.0, period=dt.date(2022, 1, 1)),
        x("LTU", "KGZ", 900.0, period=dt.date(2023, 1, 1)),  # KGZ has not published 2023
        x("DEU", "KGZ", 10.0, period=dt.date(2022, 1, 1)),  # KGZ reports, but not this flow
    ]
    res = arrival_ratio(mirror(canon(*rows)), event=dt.date(2022, 1, 1))
    ltu = res.filter(pl.col("exporter") == "LTU").row(0, named=True)
    assert ltu["ar_post"] == pytest.approx(0.5)  # 2023 is not "lost": nobody looked
    assert ltu["x_skipped"] == 900.0
    deu = res.filter(pl.col("exporter") == "DEU").row(0, named=True)
    assert deu["ar_post"] == 0.0  # KGZ reported that year, and nothing from DEU arrived
    assert deu["x_skipped"] == 0.0


def test_arrival_ratio_rejects_mixed_frequencies_and_missing_columns() -> None:
    rows = [x("LTU", "KGZ", 1.0), x("LTU", "KGZ", 1.0, frequency="M")]
    with pytest.raises(InputError, match="mixes monthly and annual"):
        arrival_ratio(mirror(canon(*rows)), event=dt.date(2022, 1, 1))
    with pytest.raises(SchemaError, match="'product_group'"):
        arrival_ratio(
            mirror(canon(*rows[:1])), event=dt.date(2022, 1, 1), by=("exporter", "product_group")
        )


def test_reliability_argument_forms() -> None:
    trade = canon(x("AAA", "BBB", 100.0), m("BBB", "AAA", 53.0))
    table = pl.DataFrame(
        {"country": ["AAA", "BBB"], "role": ["exporter", "importer"], "score": [1.0, 2.0]}
    )
    lazy = mirror(trade, reliability=table.lazy()).collect()  # type: ignore[arg-type]
    assert lazy.item(0, "exporter_score") == 1.0
    with pytest.raises(SchemaError, match="more than one score"):
        mirror(trade, reliability=pl.concat([table, table]))
    with pytest.raises(ConfigError, match="True, False or a table"):
        mirror(trade, reliability="yes")  # type: ignore[arg-type]
    # a country missing from the table gets its role's median score
    partial = table.filter(pl.col("country") == "AAA")
    r = mirror(trade, reliability=partial).collect().row(0, named=True)
    assert r["importer_score"] is None  # no importer scores at all → equal weights
    assert r["export_weight"] == 0.5
    # ... and a country missing from a role that has scores gets the role's median
    more = pl.DataFrame(
        {"country": ["BBB", "CCC", "EEE"], "role": ["importer"] * 3, "score": [1.0, 2.0, 9.0]}
    )
    r = mirror(canon(x("AAA", "DDD", 10.0)), reliability=more).collect().row(0, named=True)
    assert r["importer_score"] == 2.0
