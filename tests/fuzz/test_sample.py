"""A bounded sample of the fuzz campaign in the normal test run (REROUTING_FUZZ_N inputs)."""

from __future__ import annotations

import os

from tests.fuzz.campaign import bad, mutate, oracle_rows, run


def test_fuzz_sample_has_no_crash_loss_or_unescaped_output() -> None:
    results = run(int(os.environ.get("REROUTING_FUZZ_N", "120")), seed=1, cli_every=6)
    assert not bad(results), bad(results)[:5]
    assert all(r.names_row is not False for r in results), [
        r for r in results if r.names_row is False
    ][:5]


def test_oracle_counts_rows_without_the_library() -> None:
    import random

    text = "a,b\n1,2\n3,4\n"
    assert oracle_rows(text.encode()) == 2
    assert oracle_rows(mutate("cr_only", text, random.Random(0))) == 2
    assert oracle_rows(b'a,b\n"x\ny",2\n') == 1
