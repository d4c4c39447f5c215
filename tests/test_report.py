"""The offline HTML report and the notebook view, on hand-made route tables.

The browser tests (charts drawn, no console errors, screenshot) are in
``test_report_browser.py``; these check the page's content, escaping and size
without a browser.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pytest

from rerouting._config import Scenario
from rerouting._exceptions import ConfigError
from rerouting._ingest import FileReport, IngestReport
from rerouting._legs import scenario_windows
from rerouting._report import render_html, repr_html, write_html
from rerouting._report._data import prepare
from rerouting._result import ResolvedScan, RouteTable
from rerouting._scan import scan

if TYPE_CHECKING:
    from pathlib import Path

EVENT = dt.date(2022, 3, 1)
MONTHS = pl.date_range(dt.date(2019, 1, 1), dt.date(2023, 12, 1), "1mo", eager=True)
CONTRIB = ("pass_through", "persistence", "novelty", "uv_gap_legs", "direct_change")
INJECT_SCRIPT = "<script>window.__pwned = 1</script>"
INJECT_IMG = '<img src=x onerror="window.__pwned = 2">'
INJECT_CLOSE = "</script><script>window.__pwned = 3</script>"


def make_table(
    n_routes: int = 12,
    *,
    hubs: tuple[str, ...] = ("KAZ", "KGZ", "ARM", "TUR", "GEO"),
    description: str | None = None,
    explanation: str = "Hub imports from the origin rose ×4 while direct trade fell 85%.",
    seed: int = 7,
) -> RouteTable:
    """A RouteTable following the detection contract, with rerouting-like legs.

    After the event the origin → hub leg grows ×4, hub → destination ×3, and the
    direct leg falls to 15%, with lognormal noise; unit values are constant per leg.
    """
    rng = np.random.default_rng(seed)
    n = len(MONTHS)
    hs = [f"{440700 + 11 * i:06d}" for i in range(n_routes)]
    score = np.sort(rng.uniform(0.05, 0.95, n_routes))[::-1]
    weights = rng.dirichlet(np.ones(len(CONTRIB)), n_routes) * score[:, None]
    routes = pl.DataFrame(
        {
            "rank": np.arange(1, n_routes + 1),
            "origin": ["BLR"] * n_routes,
            "hub": [hubs[i % len(hubs)] for i in range(n_routes)],
            "destination": ["DEU" if i % 3 else "POL" for i in range(n_routes)],
            "hs": hs,
            "score": score,
            "explanation": [explanation] * n_routes,
            "pass_through": rng.uniform(1e4, 5e6, n_routes),
            "oh_excess_value": rng.uniform(-1e5, 5e6, n_routes),
            "hd_excess_value": rng.uniform(-1e5, 5e6, n_routes),
            **{f"contrib_{c}": weights[:, i] for i, c in enumerate(CONTRIB)},
            "iforest_score": rng.random(n_routes),
            "ec_surge": rng.random(n_routes) > 0.5,
            "freund": rng.random(n_routes) > 0.5,
            "both_up": rng.random(n_routes) > 0.3,
        }
    )
    post = (MONTHS >= EVENT).to_numpy()
    parts = []
    for leg, factor in (("origin_hub", 4.0), ("hub_destination", 3.0), ("direct", 0.15)):
        level = rng.uniform(1e4, 1e6, (n_routes, 1))
        value = (level * np.where(post, factor, 1.0) * rng.lognormal(0, 0.2, (n_routes, n))).ravel()
        uv = np.repeat(rng.uniform(1, 5, n_routes), n)
        parts.append(
            pl.DataFrame(
                {
                    "origin": np.repeat(routes["origin"].to_numpy(), n),
                    "hub": np.repeat(routes["hub"].to_numpy(), n),
                    "destination": np.repeat(routes["destination"].to_numpy(), n),
                    "hs": np.repeat(np.array(hs), n),
                    "leg": [leg] * (n * n_routes),
                    "period": np.tile(MONTHS.to_numpy(), n_routes),
                    "value": value,
                    "kg": value / uv,
                    "provenance": ["exporter" if leg == "direct" else "importer"] * (n * n_routes),
                }
            )
        )
    legs = pl.concat(parts).with_columns(pl.col("period").cast(pl.Date))
    scenario = Scenario.build(origin="BLR", destination="DEU,POL", event="2022-03")
    ingest = IngestReport(
        rows_read=1000,
        rows_kept=900,
        records_out=880,
        dropped={"aggregate_partner": 60, "filtered_out": 40},
        files=(
            FileReport(
                path="comtrade/blr.csv",
                format="comtrade",
                rows_read=1000,
                rows_kept=900,
                dropped={"aggregate_partner": 60, "filtered_out": 40},
            ),
        ),
        notes=("imports put on an FOB basis with a 6% margin",),
    )
    descriptions = pl.DataFrame(
        {"hs": hs, "description": [description or f"Sawn wood {h}" for h in hs]}
    )
    return RouteTable(
        routes=routes,
        legs=legs,
        scenario=scenario,
        ingest=ingest,
        descriptions=descriptions,
        resolved=resolved_for(scenario, legs),
    )


def resolved_for(scenario: Scenario, legs: pl.DataFrame) -> ResolvedScan:
    """The resolved record ``scan`` would attach, for tables built by hand."""
    period = legs.get_column("period")
    windows = scenario_windows(scenario, period.min(), period.max(), "M")  # type: ignore[arg-type]
    return ResolvedScan(
        origin=scenario.origin,
        destination=scenario.destination,
        hubs=scenario.hubs or (),
        windows=windows,
        vintage="HS2017",
        currency="EUR",
    )


def blob_text(page: str) -> str:
    match = re.search(r'<script type="application/json" id="rr-data">(.*?)</script>', page, re.S)
    assert match, "the page has no data blob"
    return match.group(1)


def data_blob(page: str) -> dict[str, Any]:
    blob: dict[str, Any] = json.loads(blob_text(page))
    return blob


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return make_table()


@pytest.fixture(scope="module")
def page(table: RouteTable) -> str:
    return render_html(table, top=8)


# ------------------------------------------------------------------- contents
def test_page_is_self_contained(page: str) -> None:
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert len(scripts) == 3  # data blob, chart library, page script
    assert not any("src=" in s for s in scripts)
    assert "<link" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//(?!.*</a>)""", page.split("<a ")[0])
    assert "vegaEmbed" in page  # the library itself is inlined, not fetched


def test_summary_shows_scenario_coverage_and_ingest(page: str) -> None:
    assert "Belarus (BLR)" in page
    assert "Germany (DEU), Poland (POL)" in page
    assert "March 2022" in page
    # The scenario left the windows open: the report states the defaults it used.
    assert "2020-03 to 2022-02" in page
    assert "2022-03 to 2023-12" in page
    assert "2019-01 to 2023-12 (60 months)" in page
    assert "12 (top 8 shown)" in page
    assert "Read 1,000 rows from 1 file(s); kept 900" in page
    assert "aggregate_partner" in page
    assert "comtrade/blr.csv" in page
    assert "imports put on an FOB basis with a 6% margin" in page


def test_routes_table_lists_top_routes_in_rank_order(page: str, table: RouteTable) -> None:
    body = page.split('<table class="rr-sortable rr-routes">')[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1])
    assert len(rows) == 8
    ranks = [int(re.search(r">(\d+)</td>", r).group(1)) for r in rows]  # type: ignore[union-attr]
    assert ranks == list(range(1, 9))
    first = table.routes.row(0, named=True)
    assert f'data-sort="{first["score"]!r}"' in rows[0]
    assert 'href="#route-0"' in rows[0]
    assert "Sawn wood 440700" in rows[0]
    assert escape(first["explanation"]) in rows[0]


def test_one_section_and_two_charts_per_route(page: str) -> None:
    assert len(re.findall(r'<section class="rr-route" id="route-\d+">', page)) == 8
    assert len(re.findall(r'data-rr-chart="legs"', page)) == 8
    assert len(re.findall(r'data-rr-chart="contrib"', page)) == 8


def test_data_blob_holds_each_route_once_and_templates_once(page: str, table: RouteTable) -> None:
    blob = data_blob(page)
    assert [r["id"] for r in blob["routes"]] == list(range(8))
    assert set(blob["legs"]) == {str(i) for i in range(8)}
    first = blob["legs"]["0"]
    assert len(first["p"]) == 3 * len(MONTHS)
    assert first["p"][0] == "2019-01-01"
    assert blob["legNames"] == ["origin_hub", "hub_destination", "direct"]
    assert blob["routes"][0]["labels"]["direct"] == "BLR → POL (direct)"
    contrib = dict(blob["routes"][0]["contrib"])
    row = table.routes.row(0, named=True)
    assert contrib == pytest.approx({c: row[f"contrib_{c}"] for c in CONTRIB})
    # One spec per chart kind, shared by every route.
    assert blob_text(page).count('"hconcat"') == 1
    legs_spec = json.dumps(blob["templates"]["legs"])
    assert "$rr:legDomain" in legs_spec
    assert '"name": "legs"' in legs_spec


def test_leg_statistics_match_the_series() -> None:
    """Constant legs: 100/month before the event, 300 after; 2 kg/unit → UV 50 and 150."""
    months = pl.date_range(dt.date(2021, 1, 1), dt.date(2022, 12, 1), "1mo", eager=True)
    post = months >= EVENT
    legs = pl.DataFrame(
        {
            "origin": "BLR",
            "hub": "KAZ",
            "destination": "POL",
            "hs": "440711",
            "leg": "origin_hub",
            "period": months,
            "value": pl.Series(np.where(post.to_numpy(), 300.0, 100.0)),
            "kg": 2.0,
            "provenance": "importer",
        }
    )
    direct = legs.with_columns(
        hub=pl.lit(None, dtype=pl.String), leg=pl.lit("direct"), value=pl.lit(50.0)
    )
    routes = pl.DataFrame(
        {
            "rank": [1],
            "origin": ["BLR"],
            "hub": ["KAZ"],
            "destination": ["POL"],
            "hs": ["440711"],
            "score": [0.9],
            "explanation": ["x"],
        }
    )
    scenario = Scenario.build(
        origin="BLR", destination="POL", event="2022-03", baseline="2021-01:2022-02"
    )
    all_legs = pl.concat([legs, direct])
    table = RouteTable(routes, all_legs, scenario, resolved=resolved_for(scenario, all_legs))
    data = prepare(table, 5)
    oh = data.leg_stats.filter(pl.col("leg") == "origin_hub").row(0, named=True)
    assert oh["base_value"] == 100.0
    assert oh["post_value"] == 300.0
    assert oh["change"] == pytest.approx(2.0)
    assert oh["base_uv"] == 50.0
    assert oh["post_uv"] == 150.0
    assert oh["months"] == 24
    # The hub-less direct leg belongs to the route; it did not change.
    d = data.leg_stats.filter(pl.col("leg") == "direct").row(0, named=True)
    assert d["change"] == pytest.approx(0.0)
    # No excess features in the routes: the Sankey uses the leg means (+200/month in).
    links = {(s, t): v for s, t, _, v in data.links.iter_rows()}
    assert links == {("BLR", "KAZ"): pytest.approx(200.0)}


def test_sankey_sums_positive_excess_per_hub(table: RouteTable) -> None:
    data = prepare(table, 12)
    r = table.routes
    for hub in r.get_column("hub").unique():
        want = r.filter(pl.col("hub") == hub).get_column("oh_excess_value").clip(0).sum()
        got = data.links.filter((pl.col("target") == hub) & (pl.col("stage") == "origin_hub"))
        assert got.get_column("value").sum() == pytest.approx(want)
    page = render_html(table, top=12)
    sankey = page.split('<svg class="rr-sankey"')[1].split("</svg>")[0]
    assert len(re.findall(r'<path class="rr-band"', sankey)) == data.links.height
    assert "Kazakhstan" in sankey


def test_nan_features_and_missing_kg_still_make_valid_json() -> None:
    t = make_table(4)
    routes = t.routes.with_columns(
        score=pl.Series([float("nan"), 0.5, None, 0.1]),
        contrib_novelty=pl.lit(float("inf")),
    )
    legs = t.legs.with_columns(kg=pl.when(pl.col("leg") == "direct").then(None).otherwise("kg"))
    page = render_html(replace(t, routes=routes, legs=legs), top=4)
    blob = data_blob(page)  # json.loads rejects NaN/Infinity only if they were written bare
    assert "NaN" not in blob_text(page)
    assert "Infinity" not in blob_text(page)
    series = blob["legs"]["0"]
    direct = [k for k, leg in zip(series["k"], series["l"], strict=True) if leg == 2]
    assert len(direct) == len(MONTHS)
    assert all(k is None for k in direct)


def test_routes_without_series_or_contributions_get_no_empty_chart() -> None:
    t = make_table(4)
    legs = t.legs.filter(pl.col("hs") != t.routes.item(1, "hs"))
    routes = t.routes.with_columns(
        pl.when(pl.col("rank") == 3)
        .then(None)
        .otherwise(pl.col(f"contrib_{c}"))
        .alias(f"contrib_{c}")
        for c in CONTRIB
    )
    page = render_html(replace(t, routes=routes, legs=legs), top=4)
    charts = re.findall(r'data-rr-chart="(\w+)" data-rr-route="(\d+)"', page)
    assert sorted(charts) == [
        ("contrib", "0"),
        ("contrib", "1"),
        ("contrib", "3"),
        ("legs", "0"),
        ("legs", "2"),
        ("legs", "3"),
    ]
    assert "The scan kept no monthly series for this route" in page
    assert "This score has no per-feature decomposition." in page


def test_empty_table_still_renders() -> None:
    t = make_table(3)
    empty = replace(t, routes=t.routes.clear(), legs=t.legs.clear())
    page = render_html(empty)
    assert "The scan found no route to show." in page
    assert "No leg of the top routes grew above its baseline." in page
    assert data_blob(page)["routes"] == []


# ------------------------------------------------------------------- escaping
@pytest.fixture(scope="module")
def hostile() -> RouteTable:
    return make_table(
        4,
        hubs=(INJECT_IMG, "KAZ"),
        description=INJECT_SCRIPT,
        explanation=INJECT_CLOSE + " & <b>bold</b>",
    )


def test_data_strings_are_escaped_in_markup_and_json(hostile: RouteTable) -> None:
    page = render_html(hostile)
    for bad in (INJECT_SCRIPT, INJECT_IMG, INJECT_CLOSE, "<b>bold</b>"):
        assert bad not in page
    assert escape(INJECT_SCRIPT) in page
    assert escape(INJECT_IMG) in page
    assert len(re.findall(r"<script\b", page)) == 3
    assert len(re.findall(r"</script\b", page)) == 3
    # The JSON blob carries the exact strings; the browser reads them back as data.
    blob = data_blob(page)
    labels = blob["routes"][0]["labels"]
    assert labels["origin_hub"] == f"BLR → {INJECT_IMG}"


def test_repr_html_is_compact_escaped_and_script_free(hostile: RouteTable) -> None:
    html = repr_html(hostile)
    assert "<script" not in html
    assert INJECT_SCRIPT not in html
    assert INJECT_IMG not in html
    assert escape(INJECT_SCRIPT) in html
    assert len(html) < 40_000


def test_repr_html_shows_top_ten(table: RouteTable) -> None:
    html = table._repr_html_()  # goes through RouteTable to our function
    assert html == repr_html(table)
    rows = html.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
    assert rows == 10
    assert "BLR → hubs → DEU+POL, event 2022-03" in html
    assert '<svg class="rr-sankey"' in html


# ------------------------------------------------------------------- files and size
def test_write_html_through_route_table(table: RouteTable, tmp_path: Path) -> None:
    out = table.to_html(tmp_path / "report.html", top=3)
    assert out == tmp_path / "report.html"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert len(re.findall(r'data-rr-chart="legs"', text)) == 3


def test_report_for_50_routes_stays_small(tmp_path: Path) -> None:
    out = write_html(make_table(60), tmp_path / "big.html", top=50)
    size = out.stat().st_size
    assert size < 2_500_000, f"report for 50 routes is {size / 1e6:.2f} MB"
    page = out.read_text(encoding="utf-8")
    assert len(re.findall(r'data-rr-chart="legs"', page)) == 50
    assert blob_text(page).count('"hconcat"') == 1


def test_bad_arguments_raise_config_errors(table: RouteTable, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="top must be at least 1"):
        write_html(table, tmp_path / "r.html", top=0)
    with pytest.raises(ConfigError, match="cannot write the report") as err:
        write_html(table, tmp_path / "no" / "such" / "dir" / "r.html")
    assert err.value.hint
    assert "folder" in err.value.hint


def test_script_json_cannot_end_the_script_element() -> None:
    from rerouting._report._assets import script_json

    value = {"s": "</script><!-- & \u2028\u2029 <b>"}
    text = script_json(value)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text
    assert json.loads(text) == value


def test_report_windows_are_the_scans_on_annual_data(fixtures_dir: Path) -> None:
    # The demo world rolled up to calendar years: the scan's grid is annual, and its
    # baseline (2020-2021) and post (2022-...) windows are what the report must show.
    trade = pl.read_parquet(fixtures_dir / "demo" / "trade.parquet")
    keys = [c for c in trade.columns if c not in ("value", "net_weight_kg", "quantity")]
    annual = (
        trade.with_columns(period=pl.col("period").dt.truncate("1y"), frequency=pl.lit("A"))
        .group_by(keys)
        .agg(pl.col("value", "net_weight_kg", "quantity").sum())
        .select(trade.columns)
        .cast(trade.schema)
    )
    table = scan(annual, scenario=Scenario.from_toml(fixtures_dir / "demo" / "scenario.toml"))
    assert table.resolved is not None
    w = table.resolved.windows
    assert w.frequency == "A"
    assert w.baseline == (dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    assert w.post[0] == dt.date(2022, 1, 1)
    data = prepare(table, 5)
    assert (data.baseline, data.post) == (w.baseline, w.post)
