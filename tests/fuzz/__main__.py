"""``python -m tests.fuzz --n 20000``: run the long campaign and print the counts table."""

from __future__ import annotations

import argparse
import time

from tests.fuzz.campaign import run, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="inputs to generate")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--cli-every", type=int, default=10, help="run the CLI on every k-th input")
    args = parser.parse_args()
    start = time.perf_counter()
    results = run(args.n, seed=args.seed, cli_every=args.cli_every)
    print(table(results))
    print(f"\n{len(results):,} inputs in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
