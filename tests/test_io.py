"""read_trade on hand-written snippets of every format: exact rows kept and dropped."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl
import pytest

from rerouting._io import TradeData, detect_format, read_trade
from rerouting._validate import validate_trade
from rerouting.schema import CANONICAL_SCHEMA

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="module")
def formats(fixtures_dir: Path) -> Path:
    return fixtures_dir / "formats"


def _record(data: TradeData, **where: object) -> dict[str, object]:
    rows = data.frame.filter(**where)
    assert rows.height == 1, f"expected one record for {where}, got {rows.height}"
    return rows.row(0, named=True)


def _assert_canonical(data: TradeData) -> None:
    assert dict(data.frame.schema) == CANONICAL_SCHEMA
    report = data.report
    assert report.rows_read == report.rows_kept + sum(report.dropped.values())
    assert report.records_out == data.frame.height
    validation = validate_trade(data.frame)
    assert validation.ok, str(validation)


# --------------------------------------------------------------------------- Comtrade+


def test_comtrade_plus_rows_and_reasons(formats: Path) -> None:
    data = read_trade(formats / "comtrade_plus_armenia_cars_2022.csv")
    _assert_canonical(data)
    r = data.report
    assert (r.rows_read, r.rows_kept, r.records_out) == (28, 16, 10)
    assert r.dropped == {
        "aggregate_partner": 2,
        "unmapped_partner": 1,
        "aggregate_reporter": 1,
        "non_numeric_value": 1,
        "negative_value": 1,
        "bad_period": 1,
        "parent_commodity_row": 1,
        "commodity_total": 1,
        "unsupported_flow": 1,
        "duplicate": 1,
        "not_a_country_pair": 1,
    }
    assert set(r.examples["aggregate_partner"]) == {"0", "899"}
    assert r.examples["unmapped_partner"] == ("9999",)
    assert r.examples["parent_commodity_row"] == ("8703",)
    assert r.examples["unsupported_flow"] == ("DX",)
    assert r.examples["bad_period"] == ("202213",)
    assert r.files[0].format == "comtrade"


def test_comtrade_plus_mode_of_transport_total_wins(formats: Path) -> None:
    data = read_trade(formats / "comtrade_plus_armenia_cars_2022.csv")
    # motCode 0 row (2.4M) is the total of the sea (1.4M) and road (1.0M) rows
    usa = _record(data, partner="USA", hs="870323", flow="import")
    assert usa["value"] == 2_400_000
    assert usa["net_weight_kg"] == 180_000
    assert usa["quantity"] == 120
    # no total row: rail + road are summed
    assert _record(data, partner="USA", hs="870324")["value"] == 750_000


def test_comtrade_plus_customs_and_partner2_totals(formats: Path) -> None:
    data = read_trade(formats / "comtrade_plus_armenia_cars_2022.csv")
    assert _record(data, partner="FRA")["value"] == 320_000  # C00, not C00+C01+C02
    assert _record(data, partner="IND")["value"] == 210_000  # partner2 0, not +842


def test_comtrade_plus_country_codes(formats: Path) -> None:
    data = read_trade(formats / "comtrade_plus_armenia_cars_2022.csv")
    partners = set(data.frame["partner"])
    assert partners == {"USA", "FRA", "IND", "TWN", "CHE", "NOR", "RUS", "DEU"}
    assert set(data.frame["reporter"]) == {"ARM", "KAZ"}


def test_comtrade_plus_fields(formats: Path) -> None:
    data = read_trade(formats / "comtrade_plus_armenia_cars_2022.csv")
    horses = _record(data, partner="CHE")
    assert horses["hs"] == "0101"  # leading zero kept
    assert _record(data, partner="NOR")["hs"] == "010121"
    assert horses["period"] == dt.date(2022, 3, 1)
    assert horses["frequency"] == "M"
    assert horses["currency"] == "USD"
    assert horses["hs_vintage"] == "HS2022"
    assert horses["source"] == "comtrade"
    annual = _record(data, reporter="KAZ")
    assert (annual["period"], annual["frequency"]) == (dt.date(2021, 1, 1), "A")
    assert annual["hs_vintage"] == "HS2017"
    flows = set(data.frame.filter(partner="RUS")["flow"])
    assert flows == {"export", "re-export"}


def test_comtrade_plus_fob_fallback(tmp_path: Path) -> None:
    path = tmp_path / "fob.csv"
    path.write_text(
        "freqCode,period,reporterCode,flowCode,partnerCode,cmdCode,cifvalue,fobvalue\n"
        "M,202201,398,X,643,870323,,5000\n"
        "M,202201,398,M,643,870323,7000,6500\n"
    )
    data = read_trade(path)
    assert detect_format(path) == "comtrade"
    assert _record(data, flow="export")["value"] == 5000
    assert _record(data, flow="import")["value"] == 7000  # CIF for imports


def test_comtrade_ref_year_month_without_period(tmp_path: Path) -> None:
    path = tmp_path / "refyear.csv"
    path.write_text(
        "freqCode,refYear,refMonth,reporterCode,flowCode,partnerCode,cmdCode,primaryValue\n"
        "M,2022,7,398,M,643,870323,10\n"
        "A,2021,52,398,M,643,870323,20\n"
    )
    data = read_trade(path)
    assert sorted(data.frame["period"].to_list()) == [dt.date(2021, 1, 1), dt.date(2022, 7, 1)]


# --------------------------------------------------------------------------- legacy


def test_comtrade_legacy_snake_case(formats: Path) -> None:
    path = formats / "comtrade_legacy_kazakhstan_2019.csv"
    assert detect_format(path) == "comtrade-legacy"
    data = read_trade(path)
    _assert_canonical(data)
    r = data.report
    assert (r.rows_read, r.rows_kept, r.records_out) == (13, 9, 9)
    assert r.dropped == {
        "parent_commodity_row": 1,
        "aggregate_partner": 1,
        "commodity_total": 1,
        "non_numeric_value": 1,
    }
    assert _record(data, flow="re-export")["value"] == 1_800_000  # code 3 = re-export
    assert _record(data, flow="re-import")["value"] == 150_000  # code 4 = re-import
    assert _record(data, partner="TWN")["hs"] == "850760"
    assert _record(data, partner="CHN")["hs"] == "010121"  # lost zero restored
    assert any("leading zero" in n for n in r.notes)
    kaz = _record(data, partner="DEU", hs="870323")
    assert (kaz["period"], kaz["frequency"], kaz["hs_vintage"]) == (
        dt.date(2019, 1, 1),
        "A",
        "HS2017",
    )


ARMENIA_CARS_TITLE_CASE = (
    "Classification,Year,Period,Period Desc.,Aggregate Level,Is Leaf Code,Trade Flow Code,"
    "Trade Flow,Reporter Code,Reporter,Reporter ISO,Partner Code,Partner,Partner ISO,"
    "2nd Partner Code,2nd Partner,2nd Partner ISO,Customs Proc. Code,Customs,"
    "Mode of Transport Code,Mode of Transport,Commodity Code,Commodity,Qty Unit Code,Qty Unit,"
    "Qty,Alt Qty Unit Code,Alt Qty Unit,Alt Qty,Netweight (kg),Gross weight (kg),"
    "Trade Value (US$),CIF Trade Value (US$),FOB Trade Value (US$),Flag\n"
    "H4,2021,202111,November 2021,6,1,1,Import,51,Armenia,ARM,392,Japan,JPN,,,,,,,,"
    '870323,"Motor cars; spark-ignition, 1500-3000cc",5,Number of items,212,,,,'
    "298000,,3911000,3911000,,0\n"
    "H4,2021,202111,November 2021,6,1,1,Import,51,Armenia,ARM,842,USA,USA,,,,,,,,"
    '870323,"Motor cars; spark-ignition, 1500-3000cc",5,Number of items,160,,,,'
    "251000,,3305000,3305000,,0\n"
    "H4,2021,202111,November 2021,6,1,2,Export,51,Armenia,ARM,643,Russian Federation,RUS,,,,,,,,"
    '870323,"Motor cars; spark-ignition, 1500-3000cc",5,Number of items,95,,,,'
    "140000,,2700000,,2700000,0\n"
    "H4,2021,202111,November 2021,6,1,3,Re-Export,51,Armenia,ARM,268,Georgia,GEO,,,,,,,,"
    '870324,"Motor cars; spark-ignition, over 3000cc",5,Number of items,12,,,,'
    "30000,,610000,,610000,0\n"
    "H4,2021,202111,November 2021,4,0,1,Import,51,Armenia,ARM,0,World,WLD,,,,,,,,"
    '8703,"Motor cars",5,Number of items,900,,,,1300000,,17000000,17000000,,0\n'
)


def test_unseen_title_case_comtrade_file_of_armenian_cars_validates(tmp_path: Path) -> None:
    # Old Comtrade CSV download headers: Title Case, spaces, units in parentheses.
    path = tmp_path / "comtrade.csv"
    path.write_text(ARMENIA_CARS_TITLE_CASE, encoding="utf-8")
    assert detect_format(path) == "comtrade-legacy"
    data = read_trade(path)
    _assert_canonical(data)
    assert data.report.dropped == {"aggregate_partner": 1}
    assert _record(data, partner="JPN")["value"] == 3_911_000
    assert _record(data, partner="JPN")["hs_vintage"] == "HS2012"
    assert _record(data, partner="GEO")["flow"] == "re-export"
    assert _record(data, partner="RUS")["period"] == dt.date(2021, 11, 1)


def test_legacy_old_api_names_and_text_flows(tmp_path: Path) -> None:
    path = tmp_path / "api.csv"
    path.write_text(
        "pfCode,yr,period,rgDesc,rtCode,rt3ISO,ptCode,pt3ISO,cmdCode,TradeValue,NetWeight\n"
        "H4,2017,2017,Import,699,IND,251,FRA,880240,90000000,5000\n"
        "H4,2017,2017,Re-Export,757,CHE,579,NOR,710812,1200,0\n"
        "H4,2017,2017,Export,842,USA,490,,854231,2500,1\n"
        "H4,2017,2017,Transit,842,USA,124,CAN,854231,2500,1\n"
    )
    data = read_trade(path)
    assert data.report.files[0].format == "comtrade-legacy"
    assert _record(data, reporter="IND")["partner"] == "FRA"
    assert _record(data, reporter="CHE")["flow"] == "re-export"
    assert _record(data, reporter="USA")["partner"] == "TWN"
    assert data.report.dropped == {"unsupported_flow": 1}


# --------------------------------------------------------------------------- Comext bulk


def test_comext_bulk_classic(formats: Path) -> None:
    path = formats / "comext_bulk_full202201_excerpt.dat"
    assert detect_format(path) == "comext"
    data = read_trade(path)
    _assert_canonical(data)
    r = data.report
    assert (r.rows_read, r.rows_kept, r.records_out) == (20, 12, 11)
    assert r.dropped == {
        "aggregate_partner": 3,
        "non_numeric_value": 1,
        "negative_value": 1,
        "bad_period": 1,
        "bad_hs_code": 1,
        "commodity_total": 1,
    }
    assert set(r.examples["aggregate_partner"]) == {"QU", "QV", "QZ"}
    assert r.examples["bad_hs_code"] == ("84XXXXXX",)
    # statistical regimes 1 and 3 are summed into one record
    lt = _record(data, reporter="LTU", partner="KAZ", hs="84713000")
    assert (lt["value"], lt["net_weight_kg"], lt["quantity"]) == (1_600_000, 3260, 2620)
    assert set(data.frame.filter(reporter="GRC")["hs"]) == {"30049000", "30042000"}  # GR, EL
    assert "XKX" in set(data.frame["partner"])
    assert "NAM" in set(data.frame["partner"])  # "NA" is Namibia, not a null
    annual = _record(data, reporter="AUT", flow="export")
    assert (annual["period"], annual["frequency"]) == (dt.date(2022, 1, 1), "A")
    assert set(data.frame["currency"]) == {"EUR"}
    assert set(data.frame["hs_vintage"]) == {"CN"}


def test_comext_bulk_v2_gzip(formats: Path) -> None:
    data = read_trade(formats / "comext_bulk_v2_full202402_excerpt.csv.gz")
    _assert_canonical(data)
    assert data.report.files[0].format == "comext"
    assert (data.report.rows_read, data.report.records_out) == (6, 5)
    assert _record(data, reporter="LTU", partner="KAZ")["value"] == 1_300_000
    horse = _record(data, reporter="POL")
    assert (horse["hs"], horse["flow"]) == ("01012100", "import")
    chip = _record(data, reporter="DEU", flow="export")
    assert chip["quantity"] is None
    assert chip["quantity_unit"] is None


# --------------------------------------------------------------------------- browser


def test_comext_browser_cp1252_labels(formats: Path) -> None:
    path = formats / "comext_browser_cp1252.csv"
    data = read_trade(path)
    _assert_canonical(data)
    assert data.report.files[0].format == "comext-browser"
    assert data.report.dropped == {"unsupported_indicator": 1, "non_numeric_value": 1}
    assert set(data.frame["partner"]) == {"CIV"}
    assert any("cp1252" in n for n in data.report.notes)


# --------------------------------------------------------------------------- BACI


def test_baci_with_country_table(formats: Path) -> None:
    path = formats / "baci" / "BACI_HS17_Y2022_V202401_excerpt.csv"
    assert detect_format(path) == "baci"
    data = read_trade(path)
    _assert_canonical(data)
    r = data.report
    assert (r.rows_read, r.rows_kept) == (10, 8)
    assert r.dropped == {"unmapped_partner": 1, "not_a_country_pair": 1}
    rec = _record(data, reporter="DEU", partner="ARM")
    assert rec["value"] == pytest.approx(125_430_512.0)  # thousands of USD -> USD
    assert rec["net_weight_kg"] == pytest.approx(9_800_250.0)  # tonnes -> kg
    assert (rec["flow"], rec["frequency"], rec["period"]) == ("export", "A", dt.date(2022, 1, 1))
    assert (rec["hs_vintage"], rec["source"], rec["currency"]) == ("HS2017", "baci", "USD")
    assert _record(data, reporter="TWN")["hs"] == "854231"  # 490 = Other Asia nes
    horses = _record(data, reporter="CHN")
    assert horses["hs"] == "010121"
    assert horses["net_weight_kg"] is None  # "   NA"
    assert any("country_codes_V202401.csv" in n for n in r.notes)


def test_baci_without_country_table_falls_back(formats: Path, tmp_path: Path) -> None:
    src = formats / "baci" / "BACI_HS17_Y2022_V202401_excerpt.csv"
    path = tmp_path / src.name
    path.write_bytes(src.read_bytes())
    data = read_trade(path)
    assert set(data.frame["reporter"]) >= {"DEU", "USA", "FRA", "IND", "CHE", "TWN"}
    assert any("no BACI country table" in n for n in data.report.notes)


def test_baci_folder_skips_code_table(formats: Path) -> None:
    data = read_trade(formats / "baci")
    assert len(data.report.files) == 1
    assert any("code table" in n for n in data.report.notes)


def test_baci_explicit_country_table(formats: Path, tmp_path: Path) -> None:
    src = formats / "baci" / "BACI_HS17_Y2022_V202401_excerpt.csv"
    path = tmp_path / "BACI_HS92_Y1995_V202401.csv"
    path.write_bytes(src.read_bytes())
    table = formats / "baci" / "country_codes_V202401.csv"
    data = read_trade(path, baci_country_table=table)
    assert set(data.frame["hs_vintage"]) == {"HS1992"}


# --------------------------------------------------------------------------- tidy


def test_tidy_csv(formats: Path) -> None:
    data = read_trade(formats / "tidy_sample.csv")
    _assert_canonical(data)
    r = data.report
    assert r.dropped == {
        "aggregate_partner": 1,
        "non_numeric_value": 1,
        "non_finite_value": 1,
        "parent_commodity_row": 1,
        "duplicate": 1,
    }
    assert _record(data, reporter="KGZ")["hs"] == "847130"  # "8471.30"
    assert _record(data, reporter="KAZ", hs="010121")["value"] == 20_000
    uzb = _record(data, reporter="UZB")
    assert (uzb["hs"], uzb["currency"], uzb["frequency"]) == ("30049000", "EUR", "A")
    assert set(data.frame["source"]) == {"national"}


def test_tidy_columns_mapping_bom_semicolon(formats: Path) -> None:
    data = read_trade(
        formats / "tidy_bom_semicolon.csv",
        columns={
            "period": "Month",
            "reporter": "Country",
            "partner": "Counterpart",
            "flow": "Direction",
            "hs": "Product",
            "value": "USD",
        },
        currency="usd",
    )
    _assert_canonical(data)
    assert data.frame["hs"].to_list() == ["870323", "010121"]
    assert set(data.frame["currency"]) == {"USD"}
    assert data.report.dropped == {"non_numeric_value": 1}


def test_in_memory_frame_and_lazy() -> None:
    frame = pl.DataFrame(
        {
            "period": [dt.date(2022, 1, 1), dt.date(2022, 2, 1)],
            "reporter": ["KAZ", "Kazakhstan"],
            "partner": ["DE", "643"],
            "flow": ["Import", "M"],
            "hs": [870323, 10121],
            "value": [1.0, 2.0],
        }
    )
    data = read_trade(frame.lazy())
    assert data.frame["reporter"].to_list() == ["KAZ", "KAZ"]
    assert data.frame["partner"].to_list() == ["DEU", "RUS"]
    assert data.frame["hs"].to_list() == ["870323", "010121"]
    assert data.report.files[0].path == "<in-memory frame>"
    assert data.lazy().collect().equals(data.frame)
    assert len(data) == 2


def test_in_memory_canonical_frame_round_trips() -> None:
    frame = pl.DataFrame(
        {
            "period": [dt.date(2022, 1, 1)],
            "frequency": ["M"],
            "reporter": ["KGZ"],
            "partner": ["CHN"],
            "flow": ["import"],
            "hs": ["847130"],
            "value": [310000.0],
            "currency": ["USD"],
            "net_weight_kg": [None],
            "quantity": [None],
            "quantity_unit": [None],
            "hs_vintage": ["HS2017"],
            "source": ["synthetic"],
        }
    ).cast(CANONICAL_SCHEMA)  # type: ignore[arg-type]
    data = read_trade(frame)
    assert data.frame.equals(frame)
    assert data.report.rows_kept == 1


def test_format_override_on_frame() -> None:
    frame = pl.DataFrame(
        {"t": [2020], "i": [842], "j": [251], "k": ["870323"], "v": [1.5], "q": [2.0]}
    )
    data = read_trade(frame)
    assert data.frame.row(0, named=True)["value"] == 1500.0
    assert data.report.files[0].format == "baci"


def test_mixed_formats_in_one_call(formats: Path) -> None:
    data = read_trade(
        [formats / "tidy_sample.csv", formats / "comtrade_legacy_kazakhstan_2019.csv"]
    )
    assert {f.format for f in data.report.files} == {"tidy", "comtrade-legacy"}
    assert data.report.rows_read == 10 + 13
    assert data.frame.height == data.report.records_out == 5 + 9


def test_merged_split_rows_count_as_kept() -> None:
    frame = pl.DataFrame(
        {
            "period": ["2022-01"] * 3,
            "reporter": ["KAZ"] * 3,
            "partner": ["CHN"] * 3,
            "flow": ["import"] * 3,
            "hs": ["847130"] * 3,
            "value": [1.0, 2.0, 2.0],
        }
    )
    data = read_trade(frame)
    # two rows differ (summed into one record), one is an exact duplicate
    assert (data.report.rows_kept, data.report.records_out) == (2, 1)
    assert data.report.dropped == {"duplicate": 1}
    assert data.frame["value"].to_list() == [3.0]


def test_thousands_of_unmapped_codes_are_counted_and_shown(formats: Path) -> None:
    data = read_trade(formats / "comtrade_plus_unmapped_partner_codes.csv.gz")
    r = data.report
    assert (r.rows_read, r.rows_kept, r.records_out) == (3480, 480, 480)
    assert r.dropped == {"unmapped_partner": 3000}
    examples = r.examples["unmapped_partner"]
    assert len(examples) == 5
    assert all(e.isdigit() and 9000 <= int(e) <= 9998 for e in examples)
    # the lost value is stated, not hidden
    note = next(n for n in r.notes if "unmapped_partner" in n)
    assert "72.1%" in note
    assert "unmapped_partner" in r.summary() or "maps to no country" in r.summary()
    assert set(data.frame["partner"]) == {
        "RUS", "CHN", "DEU", "USA", "FRA", "IND", "CHE", "NOR", "TWN", "ARM"
    }  # fmt: skip
