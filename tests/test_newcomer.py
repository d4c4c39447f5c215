"""The stumbles of a newcomer's first hour (issue 17), each pinned by a test."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import rerouting as rr
from rerouting.reference import bloc_members

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def trade() -> rr.TradeData:
    return rr.read_trade(FIXTURES / "formats" / "comext_bulk_v2_full202402_excerpt.csv.gz")


def test_mirror_takes_what_read_trade_returns(trade: rr.TradeData) -> None:
    key = ["exporter", "importer", "hs", "period"]
    got = rr.mirror(trade).collect().sort(key, nulls_last=True)
    assert got.height > 0
    assert got.equals(rr.mirror(trade.frame).collect().sort(key, nulls_last=True))


def test_harmonise_takes_a_trade_data(trade: rr.TradeData) -> None:
    lf, summary = rr.harmonise_hs_with_summary(trade)
    assert lf.collect().height == trade.frame.height
    assert summary.target.startswith("HS")
    assert rr.harmonise_hs(trade).collect().equals(rr.harmonise_hs(trade.frame).collect())


def test_convert_currency_takes_a_trade_data(trade: rr.TradeData) -> None:
    rates = pl.DataFrame({"currency": ["EUR"], "period": ["2024"], "rate": [1.08]})
    usd = rr.convert_currency(trade, to="USD", rates=rates).collect()
    assert usd["currency"].unique().to_list() == ["USD"]


def test_validate_trade_takes_a_trade_data(trade: rr.TradeData) -> None:
    assert rr.validate_trade(trade).ok == rr.validate_trade(trade.frame).ok


def test_lazy_trade_data_is_accepted_too() -> None:
    lazy = rr.scan_trade(FIXTURES / "demo" / "trade.parquet")
    assert isinstance(lazy, rr.LazyTradeData)
    assert rr.validate_trade(lazy).ok


def test_bloc_members_takes_an_iso_string() -> None:
    assert bloc_members("EU", at="2019-06-01") == bloc_members("EU", dt.date(2019, 6, 1))
    assert "GBR" in bloc_members("EU", at="2019-06")
    assert "GBR" not in bloc_members("EU", at="2021-01-01")
    with pytest.raises(rr.ConfigError, match="not a date"):
        bloc_members("EU", at="June 2019")


def test_scenario_misspelt_field_is_a_rerouting_error_with_did_you_mean() -> None:
    with pytest.raises(rr.ConfigError, match="did you mean 'products'"):
        rr.Scenario(prodcts=["441231"])  # type: ignore[call-arg]


def test_scenario_toml_misspelt_key_gets_did_you_mean(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('origin = "BLR"\ndestinaton = "EU"\nevent = "2022-03"\n', encoding="utf-8")
    with pytest.raises(rr.ConfigError, match="did you mean 'destination'"):
        rr.Scenario.from_toml(cfg)


@pytest.mark.parametrize("bad", [42, [42], None])
def test_read_trade_of_a_non_path_is_an_input_error(bad: object) -> None:
    with pytest.raises(rr.InputError, match="needs a path"):
        rr.read_trade(bad)  # type: ignore[arg-type]


def test_json_is_utf8_not_escaped(tmp_path: Path) -> None:
    from rerouting.synthetic import load_world

    demo = load_world(FIXTURES / "demo")
    table = rr.scan(demo.trade, scenario=demo.scenario, hubs=["KAZ"])
    text = table.write_json(tmp_path / "r.json").read_text(encoding="utf-8")
    assert "\\u2192" not in text
    assert "→" in text


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rerouting", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def mixed_frequencies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    df = pl.read_parquet(FIXTURES / "demo" / "trade.parquet")
    annual = df.head(20).with_columns(pl.lit("A").cast(df.schema["frequency"]).alias("frequency"))
    path = tmp_path_factory.mktemp("mixed") / "trade.parquet"
    pl.concat([df, annual]).write_parquet(path)
    return path


def test_cli_warnings_are_note_lines_and_quiet_hides_them(mixed_frequencies: Path) -> None:
    args = ["scan", mixed_frequencies, "--config", FIXTURES / "demo" / "scenario.toml"]
    loud = _cli(*args, "--hubs", "KAZ", cwd=mixed_frequencies.parent)
    assert loud.returncode == 0, loud.stderr
    assert "note: mixed frequencies" in loud.stderr
    assert "Warning" not in loud.stderr  # no category name
    assert ".py:" not in loud.stderr  # no source line
    quiet = _cli(*args, "--hubs", "KAZ", "-q", cwd=mixed_frequencies.parent)
    assert quiet.returncode == 0
    assert "mixed frequencies" not in quiet.stderr


def test_cli_debug_keeps_the_exit_code(tmp_path: Path) -> None:
    args = ("scan", tmp_path / "missing.csv", "--origin", "BLR")
    args += ("--destination", "EU", "--event", "2022-03")
    proc = _cli(*args, "--debug", cwd=tmp_path)
    plain = _cli(*args, cwd=tmp_path)
    assert plain.returncode not in (0, 1)
    assert proc.returncode == plain.returncode
    assert "Traceback" in proc.stderr


def test_an_override_error_does_not_blame_the_config_file() -> None:
    cfg = FIXTURES / "demo" / "scenario.toml"
    with pytest.raises(rr.ConfigError) as err:
        rr.Scenario.from_toml(cfg, baseline="2023-01:2023-06")
    assert err.value.column == "baseline"
    assert "scenario.toml" not in str(err.value)
