"""Property tests for mirror pairing (hypothesis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rerouting._mirror import KEY, mirror
from rerouting.schema import CANONICAL_SCHEMA

COUNTRIES = ["AAA", "BBB", "CCC", "DDD"]
PERIODS = [dt.date(2021, 1, 1), dt.date(2022, 1, 1)]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

values = st.floats(min_value=0.01, max_value=1e9, allow_nan=False, allow_infinity=False)
kgs = st.one_of(st.none(), st.floats(min_value=0.01, max_value=1e7, allow_nan=False))


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    rep, par = draw(st.lists(st.sampled_from(COUNTRIES), min_size=2, max_size=2, unique=True))
    return {
        "period": draw(st.sampled_from(PERIODS)),
        "frequency": draw(st.sampled_from(["M", "A"])),
        "reporter": rep,
        "partner": par,
        "flow": draw(st.sampled_from(["export", "import", "re-export", "re-import"])),
        "hs": draw(st.sampled_from(["010101", "020202"])),
        "value": draw(values),
        "currency": "USD",
        "net_weight_kg": draw(kgs),
        "quantity": None,
        "quantity_unit": None,
        "hs_vintage": None,
        "source": "comtrade",
    }


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=CANONICAL_SCHEMA)


@SETTINGS
@given(st.lists(records(), min_size=1, max_size=30))
def test_nothing_reported_is_lost(rows: list[dict[str, Any]]) -> None:
    trade = frame(rows)
    flows = mirror(trade).collect()
    is_x = pl.col("flow").is_in(["export", "re-export"])
    want = trade.select(
        x=pl.col("value").filter(is_x).sum(),
        m=pl.col("value").filter(~is_x).sum(),
        nx=is_x.sum(),
        nm=(~is_x).sum(),
        kx=pl.col("net_weight_kg").filter(is_x).sum(),
    ).row(0, named=True)
    got = flows.select(
        x=pl.col("export_value").sum(),
        m=pl.col("import_value").sum(),
        nx=pl.col("n_export_records").sum(),
        nm=pl.col("n_import_records").sum(),
        kx=pl.col("export_kg").sum(),
    ).row(0, named=True)
    assert got["nx"] == want["nx"]
    assert got["nm"] == want["nm"]
    assert got["x"] == pytest.approx(want["x"], rel=1e-9)
    assert got["m"] == pytest.approx(want["m"], rel=1e-9)
    assert got["kx"] == pytest.approx(want["kx"], rel=1e-9)
    # one row per key, and every row carries at least one record
    assert flows.select(pl.struct(*KEY).is_unique().all()).item()
    assert flows.select(
        ((pl.col("n_export_records") + pl.col("n_import_records")) > 0).all()
    ).item()
    # best value never leaves the range spanned by the two sides
    both = flows.filter(pl.col("provenance") == "both")
    lo = pl.min_horizontal("export_value", "import_value_fob")
    hi = pl.max_horizontal("export_value", "import_value_fob")
    ok = (pl.col("best_value") >= lo * (1 - 1e-12)) & (pl.col("best_value") <= hi * (1 + 1e-12))
    assert both.select(ok.all()).item() in (True, None)


@st.composite
def flow_lists(draw: st.DrawFn) -> list[tuple[str, str, str, dt.date, float]]:
    n = draw(st.integers(1, 12))
    out = []
    for _ in range(n):
        e, i = draw(st.lists(st.sampled_from(COUNTRIES), min_size=2, max_size=2, unique=True))
        out.append(
            (
                e,
                i,
                draw(st.sampled_from(["01", "02"])),
                draw(st.sampled_from(PERIODS)),
                draw(values),
            )
        )
    return out


@SETTINGS
@given(flow_lists())
def test_swapping_the_reporting_side_mirrors_provenance(
    flows: list[tuple[str, str, str, dt.date, float]],
) -> None:
    def base(rep: str, par: str, flow: str, hs: str, p: dt.date, v: float) -> dict[str, Any]:
        return {
            "period": p,
            "frequency": "A",
            "reporter": rep,
            "partner": par,
            "flow": flow,
            "hs": hs,
            "value": v,
            "currency": "USD",
            "source": "tidy",
        }

    by_exporter = frame([base(e, i, "export", hs, p, v) for e, i, hs, p, v in flows])
    by_importer = frame([base(i, e, "import", hs, p, v) for e, i, hs, p, v in flows])
    a = mirror(by_exporter, reliability=False).collect().sort(KEY)
    b = mirror(by_importer, reliability=False).collect().sort(KEY)
    assert a.select(KEY).equals(b.select(KEY))
    assert set(a.get_column("provenance").cast(pl.String)) == {"exporter_only"}
    assert set(b.get_column("provenance").cast(pl.String)) == {"importer_only"}
    assert a.get_column("export_value").to_list() == pytest.approx(
        b.get_column("import_value").to_list()
    )
    assert a.get_column("n_export_records").equals(b.get_column("n_import_records"))
    assert b.get_column("best_value").to_list() == pytest.approx(
        (b.get_column("import_value") / 1.06).to_list()
    )


@SETTINGS
@given(
    st.lists(records(), min_size=1, max_size=30),
    st.floats(min_value=1e-3, max_value=1e3),
    st.floats(min_value=1e-3, max_value=1e3),
)
def test_ratios_do_not_depend_on_units(rows: list[dict[str, Any]], k: float, kk: float) -> None:
    trade = frame(rows)
    scaled = trade.with_columns(pl.col("value") * k, pl.col("net_weight_kg") * kk)
    ratios = ["log_ratio", "sym_gap", "uv_ratio", "qty_agreement", "rel_gap", "uv_in_band"]
    a = mirror(trade, reliability=False).collect().sort(KEY)
    b = mirror(scaled, reliability=False).collect().sort(KEY)
    for col in ratios[:-1]:
        left, right = a.get_column(col).to_list(), b.get_column(col).to_list()
        assert [v is None for v in left] == [v is None for v in right], col
        assert [v for v in right if v is not None] == pytest.approx(
            [v for v in left if v is not None], rel=1e-9, abs=1e-12
        ), col
    # the band test is a strict inequality, so only compare ratios clear of its edges
    clear = (a.get_column("uv_ratio") - 0.75).abs().fill_null(1.0) > 1e-9
    clear &= (a.get_column("uv_ratio") - 1.75).abs().fill_null(1.0) > 1e-9
    assert a.filter(clear).get_column("uv_in_band").equals(b.filter(clear).get_column("uv_in_band"))
    assert b.get_column("best_value").to_list() == pytest.approx(
        (a.get_column("best_value") * k).to_list(), rel=1e-9
    )
