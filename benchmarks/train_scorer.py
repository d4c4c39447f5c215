"""Fit the learned score on development worlds and write ``_data/learned_score.json``.

    python benchmarks/train_scorer.py                  # scan DEV_SEEDS, fit, write the model
    python benchmarks/train_scorer.py --cv 5           # also: AP by world, 5-fold grouped CV
    python benchmarks/train_scorer.py --cv 5 --additive   # the additive model instead
    python benchmarks/train_scorer.py --cv 5 --additive --pairs 8 --trees 2   # round 7's yardsticks

Only ``rerouting._evaluate.DEV_SEEDS`` are scanned: the held-out seeds measure the result
(``benchmarks/evaluate_detection.py --seeds heldout``) and never reach the fit. Both
directions' worlds train one model, and each development seed gives two worlds: the
family's (``random_world(seed, direction)``) and its probe variant
(``probe=True``), in which the two route-only regularities of the family are broken
(every hub under-declares, non-route legs carry own trade), so that the fit cannot lean
on them. ``--routes FILE`` keeps the labelled route tables as
Parquet and reads them from there on the next run (the scans take a few minutes).
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from rerouting._evaluate import DEV_SEEDS, labelled_truth, random_world
from rerouting._learned import INPUTS, fit_learned, fit_trees, learned_inputs, learned_score
from rerouting._scan import scan
from rerouting.schema import ROUTE_KEY

_OUT = Path(__file__).resolve().parents[1] / "src" / "rerouting" / "_data" / "learned_score.json"


#: The world families a development seed is drawn in (``family`` column of the cache).
FAMILIES: tuple[str, ...] = ("family", "probe")


def labelled_routes(n: int) -> pl.DataFrame:
    """Route tables of the first ``n`` development seeds per direction and family, labelled."""
    key = list(ROUTE_KEY)
    frames = []
    for family in FAMILIES:
        for direction in ("import-ban", "export-control"):
            for seed in DEV_SEEDS[:n]:
                frames.append(_labelled(seed, direction, family, key))
    return pl.concat(frames, how="diagonal_relaxed")


def _labelled(seed: int, direction: str, family: str, key: list[str]) -> pl.DataFrame:
    world, _ = random_world(seed, direction, probe=family == "probe")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = scan(world.trade, scenario=world.scenario)
    truth = labelled_truth(world)
    lost = truth.filter(pl.col("kind") == "route").join(table.routes, on=key, how="anti")
    print(family, direction, seed, flush=True)
    return (
        table.routes.drop("explanation")
        .join(truth, on=key, how="left")
        .with_columns(
            family=pl.lit(family), direction=pl.lit(direction), seed=pl.lit(seed), lost=lost.height
        )
    )


def _fit(
    routes: pl.DataFrame, y: np.ndarray, inputs: tuple[str, ...], additive: bool, pairs: int
) -> dict[str, object]:
    """The shipped kind of model (boosted trees), or the additive one with ``additive``."""
    if additive:
        return fit_learned(routes, y, inputs=inputs, pairs=pairs)
    return fit_trees(routes, y, inputs=inputs)


def _cross_validated(
    routes: pl.DataFrame,
    y: np.ndarray,
    k: int,
    inputs: tuple[str, ...],
    pairs: int = 0,
    additive: bool = False,
) -> pl.Series:
    """Out-of-fold learned scores, folds by world (no world is scored by its own fit).

    With ``pairs`` (additive model only), each fold chooses its own pairwise interactions."""
    from sklearn.model_selection import GroupKFold

    groups = routes["seed"].to_numpy()  # both directions and families of a seed in one fold
    pred = np.zeros(len(y))
    for train, test in GroupKFold(k).split(np.zeros(len(y)), y, groups):
        model = _fit(routes[train], y[train], inputs, additive, pairs)
        pred[test] = learned_score(routes[test], model).to_numpy()
    return pl.Series("cv", pred)


def _cross_validated_trees(routes: pl.DataFrame, y: np.ndarray, k: int, depth: int) -> pl.Series:
    """Out-of-fold scores of gradient-boosted trees of ``depth`` on the same inputs: a
    yardstick of what interactions of that order could add, not a shipped model."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    x = learned_inputs(routes).select(INPUTS).to_numpy()
    pred = np.zeros(len(y))
    for train, test in GroupKFold(k).split(x, y, routes["seed"].to_numpy()):
        trees = HistGradientBoostingClassifier(
            max_iter=600 if depth == 2 else 400,
            learning_rate=0.05,
            max_depth=depth,
            max_leaf_nodes=None,
            class_weight="balanced",
            random_state=0,
        )
        pred[test] = trees.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    return pl.Series("cv", pred)


#: Evidence features and the direction in which each speaks for a route (+1: more is
#: more route-like): a decoy ahead of a planted route on all of them beats it under any
#: score that rises with the evidence.
_EVIDENCE: dict[str, int] = {
    "oh_ratio_kg": 1,
    "hd_ratio_kg": 1,
    "balance_kg": 1,
    "direct_change": -1,
    "comove_kg": 1,
    "persistence": 1,
    "substitution_ratio": 1,
}


def _known(v: float | None) -> bool:
    return v is not None and not math.isnan(v)


def _ranked_top(w: pl.DataFrame, column: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One world's routes ranked by ``column``, and its top N (N = planted routes, the
    ones the scan lost included)."""
    ranked = w.sort(column, descending=True, nulls_last=True)
    return ranked, ranked.head(int((w["kind"] == "route").sum()) + int(w["lost"][0]))


def _decoys_in_top(d: pl.DataFrame, column: str = "cv") -> pl.DataFrame:
    """The decoys in the top N of each world, with their kind, two of the world's
    mechanisms, and whether one of them beats a planted route below it on every
    :data:`_EVIDENCE` feature (``dominates``)."""
    key = list(ROUTE_KEY)
    rows = []
    for (family, direction, seed), w in d.group_by(["family", "direction", "seed"]):
        w, top = _ranked_top(w, column)
        if not (top["kind"] == "decoy").any():
            continue
        world, mech = random_world(int(seed), direction, probe=family == "probe")
        kinds = world.truth.filter(pl.col("kind") == "decoy").select(*key, "decoy_type")
        for decoy in (
            top.filter(pl.col("kind") == "decoy")
            .join(kinds, on=key, how="left")
            .iter_rows(named=True)
        ):
            below = w.filter((pl.col("kind") == "route") & (pl.col(column) < decoy[column]))
            dominates = any(
                all(
                    not (_known(decoy[f]) and _known(r[f])) or sign * (decoy[f] - r[f]) >= 0
                    for f, sign in _EVIDENCE.items()
                )
                for r in below.iter_rows(named=True)
            )
            rows.append(
                {
                    "world": f"{family} {direction} {seed}",
                    "decoy_type": decoy["decoy_type"],
                    "destination_silent": mech.destination_silent,
                    "annual": mech.annual,
                    "planted_below": below.height,
                    "dominates": dominates,
                }
            )
    return pl.DataFrame(rows)


def _ap_per_world(d: pl.DataFrame, column: str = "cv") -> dict[tuple[str, int], float]:
    """AP per world, keyed by (``family direction``, seed)."""
    from sklearn.metrics import average_precision_score

    out = {}
    for (family, direction, seed), w in d.group_by(["family", "direction", "seed"]):
        y = (w["kind"] == "route").fill_null(False).to_numpy()
        lost = int(w["lost"][0])
        s = w[column].fill_null(-1.0).to_numpy()
        ap = average_precision_score(np.r_[y, [True] * lost], np.r_[s, [-2.0] * lost])
        out[(f"{family} {direction}", int(seed))] = float(ap)
    return out


def _decoy_free(d: pl.DataFrame, column: str = "cv") -> dict[tuple[str, int], bool]:
    """Whether no labelled decoy is among a world's top N (N = its planted routes)."""
    out = {}
    for (family, direction, seed), w in d.group_by(["family", "direction", "seed"]):
        _, top = _ranked_top(w, column)
        out[(f"{family} {direction}", int(seed))] = not (top["kind"] == "decoy").any()
    return out


def _ap_by_world(d: pl.DataFrame, column: str) -> dict[str, str]:
    """Median, 10th percentile and minimum of :func:`_ap_per_world`, and the share of
    worlds with no decoy in the top N, per direction."""
    per_world = _ap_per_world(d, column)
    free = _decoy_free(d, column)
    out = {}
    for direction in sorted({dr for dr, _ in per_world}):
        a = np.array([ap for (dr, _), ap in per_world.items() if dr == direction])
        f = np.mean([ok for (dr, _), ok in free.items() if dr == direction])
        out[direction] = (
            f"median {np.median(a):.3f}  p10 {np.quantile(a, 0.1):.3f}  min {a.min():.3f}  "
            f"no decoy in top N {f:.0%}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=len(DEV_SEEDS), help="seeds per direction and family")
    ap.add_argument("--routes", type=Path, default=None, help="Parquet cache of the routes")
    ap.add_argument("--cv", type=int, default=0, help="also report K-fold CV by world")
    ap.add_argument("--out", type=Path, default=_OUT)
    ap.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="with --additive: add this many pairwise interactions (GA2M)",
    )
    ap.add_argument(
        "--additive",
        action="store_true",
        help="fit the additive model (splines; shipped up to round 8) instead of the trees",
    )
    ap.add_argument(
        "--decoys",
        action="store_true",
        help="with --cv: the decoys in the top N by kind, and how many beat a planted route "
        "on every evidence feature",
    )
    ap.add_argument(
        "--trees",
        type=int,
        default=0,
        help="with --cv: also report boosted trees of this depth on the same inputs",
    )
    ap.add_argument(
        "--ablation",
        type=Path,
        default=None,
        help="CSV: CV AP by world with each input (gate factor, evidence term, feature) and "
        "each group of inputs left out in turn (needs --cv)",
    )
    args = ap.parse_args()
    if args.routes and args.routes.exists():
        routes = pl.read_parquet(args.routes)
    else:
        routes = labelled_routes(args.n)
        if args.routes:
            routes.write_parquet(args.routes)
    y = (routes["kind"] == "route").fill_null(False).to_numpy()
    if args.cv:
        cv = routes.with_columns(
            cv=_cross_validated(routes, y, args.cv, INPUTS, args.pairs, args.additive)
        )
        print("evidence score:", _ap_by_world(cv, "evidence_score"))
        print(f"learned, {args.cv}-fold CV by world:", _ap_by_world(cv, "cv"))
        if args.decoys:
            top = _decoys_in_top(cv)
            print(f"{top['world'].n_unique()} worlds with a decoy in the top N; by kind:")
            print(
                top.group_by("decoy_type")
                .agg(
                    pl.len().alias("n"),
                    pl.col("destination_silent").sum(),
                    pl.col("annual").sum(),
                    (pl.col("planted_below") == 1).sum().alias("one_planted_below"),
                    pl.col("dominates").sum(),
                )
                .sort("n", descending=True)
            )
        if args.trees:
            trees = routes.with_columns(cv=_cross_validated_trees(routes, y, args.cv, args.trees))
            print(f"boosted trees of depth {args.trees}:", _ap_by_world(trees, "cv"))
        if args.ablation:
            rows = []
            left_out = list(INPUTS)
            groups = {
                "all gates": {i for i in INPUTS if i.startswith("ln_gate_")},
                "all terms": {i for i in INPUTS if i.startswith("term_")},
                "all raw features": {i for i in INPUTS if not i.startswith(("ln_gate_", "term_"))},
            }
            for name in ["nothing", *left_out, *groups]:
                drop = groups.get(name, {name})
                inputs = tuple(i for i in INPUTS if i not in drop)
                pred = _cross_validated(routes, y, args.cv, inputs, additive=args.additive)
                for (direction, seed), world_ap in _ap_per_world(
                    routes.with_columns(cv=pred)
                ).items():
                    rows.append(
                        {"left_out": name, "direction": direction, "seed": seed, "ap": world_ap}
                    )
                print("left out", name, flush=True)
            table = pl.DataFrame(rows)
            table.write_csv(args.ablation)
            print(
                table.group_by("left_out", "direction")
                .agg(median=pl.col("ap").median(), p10=pl.col("ap").quantile(0.1, "linear"))
                .sort("direction", "left_out")
            )
    model = _fit(routes, y, INPUTS, args.additive, args.pairs)
    model["trained_on"] = (
        f"rerouting._evaluate.DEV_SEEDS[:{routes['seed'].n_unique()}], both directions, "
        f"families {', '.join(sorted(routes['family'].unique()))}, "
        f"{len(y)} routes ({int(y.sum())} planted)"
    )
    # the trees' node tables are long flat lists: one line each keeps the file small
    text = json.dumps(model, indent=None if "trees" in model else 1, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
