"""The references compute what the library computes (not a benchmark; fast).

    .venv/bin/pytest benchmarks/test_equivalence.py

A benchmark is only fair if its contenders produce the same result. For each stage,
every contender's summary (row counts and column sums of its materialised result) must
match the library's on a small generated world.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from tests._compare import assert_routes_equal

from _cli import format_file, iso3_to_iso2
from _data import parquet_glob, world_path, world_scenario
from _stages import OTHER_WORK, STAGES, Ctx
from rerouting._hs import vintage_for_period

if TYPE_CHECKING:
    from pathlib import Path

ROWS = 200_000


@pytest.fixture(scope="module")
def small() -> Ctx:
    return Ctx(parquet_glob(world_path(ROWS)), world_scenario(ROWS))


@pytest.mark.parametrize("stage", [s for s, c in STAGES.items() if len(c) > 1])
def test_contenders_agree(small: Ctx, stage: str) -> None:
    contenders = STAGES[stage]
    expected = contenders["polars"](small)()
    assert expected
    assert all(v == v for v in expected.values())
    for name, fn in contenders.items():
        if (stage, name) in OTHER_WORK:
            continue
        got = fn(small)()
        common = set(expected) & set(got)
        assert len(common) >= min(len(expected), len(got)) - 1, name
        for key in sorted(common):
            assert got[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-6), (name, key)


# ----------------------------------------------------------------- the cli stage's formats


@pytest.fixture(scope="module")
def comext_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Path]:
    """A small world as canonical Parquet and as the cli stage's Comext bulk file."""
    from rerouting.synthetic import make_world

    world = make_world(4, direction="import-ban", n_products=22, n_other_countries=3, eu_members=3)
    folder = tmp_path_factory.mktemp("comext")
    canonical = folder / "trade.parquet"
    world.trade.write_parquet(canonical)
    return world, canonical, format_file(canonical, "comext-bulk")


def test_comext_bulk_holds_the_canonical_records(comext_world: tuple[Any, Path, Path]) -> None:
    # Read back, the Comext file gives every record of the world: CN8 codes that cut to
    # the world's HS6, EUR for the world's (unconverted) values, vintage CN (the HS in
    # force at the period); nothing dropped or merged.
    from rerouting._io import spool_trade

    world, canonical, comext = comext_world
    assert set(world.trade["flow"].unique()) == {"import", "export"}
    lazy = spool_trade(comext)
    assert lazy.report.rows_read == lazy.report.rows_kept == world.trade.height
    assert lazy.report.records_out == world.trade.height
    got = lazy.frame.collect()
    assert got["hs"].str.len_bytes().unique().to_list() == [8]
    assert set(got["currency"].unique()) == {"EUR"}
    assert set(got["hs_vintage"].unique()) == {"CN"}
    as_canonical = got.with_columns(
        pl.col("hs").str.slice(0, 6),
        currency=pl.lit("USD"),
        hs_vintage=pl.col("period").pipe(vintage_for_period),
    ).drop("source")
    ref = spool_trade(canonical).frame.collect().drop("source")
    order = [c for c in ref.columns if c != "source"]
    assert as_canonical.sort(order, nulls_last=True).equals(ref.sort(order, nulls_last=True))


def test_comext_bulk_gives_the_same_route_table(comext_world: tuple[Any, Path, Path]) -> None:
    # The same routes and numbers (tests._compare.assert_routes_equal); only the
    # currency label differs.
    from rerouting import scan

    world, canonical, comext = comext_world
    key = ["origin", "hub", "destination", "hs"]
    ref_table = scan(canonical, scenario=world.scenario)
    got_table = scan(comext, scenario=world.scenario)
    assert got_table.resolved is not None
    assert got_table.resolved.currency == "EUR"
    ref, got = ref_table.routes.sort(key), got_table.routes.sort(key)
    assert ref.height > 10
    assert_routes_equal(ref, got, "comext-bulk")


def test_duckdb_pairs_the_comext_file_like_the_canonical_one(
    comext_world: tuple[Any, Path, Path],
) -> None:
    # DuckDB's contender reads the Comext file as stored (ISO2 codes, FLOW 1/2, YYYYMM,
    # CN8 cut to HS6) and must pair the same records: the same sums per pair and window.
    import duckdb

    from _cli import _PAIR, _VIEW

    world, canonical, comext = comext_world
    iso2 = iso3_to_iso2()
    event = str(world.scenario.event)[:10]

    def pairs(path: Path, fmt: str) -> pl.DataFrame:
        con = duckdb.connect()
        con.execute(_PAIR.format(view=_VIEW[fmt].format(path=path), event=event))
        return con.sql("SELECT * FROM result").pl()

    ref = pairs(canonical, "canonical-parquet").with_columns(
        pl.col("exporter", "importer").replace_strict(iso2)
    )
    got = pairs(comext, "comext-bulk")
    key = ["exporter", "importer", "hs", "post"]
    ref, got = ref.sort(key), got.sort(key)
    assert ref.height > 100
    assert got.select(key).equals(ref.select(key))
    for c in ("xv", "mv", "xk", "mk", "months"):
        assert got[c].is_null().equals(ref[c].is_null()), c
        assert (got[c] - ref[c]).abs().max() <= 1e-9 * max(1.0, float(ref[c].abs().max())), c
