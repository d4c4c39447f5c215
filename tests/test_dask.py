"""The Dask engine on a real ``LocalCluster``: the same legs and routes as the polars engine.

Tolerances: the legs (flows, totals, other-product totals) are sums whose terms are
added in another order across partitions, so they agree to ~1e-15 and are compared
at 1e-12. The route table is compared at 1e-9 (the issue's bound): two runs of the
*polars* engine already differ by ~1.5e-12 in ``score`` and ``comove_*`` (parallel
sums inside polars), so 1e-12 there would test polars' thread scheduling.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rerouting._config import Scenario
from rerouting._dask import DaskEngine, chapter_partitions
from rerouting._engine import PolarsEngine, resolve_engine
from rerouting._exceptions import ConfigError
from rerouting._scan import scan
from rerouting.synthetic import make_world

if TYPE_CHECKING:
    from collections.abc import Iterator

    from distributed import Client

    from rerouting._legs import LegSet

distributed = pytest.importorskip("distributed")

DEMO = Path(__file__).parent.parent / "fixtures" / "demo" / "trade.parquet"
DEMO_SCENARIO = {"origin": "BLR", "destination": "EU", "event": "2022-03"}
#: Held-out seeds of the randomised worlds, one per direction (fixed before measuring).
WORLDS = {"import-ban": 1601, "export-control": 1602}
WORLD_ROWS = 300_000


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Scenario]]:
    """Randomised worlds written as Parquet: the workers read the file themselves."""
    out = {}
    for direction, seed in WORLDS.items():
        world = make_world(seed, direction=direction, rows=WORLD_ROWS)  # type: ignore[arg-type]
        path = tmp_path_factory.mktemp("dask") / f"{direction}.parquet"
        world.trade.write_parquet(path)
        out[direction] = (path, world.scenario)
    return out


def assert_legs_equal(a: LegSet, b: LegSet) -> None:
    close = {"check_exact": False, "rel_tol": 1e-12, "abs_tol": 0.0}
    assert a.hubs == b.hubs
    assert a.windows == b.windows
    assert a.vintage == b.vintage
    assert a.flows.collect().height > 0
    key = ["src", "dst", "hs", "period"]
    assert_frame_equal(a.flows.collect().sort(key), b.flows.collect().sort(key), **close)
    assert_frame_equal(a.totals.sort("country", "hs"), b.totals.sort("country", "hs"), **close)
    other = ["src", "dst", "period"]
    assert_frame_equal(
        a.other_flows.collect().sort(other), b.other_flows.collect().sort(other), **close
    )
    cov = ["country", "window"]
    assert_frame_equal(a.coverage.sort(cov), b.coverage.sort(cov))
    assert a.observed is not None
    assert b.observed is not None
    assert_frame_equal(a.observed.sort("src", "dst"), b.observed.sort("src", "dst"))


@pytest.mark.parametrize("products", ["scenario", None])
def test_demo_legs_equal_the_polars_engine(client: Client, products: str | None) -> None:
    sc = Scenario.build(**DEMO_SCENARIO, products="belarus" if products else None)
    trade = pl.scan_parquet(DEMO)
    assert_legs_equal(PolarsEngine().build(trade, sc), DaskEngine(client).build(trade, sc))


@pytest.mark.parametrize(
    ("direction", "products", "partitions"),
    [("import-ban", "scenario", 3), ("export-control", None, 5)],
)
def test_random_world_legs_equal_the_polars_engine(
    client: Client,
    worlds: dict[str, tuple[Path, Scenario]],
    direction: str,
    products: str | None,
    partitions: int,
) -> None:
    path, sc = worlds[direction]
    if products is None:
        sc = sc.model_copy(update={"products": None})
    trade = pl.scan_parquet(path)
    dask = DaskEngine(client, partitions=partitions).build(trade, sc)
    assert_legs_equal(PolarsEngine().build(trade, sc), dask)


def test_scan_routes_and_legs_equal_the_polars_engine(client: Client) -> None:
    trade = pl.scan_parquet(DEMO)
    seen: list[tuple[str, int, int]] = []
    engine = DaskEngine(client, progress=lambda *p: seen.append(p))
    a, b = scan(trade, **DEMO_SCENARIO), scan(trade, **DEMO_SCENARIO, engine=engine)
    assert a.routes.height > 0
    close = {"check_exact": False, "rel_tol": 1e-9, "abs_tol": 1e-12}
    assert_frame_equal(a.routes, b.routes, **close)
    assert_frame_equal(a.legs, b.legs, **close)
    # progress: every partition of both phases, counted up to the total
    assert [p for p in seen if p[1] == p[2]] == [("survey", 4, 4), ("legs", 4, 4)]


def test_partitions_keep_linked_chapters_together_whatever_the_order() -> None:
    rows = pl.DataFrame(
        {"chapter": ["01", "02", "03", "44", "85", None], "len": [5, 1, 7, 9, 2, 1]},
        schema_overrides={"len": pl.UInt32},
    )
    # 0201xx became 0301xx in some revision: chapters 02 and 03 are linked
    mapping = pl.DataFrame(
        {"hs": ["020110", "440710", "850110"], "_hs6": ["030110", None, "850110"]}
    )
    parts = chapter_partitions(rows, mapping, 3)
    assert parts == chapter_partitions(rows.reverse(), mapping.reverse(), 3)
    flat = [c for p in parts for c in p]
    assert sorted(flat, key=str) == sorted(rows["chapter"].to_list(), key=str)  # each once
    assert any({"02", "03"} <= set(p) for p in parts)
    assert len(parts) == 3


def test_a_killed_worker_does_not_change_the_result(
    worlds: dict[str, tuple[Path, Scenario]],
) -> None:
    """SIGKILL one worker process mid-scan: Dask reruns its tasks, the legs are the same."""
    path, sc = worlds["import-ban"]
    trade = pl.scan_parquet(path)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        pids: dict[str, int] = c.run(os.getpid)
        killed: list[int] = []

        def kill_one(phase: str, done: int, total: int) -> None:
            if phase == "survey" and done == 1:  # the other survey tasks are still to run
                killed.append(pids[max(pids)])
                os.kill(killed[0], signal.SIGKILL)

        legs = DaskEngine(c, partitions=6, progress=kill_one).build(trade, sc)
        assert killed
        assert killed[0] not in c.run(os.getpid).values()  # the nanny started a new one
    assert_legs_equal(PolarsEngine().build(trade, sc), legs)


def test_a_failing_partition_raises_the_polars_error_and_frees_the_cluster(
    client: Client,
) -> None:
    trade = (
        pl.scan_parquet(DEMO)
        .with_columns(value=pl.col("value").cast(pl.String))
        .with_columns(
            value=pl.when(pl.col("hs").str.starts_with("44"))
            .then(pl.lit("n/a"))
            .otherwise(pl.col("value"))
            .cast(pl.Float64, strict=True)
        )
    )
    sc = Scenario.build(**DEMO_SCENARIO)
    with pytest.raises(pl.exceptions.InvalidOperationError) as single:
        PolarsEngine().build(trade, sc)
    with pytest.raises(pl.exceptions.InvalidOperationError) as dask:
        DaskEngine(client).build(trade, sc)
    assert "n/a" in str(single.value)
    assert "n/a" in str(dask.value)
    assert client.submit(sum, [1, 2]).result(timeout=30) == 3  # nothing left hanging


def test_engine_options_are_checked() -> None:
    assert isinstance(resolve_engine("dask"), DaskEngine)
    with pytest.raises(ConfigError, match="not both"):
        DaskEngine(object(), scheduler="tcp://127.0.0.1:8786")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        DaskEngine(workers=0)


def test_the_base_install_does_not_import_dask() -> None:
    code = (
        "import sys, polars as pl, rerouting, rerouting._cli\n"
        f"rerouting.scan(pl.scan_parquet({str(DEMO)!r}), origin='BLR', destination='EU',"
        " event='2022-03', products='4407')\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["[]"]


def test_without_dask_the_engine_is_a_config_error_with_the_install_hint() -> None:
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "from rerouting._engine import resolve_engine\n"
        "from rerouting._exceptions import ConfigError\n"
        "try:\n    resolve_engine('dask')\nexcept ConfigError as e:\n    print(e.hint)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "pip install 'rerouting[dask]'"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--engine", "polars", "--workers", "2"], "--workers needs --engine dask"),
        (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "exclude each other"),
    ],
)
def test_cli_engine_flags_that_contradict_are_a_config_error(
    flags: list[str], message: str
) -> None:
    from click.testing import CliRunner

    from rerouting._cli import cli

    args = ["scan", str(DEMO), "--origin", "BLR", "--destination", "EU", "--event", "2022-03"]
    out = CliRunner().invoke(cli, [*args, *flags])
    assert isinstance(out.exception, ConfigError)  # main() turns it into exit code 2
    assert message in str(out.exception)
