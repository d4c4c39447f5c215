"""read_trade on the real data sets shipped in fixtures/real and on their excerpts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
import pytest

from rerouting._exceptions import SchemaError
from rerouting._io import read_trade
from rerouting._validate import validate_trade

if TYPE_CHECKING:
    from pathlib import Path

EU27 = {
    "AUT", "BEL", "BGR", "CYP", "CZE", "DEU", "DNK", "ESP", "EST", "FIN", "FRA", "GRC", "HRV",
    "HUN", "IRL", "ITA", "LTU", "LUX", "LVA", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN",
    "SWE",
}  # fmt: skip
HUBS_AND_TARGETS = {"ARM", "BLR", "GEO", "KAZ", "KGZ", "RUS", "UZB"}


@pytest.fixture(scope="module")
def real(real_data: Path) -> Path:
    return real_data


@pytest.fixture(scope="module")
def formats(fixtures_dir: Path) -> Path:
    return fixtures_dir / "formats"


def _independent_parents(raw: pl.DataFrame) -> pl.DataFrame:
    """HS4 rows with at least one CN8 row below them (same reporter, partner, period)."""
    key = ["reporter", "partner", "flow", "period"]
    children = (
        raw.filter(pl.col("product_code").str.len_chars() == 8)
        .select(*key, pl.col("product_code").str.slice(0, 4).alias("product_code"))
        .unique()
    )
    return raw.filter(pl.col("product_code").str.len_chars() == 4).join(
        children, on=[*key, "product_code"], how="semi"
    )


def test_reg833_parquet_full(real: Path) -> None:
    path = (
        real
        / "comext_eu27_exports_reg833_2020_2022"
        / ("eu27_exports_sanctioned_cn_codes_monthly_2020-01_2022-11.parquet")
    )
    raw = pl.read_parquet(path)
    data = read_trade(path)
    report = data.report
    parents = _independent_parents(raw)
    assert report.rows_read == raw.height == 1_141_670
    assert report.dropped == {"parent_commodity_row": parents.height}
    assert report.rows_kept == raw.height - parents.height == data.frame.height
    assert set(data.frame["reporter"]) == EU27
    assert set(data.frame["partner"]) == HUBS_AND_TARGETS
    assert set(data.frame["flow"]) == {"export"}
    assert set(data.frame["currency"]) == {"EUR"}
    # value is conserved: kept = everything read minus the parent rows
    expected = float(raw["value_eur"].sum()) - float(parents["value_eur"].sum())
    assert data.frame["value"].sum() == pytest.approx(expected, rel=1e-12)
    assert validate_trade(data.frame).ok


def test_reg833_one_record_against_the_raw_row(real: Path) -> None:
    path = (
        real
        / "comext_eu27_exports_reg833_2020_2022"
        / ("eu27_exports_sanctioned_cn_codes_monthly_2020-01_2022-11.parquet")
    )
    raw = pl.read_parquet(path).filter(
        reporter="Lithuania", partner="Russian Federation (Russia)", period="2021-03"
    )
    cn8 = raw.filter(product_level="CN8").sort("product_code").row(0, named=True)
    data = read_trade(raw)  # in-memory frames are detected like files
    rec = data.frame.filter(hs=cn8["product_code"]).row(0, named=True)
    assert (rec["reporter"], rec["partner"], str(rec["period"])) == ("LTU", "RUS", "2021-03-01")
    assert rec["value"] == cn8["value_eur"]


def test_eurostat_totals_monthly(real: Path) -> None:
    path = (
        real
        / "eurostat_totals_eu_hubs_2019_2024"
        / ("eurostat_eu_member_total_trade_with_hubs_monthly.csv.gz")
    )
    raw = pl.read_csv(path, infer_schema=False)
    data = read_trade(path)
    aggregates = raw.filter(pl.col("reporter").str.contains(r"^(European Union|Euro area)"))
    assert data.report.rows_read == raw.height == 14_063
    assert data.report.dropped == {"aggregate_reporter": aggregates.height}
    assert set(data.frame["reporter"]) == EU27 | {"GBR"}
    assert set(data.frame["hs"]) == {"TOTAL"}
    # The mirror example of PROVENANCE.md: Lithuania -> Kyrgyzstan 2022 is EUR 324.7M.
    lt_kg = data.frame.filter(
        (pl.col("reporter") == "LTU")
        & (pl.col("partner") == "KGZ")
        & (pl.col("flow") == "export")
        & (pl.col("period").dt.year() == 2022)
    )
    assert lt_kg.height == 12
    assert lt_kg["value"].sum() == pytest.approx(324_744_102.0)
    assert validate_trade(data.frame).ok


def test_total_and_chapter_27(real: Path) -> None:
    path = (
        real
        / "comext_eu27_exports_reg833_2020_2022"
        / ("eu27_member_trade_total_and_hs27_with_ru_neighbours_monthly.csv.gz")
    )
    raw = pl.read_csv(path, infer_schema=False)
    data = read_trade(path)
    n_total = raw.filter(product_code="TOTAL").height
    # chapter 27 rows are product detail, so TOTAL rows are not kept beside them
    assert data.report.dropped == {"commodity_total": n_total}
    assert set(data.frame["hs"]) == {"27"}
    assert set(data.frame["flow"]) == {"import", "export"}


def test_annual_by_partner_needs_a_flow(real: Path) -> None:
    path = (
        real
        / "eurostat_totals_eu_hubs_2019_2024"
        / ("eurostat_eu27_total_exports_by_partner_annual_2010_2023.csv")
    )
    with pytest.raises(SchemaError, match="'flow'"):
        read_trade(path)
    frame = pl.read_csv(path, infer_schema=False).with_columns(flow=pl.lit("EXPORT"))
    data = read_trade(frame, format="comext-browser")
    # the reporter is the EU27 aggregate: every row is accounted for, none kept
    assert data.report.dropped == {"aggregate_reporter": frame.height}
    assert data.report.examples["aggregate_reporter"] == ("EU27_2020",)
    assert data.frame.height == 0


@pytest.mark.parametrize(
    ("name", "reporter", "aggregates"),
    [
        ("armenia_import_yearly.csv", "ARM", {"European Union - 27 countries (from 2020)"}),
        ("kazakhstan_import_yearly.csv", "KAZ", {"Commonwealth of Independent States"}),
        ("kyrgyz_import_yearly.csv", "KGZ", {"Africa", "Asia"}),
        ("uzbek_import_yearly.csv", "UZB", {"Other countries"}),
    ],
)
def test_national_statistics_of_the_hubs(
    real: Path, name: str, reporter: str, aggregates: set[str]
) -> None:
    path = real / "eurostat_totals_eu_hubs_2019_2024" / "partner_national_statistics" / name
    data = read_trade(path)
    assert set(data.frame["reporter"]) == {reporter}
    assert set(data.frame["flow"]) == {"import"}
    assert set(data.frame["frequency"]) == {"A"}
    assert aggregates <= set(data.report.examples["aggregate_partner"])
    # nearly every partner label resolves (Russian labels included, for Uzbekistan)
    unmapped = data.report.dropped.get("unmapped_partner", 0)
    assert unmapped <= 0.01 * data.report.rows_read
    assert {"RUS", "CHN", "DEU"} <= set(data.frame["partner"])


# --------------------------------------------------------------------------- excerpts


def test_excerpt_reg833(formats: Path) -> None:
    data = read_trade(formats / "comext_browser_reg833_LT_KG_2022-05_06_excerpt.csv")
    raw = pl.read_csv(
        formats / "comext_browser_reg833_LT_KG_2022-05_06_excerpt.csv", infer_schema=False
    )
    parents = _independent_parents(raw)
    assert data.report.rows_read == 635
    assert data.report.dropped == {"parent_commodity_row": parents.height}
    assert parents.height > 0
    assert set(data.frame["reporter"]) == {"LTU"}
    assert set(data.frame["partner"]) == {"KGZ"}
    assert validate_trade(data.frame).ok


def test_excerpt_totals_and_chapter(formats: Path) -> None:
    data = read_trade(formats / "comext_total_and_hs27_baltics_RU_2022_excerpt.csv")
    assert data.report.dropped == {"commodity_total": 66}
    assert set(data.frame["reporter"]) == {"LTU", "LVA", "EST"}


def test_excerpt_kyrgyz_totals(formats: Path) -> None:
    data = read_trade(formats / "eurostat_totals_KG_2022_excerpt.csv")
    assert data.report.rows_read == 670
    assert set(data.report.dropped) == {"aggregate_reporter"}
    lt = data.frame.filter((pl.col("reporter") == "LTU") & (pl.col("flow") == "export"))
    assert lt["value"].sum() == pytest.approx(324_744_102.0)
