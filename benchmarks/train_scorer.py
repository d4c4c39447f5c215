"""Fit the learned score on development worlds and write ``_data/learned_score.json``.

    python benchmarks/train_scorer.py                  # scan DEV_SEEDS, fit, write the model
    python benchmarks/train_scorer.py --cv 5           # also: AP by world, 5-fold grouped CV

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
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from rerouting._evaluate import DEV_SEEDS, labelled_truth, random_world
from rerouting._learned import INPUTS, fit_learned, learned_score
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


def _cross_validated(
    routes: pl.DataFrame, y: np.ndarray, k: int, inputs: tuple[str, ...]
) -> pl.Series:
    """Out-of-fold learned scores, folds by world (no world is scored by its own fit)."""
    from sklearn.model_selection import GroupKFold

    groups = routes["seed"].to_numpy()  # both directions and families of a seed in one fold
    pred = np.zeros(len(y))
    for train, test in GroupKFold(k).split(np.zeros(len(y)), y, groups):
        model = fit_learned(routes[train], y[train], inputs=inputs)
        pred[test] = learned_score(routes[test], model).to_numpy()
    return pl.Series("cv", pred)


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


def _ap_by_world(d: pl.DataFrame, column: str) -> dict[str, str]:
    """Median, 10th percentile and minimum of :func:`_ap_per_world`, per direction."""
    per_world = _ap_per_world(d, column)
    out = {}
    for direction in sorted({dr for dr, _ in per_world}):
        a = np.array([ap for (dr, _), ap in per_world.items() if dr == direction])
        out[direction] = (
            f"median {np.median(a):.3f}  p10 {np.quantile(a, 0.1):.3f}  min {a.min():.3f}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=len(DEV_SEEDS), help="seeds per direction and family")
    ap.add_argument("--routes", type=Path, default=None, help="Parquet cache of the routes")
    ap.add_argument("--cv", type=int, default=0, help="also report K-fold CV by world")
    ap.add_argument("--out", type=Path, default=_OUT)
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
        cv = routes.with_columns(cv=_cross_validated(routes, y, args.cv, INPUTS))
        print("evidence score:", _ap_by_world(cv, "evidence_score"))
        print(f"learned, {args.cv}-fold CV by world:", _ap_by_world(cv, "cv"))
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
                pred = _cross_validated(routes, y, args.cv, inputs)
                for (direction, seed), ap in _ap_per_world(routes.with_columns(cv=pred)).items():
                    rows.append({"left_out": name, "direction": direction, "seed": seed, "ap": ap})
                print("left out", name, flush=True)
            table = pl.DataFrame(rows)
            table.write_csv(args.ablation)
            print(
                table.group_by("left_out", "direction")
                .agg(median=pl.col("ap").median(), p10=pl.col("ap").quantile(0.1, "linear"))
                .sort("direction", "left_out")
            )
    model = fit_learned(routes, y)
    model["trained_on"] = (
        f"rerouting._evaluate.DEV_SEEDS[:{routes['seed'].n_unique()}], both directions, "
        f"families {', '.join(sorted(routes['family'].unique()))}, "
        f"{len(y)} routes ({int(y.sum())} planted)"
    )
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
