"""Randomised evaluation worlds for the detector, with frozen held-out seeds (issue 13).

:func:`random_world` draws a :func:`rerouting.synthetic.make_world` world with
randomised arguments and then applies record-level mechanisms of real trade statistics,
each drawn per world from a wide range taken from descriptions of real data
(``docs/detection.md``, "Randomised evaluation"). The mechanisms were written before any
detector change was made against them.

Seeds in :data:`HELDOUT_SEEDS` are for measuring only: never tune on them. Develop on
:data:`DEV_SEEDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from rerouting._blocs import resolve_countries
from rerouting.schema import ROUTE_KEY
from rerouting.synthetic import World, make_world

if TYPE_CHECKING:
    from rerouting._result import RouteTable

__all__ = [
    "DEV_SEEDS",
    "HELDOUT_SEEDS",
    "PROBE_SEEDS",
    "ablation",
    "evaluate",
    "evaluate_routes",
    "labelled_truth",
    "random_world",
    "verdict",
]

#: Frozen before any detector change of issue 13. Measure on these, never tune on them.
#: 900_000-900_099 were frozen in 1f16269; 900_100-900_199 were added before the fourth
#: round of detector changes, when 900_000-900_079 had been measured (docs/detection.md).
#: 900_200-900_299 were added before the eighth round was measured, when all of
#: 900_000-900_199 had been; 900_300-900_399 before the ninth, when 900_200-900_279 had;
#: 900_400-900_499 before the tenth, when 900_200-900_279 and 900_300-900_379 had.
HELDOUT_SEEDS: range = range(900_000, 900_500)
#: Seeds to look at while developing.
DEV_SEEDS: range = range(100_000, 100_100)
#: Seeds of the artefact probe (``random_world(..., probe=True)``): measured once per
#: detector, never tuned on; the probe family is not the family the detector was fitted on.
#: 700_100-700_199 were added with the held-out seeds 900_200-900_299, 700_200-700_299
#: with 900_300-900_399, 700_300-700_399 with 900_400-900_499.
PROBE_SEEDS: range = range(700_000, 700_400)

Direction = Literal["import-ban", "export-control"]


@dataclass(frozen=True)
class Mechanisms:
    """The record-level mechanisms drawn for one world."""

    noise_sd: tuple[float, float]  # range of per-reporter log sd of value and kg
    skip_max: float  # per-reporter share of skipped months drawn from U(0, skip_max)
    destination_silent: bool  # destination files nothing from the event on
    origin_silent: bool  # origin files nothing from the event on
    declared_share: float  # route hubs declare this share of their exports to the destination
    cif_fob: float  # importers report FOB x (1 + cif_fob) instead of the generator's margin
    annual: bool  # the world is aggregated to calendar years
    max_lag: int  # routes' hub→destination legs lag their inflow by 0..max_lag months
    max_ramp: int  # routes reach full size over 1..max_ramp months
    own_trade_max: float  # route hubs' own exports: U(0, own_trade_max) × the route's flow
    merge_route: bool  # one route's code is an HS2017 code that HS2022 merged into another


def _draw(rng: np.random.Generator) -> tuple[dict[str, Any], Mechanisms]:
    world_args: dict[str, Any] = {
        "n_products": int(rng.integers(26, 36)),
        "n_other_countries": int(rng.integers(3, 7)),
        "eu_members": int(rng.integers(3, 7)),
        "n_routes": int(rng.integers(5, 10)),
        "diversion": float(rng.uniform(0.0, 0.6)),
    }
    later = np.random.default_rng(rng.integers(2**63))  # keeps the earlier draws as they were
    mech = Mechanisms(
        noise_sd=(0.02, float(rng.uniform(0.02, 0.30))),
        skip_max=float(rng.uniform(0.0, 0.40)),
        destination_silent=bool(rng.random() < 0.4),
        origin_silent=bool(rng.random() < 0.4),
        declared_share=float(rng.uniform(0.1, 1.0)),
        cif_fob=float(rng.uniform(0.0, 0.15)),
        annual=bool(rng.random() < 0.2),
        max_lag=int(later.integers(0, 5)),
        max_ramp=int(later.integers(1, 13)),
        own_trade_max=float(later.uniform(0.0, 20.0)),
        merge_route=bool(later.random() < 0.5),
    )
    world_args["max_lag"] = mech.max_lag
    world_args["max_ramp"] = mech.max_ramp
    return world_args, mech


def random_world(
    seed: int, direction: Direction = "import-ban", *, probe: bool = False
) -> tuple[World, Mechanisms]:
    """A randomised world and the mechanisms drawn for it; reproducible from ``seed``.

    ``probe=True`` removes two regularities of the family that mark planted routes and
    that no real statistic promises: under-declaration then applies to *every* non-side
    reporter's exports to the destination (not only route hubs'), and as many non-route
    hub legs as route legs carry own trade of the same kind. It measures how far a
    detector fitted on the family leans on them (docs/detection.md, "artefact probe");
    never fit or tune on it.
    """
    rng = np.random.default_rng([seed, 0 if direction == "import-ban" else 1])
    world_args, mech = _draw(rng)
    world = make_world(seed, direction=direction, **world_args)
    world = _own_trade(world, mech, rng, decoy_legs=probe)
    if mech.merge_route:
        world = _merge_route(world, rng)
    trade = _apply(world, mech, rng, every_hub_declares=probe)
    return replace(world, trade=trade), mech


_ROW_KEY = ["period", "frequency", "reporter", "partner", "flow", "hs", "currency",
            "hs_vintage", "source", "quantity_unit"]  # fmt: skip


def _sum_rows(trade: pl.DataFrame, extra: pl.DataFrame) -> pl.DataFrame:
    """``trade`` plus ``extra``, rows with the same key summed (one record per key)."""
    both = pl.concat([trade, extra.select(trade.columns).cast(dict(trade.schema))])  # type: ignore[arg-type]
    return (
        both.group_by(_ROW_KEY, maintain_order=True)
        .agg(pl.col("value").sum(), pl.col("net_weight_kg").sum(), pl.col("quantity").sum())
        .select(trade.columns)
    )


def _own_trade(
    world: World, mech: Mechanisms, rng: np.random.Generator, *, decoy_legs: bool = False
) -> World:
    """Route hubs also sell their own output of the routed product to the destination.

    Real hubs are producers too (Kazakh and Turkish steel, Chinese electronics): the
    rerouted flow can be a small part of the hub's exports of the product. Each route
    hub gets a steady own flow of ``k`` times the route's post-event flow to the
    destination's largest buyer, ``k ~ U(0, own_trade_max)``, in every month, reported
    by both sides, at the leg's own unit value.

    ``decoy_legs``: as many other (hub, product) legs to the destination, drawn at
    random, get the same kind of own flow, sized on their own baseline mean.
    """
    if mech.own_trade_max <= 0:
        return world
    t = world.trade
    event = world.scenario.event
    assert event is not None
    dest = _members(world, world.scenario.destination)
    months = sorted(t["period"].unique().to_list())
    extra = []
    legs = world.truth.filter(pl.col("kind") == "route").select("hub", "hs")
    if decoy_legs:
        sides = set(dest) | set(_members(world, world.scenario.origin))
        others = (
            t.filter(
                pl.col("reporter").is_in(dest)
                & ~pl.col("partner").is_in(sorted(sides))
                & (pl.col("flow") == "import")
            )
            .select(pl.col("partner").alias("hub"), "hs")
            .unique()
            .sort("hub", "hs")
            .join(legs, on=["hub", "hs"], how="anti")
        )
        pick = rng.permutation(others.height)[: legs.height]
        legs = pl.concat([legs, others[pick.tolist()]]).with_columns(
            route=pl.int_range(pl.len()) < legs.height
        )
    else:
        legs = legs.with_columns(route=pl.lit(True))
    for r in legs.iter_rows(named=True):
        leg = t.filter(
            (pl.col("reporter").is_in(dest)) & (pl.col("partner") == r["hub"])
            & (pl.col("flow") == "import") & (pl.col("hs") == r["hs"])
        )  # fmt: skip
        post = leg.filter(pl.col("period") >= event)
        base = leg.filter(pl.col("period") < event)
        n_post = sum(m >= event for m in months)
        n_base = len(months) - n_post
        if post.is_empty() or base.is_empty():
            continue  # no baseline, or a code HS2022 split (its post rows have other codes)
        flow = float(post["value"].sum()) / n_post - float(base["value"].sum()) / n_base
        if not r["route"]:  # a non-route leg: sized on its own baseline level
            flow = float(base["value"].sum()) / n_base
        kg = float(leg["net_weight_kg"].sum() or 0.0)
        if flow <= 0 or kg <= 0:
            continue
        uv = float(leg["value"].sum()) / kg
        buyer = base.group_by("reporter").agg(pl.col("value").sum()).sort("value")[-1, "reporter"]
        own = float(rng.uniform(0.0, mech.own_trade_max)) * flow / 1.06  # FOB
        noise = np.exp(rng.normal(0.0, 0.1, len(months)))
        for flow_name, reporter, partner, margin in (
            ("export", r["hub"], buyer, 1.0),
            ("import", buyer, r["hub"], 1.06),
        ):
            extra.append(
                pl.DataFrame(
                    {
                        "period": months,
                        "reporter": reporter,
                        "partner": partner,
                        "flow": flow_name,
                        "hs": r["hs"],
                        "value": own * margin * noise,
                        "net_weight_kg": own * noise / uv,
                        "hs_vintage": ["HS2017" if m.year < 2022 else "HS2022" for m in months],
                    }
                ).with_columns(
                    frequency=pl.lit("M"),
                    currency=pl.lit(t["currency"][0]),
                    quantity=pl.lit(None, pl.Float64),
                    quantity_unit=pl.lit(None, pl.String),
                    source=pl.lit(t["source"][0]),
                )
            )
    if not extra:
        return world
    return replace(world, trade=_sum_rows(t, pl.concat(extra)))


def _merge_pairs() -> list[tuple[str, str, str]]:
    """(deleted HS2017 code, HS2022 code holding its goods, HS2017 code that one maps to).

    HS2022 deleted some HS2017 codes and moved their goods into codes that the UN
    conversion table maps back to *another* HS2017 code: a merge (e.g. 620112 → 620130,
    which converts to 620192).
    """
    from rerouting import _hs

    conc = _hs.concordance("HS2017", "HS2022").filter(
        (pl.col("via") == "correlation") & (pl.col("n_new") == 1)
    )
    back = _hs.conversion_table("HS2022", "HS2017")
    pairs = conc.join(back, left_on="new_code", right_on="from_code").filter(
        pl.col("to_code") != pl.col("old_code")
    )
    return sorted(pairs.select("old_code", "new_code", "to_code").iter_rows())


def _merge_route(world: World, rng: np.random.Generator) -> World:
    """Move one single-hub route onto an HS2017 code that HS2022 merged into another.

    Before 2022 the route's goods are reported under the deleted code ``old``; from
    2022 under ``new``, which also holds the goods of ``sibling`` (the HS2017 code
    ``new`` converts back to). The sibling's trade is a copy of an unlisted control
    product's. The product list and the truth name ``old``.
    """
    t = world.trade
    truth = world.truth
    routes = truth.filter(pl.col("kind") == "route")
    single = sorted(routes.group_by("hs").len().filter(pl.col("len") == 1)["hs"].to_list())
    listed = set(world.scenario.products or ())
    used = set(truth["hs"].to_list()) | listed
    controls = sorted(set(t["hs"].unique().to_list()) - used)
    late_codes = set(t.filter(pl.col("period").dt.year() >= 2022)["hs"].unique().to_list())
    stable = [c for c in single if c in late_codes]  # not a code HS2022 split
    pairs = [p for p in _merge_pairs() if p[0] not in used and p[2] not in used]
    if not stable or not controls or not pairs:
        return world
    code = stable[int(rng.integers(len(stable)))]
    control = controls[int(rng.integers(len(controls)))]
    old, new, sibling = pairs[int(rng.integers(len(pairs)))]
    late = pl.col("period").dt.year() >= 2022
    moved = pl.when(late).then(pl.lit(new)).otherwise(pl.lit(old))
    t = t.with_columns(
        hs=pl.when(pl.col("hs") == code)
        .then(moved)
        .when(pl.col("hs") == control)
        .then(pl.when(late).then(pl.lit(new)).otherwise(pl.lit(sibling)))
        .otherwise(pl.col("hs"))
    )
    t = _sum_rows(t.clear(), t)
    products = tuple(sorted(old if c == code else c for c in listed))
    scenario = world.scenario.model_copy(update={"products": products})
    truth = truth.with_columns(
        hs=pl.when(pl.col("hs") == code).then(pl.lit(old)).otherwise(pl.col("hs")),
        note=pl.when(pl.col("hs") == code)
        .then(pl.col("note") + pl.lit(f"; HS2022 merged {old} into {new} (with {sibling})"))
        .otherwise(pl.col("note")),
    )
    return replace(world, trade=t, truth=truth, scenario=scenario)


def _members(world: World, sides: tuple[str, ...]) -> list[str]:
    event = world.scenario.event
    assert event is not None
    return sorted(resolve_countries(list(sides), event))


def _apply(
    world: World,
    mech: Mechanisms,
    rng: np.random.Generator,
    *,
    every_hub_declares: bool = False,
) -> pl.DataFrame:
    sc = world.scenario
    event = sc.event
    assert event is not None
    dest = _members(world, sc.destination)
    orig = _members(world, sc.origin)
    t = world.trade
    reporters = sorted(t["reporter"].unique().to_list())
    months = sorted(t["period"].unique().to_list())

    # Reporter noise: one log-normal factor per record, sd drawn per reporter.
    sd = pl.DataFrame({"reporter": reporters, "_sd": rng.uniform(*mech.noise_sd, len(reporters))})
    t = t.join(sd, on="reporter", how="left")
    z = rng.standard_normal(t.height)
    zk = rng.standard_normal(t.height)
    t = t.with_columns(
        pl.col("value") * (pl.col("_sd") * pl.Series(z)).exp(),
        pl.col("net_weight_kg") * (pl.col("_sd") * pl.Series(zk)).exp(),
    ).drop("_sd")

    # CIF/FOB: replace the generator's margin (~6%) by this world's.
    t = t.with_columns(
        pl.when(pl.col("flow") == "import")
        .then(pl.col("value") * (1 + mech.cif_fob) / 1.06)
        .otherwise(pl.col("value"))
        .alias("value")
    )

    # Under-declaration: route hubs declare a share of their exports to the destination.
    routes = world.truth.filter(pl.col("kind") == "route")
    hubs = routes["hub"].unique().to_list()
    if every_hub_declares:  # the probe: every non-side reporter under-declares
        hubs = [r for r in reporters if r not in dest and r not in orig]
    declared = (
        pl.col("reporter").is_in(hubs)
        & pl.col("partner").is_in(dest)
        & (pl.col("flow") == "export")
        & (pl.col("period") >= event)
    )
    t = t.with_columns(
        pl.when(declared).then(pl.col(c) * mech.declared_share).otherwise(pl.col(c)).alias(c)
        for c in ("value", "net_weight_kg")
    )

    # Silent sides after the event.
    silent = (dest if mech.destination_silent else []) + (orig if mech.origin_silent else [])
    t = t.filter(~(pl.col("reporter").is_in(silent) & (pl.col("period") >= event)))

    # Skipped months: a non-EU, non-side reporter files nothing in some months.
    skippers = [r for r in reporters if r not in dest and r not in orig]
    skip = [
        (r, m)
        for r in skippers
        for m in np.array(months)[rng.random(len(months)) < rng.uniform(0, mech.skip_max)]
    ]
    if skip:
        drop = pl.DataFrame(
            {"reporter": [r for r, _ in skip], "period": [m for _, m in skip]},
            schema={"reporter": pl.String, "period": pl.Date},
        )
        t = t.join(drop, on=["reporter", "period"], how="anti")

    if mech.annual:
        keys = [c for c in t.columns if c not in ("value", "net_weight_kg", "quantity", "period")]
        t = (
            t.with_columns(pl.col("period").dt.truncate("1y"))
            .group_by(["period", *keys], maintain_order=True)
            .agg(
                pl.col("value").sum(),
                pl.col("net_weight_kg").sum(),
                pl.col("quantity").sum(),
            )
            .with_columns(pl.lit("A").cast(t.schema["frequency"]).alias("frequency"))
            .select(t.columns)
        )
    return t.select(world.trade.columns).cast(dict(world.trade.schema))  # type: ignore[arg-type]


def evaluate(world: World, table: RouteTable, column: str = "score") -> dict[str, Any]:
    """Average precision of ``column`` (planted routes positive, every other route negative).

    A planted route the scan did not produce counts as a positive ranked last.

    Returns:
        ``ap``; ``decoys_in_top``, the labelled decoys among the top N routes
        (N = planted routes); ``lost``, the planted routes the scan did not produce.
    """
    return evaluate_routes(world, table.routes, column)


def labelled_truth(world: World) -> pl.DataFrame:
    """The world's truth as the scan keys it: one ``kind`` per route key.

    The scan reads a merge family under its representative code, so the truth is keyed
    the same way; where a route and a decoy share a family, the route wins.
    """
    from rerouting._hs import merge_families

    key = list(ROUTE_KEY)
    family = merge_families("HS2017", "HS2022")
    return (
        world.truth.with_columns(pl.col("hs").replace(list(family), list(family.values())))
        .sort("kind", descending=True)
        .select(*key, "kind")
        .unique(key, keep="first", maintain_order=True)
    )


def evaluate_routes(world: World, routes: pl.DataFrame, column: str = "score") -> dict[str, Any]:
    """:func:`evaluate` on a route frame (``RouteTable.routes`` or a re-scored copy)."""
    from sklearn.metrics import average_precision_score

    key = list(ROUTE_KEY)
    truth = labelled_truth(world)
    labelled = routes.join(truth, on=key, how="left")
    y = (labelled["kind"] == "route").fill_null(False).to_list()
    s = labelled[column].fill_null(-1.0).to_list()
    pos = truth.filter(pl.col("kind") == "route")
    lost = pos.join(routes, on=key, how="anti").height
    top = labelled.sort(column, descending=True, nulls_last=True).head(pos.height)
    return {
        "ap": float(average_precision_score(y + [True] * lost, s + [-2.0] * lost)),
        "decoys_in_top": top.filter(pl.col("kind") == "decoy").height,
        "lost": lost,
    }


def ablation(world: World, routes: pl.DataFrame) -> dict[str, float]:
    """AP of the default score with each gate factor and each evidence term removed.

    Keys: ``all`` (nothing removed), ``-gate:<name>`` and ``-term:<name>``. The
    features are the scan's; only the score is recomputed.
    """
    from rerouting._score import GATES, TERMS, default_score

    scored = [c for c in routes.columns if c.startswith(("gate", "contrib_")) or c == "score"]
    base = routes.drop(scored)
    variants: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {"all": (GATES, TERMS)}
    for g in GATES:
        variants[f"-gate:{g.name}"] = (tuple(x for x in GATES if x is not g), TERMS)
    for t in TERMS:
        variants[f"-term:{t.name}"] = (GATES, tuple(x for x in TERMS if x is not t))
    return {
        name: float(evaluate_routes(world, default_score(base, gates, terms))["ap"])
        for name, (gates, terms) in variants.items()
    }


def verdict(truth: pl.DataFrame, table: RouteTable) -> str:
    """One line against the known truth: how many planted routes rank above every decoy.

    ``truth`` is a world's truth table (``kind`` route or decoy, ``decoy_type``); a
    planted route the scan did not produce counts as not above.
    """
    labelled = truth.select(*ROUTE_KEY, "kind", "decoy_type").unique(
        list(ROUTE_KEY), maintain_order=True
    )
    ranked = labelled.join(table.routes.select(*ROUTE_KEY, "rank"), on=list(ROUTE_KEY), how="left")
    routes = ranked.filter(pl.col("kind") == "route")
    decoys = ranked.filter((pl.col("kind") == "decoy") & pl.col("rank").is_not_null()).sort("rank")
    found = routes["rank"].drop_nulls()
    line = f"{routes.height} planted routes"
    if decoys.is_empty():
        return f"verdict: {found.len()}/{line} found; no labelled decoy was ranked"
    best = decoys.row(0, named=True)
    above = int((found < best["rank"]).sum())
    text = (
        f"verdict: {above}/{line} rank above every decoy; the best-ranked decoy is "
        f"#{best['rank']} ({best['decoy_type']}: {best['hub']} {best['hs']})"
    )
    if found.len() < routes.height:
        text += f"; {routes.height - found.len()} planted route(s) not found by the scan"
    return text
