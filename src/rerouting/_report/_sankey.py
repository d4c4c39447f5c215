"""A three-column Sankey diagram (origin → hubs → destination) as inline SVG.

Vega-Lite has no Sankey, and this one needs no script at all, so it also shows in
notebooks that do not run JavaScript. Every label is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Final

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["sankey_svg"]

_PALETTE: Final = (
    "#3b6fb6",
    "#d9822b",
    "#4f9d69",
    "#b9527f",
    "#7b63b8",
    "#c9a227",
    "#3a9fb0",
    "#a0563a",
    "#6b7d3a",
    "#5a6f8f",
)
_MAX_NODES: Final = 14  # per column; the rest are merged into "other"


@dataclass
class _Node:
    name: str
    col: int
    value_in: float = 0.0
    value_out: float = 0.0
    y: float = 0.0
    h: float = 0.0
    out_off: float = 0.0
    in_off: float = 0.0
    color: str = "#8c8c8c"
    links: list[int] = field(default_factory=list)

    @property
    def value(self) -> float:
        return max(self.value_in, self.value_out)


@dataclass
class _Band:
    source: _Node
    target: _Node
    w: float
    y0: float
    color: str
    tip: str


def _merge_small(links: pl.DataFrame) -> pl.DataFrame:
    """Keep the largest nodes of each column and merge the rest into ``other …``."""
    out = links
    for col, label in (("source", "other origins"), ("target", "other destinations")):
        for stage in ("origin_hub", "hub_destination"):
            is_hub = (col == "target") == (stage == "origin_hub")
            part = out.filter(pl.col("stage") == stage)
            totals = part.group_by(col).agg(pl.col("value").sum()).sort("value", descending=True)
            if totals.height <= _MAX_NODES:
                continue
            keep = totals.head(_MAX_NODES - 1).get_column(col)
            name = "other hubs" if is_hub else label
            out = out.with_columns(
                pl.when((pl.col("stage") == stage) & ~pl.col(col).is_in(keep.implode()))
                .then(pl.lit(name))
                .otherwise(pl.col(col))
                .alias(col)
            )
    # A hub merged on one side must be merged on the other side too.
    hubs_oh = set(out.filter(pl.col("stage") == "origin_hub").get_column("target"))
    hubs_hd = set(out.filter(pl.col("stage") == "hub_destination").get_column("source"))
    if "other hubs" in hubs_oh | hubs_hd:
        merged = (hubs_oh ^ hubs_hd) - {"other hubs"}
        out = out.with_columns(
            pl.when((pl.col("stage") == "origin_hub") & pl.col("target").is_in(list(merged)))
            .then(pl.lit("other hubs"))
            .otherwise(pl.col("target"))
            .alias("target"),
            pl.when((pl.col("stage") == "hub_destination") & pl.col("source").is_in(list(merged)))
            .then(pl.lit("other hubs"))
            .otherwise(pl.col("source"))
            .alias("source"),
        )
    return out.group_by("source", "target", "stage").agg(pl.col("value").sum())


def sankey_svg(
    links: pl.DataFrame,
    *,
    label: Callable[[str], str],
    fmt: Callable[[float], str],
    width: int = 820,
    height: int = 380,
    caption: str = "",
) -> str:
    """Draw ``links`` (source, target, stage, value > 0) as an SVG Sankey.

    Args:
        links: ``stage`` is ``origin_hub`` (origin → hub) or ``hub_destination``.
        label: Turns a node code into the text shown (e.g. a country name).
        fmt: Formats a link or node value.
        width: Width of the drawing in px (the SVG scales to its container).
        height: Height of the drawing area in px.
        caption: Accessible title of the figure.

    Returns:
        An ``<svg>`` element, or a short ``<p>`` when there is nothing to draw.
    """
    links = links.filter(pl.col("value").is_finite() & (pl.col("value") > 0))
    if links.is_empty():
        return '<p class="rr-empty">No leg of the top routes grew above its baseline.</p>'
    links = _merge_small(links)
    nodes: dict[tuple[int, str], _Node] = {}
    edges: list[tuple[_Node, _Node, float]] = []
    for source, target, stage, value in links.sort("value", descending=True).iter_rows():
        c0 = 0 if stage == "origin_hub" else 1
        a = nodes.setdefault((c0, source), _Node(source, c0))
        b = nodes.setdefault((c0 + 1, target), _Node(target, c0 + 1))
        a.value_out += value
        b.value_in += value
        edges.append((a, b, float(value)))

    columns = [
        # Largest first; the merged "other …" node goes last.
        sorted(
            (n for n in nodes.values() if n.col == c),
            key=lambda n: (n.name.startswith("other "), -n.value),
        )
        for c in range(3)
    ]
    for i, hub in enumerate(columns[1]):
        hub.color = _PALETTE[i % len(_PALETTE)]
    pad, top_margin, node_w = 14.0, 8.0, 14.0

    # Room for the outer labels ("name  value", ~7.5 px a character) beside the nodes.
    def room(col: list[_Node]) -> float:
        chars = max((len(label(n.name)) + len(fmt(n.value)) + 2 for n in col), default=0)
        return max(60.0, 7.5 * chars + 34)

    left, right = room(columns[0]), room(columns[2])
    usable = height - 2 * top_margin
    # Heights are proportional to value / largest value: px per raw value could
    # overflow to inf for tiny values (1e-320) and turn coordinates into NaN.
    biggest = max(n.value for n in nodes.values())
    fit = min(
        (usable - pad * (len(col) - 1)) / sum(n.value / biggest for n in col)
        for col in columns
        if col
    )

    def px(value: float) -> float:
        return value / biggest * fit

    xs = (left, (left + width - right) / 2, width - right)
    for col in columns:
        total_h = sum(px(n.value) for n in col) + pad * (len(col) - 1)
        y = top_margin + (usable - total_h) / 2
        for n in col:
            n.h = max(px(n.value), 1.0)
            n.y = y
            y += n.h + pad

    # Stack bands in the order of the node they connect to, so they do not cross needlessly.
    edges.sort(key=lambda e: (e[0].col, e[0].y, e[1].y))
    bands: list[_Band] = []
    for a, b, value in edges:
        w = max(px(value), 0.8)
        y0 = a.y + a.out_off + w / 2
        a.out_off += w
        hub = a if a.col == 1 else b
        tip = f"{label(a.name)} → {label(b.name)}: {fmt(value)}"
        bands.append(_Band(a, b, w, y0, hub.color, tip))
    svg_paths = []
    for band in sorted(bands, key=lambda k: (k.target.col, k.target.y, k.y0)):
        b = band.target
        y1 = b.y + b.in_off + band.w / 2
        b.in_off += band.w
        x0, x1 = xs[band.source.col] + node_w, xs[b.col]
        xm = (x0 + x1) / 2
        d = f"M{x0:.1f},{band.y0:.1f} C{xm:.1f},{band.y0:.1f} {xm:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
        svg_paths.append(
            f'<path class="rr-band" d="{d}" stroke="{band.color}" stroke-width="{band.w:.2f}" '
            f'fill="none" stroke-opacity="0.42"><title>{escape(band.tip)}</title></path>'
        )

    rects = []
    for col in columns:
        for n in col:
            x = xs[n.col]
            name = label(n.name)
            tip = f"{name}: in {fmt(n.value_in)}, out {fmt(n.value_out)}"
            rects.append(
                f'<rect x="{x:.1f}" y="{n.y:.1f}" width="{node_w:.0f}" height="{n.h:.1f}" '
                f'fill="{n.color if n.col == 1 else "#555"}"><title>{escape(tip)}</title></rect>'
            )
            if n.col == 0:
                tx, anchor = x - 6, "end"
            else:
                tx, anchor = x + node_w + 6, "start"
            rects.append(
                f'<text x="{tx:.1f}" y="{n.y + n.h / 2:.1f}" text-anchor="{anchor}" '
                f'dominant-baseline="middle"><tspan class="rr-node">{escape(name)}</tspan>'
                f'<tspan class="rr-node-value" dx="6">{escape(fmt(n.value))}</tspan></text>'
            )
    heads = (
        f'<text class="rr-col" x="{xs[0] + node_w:.1f}" y="{height + 14}" text-anchor="end">'
        "origin</text>"
        f'<text class="rr-col" x="{xs[1] + node_w / 2:.1f}" y="{height + 14}" '
        'text-anchor="middle">hubs</text>'
        f'<text class="rr-col" x="{xs[2]:.1f}" y="{height + 14}">destination</text>'
    )
    return (
        f'<svg class="rr-sankey" viewBox="0 0 {width} {height + 20}" role="img" '
        f'aria-label="{escape(caption)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(caption)}</title>" + "".join(svg_paths) + "".join(rects) + heads + "</svg>"
    )
