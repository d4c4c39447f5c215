"""Everything the report shows, computed from a ``RouteTable`` with polars.

The HTML and chart modules only format what is prepared here, so all numbers in
the report come from one vectorised pass over the routes and legs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from rerouting._exceptions import InputError
from rerouting._hs import hs_description
from rerouting.schema import LEG_NAMES, ROUTE_KEY

if TYPE_CHECKING:
    from rerouting._result import RouteTable

__all__ = ["ReportData", "country_name", "jsonable", "prepare", "provenance_shares"]

#: Vintages whose descriptions label codes the table leaves undescribed, in order.
HS_VINTAGES: Final = ("HS2017", "HS2022", "HS2012")


@dataclass(frozen=True)
class ReportData:
    """The top routes and their legs, with a route id ``rid`` (0-based, by rank).

    Attributes:
        top: Top routes sorted by rank, with ``rid`` and ``description`` columns.
        legs: Monthly legs of the top routes with ``rid``; ``leg`` as a string.
        leg_stats: One row per ``rid`` × ``leg``: baseline and post monthly means of
            value and kg, unit values, months with data and provenance.
        links: Sankey links ``source``, ``target``, ``stage`` (``origin_hub`` or
            ``hub_destination``), ``value`` (monthly excess over baseline, > 0).
        excess_source: Where the link values come from (a sentence).
        contrib: Score contributions of the top routes: ``rid``, ``feature``, ``contrib``.
        baseline: Inclusive baseline window (first days of months).
        post: Inclusive post-event window.
        n_routes: Routes in the whole table.
        months: First month, last month and number of months in all legs.
    """

    top: pl.DataFrame
    legs: pl.DataFrame
    leg_stats: pl.DataFrame
    links: pl.DataFrame
    excess_source: str
    contrib: pl.DataFrame
    baseline: tuple[dt.date, dt.date]
    post: tuple[dt.date, dt.date]
    n_routes: int
    months: tuple[dt.date | None, dt.date | None, int]


def _windows(table: RouteTable) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """The windows the scan ran on (never re-derived: annual data has its own grid)."""
    if table.resolved is None:
        raise InputError(
            "this RouteTable carries no resolved scan (windows, sides, currency)",
            hint="build route tables with rerouting.scan(...)",
        )
    w = table.resolved.windows
    return w.baseline, w.post


def _top_routes(table: RouteTable, top: int) -> pl.DataFrame:
    routes = table.routes
    if "rank" in routes.columns:
        routes = routes.sort("rank", nulls_last=True)
    routes = routes.head(max(top, 0)).with_row_index("rid")
    routes = routes.with_columns(pl.col("rid").cast(pl.Int64))
    if "description" not in routes.columns:
        if table.descriptions is not None and {"hs", "description"} <= set(
            table.descriptions.columns
        ):
            desc = table.descriptions.select(
                pl.col("hs").cast(pl.String), pl.col("description").cast(pl.String)
            ).unique("hs", keep="first")
            routes = routes.join(desc, on="hs", how="left", maintain_order="left")
        else:
            routes = routes.with_columns(description=pl.lit(None, dtype=pl.String))
    # Codes the table does not describe get the HS nomenclature's text.
    return routes.with_columns(
        pl.coalesce(
            pl.col("description").cast(pl.String),
            *(hs_description(pl.col("hs").cast(pl.String), v) for v in HS_VINTAGES),
        ).alias("description")
    )


def _top_legs(table: RouteTable, top: pl.DataFrame) -> pl.DataFrame:
    """Legs of the top routes; a ``direct`` leg without a hub belongs to every hub."""
    ids = top.select(*ROUTE_KEY, "rid")
    legs = table.legs.with_columns(
        pl.col("leg").cast(pl.String),
        *(pl.col(c).cast(pl.String) for c in ROUTE_KEY),
        pl.col("value").cast(pl.Float64),
        pl.col("kg").cast(pl.Float64),
        pl.col("provenance").cast(pl.String),
    )
    keyed = legs.filter(pl.col("hub").is_not_null()).join(ids, on=list(ROUTE_KEY), how="inner")
    shared = (
        legs.filter(pl.col("hub").is_null())
        .drop("hub")
        .join(ids, on=["origin", "destination", "hs"], how="inner")
    )
    cols = ["rid", "leg", "period", "value", "kg", "provenance"]
    return (
        pl.concat([keyed.select(cols), shared.select(cols)])
        .with_columns(
            pl.col("value").fill_nan(None),
            pl.col("kg").fill_nan(None),
        )
        .sort(
            "rid",
            pl.col("leg").replace_strict(list(LEG_NAMES), [0, 1, 2], default=3),
            "period",
        )
    )


def _leg_stats(
    legs: pl.DataFrame, baseline: tuple[dt.date, dt.date], post: tuple[dt.date, dt.date]
) -> pl.DataFrame:
    in_base = pl.col("period").is_between(*baseline)
    in_post = pl.col("period").is_between(*post)
    has_kg = pl.col("kg") > 0

    def uv(window: pl.Expr) -> pl.Expr:
        mask = window & has_kg & pl.col("value").is_not_null()
        kg = pl.col("kg").filter(mask).sum()
        return pl.when(kg > 0).then(pl.col("value").filter(mask).sum() / kg)

    return (
        legs.group_by("rid", "leg")
        .agg(
            base_value=pl.col("value").filter(in_base).mean(),
            post_value=pl.col("value").filter(in_post).mean(),
            base_kg=pl.col("kg").filter(in_base).mean(),
            post_kg=pl.col("kg").filter(in_post).mean(),
            base_uv=uv(in_base),
            post_uv=uv(in_post),
            months=pl.col("value").is_not_null().sum(),
        )
        .with_columns(
            change=pl.when(pl.col("base_value") > 0).then(
                pl.col("post_value") / pl.col("base_value") - 1
            ),
        )
        .join(provenance_shares(legs, ["rid", "leg"], top=2), on=["rid", "leg"], how="left")
        .sort("rid", pl.col("leg").replace_strict(list(LEG_NAMES), [0, 1, 2], default=3))
    )


def provenance_shares(legs: pl.DataFrame, by: list[str], *, top: int = 3) -> pl.DataFrame:
    """Per group of ``by``: ``provenance`` as ``"both 76% · none 24%"`` (largest first).

    Shares are of leg-months; ``importer_only`` reads ``importer only``.
    """
    label = pl.col("provenance").cast(pl.String).fill_null("unknown").str.replace_all("_", " ")
    counts = legs.group_by(*by, label.alias("provenance")).len()
    share = (pl.col("len") * 100 / pl.col("len").sum().over(by)).round(0).cast(pl.Int64)
    return (
        counts.with_columns(share=share)
        .sort([*by, "len", "provenance"], descending=[*([False] * len(by)), True, False])
        .group_by(by, maintain_order=True)
        .agg(pl.format("{} {}%", "provenance", "share").head(top).str.join(" · "))
    )


def _links(top: pl.DataFrame, stats: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Monthly excess over baseline per leg of each top route, summed into Sankey links."""
    cols = top.columns
    if {"oh_excess_value", "hd_excess_value"} <= set(cols) and (
        top.select(pl.col("oh_excess_value").is_not_null().any()).item()
    ):
        per_route = top.select(
            "rid",
            "origin",
            "hub",
            "destination",
            oh=pl.col("oh_excess_value").cast(pl.Float64).fill_nan(None),
            hd=pl.col("hd_excess_value").cast(pl.Float64).fill_nan(None),
        )
        source = "the scan's robust estimate (features oh_excess_value, hd_excess_value)"
    else:
        diff = stats.with_columns(
            excess=pl.col("post_value").fill_null(0) - pl.col("base_value").fill_null(0)
        ).pivot(on="leg", index="rid", values="excess")
        for leg in LEG_NAMES:
            if leg not in diff.columns:
                diff = diff.with_columns(pl.lit(None, dtype=pl.Float64).alias(leg))
        per_route = top.select("rid", "origin", "hub", "destination").join(
            diff.select("rid", oh="origin_hub", hd="hub_destination"), on="rid", how="left"
        )
        source = "mean monthly value after the event minus the baseline mean"
    oh = per_route.group_by(source="origin", target="hub").agg(
        value=pl.col("oh").clip(lower_bound=0).sum()
    )
    hd = per_route.group_by(source="hub", target="destination").agg(
        value=pl.col("hd").clip(lower_bound=0).sum()
    )
    links = pl.concat(
        [
            oh.with_columns(stage=pl.lit("origin_hub")),
            hd.with_columns(stage=pl.lit("hub_destination")),
        ]
    ).filter(pl.col("value") > 0)
    return links.select("source", "target", "stage", "value").sort(
        "stage", "value", "source", "target", descending=[True, True, False, False]
    ), source


def _contrib(top: pl.DataFrame) -> pl.DataFrame:
    names = [c for c in top.columns if c.startswith("contrib_")]
    if not names:
        return pl.DataFrame(schema={"rid": pl.Int64, "feature": pl.String, "contrib": pl.Float64})
    return (
        top.select("rid", *(pl.col(c).cast(pl.Float64) for c in names))
        .unpivot(index="rid", variable_name="feature", value_name="contrib")
        .with_columns(
            pl.col("feature").str.strip_prefix("contrib_"),
            pl.col("contrib").fill_nan(None),
        )
        .drop_nulls("contrib")
        .sort("rid", "feature")
    )


def prepare(table: RouteTable, top: int) -> ReportData:
    """Select the ``top`` routes of ``table`` and compute what the report shows."""
    top_routes = _top_routes(table, top)
    period = table.legs.get_column("period")
    first = period.min() if period.len() else None
    last = period.max() if period.len() else None
    first_d = first if isinstance(first, dt.date) else None
    last_d = last if isinstance(last, dt.date) else None
    baseline, post = _windows(table)
    legs = _top_legs(table, top_routes)
    stats = _leg_stats(legs, baseline, post)
    links, source = _links(top_routes, stats)
    return ReportData(
        top=top_routes,
        legs=legs,
        leg_stats=stats,
        links=links,
        excess_source=source,
        contrib=_contrib(top_routes),
        baseline=baseline,
        post=post,
        n_routes=table.routes.height,
        months=(first_d, last_d, period.n_unique()),
    )


@cache
def country_name(code: str) -> str:
    """A readable name for an ISO3 code (the code itself for blocs and unknowns)."""
    import pycountry

    if len(code) != 3 or not code.isalpha():
        return code
    country = pycountry.countries.get(alpha_3=code.upper())
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def jsonable(obj: Any) -> Any:
    """``obj`` with NaN/inf as ``None`` and dates as ISO strings, ready for ``json.dumps``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj
