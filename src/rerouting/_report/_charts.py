"""Vega-Lite chart templates, built once per report with altair.

Every route uses the same two templates; the page script fills in the route's
data and labels. Strings starting with ``$rr:`` are placeholders that
``report.js`` replaces (``$rr:legDomain`` → the three leg labels of the route).
The data itself never goes into a spec, so 50 routes share one data blob.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

import altair as alt

if TYPE_CHECKING:
    import datetime as dt

__all__ = ["LEG_COLORS", "contrib_template", "legs_template", "vl_version"]

#: origin → hub, hub → destination, direct (origin → destination).
LEG_COLORS: Final = ("#3b6fb6", "#d9534f", "#8c8c8c")
_DASH: Final = ([1, 0], [1, 0], [5, 3])
_DUMMY_DOMAIN: Final = ["__leg_oh__", "__leg_hd__", "__leg_direct__"]
LEG_DOMAIN: Final = "$rr:legDomain"
#: Placeholders of the unit-value panel: its y scale (clipped or not) and its title.
UV_SCALE: Final = "$rr:uvScale"
UV_TITLE: Final = "$rr:uvTitle"
#: Axis labels: 0 as "0" (not "0M"), billions as "bn" (not "G"), each label on its own.
_SI_LABEL: Final = (
    "datum.value === 0 ? '0' : replace(replace(format(datum.value, '~s'), 'G', 'bn'), 'µ', 'u')"
)
FONT: Final = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def vl_version() -> str:
    """``major.minor`` of the Vega-Lite schema altair writes (e.g. ``6.4``)."""
    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def _substitute(node: Any, old: Any, new: Any) -> Any:
    if node == old:
        return new
    if isinstance(node, dict):
        return {k: _substitute(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, old, new) for v in node]
    return node


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return cast(
        "alt.TopLevelMixin",
        chart.configure(font=FONT)
        .configure_axis(labelFontSize=11, titleFontSize=11, titleFontWeight="normal", grid=True)
        .configure_legend(labelFontSize=12, symbolStrokeWidth=2.5, labelLimit=320)
        .configure_title(fontSize=13, anchor="start", fontWeight=600)
        .configure_view(stroke=None),
    )


def legs_template(
    event: dt.date,
    baseline: tuple[dt.date, dt.date],
    post: tuple[dt.date, dt.date],
    money: str,
    per: str = "month",
) -> dict[str, Any]:
    """Three panels (value, kg, unit value) of the three legs, with the event marked.

    Reads the named dataset ``legs`` with fields ``period`` (ISO date), ``label``,
    ``value``, ``kg``, ``uv`` and ``provenance``. The unit-value panel's scale and
    title are the placeholders :data:`UV_SCALE` and :data:`UV_TITLE`: the page script
    clips a route's axis where a few points would flatten it, and says so in the title.
    """
    x = alt.X("period:T", timeUnit="utcyearmonth", title=None, axis=alt.Axis(tickCount=6))
    # Same legend for colour and dash, so Vega-Lite merges them into one.
    legend = alt.Legend(title=None, orient="top", direction="horizontal", symbolSize=120)
    color = alt.Color(
        "label:N",
        scale=alt.Scale(domain=_DUMMY_DOMAIN, range=list(LEG_COLORS)),
        legend=legend,
    )
    dash = alt.StrokeDash(
        "label:N",
        scale=alt.Scale(domain=_DUMMY_DOMAIN, range=[list(d) for d in _DASH]),
        legend=legend,
    )
    tooltip = [
        alt.Tooltip("period:T", timeUnit="utcyearmonth", title="month", format="%b %Y"),
        alt.Tooltip("label:N", title="leg"),
        alt.Tooltip("value:Q", title=f"value ({money})", format=",.0f"),
        alt.Tooltip("kg:Q", title="net weight (kg)", format=",.0f"),
        alt.Tooltip("uv:Q", title=f"unit value ({money}/kg)", format=",.3~f"),
        alt.Tooltip("provenance:N"),
    ]
    windows = alt.InlineData(
        values=[
            {"start": baseline[0].isoformat(), "end": baseline[1].isoformat(), "w": "baseline"},
        ]
    )
    marks = alt.InlineData(values=[{"period": event.isoformat(), "text": f"event {event:%b %Y}"}])
    shade = (
        alt.Chart(windows)
        .mark_rect(color="#8c8c8c", opacity=0.1)
        .encode(
            x=alt.X("start:T", timeUnit="utcyearmonth"),
            x2=alt.X2("end:T", timeUnit="utcyearmonth"),
        )
    )
    rule = (
        alt.Chart(marks)
        .mark_rule(color="#222", strokeDash=[4, 3], strokeWidth=1.5)
        .encode(x=alt.X("period:T", timeUnit="utcyearmonth"))
    )
    text = (
        alt.Chart(marks)
        .mark_text(align="left", dx=4, dy=6, baseline="top", fontSize=10, color="#222")
        .encode(x=alt.X("period:T", timeUnit="utcyearmonth"), y=alt.value(0), text="text:N")
    )

    def panel(field: str, title: str, fmt: str) -> alt.LayerChart:
        axis = alt.Axis(labelExpr=_SI_LABEL) if fmt == "~s" else alt.Axis(format=fmt)
        line = (
            alt.Chart(alt.NamedData(name="legs"))
            .mark_line(point=alt.OverlayMarkDef(size=14, filled=True), strokeWidth=1.8)
            .encode(
                x=x,
                y=alt.Y(f"{field}:Q", title=None, axis=axis),
                color=color,
                strokeDash=dash,
                tooltip=tooltip,
            )
        )
        layer = alt.layer(shade, rule, text, line).properties(title=title, width=250, height=170)
        return cast("alt.LayerChart", layer)

    chart = alt.hconcat(
        panel("value", f"Value per {per} ({money})", "~s"),
        panel("kg", f"Net weight per {per} (kg)", "~s"),
        panel("uv", f"Unit value ({money} per kg)", "~r"),
        spacing=24,
    ).resolve_scale(color="shared", strokeDash="shared")
    spec: dict[str, Any] = _config(chart).to_dict()
    uv_panel = spec["hconcat"][2]
    uv_panel["title"] = UV_TITLE
    uv_line = uv_panel["layer"][-1]
    uv_line["encoding"]["y"]["scale"] = UV_SCALE
    uv_line["mark"]["clip"] = True
    spec["description"] = (
        f"Monthly legs; shaded: baseline {baseline[0]:%Y-%m} to {baseline[1]:%Y-%m}; "
        f"dashed line: event {event:%Y-%m}; post window {post[0]:%Y-%m} to {post[1]:%Y-%m}"
    )
    return dict(_substitute(spec, _DUMMY_DOMAIN, LEG_DOMAIN))


def contrib_template(descriptions: dict[str, str]) -> dict[str, Any]:
    """Horizontal bars of one route's score contributions (named dataset ``contrib``).

    Reads fields ``feature`` and ``contrib``; ``descriptions`` maps feature names to
    the one-line meaning shown in the tooltip.
    """
    names = sorted(descriptions)
    chart = (
        alt.Chart(alt.NamedData(name="contrib"))
        .transform_lookup(
            lookup="feature",
            from_=alt.LookupData(
                data=alt.InlineData(
                    values=[{"feature": k, "meaning": descriptions[k]} for k in names]
                ),
                key="feature",
                fields=["meaning"],
            ),
        )
        .transform_calculate(sign="datum.contrib >= 0 ? 'raises' : 'lowers'")
        .mark_bar(cornerRadiusEnd=2, height={"band": 0.75})
        .encode(
            y=alt.Y("feature:N", sort="-x", title=None, axis=alt.Axis(labelLimit=160)),
            x=alt.X("contrib:Q", title="contribution to the evidence score"),
            color=alt.Color(
                "sign:N",
                scale=alt.Scale(domain=["raises", "lowers"], range=["#d9822b", "#3b6fb6"]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("feature:N"),
                alt.Tooltip("contrib:Q", format="+.3f", title="contribution"),
                alt.Tooltip("meaning:N"),
            ],
        )
        .properties(title="What makes the score", width=220, height={"step": 16})
    )
    return dict(_config(chart).to_dict())
