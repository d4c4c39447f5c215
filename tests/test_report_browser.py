"""The HTML report in a real headless Chromium (Debian's ``/usr/bin/chromium``).

The demo world (``fixtures/demo``) is scanned and its report opened from disk:
the charts must draw, the console must stay clean, nothing may be fetched from
the network, and a screenshot is saved to ``artifacts/`` for people to look at.
Without chromium these tests skip, except on CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rerouting._config import Scenario
from rerouting._report import write_html
from test_report import INJECT_CLOSE, INJECT_IMG, INJECT_SCRIPT, make_table

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

    from rerouting._result import RouteTable

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Never let the browser reach out: no downloads, updates, sync or first-run pages.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Opened:
    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.page.evaluate(
            """() => ({
                status: document.documentElement.dataset.rrStatus,
                charts: Number(document.documentElement.dataset.rrCharts),
                failed: Number(document.documentElement.dataset.rrFailed),
                holders: document.querySelectorAll('[data-rr-chart]').length,
                drawn: document.querySelectorAll('.vega-embed svg.marks').length,
                lines: document.querySelectorAll('.vega-embed svg g.mark-line path').length,
                bars: document.querySelectorAll('.vega-embed svg g.mark-rect path').length,
                scripts: document.scripts.length,
                images: document.images.length,
            })"""
        )
        return state


def open_report(browser: Browser, path: Path, width: int = 1280) -> Opened:
    page = browser.new_page(viewport={"width": width, "height": 1400})
    opened = Opened(page)
    # Warnings count too: Vega reports bad specs and empty data as console warnings.
    page.on(
        "console",
        lambda m: (
            opened.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: opened.errors.append(str(e)))
    page.on(
        "request",
        lambda r: opened.requests.append(r.url) if not r.url.startswith("file:") else None,
    )
    page.goto(path.as_uri())
    page.wait_for_function("document.documentElement.dataset.rrStatus === 'done'", timeout=15_000)
    return opened


@pytest.fixture(scope="module")
def demo_table() -> RouteTable:
    from rerouting._scan import scan

    scenario = Scenario.from_toml(DEMO / "scenario.toml")
    return scan(str(DEMO / "trade.parquet"), scenario=scenario)


@pytest.fixture(scope="module")
def demo_report_path(demo_table: RouteTable, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_html(demo_table, tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="module")
def demo_report(browser: Browser, demo_report_path: Path) -> Iterator[Opened]:
    opened = open_report(browser, demo_report_path)
    yield opened
    opened.page.close()


def test_demo_report_draws_every_chart_offline_without_console_errors(
    demo_report: Opened, demo_table: RouteTable
) -> None:
    n = min(20, len(demo_table))
    assert n >= 5, "the demo world should give a report with several routes"
    state = demo_report.state()
    assert demo_report.errors == []
    assert demo_report.console == []
    assert demo_report.requests == []  # works offline: nothing fetched
    assert state["failed"] == 0
    assert state["holders"] == 2 * n  # legs + contributions per route
    assert state["charts"] == 2 * n
    assert state["drawn"] == 2 * n
    assert state["lines"] >= 2 * n  # at least the two hub legs of each route
    assert state["bars"] >= n  # contribution bars
    assert demo_report.page.locator("svg.rr-sankey path.rr-band").count() >= 2


def test_demo_report_screenshots(demo_report: Opened) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = demo_report.page
    page.screenshot(path=ARTIFACTS / "report.png")
    page.locator("section.rr-route").first.screenshot(path=ARTIFACTS / "report-route.png")
    page.locator("#flows").screenshot(path=ARTIFACTS / "report-flows.png")
    for name in ("report.png", "report-route.png", "report-flows.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


def test_routes_table_sorts_by_clicked_column(demo_report: Opened) -> None:
    page = demo_report.page
    column = """(i) => Array.from(
        document.querySelectorAll('table.rr-routes tbody tr'),
        tr => Number(tr.cells[i].dataset.sort))"""
    ranks = page.evaluate(column, 0)
    assert ranks == sorted(ranks)  # by rank (the scan's priority), best first
    score_values = f"() => ({column})(4)"
    ranked = page.evaluate(score_values)
    header = page.locator("table.rr-routes th", has_text="Score")
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert page.evaluate(score_values) == sorted(ranked)
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert page.evaluate(score_values) == sorted(ranked, reverse=True)


def test_markup_in_data_shows_as_text_and_never_runs(browser: Browser, tmp_path: Path) -> None:
    table = make_table(
        3,
        hubs=(INJECT_IMG, "KAZ"),
        description=INJECT_SCRIPT,
        explanation=INJECT_CLOSE,
    )
    opened = open_report(browser, write_html(table, tmp_path / "hostile.html"))
    page = opened.page
    state = opened.state()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert state["scripts"] == 3
    assert state["images"] == 0
    assert state["failed"] == 0
    assert state["drawn"] == 6
    text = page.inner_text("body")
    assert INJECT_SCRIPT in text
    assert INJECT_IMG in text
    assert INJECT_CLOSE in text
    # The chart legends show the hostile hub name as SVG text, too.
    legend = page.evaluate(
        "Array.from(document.querySelectorAll('.vega-embed svg text'), t => t.textContent)"
    )
    assert f"BLR → {INJECT_IMG}" in legend
    assert opened.errors == []
    assert opened.requests == []
    page.close()


def _degenerate_table() -> RouteTable:
    """Routes whose legs hold denormal values (1e-320), only nulls, or nothing at all."""
    import dataclasses

    import polars as pl

    table = make_table(4)
    rank1, rank2, rank3 = (table.routes.row(i, named=True) for i in range(3))

    def route(r: dict[str, Any]) -> pl.Expr:
        return (
            (pl.col("origin") == r["origin"])
            & (pl.col("hub") == r["hub"])
            & (pl.col("destination") == r["destination"])
            & (pl.col("hs") == r["hs"])
        )

    legs = (
        # every value near 1e-320 (denormal), so every Sankey link is that small too
        table.legs.with_columns(value=pl.col("value") / pl.col("value").max() * 1e-320)
        .with_columns(
            kg=pl.when(route(rank1)).then(pl.col("value")).otherwise("kg"),
            value=pl.when(route(rank2)).then(None).otherwise("value"),
        )
        .with_columns(kg=pl.when(route(rank2)).then(None).otherwise("kg"))
        .filter(~route(rank3))
    )
    tiny = [
        (pl.col(c) / pl.col(c).abs().max() * 1e-320).alias(c)
        for c in ("oh_excess_value", "hd_excess_value", "pass_through")
    ]
    return dataclasses.replace(table, routes=table.routes.with_columns(tiny), legs=legs)


def test_degenerate_values_draw_without_nan_or_console_warnings(
    browser: Browser, tmp_path: Path
) -> None:
    # 1e-320 once overflowed the Sankey's scale into NaN coordinates; empty or
    # all-null legs gave Vega "Infinite extent" warnings.
    path = write_html(_degenerate_table(), tmp_path / "degenerate.html")
    html = path.read_text()
    sankey = html[html.index('<svg class="rr-sankey"') :]
    sankey = sankey[: sankey.index("</svg>")]
    geometry = re.findall(r' (?:x|y|d|width|height|stroke-width)="([^"]*)"', sankey)
    assert len(geometry) > 20
    assert not [g for g in geometry if "nan" in g.lower() or "inf" in g.lower()]
    assert sankey.count('class="rr-band"') >= 2
    opened = open_report(browser, path)
    state = opened.state()
    assert opened.errors == []
    assert opened.console == []
    assert state["failed"] == 0
    assert state["drawn"] == state["holders"] == 7  # the route without legs has no legs chart
    titles = opened.page.evaluate(
        "Array.from(document.querySelectorAll('.vega-embed svg text'), t => t.textContent)"
    )
    assert sum("no data" in t for t in titles) == 3  # the all-null route's three panels
    opened.page.close()


@pytest.mark.parametrize("width", [1400, 800])
def test_report_fits_wide_and_narrow_screens(
    browser: Browser, demo_report_path: Path, width: int
) -> None:
    """No horizontal overflow, no console message, charts use the width they have."""
    opened = open_report(browser, demo_report_path, width=width)
    page = opened.page
    assert opened.console == []
    assert opened.errors == []
    geometry = page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            view: window.innerWidth,
            routes: document.querySelector('table.rr-routes').getBoundingClientRect().right,
            over: Array.from(document.querySelectorAll('main *'))
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .map(e => e.tagName + '.' + e.className).slice(0, 5),
            chart: document.querySelector('[data-rr-chart="legs"] svg')
                .getBoundingClientRect().width,
            main: document.querySelector('main').getBoundingClientRect().width,
        })"""
    )
    assert geometry["page"] <= geometry["view"], geometry
    assert geometry["over"] == [], geometry
    assert geometry["routes"] <= geometry["view"]  # the routes table itself fits
    assert geometry["chart"] >= 0.7 * geometry["main"] - 60, geometry  # fills the page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"report-{width}.png")
    page.locator("section.rr-route").first.screenshot(path=ARTIFACTS / f"report-{width}-route.png")
    assert (ARTIFACTS / f"report-{width}.png").stat().st_size > 10_000
    page.close()


def test_clipped_unit_value_axes_are_marked(
    browser: Browser, demo_table: RouteTable, tmp_path: Path
) -> None:
    from rerouting._report._data import prepare
    from rerouting._report._html import uv_clips

    # The demo world's routes with an extreme unit-value month rank below 20th.
    top = 60
    clipped = uv_clips(prepare(demo_table, top).legs)
    assert clipped, "the demo world has a route with an extreme unit-value month"
    opened = open_report(browser, write_html(demo_table, tmp_path / "report.html", top=top))
    marked = opened.page.evaluate(
        """() => Array.from(document.querySelectorAll('section.rr-route'))
            .filter(s => Array.from(s.querySelectorAll('svg text'))
                .some(t => t.textContent.startsWith('axis clipped at')))
            .map(s => Number(s.id.replace('route-', '')))"""
    )
    assert sorted(marked) == sorted(clipped)
    opened.page.close()


def test_report_names_currency_and_units(demo_report: Opened) -> None:
    text = demo_report.page.inner_text("body")
    assert "USD, as in the data" in text
    assert "as in the data" in text
    assert "Pass-through / mo" not in text
    head = demo_report.page.inner_text("table.rr-routes thead")
    assert "USD, post window" in head
    assert "What the provenance labels mean" in text
    axis = demo_report.page.evaluate(
        "Array.from(document.querySelectorAll('.vega-embed svg text'), t => t.textContent)"
    )
    assert "0M" not in axis
    assert "0" in axis
