"""The real `rerouting` entry point, run as a subprocess on fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "fixtures" / "demo" / "trade.parquet"
SCENARIO = ["--origin", "BLR", "--destination", "EU", "--event", "2022-03"]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rerouting", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        timeout=300,
        check=False,
    )


def assert_clean_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    """One error line plus a hint, the right exit code, and no traceback."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error" in proc.stderr.lower()
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.fixture
def tidy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "tidy.csv"
    pl.DataFrame(
        {
            "period": ["2021-01-01", "2021-02-01"],
            "reporter": ["DEU", "DEU"],
            "partner": ["KAZ", "KAZ"],
            "flow": ["export", "export"],
            "hs": ["010121", "010121"],
            "value": [100.0, 200.0],
            "currency": ["USD", "EUR"],
        }
    ).write_csv(path)
    return path


# --- happy paths ---------------------------------------------------------------------------


def test_help_on_every_command_has_examples() -> None:
    for command in ([], ["scan"], ["mirror"], ["validate"], ["lists"], ["demo"]):
        proc = run(*command, "--help")
        assert proc.returncode == 0, proc.stderr
        assert "Examples:" in proc.stdout
        assert "Usage: rerouting" in proc.stdout


def test_scan_writes_ranked_routes(tmp_path: Path) -> None:
    out = tmp_path / "routes.csv"
    proc = run("scan", DEMO, *SCENARIO, "--top", "5", "--output", out)
    assert proc.returncode == 0, proc.stderr
    routes = pl.read_csv(out)
    assert {"rank", "origin", "hub", "destination", "hs", "score", "explanation"} <= set(
        routes.columns
    )
    assert routes["rank"].to_list() == sorted(routes["rank"].to_list())
    assert routes["priority"].is_sorted(descending=True)  # the default order
    assert "Top 5" in proc.stdout
    assert "read " in proc.stderr  # the ingest summary


@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_scan_output_format_follows_extension(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"routes{suffix}"
    proc = run("scan", DEMO, *SCENARIO, "--quiet", "--output", out)
    assert proc.returncode == 0, proc.stderr
    if suffix == ".parquet":
        assert pl.read_parquet(out).height > 0
    else:
        assert len(json.loads(out.read_text())) > 0


def test_scan_reads_scenario_from_config_and_flags_override(tmp_path: Path) -> None:
    config = tmp_path / "scan.toml"
    config.write_text(
        '[scenario]\norigin = "BLR"\ndestination = "EU"\nevent = "1999-01"\n', encoding="utf-8"
    )
    out = tmp_path / "routes.csv"
    proc = run("scan", DEMO, "--config", config, "--event", "2022-03", "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert pl.read_csv(out).height > 0


@pytest.mark.parametrize("scorer", ["freund", "ec-surge"])
def test_scan_scorer_flag_ranks_by_that_scorer(tmp_path: Path, scorer: str) -> None:
    out = tmp_path / "routes.csv"
    config = REPO / "fixtures" / "demo" / "scenario.toml"
    proc = run(
        "scan", DEMO, "--config", config, "--scorer", scorer, "--sort", "score", "-q", "-o", out
    )
    assert proc.returncode == 0, proc.stderr
    routes = pl.read_csv(out)
    column = scorer.replace("-", "_")
    assert (routes["score"] - routes[column]).abs().max() == 0
    assert routes["score"].is_sorted(descending=True)


def test_mirror_writes_flows(tmp_path: Path) -> None:
    out = tmp_path / "flows.parquet"
    proc = run("mirror", DEMO, "--output", out)
    assert proc.returncode == 0, proc.stderr
    flows = pl.read_parquet(out)
    assert {"exporter", "importer", "hs", "period", "provenance", "best_value"} <= set(
        flows.columns
    )


def test_validate_prints_report() -> None:
    proc = run("validate", DEMO)
    assert proc.returncode == 0, proc.stderr
    assert "kept" in proc.stdout


def test_scan_stream_ranks_like_the_eager_read(tmp_path: Path) -> None:
    eager, lazy = tmp_path / "eager.csv", tmp_path / "lazy.csv"
    assert run("scan", DEMO, *SCENARIO, "-q", "-o", eager).returncode == 0
    proc = run("scan", DEMO, *SCENARIO, "--stream", "-o", lazy)
    assert proc.returncode == 0, proc.stderr
    assert "streaming" in proc.stderr
    assert "streamed read" in proc.stderr
    a, b = pl.read_csv(eager), pl.read_csv(lazy)
    key = ["rank", "origin", "hub", "destination", "hs"]
    assert a.height > 50
    assert a.select(key).equals(b.select(key))
    assert (a["score"] - b["score"]).abs().max() < 1e-9  # type: ignore[operator]


def test_validate_output_writes_the_canonical_table_for_stream(tmp_path: Path) -> None:
    src = REPO / "fixtures" / "formats" / "comtrade_plus_armenia_cars_2022.csv"
    out = tmp_path / "armenia.parquet"
    proc = run("validate", src, "--output", out)
    assert proc.returncode == 0, proc.stderr
    written = pl.read_parquet(out)
    kept = run("validate", out, "-q")
    assert kept.returncode == 0, kept.stderr
    from rerouting import read_trade

    assert written.height > 0
    assert written.equals(read_trade(src).frame)
    # The canonical file streams; the Comtrade file itself does not.
    refused = run("scan", src, *SCENARIO, "--stream")
    assert_clean_error(refused, 2, "streams tidy tables", "validate")
    refused = run("scan", out, *SCENARIO, "--stream", "--format", "comtrade")
    assert_clean_error(refused, 2, "--stream reads tidy tables", "--output trade.parquet")


def test_lists_shows_named_lists_and_blocs() -> None:
    proc = run("lists")
    assert proc.returncode == 0, proc.stderr
    for name in ("chpl", "eu-833", "belarus", "EU", "EAEU"):
        assert name in proc.stdout


def test_demo_shows_truth_next_to_ranking() -> None:
    proc = run("demo", "--top", "8")
    assert proc.returncode == 0, proc.stderr
    assert "truth" in proc.stdout
    assert "route" in proc.stdout


def test_python_dash_m_and_console_script_agree() -> None:
    exe = Path(sys.executable).with_name("rerouting")
    if not exe.exists():
        pytest.fail(f"console script not installed beside {sys.executable}")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.strip() == run("--version").stdout.strip()


# --- errors: one line, a hint, the right exit code, no traceback ----------------------------


def test_missing_file(tmp_path: Path) -> None:
    proc = run("scan", tmp_path / "nope.csv", *SCENARIO)
    assert_clean_error(proc, 3, "nope.csv", "hint:")


def test_unknown_format_flag() -> None:
    proc = run("scan", DEMO, *SCENARIO, "--format", "xlsx")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "xlsx" in proc.stderr


def test_undetectable_format(tmp_path: Path) -> None:
    path = tmp_path / "weird.csv"
    path.write_text("foo,bar,baz\n1,2,3\n", encoding="utf-8")
    proc = run("validate", path)
    assert_clean_error(proc, 3, "weird.csv", "hint:")


def test_bad_column_mapping_syntax() -> None:
    proc = run("validate", DEMO, "--columns", "period")
    assert_clean_error(proc, 2, "--columns", "hint:")


def test_column_mapping_to_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("month,rep,par,fl,code,usd\n2021-01,DEU,KAZ,export,0101,5\n", encoding="utf-8")
    proc = run(
        "validate",
        path,
        "--format",
        "tidy",
        "--columns",
        "period=month,reporter=rep,partner=par,flow=fl,hs=code,value=dollars",
    )
    assert_clean_error(proc, 3, "dollars", "hint:")


def test_malformed_event_date() -> None:
    proc = run("scan", DEMO, "--origin", "BLR", "--destination", "EU", "--event", "March-22")
    assert_clean_error(proc, 2, "March-22", "hint:")


def test_unknown_list_name() -> None:
    proc = run("scan", DEMO, *SCENARIO, "--products", "chlp")
    assert_clean_error(proc, 2, "chlp", "hint:")


def test_mixed_currencies_without_rates(tidy_csv: Path) -> None:
    proc = run("scan", tidy_csv, "--origin", "DEU", "--destination", "RUS", "--event", "2021-02")
    assert_clean_error(proc, 3, "EUR", "hint:")


def test_garbage_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.parquet"
    path.write_bytes(os.urandom(4096))
    proc = run("validate", path)
    assert_clean_error(proc, 3, "garbage.parquet", "hint:")


def test_scenario_with_no_matching_rows() -> None:
    proc = run("scan", DEMO, "--origin", "BRA", "--destination", "ZAF", "--event", "2022-03")
    assert_clean_error(proc, 4, "hint:")


def test_unknown_output_extension() -> None:
    proc = run("scan", DEMO, *SCENARIO, "--output", "routes.xlsx")
    assert_clean_error(proc, 2, "routes.xlsx", "hint:")


def test_debug_shows_traceback(tmp_path: Path) -> None:
    proc = run("validate", tmp_path / "nope.csv", "--debug")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


@pytest.mark.parametrize("name", ["arm_cars_api.csv", "arm_cars_snake.csv"])
def test_validate_legacy_comtrade_header_variants(name: str) -> None:
    """Legacy Comtrade exports with API short names or snake_case headers validate."""
    proc = run("validate", REPO / "fixtures" / "formats" / "unseen" / name)
    assert proc.returncode == 0, proc.stderr
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in proc.stdout.splitlines()
        if line.startswith("│")
    }
    assert rows["kept"] == "5"
    assert rows["aggregate_partner"] == "1"  # partner 0 = World
    assert rows["parent_commodity_row"] == "1"  # 8703 beside its 870323 child
