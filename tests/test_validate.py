"""validate_trade: named rules with counts and examples on canonical and broken frames."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from rerouting._exceptions import SchemaError
from rerouting._validate import RULES, ValidationReport, validate_trade
from rerouting.schema import CANONICAL_SCHEMA


def canonical(n: int = 4) -> pl.DataFrame:
    partners = ["DEU", "FRA", "CHN", "USA", "TUR", "ARE"]
    return pl.DataFrame(
        {
            "period": [dt.date(2022, m + 1, 1) for m in range(n)],
            "frequency": ["M"] * n,
            "reporter": ["KAZ"] * n,
            "partner": [partners[i % len(partners)] for i in range(n)],
            "flow": ["import"] * n,
            "hs": ["870323"] * n,
            "value": [1000.0 * (i + 1) for i in range(n)],
            "currency": ["USD"] * n,
            "net_weight_kg": [None] * n,
            "quantity": [None] * n,
            "quantity_unit": [None] * n,
            "hs_vintage": ["HS2017"] * n,
            "source": ["comtrade"] * n,
        }
    ).cast(CANONICAL_SCHEMA)  # type: ignore[arg-type]


def failing(report: ValidationReport) -> dict[tuple[str, str | None], int]:
    return {(r.rule, r.column): r.failures for r in report.failures}


def test_clean_frame_passes_eager_and_lazy() -> None:
    frame = canonical()
    for obj in (frame, frame.lazy()):
        report = validate_trade(obj)
        assert report.ok
        assert report.rows == 4
        report.raise_for_errors()  # no error
    assert "OK" in str(validate_trade(frame))


def test_every_rule_fires() -> None:
    frame = canonical(6).with_columns(
        period=pl.Series([dt.date(2022, 1, 1), dt.date(2022, 2, 15)] + [dt.date(2022, 3, 1)] * 4),
        reporter=pl.Series(["KAZ", "KAZ", "kaz", "WLD", "ABC", "KAZ"]),
        partner=pl.Series(["DEU", None, "FRA", "CHN", "USA", "KAZ"]),
        hs=pl.Series(["870323", "87a3", "870323", "870323", "TOTAL", "1"]),
        value=pl.Series([1.0, -2.0, float("inf"), 4.0, 5.0, 6.0]),
        currency=pl.Series(["USD", "usd", "USD", "USD", "USD", "USD"]),
    )
    report = validate_trade(frame)
    got = failing(report)
    assert got == {
        ("required_not_null", "partner"): 1,
        ("period_alignment", "period"): 1,
        ("iso3_format", "reporter"): 1,
        ("aggregate_country", "reporter"): 1,
        ("unknown_country", "reporter"): 1,
        ("not_a_country_pair", "partner"): 1,
        ("hs_format", "hs"): 2,
        ("negative_value", "value"): 1,
        ("non_finite_value", "value"): 1,
        ("currency_format", "currency"): 1,
    }
    hs = next(r for r in report.failures if r.rule == "hs_format")
    assert hs.examples == ("87a3", "1")
    assert hs.first_row == 1
    assert set(report.to_frame()["rule"]) <= set(RULES)


def test_duplicates_and_schema_rules() -> None:
    frame = canonical(3)
    doubled = pl.concat([frame, frame.head(1)])
    got = failing(validate_trade(doubled))
    assert got == {("duplicate_records", None): 2}

    wrong = frame.with_columns(pl.col("value").cast(pl.String), pl.col("flow").cast(pl.String))
    got = failing(validate_trade(wrong))
    assert got == {("dtypes", "value"): 1, ("dtypes", "flow"): 1}

    missing = frame.drop("hs", "partner")
    report = validate_trade(missing)
    assert failing(report) == {("required_columns", None): 2}
    assert report.failures[0].examples == ("partner", "hs")


def test_raise_for_errors_names_column_row_value() -> None:
    frame = canonical(4).with_columns(
        reporter=pl.Series(["KAZ", "KAZ", "W00", "KAZ"]),
    )
    report = validate_trade(frame)
    with pytest.raises(SchemaError) as err:
        report.raise_for_errors()
    assert err.value.column == "reporter"
    assert err.value.row == 3
    assert err.value.value == "W00"
    assert "aggregate_country" in str(err.value)
    assert err.value.hint is not None
    assert "read_trade" in err.value.hint


def test_to_frame_shape() -> None:
    table = validate_trade(canonical()).to_frame()
    assert table.columns == ["rule", "column", "failures", "examples", "description"]
    assert table["failures"].sum() == 0
    assert table.height == len(validate_trade(canonical()).results)


def test_aggregate_codes_are_flagged_as_aggregates() -> None:
    """Codes of the one list (``_countries.AGGREGATE_CODES``), whatever their length."""
    df = canonical(4).with_columns(partner=pl.Series(["ZZZ", "EUU", "EU", "W00"]))
    assert failing(validate_trade(df)) == {("aggregate_country", "partner"): 4}
