"""Detection on randomised worlds: AP distribution per direction (docs/detection.md).

    python benchmarks/evaluate_detection.py --seeds heldout --n 40 --out results/eval.csv

``--seeds dev`` for development; ``heldout`` only to measure (never tune on it);
``probe`` measures on the artefact probe (``random_world(..., probe=True)``), never tuned on.
``--skip 40`` measures on held-out seeds that no earlier measurement has seen.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import polars as pl

from rerouting._evaluate import (
    DEV_SEEDS,
    HELDOUT_SEEDS,
    PROBE_SEEDS,
    ablation,
    evaluate,
    random_world,
)
from rerouting._scan import scan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", choices=("dev", "heldout", "probe"), default="dev")
    ap.add_argument("--n", type=int, default=40, help="worlds per direction")
    ap.add_argument(
        "--skip",
        type=int,
        default=0,
        help="leave out the first K seeds of the set (e.g. held-out seeds already measured)",
    )
    ap.add_argument("--out", type=Path, default=None, help="CSV with one row per world")
    ap.add_argument(
        "--ablation", type=Path, default=None, help="CSV of AP with each gate/term removed"
    )
    ap.add_argument(
        "--also",
        default="",
        help="other score columns to measure on the same scans, e.g. learned_score,score "
        "(written as ap:<column>, decoys_in_top:<column>)",
    )
    args = ap.parse_args()
    also = [c for c in args.also.split(",") if c]
    pool = {"dev": DEV_SEEDS, "heldout": HELDOUT_SEEDS, "probe": PROBE_SEEDS}[args.seeds]
    seeds = pool[args.skip : args.skip + args.n]
    rows = []
    abl: list[dict[str, object]] = []
    for direction in ("import-ban", "export-control"):
        for seed in seeds:
            world, mech = random_world(seed, direction, probe=args.seeds == "probe")  # type: ignore[arg-type]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = scan(world.trade, scenario=world.scenario)
            row = {"direction": direction, "seed": seed, **evaluate(world, table)}
            for column in also:
                got = evaluate(world, table, column)
                row.update({f"{k}:{column}": v for k, v in got.items() if k != "lost"})
            if args.ablation:
                for name, value in ablation(world, table.routes).items():
                    abl.append({"direction": direction, "seed": seed, "variant": name, "ap": value})
            row.update({k: v for k, v in vars(mech).items() if k != "noise_sd"})
            row["noise_sd_max"] = mech.noise_sd[1]
            rows.append(row)
            print(row, flush=True)
    df = pl.DataFrame(rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        df.write_csv(args.out)
    summary = df.group_by("direction").agg(
        n=pl.len(),
        median_ap=pl.col("ap").median(),
        p10_ap=pl.col("ap").quantile(0.1, "linear"),
        min_ap=pl.col("ap").min(),
        no_decoy_in_top=(pl.col("decoys_in_top") == 0).mean(),
    )
    with pl.Config(tbl_rows=10, tbl_cols=10):
        print(summary.sort("direction"))
    for column in also:
        print(column)
        with pl.Config(tbl_rows=10, tbl_cols=10):
            print(
                df.group_by("direction")
                .agg(
                    n=pl.len(),
                    median_ap=pl.col(f"ap:{column}").median(),
                    p10_ap=pl.col(f"ap:{column}").quantile(0.1, "linear"),
                    min_ap=pl.col(f"ap:{column}").min(),
                    no_decoy_in_top=(pl.col(f"decoys_in_top:{column}") == 0).mean(),
                )
                .sort("direction")
            )
    if args.ablation:
        table = pl.DataFrame(abl)
        args.ablation.parent.mkdir(parents=True, exist_ok=True)
        table.write_csv(args.ablation)
        wide = (
            table.group_by("direction", "variant")
            .agg(median=pl.col("ap").median(), p10=pl.col("ap").quantile(0.1, "linear"))
            .sort("direction", "variant")
        )
        with pl.Config(tbl_rows=60):
            print(wide)


if __name__ == "__main__":
    main()
