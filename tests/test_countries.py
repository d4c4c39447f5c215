"""Country codes and labels to ISO3: Comtrade areas, Eurostat ISO2, labels in three languages."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from rerouting import _countries as c

DATA = Path(c.__file__).parent / "_data"


@pytest.mark.parametrize(
    ("code", "iso3"),
    [
        ("842", "USA"),
        ("251", "FRA"),
        ("699", "IND"),
        ("757", "CHE"),
        ("579", "NOR"),
        ("490", "TWN"),
        ("0842", "USA"),
        ("842.0", "USA"),
        ("381", "ITA"),
        ("380", "ITA"),
        ("412", "XKX"),
        ("51", "ARM"),
        ("398", "KAZ"),
        ("417", "KGZ"),
        ("860", "UZB"),
        ("643", "RUS"),
        ("112", "BLR"),
    ],
)
def test_comtrade_codes(code: str, iso3: str) -> None:
    out = pl.select(c.comtrade_code_to_iso3(pl.lit(code))).item()
    assert out == iso3


def test_comtrade_aggregates_and_unknowns() -> None:
    codes = pl.Series(["0", "899", "97", "975", "837", "9999", None])
    frame = pl.DataFrame({"code": codes}).with_columns(
        iso3=c.comtrade_code_to_iso3("code", role="reporter"),
        status=c.comtrade_codes_status("code", role="reporter"),
        agg=c.is_aggregate_code("code"),
    )
    assert frame["iso3"].to_list() == [None] * 7
    assert frame["status"].to_list() == [
        "aggregate",
        "aggregate",
        "aggregate",
        "aggregate",
        "aggregate",
        "unmapped",
        None,
    ]
    assert frame["agg"].to_list()[:6] == [True, True, True, True, True, False]


def test_every_comtrade_country_row_maps_to_its_iso3() -> None:
    for name in ("comtrade_partner_areas.csv", "comtrade_reporter_areas.csv"):
        table = pl.read_csv(DATA / name, infer_schema=False)
        role = "partner" if "partner" in name else "reporter"
        countries = table.filter(
            (pl.col("group") == "False")
            & pl.col("iso_3").str.contains(r"^[A-Z]{3}$")
            & (pl.col("iso_3") != "EUR")
        )
        got = countries.with_columns(
            out=c.comtrade_code_to_iso3("comtrade_code", role=role)  # type: ignore[arg-type]
        )
        bad = got.filter(pl.col("out") != pl.col("iso_3"))
        assert bad.height == 0, bad
        # every code in the table has a status, none is silently unknown
        status = table.select(c.comtrade_codes_status("comtrade_code", role=role))  # type: ignore[arg-type]
        assert status.to_series().null_count() == 0


def test_iso2_eurostat_flavour() -> None:
    codes = pl.Series(["GR", "EL", "XK", "GB", "UK", "XI", "NA", "de", " FR ", "QU", "ZZ"])
    out = pl.select(c.iso2_to_iso3(pl.lit(codes))).to_series().to_list()
    assert out == ["GRC", "GRC", "XKX", "GBR", "GBR", "GBR", "NAM", "DEU", "FRA", None, None]
    agg = pl.select(c.is_aggregate_code(pl.lit(codes), scheme="iso2")).to_series().to_list()
    assert agg == [False] * 9 + [True, False]


@pytest.mark.parametrize(
    ("label", "iso3"),
    [
        ("Russian Federation (Russia)", "RUS"),
        ("Belarus (Belorussia)", "BLR"),
        ("Kyrgyz Republic", "KGZ"),
        ("Kyrgyzstan", "KGZ"),
        ("Türkiye", "TUR"),
        ("Korea, Republic of (South Korea)", "KOR"),
        ("Korea (DPRK)", "PRK"),
        ("Moldova, Republic of", "MDA"),
        ("Czechia", "CZE"),
        ("Other Asia, nes", "TWN"),
        ("Côte d’Ivoire (Ivory Coast)", "CIV"),
        ("Cote d'Ivoire", "CIV"),
        ("Ireland (Eire)", "IRL"),
        ("St Kitts and Nevis", "KNA"),
        ("Germany (incl. German Democratic Republic 'DD' from 1991)", "DEU"),
        (
            "France (incl. Saint Barthélemy 'BL' -> 2012; incl. French Guiana 'GF', "
            "Guadeloupe 'GP', Martinique 'MQ', Réunion 'RE' from 1997; incl. Mayotte 'YT' "
            "from 2014)",
            "FRA",
        ),
        ("Occupied Palestinian Territory (West Bank (incl. East Jerusalem) and Gaza Strip)", "PSE"),
        ("Allemagne (incl. République démocratique allemande 'DD' depuis 1991)", "DEU"),
        ("Russie, Fédération de", "RUS"),
        ("Словакия", "SVK"),
        ("United States of America", "USA"),
        ("China, Hong Kong SAR", "HKG"),
        ("Viet Nam", "VNM"),
    ],
)
def test_labels(label: str, iso3: str) -> None:
    assert c.names_to_iso3(pl.Series([label])).to_list() == [iso3]


@pytest.mark.parametrize(
    "label",
    [
        "European Union - 27 countries (from 2020)",
        "Euro area (AT-01/1999, BE-01/1999)",
        "EU27_2020",
        "Extra-EU27 (from 2020)",
        "World",
        "Africa",
        "Commonwealth of Independent States",
        "Eurasian Economic Union",
        "Countries and territories not specified within the framework of extra-Union trade",
        "Stores and provisions within the framework of intra-Union trade",
        "High seas",
        "Unknown country",
    ],
)
def test_aggregate_labels(label: str) -> None:
    table = c.country_label_table([label], scheme="name")
    assert table["status"].to_list() == [c.AGGREGATE]


def test_unknown_labels_are_unmapped_not_guessed() -> None:
    table = c.country_label_table(["Atlantis", "Korea", ""], scheme="auto")
    assert set(table["status"]) == {c.UNMAPPED}
    assert table["iso3"].null_count() == 3


def test_every_iso_english_short_name_resolves_to_itself() -> None:
    dh = pl.read_csv(DATA / "datahub_country-codes.csv", infer_schema=False)
    rows = dh.select("CLDR display name", "ISO3166-1-Alpha-3").drop_nulls()
    out = c.names_to_iso3(rows["CLDR display name"])
    wrong = rows.with_columns(out=out).filter(pl.col("out") != pl.col("ISO3166-1-Alpha-3"))
    assert wrong.height == 0, wrong


def test_many_rows_few_labels() -> None:
    labels = pl.Series(["Russian Federation (Russia)", "Kyrgyzstan", "Atlantis"] * 50_000)
    out = c.names_to_iso3(labels)
    assert out.len() == 150_000
    assert out.value_counts().sort("count")["count"].to_list() == [50_000, 50_000, 50_000]
    assert out.null_count() == 50_000


def test_normalise_name() -> None:
    assert c.normalise_name("Russian Federation (Russia)") == "russian federation"
    assert c.normalise_name("Türkiye") == "turkiye"
    assert c.normalise_name("St. Lucia") == "saint lucia"
    assert c.normalise_name("Bosnia & Herzegovina") == "bosnia and herzegovina"
    assert c.normalise_name("A (b (c) d) e") == "a e"


def test_iso3_codes_include_kosovo_and_former_states() -> None:
    assert {"XKX", "SUN", "YUG", "DEU", "TWN"} <= c.ISO3_CODES
    assert "WLD" not in c.ISO3_CODES


@pytest.mark.parametrize("code", sorted(c.AGGREGATE_CODES))
def test_every_aggregate_code_reads_as_an_aggregate(code: str) -> None:
    """One list: what readers drop as aggregates is what validation flags and no hub is."""
    assert c.country_label_table([code], scheme="auto")["status"].to_list() == [c.AGGREGATE]
    assert pl.select(c.is_aggregate_code(pl.lit(code), scheme="iso3")).item()
