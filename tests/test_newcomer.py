"""The stumbles of a newcomer's first hour (issue 17), each pinned by a test."""

from __future__ import annotations

import datetime as dt
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
    assert rr.mirror.mirror(trade).collect().equals(rr.mirror.mirror(trade.frame).collect())


def test_harmonise_takes_a_trade_data(trade: rr.TradeData) -> None:
    lf, summary = rr.normalise.harmonise_hs_with_summary(trade)
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
