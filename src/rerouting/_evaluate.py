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

__all__ = ["DEV_SEEDS", "HELDOUT_SEEDS", "evaluate", "random_world"]

#: Frozen before any detector change of issue 13. Measure on these, never tune on them.
HELDOUT_SEEDS: range = range(900_000, 900_100)
#: Seeds to look at while developing.
DEV_SEEDS: range = range(100_000, 100_100)

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


def _draw(rng: np.random.Generator) -> tuple[dict[str, Any], Mechanisms]:
    world_args: dict[str, Any] = {
        "n_products": int(rng.integers(26, 36)),
        "n_other_countries": int(rng.integers(3, 7)),
        "eu_members": int(rng.integers(3, 7)),
        "n_routes": int(rng.integers(5, 10)),
        "diversion": float(rng.uniform(0.0, 0.6)),
    }
    mech = Mechanisms(
        noise_sd=(0.02, float(rng.uniform(0.02, 0.30))),
        skip_max=float(rng.uniform(0.0, 0.40)),
        destination_silent=bool(rng.random() < 0.4),
        origin_silent=bool(rng.random() < 0.4),
        declared_share=float(rng.uniform(0.1, 1.0)),
        cif_fob=float(rng.uniform(0.0, 0.15)),
        annual=bool(rng.random() < 0.2),
    )
    return world_args, mech


def random_world(seed: int, direction: Direction = "import-ban") -> tuple[World, Mechanisms]:
    """A randomised world and the mechanisms drawn for it; reproducible from ``seed``."""
    rng = np.random.default_rng([seed, 0 if direction == "import-ban" else 1])
    world_args, mech = _draw(rng)
    world = make_world(seed, direction=direction, **world_args)
    trade = _apply(world, mech, rng)
    return replace(world, trade=trade), mech


def _members(world: World, sides: tuple[str, ...]) -> list[str]:
    event = world.scenario.event
    assert event is not None
    return sorted(resolve_countries(list(sides), event))


def _apply(world: World, mech: Mechanisms, rng: np.random.Generator) -> pl.DataFrame:
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
    t = t.with_columns(
        pl.when(
            pl.col("reporter").is_in(hubs)
            & pl.col("partner").is_in(dest)
            & (pl.col("flow") == "export")
            & (pl.col("period") >= event)
        )
        .then(pl.col("value") * mech.declared_share)
        .otherwise(pl.col("value"))
        .alias("value"),
        pl.when(
            pl.col("reporter").is_in(hubs)
            & pl.col("partner").is_in(dest)
            & (pl.col("flow") == "export")
            & (pl.col("period") >= event)
        )
        .then(pl.col("net_weight_kg") * mech.declared_share)
        .otherwise(pl.col("net_weight_kg"))
        .alias("net_weight_kg"),
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
            .group_by(["period", *keys])
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
    from sklearn.metrics import average_precision_score

    key = list(ROUTE_KEY)
    truth = world.truth.select(*key, "kind").unique(key)
    labelled = table.routes.join(truth, on=key, how="left")
    y = (labelled["kind"] == "route").fill_null(False).to_list()
    s = labelled[column].fill_null(-1.0).to_list()
    pos = truth.filter(pl.col("kind") == "route")
    lost = pos.join(table.routes, on=key, how="anti").height
    top = labelled.sort("rank").head(pos.height)
    return {
        "ap": float(average_precision_score(y + [True] * lost, s + [-2.0] * lost)),
        "decoys_in_top": top.filter(pl.col("kind") == "decoy").height,
        "lost": lost,
    }
