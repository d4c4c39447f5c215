"""``python -m tests.fuzz --n 20000``: run the long campaign and print the counts table.

``--dump DIR`` copies every failing input (crash, silent loss, unescaped output,
an error naming no row) to ``DIR/NNNNNN/`` with a ``case.json``;
``--replay DIR`` re-runs those inputs against the current code.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tests.fuzz.campaign import ENTRIES, bad, replay, run, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="inputs to generate")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--cli-every", type=int, default=10, help="run the CLI on every k-th input")
    parser.add_argument(
        "--entries",
        default=",".join(ENTRIES),
        help=f"comma-separated entry points to run (default {','.join(ENTRIES)})",
    )
    parser.add_argument("--dump", type=Path, help="copy each failing input to this folder")
    parser.add_argument("--replay", type=Path, help="re-run the inputs dumped in this folder")
    parser.add_argument(
        "--max-seconds", type=float, help="start no new input after this many seconds"
    )
    args = parser.parse_args()
    entries = tuple(e for e in args.entries.split(",") if e)
    unknown = set(entries) - set(ENTRIES)
    if unknown:
        parser.error(f"unknown entry point(s) {sorted(unknown)}; choose from {ENTRIES}")
    start = time.perf_counter()
    if args.replay:
        results = replay(args.replay, entries)
    else:
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
        results = run(
            args.n,
            seed=args.seed,
            cli_every=args.cli_every,
            entries=entries,
            dump=args.dump,
            max_seconds=args.max_seconds,
        )
    print(table(results))
    for r in bad(results):
        print(f"\n#{r.index} {r.format}/{r.mutation} {r.entry}: {r.outcome}\n  {r.detail[:300]}")
    print(f"\n{len(results):,} results in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
