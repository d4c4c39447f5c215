"""Assemble the offline HTML report and the compact notebook view.

Every string that comes from data is escaped here: ``html.escape`` for markup,
:func:`~rerouting._report._assets.script_json` for the JSON data blob. Charts
are drawn in the browser by Vega-Lite from that blob, which renders labels as
SVG text, never as markup.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from rerouting._atomic import atomic_path
from rerouting._exceptions import ConfigError
from rerouting._report import _assets, _charts
from rerouting._report._data import (
    ReportData,
    country_name,
    jsonable,
    prepare,
    provenance_shares,
)
from rerouting._report._sankey import sankey_svg
from rerouting.schema import LEG_NAMES, LEGS

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rerouting._config import Scenario
    from rerouting._ingest import IngestReport
    from rerouting._result import RouteTable

__all__ = ["render_html", "repr_html", "write_html"]

SOURCES: Final = (
    (
        "Chupilkin, Javorcik & Plekhanov (2023), “The Eurasian Roundabout: Trade Flows "
        "into Russia through the Caucasus and Central Asia”, EBRD Working Paper 276 — "
        "excess growth of hub legs and the substitution ratio",
        "https://www.ebrd.com/publications/working-papers/the-eurasian-roundabout",
    ),
    (
        "Iyoha, Malesky, Wen & Wu (2024), “Exports in Disguise? Trade Rerouting during the "
        "US–China Trade War”, HBS Working Paper 24-072 — pass-through upper bound "
        "min(inflow, outflow)",
        "https://www.hbs.edu/faculty/Pages/item.aspx?num=65663",
    ),
    (
        "Freund (2025), “The China Wash: identifying tariff evasion”, UCSD 21st Century "
        "China Center — share-shift criteria and excess-flow transshipment value T",
        "https://china.ucsd.edu/_files/02072025-brief-identify-tariff-evasion-web.pdf",
    ),
    (
        "IMF, Direction of Trade Statistics Yearbook — imports (CIF) put on an FOB basis "
        "with the fixed factor 1.06",
        "https://www.elibrary.imf.org/view/books/042/24207-9781475593822-en/"
        "24207-9781475593822-en-book.xml",
    ),
    (
        "Harvard Growth Lab, comtrade-mirroring — reporter reliability from mirror "
        "discrepancies, CIF/FOB margins",
        "https://github.com/harvard-growth-lab/comtrade-mirroring",
    ),
)

LEG_TITLES: Final = {leg.name: leg.title for leg in LEGS}
FLAG_COLUMNS: Final = ("ec_surge", "freund", "both_up")


@cache
def term_meanings() -> dict[str, str]:
    """One line per feature and per score term, for tooltips and the method section."""
    from rerouting._score import TERMS
    from rerouting.features import FEATURES

    return {**FEATURES, **{t.name: t.doc for t in TERMS}}


# --------------------------------------------------------------------- formatting
def _finite(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v) if math.isfinite(v) else None
    return None


def fmt_amount(v: Any) -> str:
    """``1234567`` → ``1.23M``; blanks for missing values."""
    x = _finite(v)
    if x is None:
        return "–"
    for size, suffix in ((1e12, "T"), (1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def fmt_pct(v: Any) -> str:
    x = _finite(v)
    return "–" if x is None else f"{x:+.0%}"


def fmt_change(base: Any, post: Any) -> str:
    """A leg's change as a reader says it: ``-95%``, ``+140%``, ``×26``, or ``new``.

    ``new`` when the baseline is (almost) no trade (below ``NOVELTY_SHARE`` of the post
    level, the novelty feature's rule); ``×N`` from ten-fold up, where a percentage
    (+2,508%) no longer reads.
    """
    from rerouting.features import NOVELTY_SHARE

    b, p = _finite(base), _finite(post)
    if b is None or p is None:
        return "–"
    if p > 0 and b <= NOVELTY_SHARE * p:
        return "new"
    if b <= 0:
        return "–"
    ratio = p / b
    if ratio >= 10:
        return f"×{ratio:,.0f}"
    return f"{ratio - 1:+.0%}"


def fmt_score(v: Any) -> str:
    x = _finite(v)
    return "–" if x is None else f"{x:.2f}"


def _sort_value(v: Any) -> str:
    x = _finite(v)
    return "" if x is None else repr(x)


def _month(d: dt.date | None) -> str:
    return "–" if d is None else f"{d:%Y-%m}"


def _codes(codes: Iterable[str] | None, *, none: str) -> str:
    if not codes:
        return escape(none)
    return ", ".join(
        escape(c) if country_name(c) == c else f"{escape(country_name(c))} ({escape(c)})"
        for c in codes
    )


def _is_flag(v: Any) -> bool:
    return isinstance(v, bool)


def _truthy(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return bool(v)


def money_of(table: RouteTable) -> str:
    """The currency every value of the table is in, as the report names it."""
    resolved = table.resolved.currency if table.resolved is not None else None
    return table.scenario.currency or resolved or "data currency (not stated in the data)"


def period_of(table: RouteTable) -> str:
    """``month`` or ``year``: the period of the data's grid (per-period amounts)."""
    annual = table.resolved is not None and table.resolved.frequency == "A"
    return "year" if annual else "month"


def _abbrev(per: str) -> str:
    return "yr" if per == "year" else "mo"


#: What each provenance label of a leg-month means (legs, coverage and the legend).
PROVENANCE_LEGEND: Final = {
    "both": "exporter and importer both reported the flow (the figure weighs the two)",
    "exporter only": "only the exporting country reported it",
    "importer only": "only the importing country reported it",
    "reconciled": "a source that already reconciles both sides (e.g. BACI)",
    "none": "an observed leg without any record that month: counted as zero trade",
    "missing": "no country on either side reports this leg: left out, not zero",
    "a+b": "a bloc's members differ (e.g. both+importer only: some members' flows are "
    "reported by both sides, others by the importer only)",
}


def _provenance_legend() -> str:
    items = "".join(
        f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in PROVENANCE_LEGEND.items()
    )
    return (
        '<details class="rr-legend"><summary>What the provenance labels mean</summary>'
        f'<dl class="rr-facts">{items}</dl></details>'
    )


# --------------------------------------------------------------------- sections
def _scenario_facts(sc: Scenario, data: ReportData, money: str) -> str:
    products = sc.products
    if isinstance(products, tuple):
        shown = ", ".join(products[:12])
        products = shown + (f" … ({len(products)} codes)" if len(products) > 12 else "")
    rows = [
        ("Origin", _codes(sc.origin, none="–")),
        ("Destination", _codes(sc.destination, none="–")),
        ("Event", escape(f"{sc.event:%B %Y}")),
        ("Hubs", _codes(sc.hubs, none="every country with both legs")),
        ("Products", escape(str(products)) if products else "every product"),
        (
            "Baseline",
            escape(f"{_month(data.baseline[0])} to {_month(data.baseline[1])}")
            + ("" if sc.baseline else " (default: 24 months before the event)"),
        ),
        (
            "Post-event",
            escape(f"{_month(data.post[0])} to {_month(data.post[1])}")
            + ("" if sc.post else " (default: event to end of data)"),
        ),
        ("Scorer", escape(sc.scorer)),
        ("CIF/FOB margin", escape(f"{sc.cif_fob_margin:.0%}")),
        ("Max lag", escape(f"{sc.max_lag} months")),
        ("Currency", escape(f"{money} (converted)" if sc.currency else f"{money}, as in the data")),
    ]
    if sc.min_value:
        rows.append(("Min. value", escape(fmt_amount(sc.min_value))))
    return _facts(rows)


def _facts(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="rr-facts">{body}</dl>'


def _coverage(table: RouteTable, data: ReportData) -> str:
    routes = table.routes
    legs = table.legs
    first, last, n_months = data.months
    prov = provenance_shares(legs.with_columns(all=pl.lit(0)), ["all"], top=4)
    prov_text = escape(prov.item(0, "provenance")) if prov.height else "–"
    countries = (
        sorted(
            set(routes.get_column("origin").cast(pl.String).drop_nulls())
            | set(routes.get_column("destination").cast(pl.String).drop_nulls())
        )
        if routes.height
        else []
    )
    rows = [
        ("Months charted", escape(f"{_month(first)} to {_month(last)} ({n_months} months)")),
        ("Routes scored", escape(f"{data.n_routes:,} (top {data.top.height} shown)")),
        ("Hubs", escape(f"{routes.get_column('hub').n_unique() if routes.height else 0}")),
        ("Products (HS)", escape(f"{routes.get_column('hs').n_unique() if routes.height else 0}")),
        ("Origin and destination", _codes(countries, none="–")),
        ("Provenance", f"{prov_text} of leg-months{_provenance_legend()}"),
    ]
    return _facts(rows)


def warnings_of(table: RouteTable, data: ReportData) -> list[str]:
    """What a reader must know before trusting the ranking: short baselines, legs
    reported by one side only, legs nobody reports."""
    out = []
    if table.resolved is not None:
        w = table.resolved.windows
        months = w.n_baseline * w.step
        if months < 12:
            out.append(
                f"The baseline is only {months} months long ({_month(w.baseline[0])} to "
                f"{_month(w.baseline[1])}): seasonality and one-off shipments can pass for "
                "growth. 24 months is the usual baseline (EC rule)."
            )
    top = data.top
    if "missing_legs" in top.columns:
        missing = top.filter(pl.col("missing_legs").is_not_null())
        if missing.height:
            legs = sorted(set(", ".join(missing["missing_legs"].to_list()).split(", ")))
            out.append(
                f"{missing.height} of the top {top.height} routes have legs that no country "
                f"reports ({', '.join(legs)}): those legs are unknown, not zero, and the score "
                "rests on the others."
            )
    hub_legs = data.leg_stats.filter(pl.col("leg") != "direct")
    one_sided = hub_legs.filter(
        pl.col("provenance").str.contains(r"^(exporter|importer) only 100%$")
    )
    if one_sided.height:
        n = one_sided["rid"].n_unique()
        out.append(
            f"{n} of the top {top.height} routes have a hub leg reported by one side only "
            "(provenance exporter only or importer only in every month): its mirror gap "
            "cannot be checked."
        )
    return out


def _warnings(table: RouteTable, data: ReportData) -> str:
    items = warnings_of(table, data)
    if not items:
        return ""
    body = "".join(f"<li>{escape(w)}</li>" for w in items)
    return f'<div class="rr-warnings" role="note"><b>Before reading</b><ul>{body}</ul></div>'


def _ingest(report: IngestReport | None, scan_notes: tuple[str, ...] = ()) -> str:
    if report is None:
        # The scan's own notes (legs resting on one side of the mirror) still show.
        notes = "".join(f"<li>{escape(n)}</li>" for n in scan_notes)
        return (
            '<p class="rr-note">The scan was given a table in memory, so there is no row '
            "accounting for the files it came from.</p>"
            + (f'<ul class="rr-note">{notes}</ul>' if notes else "")
        )
    head = (
        f"<p>Read {report.rows_read:,} rows from {len(report.files)} file(s); kept "
        f"{report.rows_kept:,} ({report.records_out:,} records); dropped "
        f"{report.rows_dropped:,}.</p>"
    )
    reasons = "".join(
        f'<tr><td>{escape(str(reason))}</td><td class="num">{n:,}</td>'
        f"<td>{escape(str(desc))}</td></tr>"
        for reason, n, desc in report.to_frame().iter_rows()
    )
    table = (
        '<table><thead><tr><th>Rows</th><th class="num">Count</th><th>Meaning</th></tr>'
        f"</thead><tbody>{reasons}</tbody></table>"
    )
    files = ""
    if report.files:
        rows = "".join(
            f"<tr><td>{escape(f.path)}</td><td>{escape(f.format)}</td>"
            f'<td class="num">{f.rows_read:,}</td><td class="num">{f.rows_kept:,}</td></tr>'
            for f in report.files[:30]
        )
        more = (
            f'<p class="rr-note">… and {len(report.files) - 30} more files.</p>'
            if len(report.files) > 30
            else ""
        )
        files = (
            "<details><summary>Files read</summary><table><thead><tr><th>File</th>"
            '<th>Format</th><th class="num">Read</th><th class="num">Kept</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>{more}</details>"
        )
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    notes = f'<ul class="rr-note">{notes}</ul>' if notes else ""
    return head + table + files + notes


def _route_label(row: dict[str, Any]) -> str:
    return f"{row['origin']} → {row['hub']} → {row['destination']}"


def _flags(row: dict[str, Any]) -> str:
    # Baselines come as a score with a boolean ``<name>_flag``, or as the flag itself.
    chips = [
        f'<span class="rr-chip">{escape(name.replace("_", " "))}</span>'
        for name in FLAG_COLUMNS
        if _truthy(row.get(f"{name}_flag", row.get(name) if _is_flag(row.get(name)) else None))
    ]
    missing = row.get("missing_legs")
    if _truthy(missing):
        chips.append(f'<span class="rr-chip">missing: {escape(str(missing))}</span>')
    return "".join(chips)


def _desc_cell(desc: Any, limit: int = 70) -> str:
    text = str(desc or "")
    if len(text) <= limit:
        return f"<td>{escape(text)}</td>"
    short = text[:limit].rsplit(" ", 1)[0].rstrip(";,") + " …"
    return f'<td title="{escape(text)}">{escape(short)}</td>'


def _routes_table(data: ReportData, *, links: bool, money: str) -> str:
    cols = set(data.top.columns)
    has_pt = "pass_through" in cols
    has_vs = "value_at_stake" in cols
    head = (
        '<th class="num" data-type="num">#</th><th>Route</th><th>HS</th><th>Product</th>'
        '<th class="num" data-type="num">Score</th>'
        + (
            f'<th class="num" data-type="num" title="min(pass-through bound, excess) per '
            f'year, {escape(money)}">At stake / yr</th>'
            if has_vs
            else ""
        )
        + (
            '<th class="num" data-type="num" title="the most that can have passed through '
            "the hub: min(origin → hub, hub → destination) summed over the post-event "
            f'window (Iyoha et al.), in {escape(money)}">Pass-through<br>'
            f'<span class="rr-unit">{escape(money)}, post window</span></th>'
            if has_pt
            else ""
        )
        + "<th>Flags</th><th>Explanation</th>"
    )
    body = []
    for row in data.top.iter_rows(named=True):
        score = _finite(row.get("score"))
        bar = (
            f'<span class="rr-bar" style="width:{max(0.0, min(score, 1.0)) * 50:.0f}px"></span>'
            if score is not None
            else ""
        )
        route = escape(_route_label(row))
        if links:
            route = f'<a href="#route-{row["rid"]}">{route}</a>'
        body.append(
            "<tr>"
            f'<td class="num" data-sort="{escape(_sort_value(row.get("rank")))}">'
            f"{escape(str(row.get('rank', '')))}</td>"
            f'<td class="rr-nowrap">{route}</td><td>{escape(str(row["hs"]))}</td>'
            f"{_desc_cell(row.get('description'))}"
            f'<td class="num" data-sort="{escape(_sort_value(score))}">'
            f'<span class="rr-score">{fmt_score(score)}</span>{bar}</td>'
            + (
                f'<td class="num" data-sort="{escape(_sort_value(row.get("value_at_stake")))}">'
                f"{fmt_amount(row.get('value_at_stake'))}</td>"
                if has_vs
                else ""
            )
            + (
                f'<td class="num" data-sort="{escape(_sort_value(row.get("pass_through")))}">'
                f"{fmt_amount(row.get('pass_through'))}</td>"
                if has_pt
                else ""
            )
            + f"<td>{_flags(row)}</td>"
            f'<td class="rr-expl">{escape(str(row.get("explanation") or ""))}</td></tr>'
        )
    return (
        '<table class="rr-sortable rr-routes"><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _leg_table(stats: pl.DataFrame, row: dict[str, Any], money: str, per: str) -> str:
    names = {leg.name: leg.between(row) for leg in LEGS}
    body = []
    for s in stats.iter_rows(named=True):
        body.append(
            f'<tr><td class="rr-leg">{escape(names.get(s["leg"], s["leg"]))}</td>'
            f'<td class="num">{fmt_amount(s["base_value"])} → {fmt_amount(s["post_value"])}</td>'
            f'<td class="num">{fmt_change(s["base_value"], s["post_value"])}</td>'
            f'<td class="num">{fmt_amount(s["base_kg"])} → {fmt_amount(s["post_kg"])}</td>'
            f'<td class="num">{fmt_amount(s["base_uv"])} → {fmt_amount(s["post_uv"])}</td>'
            f"<td>{escape(s['provenance'] or '–')}</td></tr>"
        )
    if not body:
        return '<p class="rr-empty">No monthly data for this route’s legs.</p>'
    return (
        '<table class="rr-legs"><thead><tr><th>Leg</th>'
        f'<th class="num">Value<br><span class="rr-unit">{escape(money)} / {per}</span></th>'
        '<th class="num" title="of the value; new: (almost) no trade before">Change</th>'
        f'<th class="num">Net weight<br><span class="rr-unit">kg / {per}</span></th>'
        f'<th class="num">Unit value<br><span class="rr-unit">{escape(money)} / kg</span></th>'
        "<th>Provenance</th>"
        f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<p class="rr-note">Means per {per}, baseline → post-event.</p>'
    )


def _route_sections(data: ReportData, money: str, per: str) -> str:
    stats_by_rid = data.leg_stats.partition_by("rid", as_dict=True)
    # A chart without data would draw empty axes (and Vega warns): leave it out.
    with_legs = set(data.legs.get_column("rid").unique())
    with_contrib = set(data.contrib.get_column("rid").unique())
    out = []
    for row in data.top.iter_rows(named=True):
        rid = int(row["rid"])
        stats = stats_by_rid.get((rid,), data.leg_stats.clear())
        desc = str(row.get("description") or "")
        names = " → ".join(
            escape(country_name(str(row[c]))) for c in ("origin", "hub", "destination")
        )
        contrib = (
            f'<div class="rr-chart" data-rr-chart="contrib" data-rr-route="{rid}"></div>'
            if rid in with_contrib
            else '<p class="rr-note">This score has no per-feature decomposition.</p>'
        )
        legs = (
            f'<div class="rr-chart" data-rr-chart="legs" data-rr-route="{rid}"></div>'
            if rid in with_legs
            else '<p class="rr-empty">The scan kept no monthly series for this route '
            "(it keeps them for its best-ranked routes only).</p>"
        )
        out.append(
            f'<section class="rr-route" id="route-{rid}">'
            f"<h3>#{escape(str(row.get('rank', rid + 1)))} · {escape(_route_label(row))} · "
            f"HS {escape(str(row['hs']))}{' — ' + escape(desc) if desc else ''}</h3>"
            f'<p class="rr-sub">{names} · score <b>{fmt_score(row.get("score"))}</b>'
            f"{' · ' + _flags(row) if _flags(row) else ''}</p>"
            f'<p class="rr-expl">{escape(str(row.get("explanation") or ""))}</p>'
            f"{legs}"
            f'<div class="rr-route-grid"><div>{_leg_table(stats, row, money, per)}</div>'
            f"{contrib}</div></section>"
        )
    return "".join(out)


def _method(table: RouteTable, data: ReportData, money: str) -> str:
    meanings = term_meanings()
    sc = table.scenario
    used = sorted(set(data.contrib.get_column("feature"))) if not data.contrib.is_empty() else []
    feature_rows = "".join(
        f"<tr><td>{escape(f)}</td><td>{escape(meanings.get(f, ''))}</td></tr>" for f in used
    )
    features = (
        "<details><summary>Features in the score</summary><table><thead><tr><th>Feature</th>"
        f"<th>Meaning</th></tr></thead><tbody>{feature_rows}</tbody></table></details>"
        if feature_rows
        else ""
    )
    sources = "".join(
        f'<li>{escape(text)}: <a href="{escape(url)}">{escape(url)}</a></li>'
        for text, url in SOURCES
    )
    prov = (
        data.legs.group_by("leg", pl.col("provenance").fill_null("unknown"))
        .len()
        .sort(
            pl.col("leg").replace_strict(list(LEG_NAMES), [0, 1, 2], default=3),
            pl.col("len"),
            descending=[False, True],
        )
    )
    prov_rows = "".join(
        f"<tr><td>{escape(LEG_TITLES.get(leg, leg))}</td><td>{escape(p)}</td>"
        f'<td class="num">{n:,}</td></tr>'
        for leg, p, n in prov.iter_rows()
    )
    scenario_json = escape(sc.model_dump_json(indent=2))
    return f"""
<p>Each route is an origin → hub → destination chain for one HS6 product. Its three
<b>legs</b> are monthly mirror-statistics series: what the hub buys from the origin, what
it sells to the destination, and the direct trade between origin and destination. Values
are in {escape(money)}; imports reported CIF are put on an FOB basis with a margin of
{sc.cif_fob_margin:.0%} (IMF: CIF/FOB = 1.06). Baseline: {escape(_month(data.baseline[0]))}
to {escape(_month(data.baseline[1]))}; post-event window: {escape(_month(data.post[0]))}
to {escape(_month(data.post[1]))}.</p>
<ul>
<li><b>Excess</b> of a leg: its post-event monthly level above the baseline level
(robust, in value and kg); the substitution ratio relates the hub legs' excess to the fall
of the direct flow (EBRD).</li>
<li><b>Pass-through</b> = min(origin → hub, hub → destination) summed over the post-event
window, in {escape(money)}: the most that can have gone through the hub (Iyoha et al.). It is
an upper bound: country-level mirror data can overstate firm-level rerouting by an order of
magnitude.</li>
<li><b>Freund criteria</b>: the origin loses share at the destination while the hub gains
share in both legs, and the hub's imports from the origin are at least 0.75 × its exports to
the destination; T = min(excess in, excess out).</li>
<li><b>Unit values</b> (value / kg) of the legs: goods passed on unchanged keep their unit
value; a jump points to a different product, relabelling or price effects.</li>
<li><b>Mirror gaps and reliability</b>: each number's provenance says which reporter's side
it comes from; gaps between the two sides, and reporters known to be unreliable (Growth Lab
accuracy scores), weaken a route.</li>
<li><b>Score</b> (0–1) ranks routes. With the default scorer it is the learned score
(boosted trees of the features, monotone in the evidence, fitted on development worlds)
wherever both hub legs are recorded, and the evidence score elsewhere (the table's notes
say which). The bars charted for each route are the evidence score's contributions, which sum to
<code>evidence_score</code>. ec_surge, freund and both_up are simpler baseline rules shown
as flags.</li>
</ul>
{features}
<h3>Sources</h3><ol class="rr-sources">{sources}</ol>
<h3>Data provenance</h3>
<p class="rr-note">Leg-months of the routes shown, by the side of the mirror pair the number
comes from.</p>
<table><thead><tr><th>Leg</th><th>Provenance</th><th class="num">Leg-months</th></tr>
</thead><tbody>{prov_rows}</tbody></table>
{_provenance_legend()}
<details><summary>Scenario as scanned (JSON)</summary><pre>{scenario_json}</pre></details>
"""


#: A unit-value axis stops at this multiple of the route's median unit value: a month
#: with a few kilograms can have a unit value 100× the others and flatten the chart.
UV_CLIP: Final = 4.0


def uv_clips(legs: pl.DataFrame) -> dict[int, tuple[float, int]]:
    """Per route id: where its unit-value axis is clipped and how many points lie above.

    Only routes with a point above ``UV_CLIP`` × the median unit value are clipped.
    """
    uv = (
        legs.filter((pl.col("kg") > 0) & (pl.col("value") > 0))
        .with_columns(uv=pl.col("value") / pl.col("kg"))
        .group_by("rid")
        .agg(cap=pl.col("uv").median() * UV_CLIP, uv=pl.col("uv"))
    )
    out = {}
    for rid, cap, values in uv.select("rid", "cap", "uv").iter_rows():
        above = sum(v > cap for v in values)
        if above:
            out[int(rid)] = (float(cap), int(above))
    return out


def _blob(table: RouteTable, data: ReportData, money: str) -> dict[str, Any]:
    """The one data object every chart of the page reads."""
    meanings = term_meanings()
    legs = data.legs
    provenance = sorted(set(legs.get_column("provenance").drop_nulls()))
    series = (
        legs.with_columns(
            p=pl.col("period").dt.strftime("%Y-%m-%d"),
            l=pl.col("leg").replace_strict(list(LEG_NAMES), [0, 1, 2], default=None),
            v=pl.col("value").round_sig_figs(6),
            k=pl.col("kg").round_sig_figs(6),
            s=pl.col("provenance").replace_strict(
                provenance, list(range(len(provenance))), default=None, return_dtype=pl.Int64
            ),
        )
        .group_by("rid", maintain_order=True)
        .agg("p", "l", "v", "k", "s")
    )
    pairs: dict[int, list[list[Any]]] = {}
    for rid, feature, value in data.contrib.iter_rows():
        pairs.setdefault(rid, []).append([feature, value])
    clips = uv_clips(legs)
    routes = [
        {
            "id": row["rid"],
            "uvClip": (
                {"max": clips[row["rid"]][0], "above": clips[row["rid"]][1]}
                if row["rid"] in clips
                else None
            ),
            "labels": {leg.name: leg.between(row) for leg in LEGS},
            "contrib": pairs.get(row["rid"], []),
        }
        for row in data.top.select("rid", "origin", "hub", "destination").iter_rows(named=True)
    ]
    features = {f: meanings.get(f, "") for f in set(data.contrib.get_column("feature"))}
    blob: dict[str, Any] = jsonable(
        {
            "legNames": list(LEG_NAMES),
            "uvTitle": f"Unit value ({money} per kg)",
            "provenance": provenance,
            "routes": routes,
            "legs": {str(r.pop("rid")): r for r in series.to_dicts()},
            "templates": {
                "legs": _charts.legs_template(
                    table.scenario.event, data.baseline, data.post, money, period_of(table)
                ),
                "contrib": _charts.contrib_template(features),
            },
        }
    )
    return blob


def _title(sc: Scenario) -> str:
    return f"{'+'.join(sc.origin)} → hubs → {'+'.join(sc.destination)}, event {sc.event:%Y-%m}"


def render_html(table: RouteTable, *, top: int = 20) -> str:
    """The complete report page as a string (see :func:`write_html`)."""
    from rerouting import __version__

    data = prepare(table, top)
    sc = table.scenario
    money, per = money_of(table), period_of(table)
    title = _title(sc)
    sankey = sankey_svg(
        data.links,
        label=country_name,
        fmt=lambda v: f"{fmt_amount(v)}/{_abbrev(per)}",
        caption=f"Excess flows of the top {data.top.height} routes: origin → hubs → destination",
    )
    versions = _assets.vega_versions()
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    has_routes = data.top.height > 0
    blob = _assets.script_json(_blob(table, data, money))
    routes_html = (
        _routes_table(data, links=True, money=money)
        if has_routes
        else '<p class="rr-empty">The scan found no route to show.</p>'
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rerouting {escape(__version__)}">
<title>Rerouting report: {escape(title)}</title>
<style>{_assets.css()}</style>
</head>
<body>
<main>
<header class="rr-top">
<h1>Rerouting report</h1>
<p class="rr-sub">{escape(title)} · {data.n_routes:,} routes scored, top {data.top.height}
shown · generated {escape(generated)} by rerouting {escape(__version__)}</p>
<nav class="rr-toc"><a href="#summary">Summary</a><a href="#routes">Top routes</a>
<a href="#flows">Excess flows</a><a href="#details">Route details</a>
<a href="#method">Method &amp; sources</a></nav>
</header>
<p class="rr-caveat">Scores rank routes whose legs move the way rerouting does. They are
leads for investigation and upper bounds, not estimates of evasion: trade statistics cannot
tell re-exported goods from a hub's own production.</p>
{_warnings(table, data)}
<section id="summary"><h2>Summary</h2>
<div class="rr-grid">
<div><h3>Scenario</h3>{_scenario_facts(sc, data, money)}</div>
<div><h3>Data coverage</h3>{_coverage(table, data)}</div>
<div><h3>Rows read</h3>{_ingest(table.ingest, table.notes)}</div>
</div></section>
<section id="routes"><h2>Top routes</h2>
<p class="rr-note">Click a column heading to sort; click a route for its charts.</p>
<div class="rr-scroll">{routes_html}</div></section>
<section id="flows"><h2>Excess flows</h2>
{sankey}
<p class="rr-note">Band width: excess per {per} over the baseline, in {escape(money)} —
{escape(data.excess_source)} — summed over the top {data.top.height} routes; legs that
fell are left out.
The bands into a hub and out of it need not match: that gap is part of the evidence.</p>
</section>
<section id="details"><h2>Route details</h2>
<p class="rr-note">Lines: origin → hub (blue), hub → destination (red), direct origin →
destination (grey, dashed). Shaded: baseline window. Dashed rule: the event. Hover a point for
its numbers and provenance.</p>
{_route_sections(data, money, per)}</section>
<section id="method"><h2>Method, sources and provenance</h2>
{_method(table, data, money)}</section>
<footer>Made with rerouting {escape(__version__)}. Charts: Vega {escape(versions.get("vega", ""))},
Vega-Lite {escape(_charts.vl_version())} and vega-embed {escape(versions.get("vega-embed", ""))}
(BSD-3-Clause), embedded so the file works offline.</footer>
</main>
<script type="application/json" id="rr-data">{blob}</script>
<script>{_assets.vega_bundle(_charts.vl_version())}</script>
<script>{_assets.page_script()}</script>
</body>
</html>
"""


def write_html(table: RouteTable, path: str | Path, *, top: int = 20) -> Path:
    """Write the offline HTML report of ``table`` to ``path``.

    One self-contained file (styles, scripts, chart library and data inlined; no
    network needed): the scenario and data coverage, a sortable table of the top
    routes, a Sankey of the excess flows, and for each route monthly charts of its
    three legs (value, kg, unit value) with the event marked and its score
    contributions; then the method, sources and provenance.

    Args:
        table: The result of :func:`rerouting.scan`.
        path: Where to write the ``.html`` file.
        top: How many of the best-ranked routes get a section with charts.

    Returns:
        The path written.

    Raises:
        ConfigError: ``top`` is not positive, or the file cannot be written.
    """
    if top < 1:
        raise ConfigError("top must be at least 1", column="top", value=top)
    p = Path(path)
    page = render_html(table, top=top)
    try:
        with atomic_path(p) as tmp:
            tmp.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the report: {exc.strerror or exc}",
            file=str(p),
            hint="check that the folder exists and is writable",
        ) from None
    return p


def repr_html(table: RouteTable, *, top: int = 10) -> str:
    """A compact HTML view for notebooks: scenario, the Sankey and the top routes.

    Needs no JavaScript (notebooks may not run it); every data string is escaped.
    """
    data = prepare(table, top)
    sc = table.scenario
    money = money_of(table)
    sankey = sankey_svg(
        data.links,
        label=country_name,
        fmt=lambda v: f"{fmt_amount(v)}/{_abbrev(period_of(table))}",
        width=720,
        height=max(140, min(320, 40 * data.links.height)),
        caption="Excess flows: origin → hubs → destination",
    )
    routes = (
        _routes_table(data, links=False, money=money)
        if data.top.height
        else "<p><i>No routes.</i></p>"
    )
    style = (
        "<style>.rr-repr table{border-collapse:collapse;font-size:12px}"
        ".rr-repr th,.rr-repr td{padding:3px 6px;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:top}.rr-repr td.num{text-align:right;white-space:nowrap}"
        ".rr-repr th,.rr-repr .rr-nowrap{white-space:nowrap}"
        ".rr-repr .rr-chip{display:inline-block;white-space:nowrap;background:#e8eef7;"
        "border-radius:6px;padding:0 5px;margin:1px 2px 1px 0;font-size:11px}"
        ".rr-repr .rr-bar{display:inline-block;height:7px;"
        "background:#3b6fb6;margin-left:4px}.rr-repr svg{max-width:720px;font-size:11px}"
        ".rr-repr .rr-node{font-weight:600}.rr-repr .rr-node-value,.rr-repr .rr-col{fill:#666}"
        "</style>"
    )
    return (
        f'<div class="rr-repr">{style}<p><b>RouteTable</b>: {escape(_title(sc))}; '
        f"{data.n_routes:,} routes, top {data.top.height} shown (scorer "
        f"{escape(sc.scorer)}). Full report: <code>.to_html(path)</code>.</p>"
        f"{routes}<details><summary>Excess flows</summary>{sankey}</details></div>"
    )
