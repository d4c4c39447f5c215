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


def test_failing_inputs_are_dumped_and_replay(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.fuzz import campaign

    # An oracle that expects one row too many turns every accepted input into a
    # "silent loss": each must land in the dump with its bytes and outcome.
    real = campaign.oracle_rows
    monkeypatch.setattr(campaign, "oracle_rows", lambda data: (real(data) or 0) + 1)
    results = campaign.run(14, seed=3, cli_every=0, entries=("read_trade",), dump=tmp_path)
    lost = {r.index for r in results if campaign.failing(r)}
    assert any(r.outcome == "silent_loss" for r in results)
    dumped = sorted(tmp_path.glob("*/case.json"))
    assert {json.loads(p.read_text())["index"] for p in dumped} == lost
    for meta_path in dumped:
        meta = json.loads(meta_path.read_text())
        assert (meta_path.parent / meta["file"]).is_file()
    # Replayed with the real oracle, the same inputs pass again.
    monkeypatch.setattr(campaign, "oracle_rows", real)
    again = campaign.replay(tmp_path, ("read_trade",))
    assert sorted(r.index for r in again) == sorted(lost)
    assert not campaign.bad(again)
