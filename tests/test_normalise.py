from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl
import pytest

from rerouting._exceptions import (
    CodeMappingError,
    ConfigError,
    CurrencyError,
    DataQualityWarning,
    SchemaError,
)
from rerouting._normalise import (
    check_single_currency,
    convert_currency,
    harmonise_hs,
    harmonise_hs_with_summary,
    read_rates,
    to_hs6,
)
from rerouting.schema import CANONICAL_SCHEMA

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


def _trade(rows: Sequence[tuple[dt.date, str, str | None]], **extra: list[object]) -> pl.DataFrame:
    """Canonical rows (period, hs, hs_vintage); other columns filled plausibly."""
    n = len(rows)
    data: dict[str, list[object]] = {
        "period": [r[0] for r in rows],
        "frequency": ["M"] * n,
        "reporter": ["KAZ"] * n,
        "partner": ["DEU"] * n,
        "flow": ["import"] * n,
        "hs": [r[1] for r in rows],
        "value": [float(i + 1) for i in range(n)],
        "currency": ["USD"] * n,
        "net_weight_kg": [None] * n,
        "quantity": [None] * n,
        "quantity_unit": [None] * n,
        "hs_vintage": [r[2] for r in rows],
        "source": ["test"] * n,
    }
    data.update(extra)
    return pl.DataFrame(data, schema=CANONICAL_SCHEMA)


SPAN = [
    (dt.date(2021, 11, 1), "854150", None),  # HS2017 by period
    (dt.date(2021, 12, 1), "010121", None),
    (dt.date(2022, 1, 1), "854151", None),  # HS2022 by period
    (dt.date(2022, 1, 1), "85415900", "CN"),  # CN8 → HS6 854159 (HS2022) → 854150
    (dt.date(2022, 2, 1), "880730", "H6"),  # Comtrade label
    (dt.date(2022, 2, 1), "852589", "HS2022"),
    (dt.date(2022, 2, 1), "010121", None),
    (dt.date(2022, 3, 1), "0101", None),  # HS4 row stays
    (dt.date(2022, 3, 1), "847150", None),  # unchanged code
]


def test_to_hs6() -> None:
    df = pl.DataFrame({"hs": ["01012100", "0101", "8541590010", "854231", None]})
    assert df.select(to_hs6())["hs"].to_list() == ["010121", "0101", "854159", "854231", None]


def test_harmonise_span_2021_2022_maps_back_to_hs2017() -> None:
    trade = _trade(SPAN)
    out = harmonise_hs(trade).collect()
    assert out["hs"].to_list() == [
        "854150",
        "010121",
        "854150",
        "854150",
        "880330",
        "852580",
        "010121",
        "0101",
        "847150",
    ]
    assert out["hs_original"].to_list() == [r[1] for r in SPAN]
    assert out["hs_vintage"].unique().to_list() == ["HS2017"]
    # nothing else changed, rows in the same order
    assert out["value"].to_list() == trade["value"].to_list()
    assert out.drop("hs_original").schema == trade.schema


def test_harmonise_summary_counts() -> None:
    lf, summary = harmonise_hs_with_summary(_trade(SPAN))
    assert isinstance(lf, pl.LazyFrame)
    assert summary.target == "HS2017"
    assert summary.rows == len(SPAN)
    assert summary.rows_by_vintage == {"HS2017": 2, "HS2022": 7}
    assert summary.rows_cut == 1
    assert summary.rows_mapped == 4  # 854151, 854159, 880730, 852589
    assert summary.rows_short == 1
    assert summary.rows_unknown == 0
    assert any("HS2017" in n for n in summary.notes)


def test_harmonise_explicit_target_and_level() -> None:
    out = harmonise_hs(_trade(SPAN), target="HS2012", level=4).collect()
    assert out["hs"].to_list()[:3] == ["8541", "0101", "8541"]
    assert out["hs"][4] == "8803"
    assert out["hs_vintage"].unique().to_list() == ["HS2012"]


def test_harmonise_to_newer_leaves_split_codes_and_warns() -> None:
    rows = [(dt.date(2021, 1, 1), "854150", None), (dt.date(2021, 1, 1), "880330", None)]
    with pytest.warns(DataQualityWarning, match="split"):
        out = harmonise_hs(_trade(rows), target="HS2022").collect()
    assert out["hs"].to_list() == ["854150", "880730"]


def test_unknown_codes_kept_counted_and_warned() -> None:
    rows = [(dt.date(2022, 5, 1), "123456", None), (dt.date(2022, 5, 1), "854231", None)]
    with pytest.warns(DataQualityWarning, match="exist in no shipped vintage"):
        out = harmonise_hs(_trade(rows)).collect()
    assert out.height == 2
    assert out["hs"].to_list() == ["123456", "854231"]
    _, summary = harmonise_hs_with_summary(_trade(rows))
    assert summary.rows_unknown == 1
    assert summary.unknown_examples == ("HS2022:123456",)


def test_late_adopter_code_passes_through() -> None:
    # A reporter still on HS2017 in 2022: 854150 does not exist in HS2022 but does in HS2017.
    rows = [(dt.date(2021, 6, 1), "854231", None), (dt.date(2022, 6, 1), "854150", None)]
    lf, summary = harmonise_hs_with_summary(_trade(rows))
    assert lf.collect()["hs"].to_list() == ["854231", "854150"]
    assert summary.rows_valid_in_target == 1
    assert summary.rows_unknown == 0


def test_unsupported_vintage_label() -> None:
    with pytest.raises(CodeMappingError, match="unsupported HS vintage") as err:
        harmonise_hs(_trade([(dt.date(2010, 1, 1), "010121", "HS2007")]))
    assert err.value.value == "HS2007"


def test_harmonise_keeps_first_original_and_is_idempotent() -> None:
    once = harmonise_hs(_trade(SPAN)).collect()
    twice = harmonise_hs(once).collect()
    assert twice.equals(once)


def test_harmonise_needs_hs_and_period() -> None:
    with pytest.raises(SchemaError):
        harmonise_hs(pl.DataFrame({"code": ["01"], "period": [dt.date(2020, 1, 1)]}))
    with pytest.raises(ConfigError, match="level"):
        harmonise_hs(_trade(SPAN), level=5)


def test_harmonise_lazy_input_stays_lazy() -> None:
    out = harmonise_hs(_trade(SPAN).lazy())
    assert isinstance(out, pl.LazyFrame)


# -- currency --------------------------------------------------------------------------
RATES = pl.DataFrame(
    {
        "currency": ["EUR", "EUR", "GBP"],
        "period": ["2022-03", "2022", "2022"],
        "rate": [1.1, 1.05, 1.25],
    }
)


def _money() -> pl.DataFrame:
    rows = [
        (dt.date(2022, 3, 1), "010121", None),
        (dt.date(2022, 4, 1), "010121", None),
        (dt.date(2022, 3, 1), "010121", None),
        (dt.date(2022, 1, 1), "010121", None),
    ]
    df = _trade(rows, currency=["EUR", "EUR", "USD", "GBP"])
    return df.with_columns(
        value=pl.Series([100.0, 100.0, 7.0, 10.0]),
        frequency=pl.Series(["M", "M", "M", "A"], dtype=CANONICAL_SCHEMA["frequency"]),
    )


def test_convert_currency_monthly_then_annual() -> None:
    out = convert_currency(_money(), to="usd", rates=RATES).collect()
    assert out["value"].to_list() == pytest.approx([110.0, 105.0, 7.0, 12.5])
    assert out["currency"].unique().to_list() == ["USD"]
    assert out.schema == _money().schema


def test_convert_currency_reads_csv(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    RATES.write_csv(path)
    out = convert_currency(_money(), to="USD", rates=path).collect()
    assert out["value"].to_list() == pytest.approx([110.0, 105.0, 7.0, 12.5])


def test_mixed_currencies_without_rates() -> None:
    with pytest.raises(CurrencyError, match="needs exchange rates") as err:
        convert_currency(_money(), to="USD")
    assert err.value.hint is not None
    assert err.value.cli_hint is not None
    # Python syntax for Python callers, flags for the CLI (issue 17)
    assert "rates=" in err.value.hint
    assert "--rates" not in err.value.hint
    assert "--rates FILE" in err.value.cli_hint
    assert "currency, period, rate" in err.value.hint


def test_missing_rate_names_currency_and_period() -> None:
    rates = RATES.filter(pl.col("period") != "2022")
    with pytest.raises(CurrencyError, match="no exchange rate for EUR in 2022-04") as err:
        convert_currency(_money(), to="USD", rates=rates)
    assert "GBP 2022" in str(err.value)


def test_annual_rows_need_annual_rates() -> None:
    monthly_only = pl.DataFrame({"currency": ["GBP"], "period": ["2022-01"], "rate": [1.2]})
    df = _money().filter(pl.col("currency") == "GBP")
    with pytest.raises(CurrencyError, match="GBP in 2022"):
        convert_currency(df, to="USD", rates=monthly_only)


def test_single_currency_needs_no_rates() -> None:
    df = _money().filter(pl.col("currency") == "EUR")
    assert convert_currency(df, to="EUR").collect().equals(df)
    assert check_single_currency(df) == "EUR"
    assert check_single_currency(df.drop("currency")) is None


def test_check_single_currency_refuses_mix() -> None:
    with pytest.raises(CurrencyError, match="more than one currency") as err:
        check_single_currency(_money())
    assert "EUR (2 rows)" in str(err.value.value)
    with pytest.raises(CurrencyError):
        check_single_currency(
            _money().with_columns(pl.lit(None, pl.String).alias("currency")).vstack(_money())
        )


@pytest.mark.parametrize(
    ("table", "message", "column"),
    [
        ({"currency": ["EUR"], "period": ["2022-13"], "rate": ["1.1"]}, "not YYYY", "period"),
        ({"currency": ["EUR"], "period": ["2022"], "rate": ["-1"]}, "positive", "rate"),
        ({"currency": ["EURO"], "period": ["2022"], "rate": ["1"]}, "ISO 4217", "currency"),
    ],
)
def test_bad_rate_tables(table: dict[str, list[str]], message: str, column: str) -> None:
    with pytest.raises(CurrencyError, match=message) as err:
        read_rates(pl.DataFrame(table))
    assert err.value.column == column
    assert err.value.row == 1


def test_rate_file_errors_name_the_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("currency,period,rate\nEUR,2022,1.1\nEUR,2022,1.2\n", encoding="utf-8")
    with pytest.raises(CurrencyError, match="twice") as err:
        read_rates(path)
    assert err.value.file == str(path)
    assert err.value.row == 3
    with pytest.raises(CurrencyError, match="not found"):
        read_rates(tmp_path / "missing.csv")
    (tmp_path / "c.csv").write_text("cur,when,x\nEUR,2022,1\n", encoding="utf-8")
    with pytest.raises(CurrencyError, match="lacks column"):
        read_rates(tmp_path / "c.csv")
