"""Property tests: whatever the input, read_trade raises a ReroutingError or accounts for every row.

Malformed input (random bytes, random cells under real headers, random headers) must
never escape as another exception, the ingest report must always add up, and what is
kept must pass validate_trade.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rerouting._exceptions import ReroutingError
from rerouting._io import TradeData, read_trade
from rerouting._validate import validate_trade

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

HEADERS = {
    "comtrade": [
        "freqCode", "period", "reporterCode", "flowCode", "partnerCode", "partner2Code",
        "cmdCode", "customsCode", "motCode", "netWgt", "qty", "qtyUnitAbbr", "primaryValue",
        "classificationCode",
    ],
    "comtrade-legacy": [
        "Classification", "Year", "Period", "Trade Flow Code", "Reporter Code", "Reporter ISO",
        "Partner Code", "Partner ISO", "Commodity Code", "Netweight (kg)", "Trade Value (US$)",
    ],
    "comext": [
        "DECLARANT_ISO", "PARTNER_ISO", "TRADE_TYPE", "PRODUCT_NC", "FLOW", "STAT_REGIME",
        "SUPP_UNIT", "PERIOD", "VALUE_IN_EUROS", "QUANTITY_IN_KG", "SUP_QUANTITY",
    ],
    "comext-browser": ["reporter", "partner", "product_code", "flow", "indicator", "period",
                       "value_eur"],
    "baci": ["t", "i", "j", "k", "v", "q"],
    "tidy": ["period", "frequency", "reporter", "partner", "flow", "hs", "value", "currency"],
}  # fmt: skip

# Plausible values per column (valid ones, edge cases and junk), so that rows are
# often kept and the merging, parent and duplicate rules are exercised too.
CODES = {  # kind: (valid values, edge cases and invalid values)
    "period": (["2022", "202201", "202203", "2022-01"], ["202252", "202213", "Y2019", "x", ""]),
    "freq": (["M", "A"], ["Q", ""]),
    "reporter": (["398", "842", "KAZ", "Kazakhstan", "DE", "EL"], ["0", "97", "9999", "EU27_2020"]),
    "partner": (["643", "251", "490", "RUS", "Türkiye", "NA"], ["0", "899", "QU", "Atlantis"]),
    "flow": (["M", "X", "RX", "1", "2", "Import", "EXPORT"], ["DX", "3", "4", "re-export"]),
    "hs": (["870323", "870324", "8703", "0101", "10121"], ["87", "TOTAL", "84XXXXXX", "8471.30"]),
    "split": (["0", "C00", "1"], ["C01", "2100", "3", ""]),
    "number": (["1000", "25.5", "0", "1e3", " 7 "], ["NA", ":", "", "-5", "inf", "NaN", "abc"]),
    "unit": (["u", "kg", "p/st"], ["N/A", "NO_SU", ""]),
    "class": (["H5", "H6"], ["HS", "S4", ""]),
    "indicator": (["VALUE_IN_EUROS"], ["QUANTITY_IN_KG"]),
    "currency": (["USD", "eur"], ["", "US"]),
}  # fmt: skip
COLUMN_KIND = {
    "freqCode": "freq", "period": "period", "reporterCode": "reporter", "flowCode": "flow",
    "partnerCode": "partner", "partner2Code": "split", "cmdCode": "hs", "customsCode": "split",
    "motCode": "split", "netWgt": "number", "qty": "number", "qtyUnitAbbr": "unit",
    "primaryValue": "number", "classificationCode": "class", "Classification": "class",
    "Year": "period", "Period": "period", "Trade Flow Code": "flow", "Reporter Code": "reporter",
    "Reporter ISO": "reporter", "Partner Code": "partner", "Partner ISO": "partner",
    "Commodity Code": "hs", "Netweight (kg)": "number", "Trade Value (US$)": "number",
    "DECLARANT_ISO": "reporter", "PARTNER_ISO": "partner", "TRADE_TYPE": "split",
    "PRODUCT_NC": "hs", "FLOW": "flow", "STAT_REGIME": "split", "SUPP_UNIT": "unit",
    "PERIOD": "period", "VALUE_IN_EUROS": "number", "QUANTITY_IN_KG": "number",
    "SUP_QUANTITY": "number", "reporter": "reporter", "partner": "partner",
    "product_code": "hs", "flow": "flow", "indicator": "indicator", "value_eur": "number",
    "t": "period", "i": "reporter", "j": "partner", "k": "hs", "v": "number", "q": "number",
    "frequency": "freq", "hs": "hs", "value": "number", "currency": "currency",
}  # fmt: skip
JUNK = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=10)


def cell(column: str, *, clean: bool) -> st.SearchStrategy[str]:
    """Valid values for the column, or (not clean) also edge cases and printable junk."""
    valid, edge = CODES[COLUMN_KIND.get(column, "number")]
    if clean:
        return st.sampled_from(valid)
    return st.one_of(st.sampled_from(valid), st.sampled_from(edge), JUNK)


def row_for(header: list[str], *, clean: bool) -> st.SearchStrategy[list[str]]:
    return st.tuples(*[cell(h, clean=clean) for h in header]).map(list)


def check(read: TradeData) -> None:
    report = read.report
    assert report.rows_read == report.rows_kept + sum(report.dropped.values())
    assert report.records_out == read.frame.height <= report.rows_kept
    for fr in report.files:
        assert fr.rows_read == fr.rows_kept + sum(fr.dropped.values())
    validation = validate_trade(read.frame)
    assert validation.ok, str(validation)


def read_bytes(data: bytes, name: str = "input.csv") -> TradeData | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return read_trade(path)
        except ReroutingError:
            return None


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    result = read_bytes(data)
    if result is not None:
        check(result)


@SETTINGS
@given(data=st.data(), fmt=st.sampled_from(sorted(HEADERS)), clean=st.booleans())
def test_random_cells_under_real_headers(data: st.DataObject, fmt: str, clean: bool) -> None:
    header = HEADERS[fmt]
    rows = data.draw(st.lists(row_for(header, clean=clean), min_size=1, max_size=15))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    result = read_bytes(buf.getvalue().encode("utf-8"))
    if result is not None:
        check(result)
        assert result.report.rows_read == len(rows)


@SETTINGS
@given(
    header=st.lists(
        st.one_of(
            st.sampled_from(sorted({h for hs in HEADERS.values() for h in hs})),
            st.text(min_size=1, max_size=10),
        ),
        min_size=1,
        max_size=10,
        unique=True,
    ),
    cells=st.lists(st.one_of(st.sampled_from(CODES["number"][0]), JUNK), min_size=10, max_size=10),
)
def test_random_headers(header: list[str], cells: list[str]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerow(cells[: len(header)])
    result = read_bytes(buf.getvalue().encode("utf-8"))
    if result is not None:
        check(result)


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["KAZ", "KGZ", "DEU", "WLD", "842", "Atlantis", "", "RUS"]),
            st.sampled_from(["CHN", "DEU", "KAZ", "QU", "0", "Türkiye"]),
            st.sampled_from(["870323", "8703", "870324", "TOTAL", "87", "x1"]),
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_random_frames(rows: list[tuple[str, str, str, float | None]]) -> None:
    frame = pl.DataFrame(
        {
            "period": ["2022-01"] * len(rows),
            "reporter": [r[0] for r in rows],
            "partner": [r[1] for r in rows],
            "flow": ["import"] * len(rows),
            "hs": [r[2] for r in rows],
            "value": [r[3] for r in rows],
        },
        schema_overrides={"value": pl.Float64},
    )
    result = read_trade(frame)
    check(result)
    # value is conserved between the rows kept and the records made from them
    kept_value = result.frame["value"].sum()
    assert kept_value >= 0
