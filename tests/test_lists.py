from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

import polars as pl
import pytest

from rerouting._exceptions import ConfigError, UnknownListError
from rerouting._hs import nomenclature
from rerouting._lists import (
    list_catalog,
    list_names,
    product_list,
    similar_codes,
)
from rerouting._normalise import harmonise_hs

if TYPE_CHECKING:
    from pathlib import Path

CHPL_TIERS = {"1": 4, "2": 5, "3A": 16, "3B": 9, "4A": 11, "4B": 5}


# -- bundled data ------------------------------------------------------------------------
def test_chpl_has_50_unique_hs2022_codes_in_tiers() -> None:
    chpl = product_list("chpl")
    assert len(chpl) == 50
    assert len(set(chpl.codes)) == 50
    assert chpl.vintage == "HS2022"
    assert {t: len(c) for t, c in chpl.tiers.items()} == CHPL_TIERS
    assert sorted(c for cs in chpl.tiers.values() for c in cs) == sorted(chpl.codes)
    hs2022 = set(nomenclature("HS2022").filter(pl.col("level") == 6)["code"])
    assert set(chpl.codes) <= hs2022
    assert set(chpl.tiers["1"]) == {"854231", "854232", "854233", "854239"}


def test_chpl_codes_are_the_official_50() -> None:
    # Third-party CHPL lists contain errors (docs/methods.md#product-lists); pin the exact set.
    official = [
        "854231",
        "854232",
        "854233",
        "854239",
        "851762",
        "852691",
        "853221",
        "853224",
        "854800",
        "847150",
        "850440",
        "851769",
        "852589",
        "852910",
        "852990",
        "853669",
        "853690",
        "854110",
        "854121",
        "854129",
        "854130",
        "854149",
        "854151",
        "854159",
        "854160",
        "848210",
        "848220",
        "848230",
        "848250",
        "880730",
        "901310",
        "901380",
        "901420",
        "901480",
        "847180",
        "848610",
        "848620",
        "848640",
        "853400",
        "854320",
        "902750",
        "903020",
        "903032",
        "903039",
        "903082",
        "845710",
        "845811",
        "845891",
        "845961",
        "846693",
    ]
    assert set(product_list("chpl").codes) == set(official)
    assert set(product_list("chpl").tiers["4B"]) == {
        "845710",
        "845811",
        "845891",
        "845961",
        "846693",
    }


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("chpl-tier1", 4),
        ("chpl-tier2", 5),
        ("chpl-tier3", 25),
        ("chpl-tier4", 16),
        ("chpl-tier3a", 16),
        ("chpl-tier3b", 9),
        ("chpl-tier4a", 11),
        ("chpl-tier4b", 5),
    ],
)
def test_chpl_tier_lists(name: str, size: int) -> None:
    plist = product_list(name)
    assert plist.name == name
    assert len(plist) == size
    assert set(plist.codes) <= set(product_list("chpl").codes)


def test_eu833_size_leading_zeros_no_duplicates() -> None:
    eu = product_list("eu-833")
    assert len(eu) == 2338
    assert len(set(eu.codes)) == 2338
    lengths = pl.Series(eu.codes).str.len_chars().value_counts().sort("")
    assert dict(lengths.iter_rows()) == {4: 115, 8: 2223}
    assert "01012100" in eu.codes
    assert "01012990" in eu.codes
    assert "1012100" not in eu.codes
    assert all(c.isdigit() for c in eu.codes)


def test_belarus_lists_mark_confidence() -> None:
    by = product_list("belarus")
    assert set(by.confidence) == set(by.codes)
    assert by.confidence["31042010"] == "verified"
    assert by.confidence["31042050"] == "derived"
    assert by.confidence["44"] == "verified"
    assert by.confidence["2523"] == "approximate"
    assert any("APPROXIMATE" in n for n in by.notes)
    verified = product_list("belarus-verified")
    assert set(verified.confidence.values()) <= {"verified", "derived"}
    assert "44" in verified.codes
    assert "72" not in verified.codes
    assert product_list("belarus-wood").codes == ("44",)
    potash = product_list("belarus-potash").codes
    assert set(potash) == {
        "31042010",
        "31042090",
        "31042050",
        "31052010",
        "31052090",
        "31056000",
        "31059020",
        "31059080",
    }


def test_catalog_lists_every_name() -> None:
    cat = list_catalog()
    assert cat.columns == ["name", "n_codes", "vintage", "source", "description"]
    assert cat["name"].to_list() == list(list_names())
    assert cat.filter(pl.col("name") == "chpl")["n_codes"].item() == 50
    assert cat["source"].str.len_chars().min() > 10  # type: ignore[operator]


# -- matching ----------------------------------------------------------------------------
def test_expr_prefix_and_partial_matching() -> None:
    df = pl.DataFrame(
        {"hs": ["854231", "85423100", "8542", "310420", "31042010", "4407", "440711", None]}
    )
    chpl = product_list("chpl")
    belarus = product_list("belarus")
    out = df.select(
        chpl=chpl.expr(),
        by=belarus.expr(),
        by_strict=belarus.expr(partial=False),
        cov=belarus.coverage_expr(),
        tier=chpl.tier_expr(),
        group=belarus.tier_expr(),
    )
    assert out["chpl"].to_list() == [True, True, False, False, False, False, False, False]
    assert out["by"].to_list() == [False, False, False, True, True, True, True, False]
    assert out["by_strict"].to_list() == [False, False, False, False, True, True, True, False]
    assert out["cov"].to_list() == [None, None, None, "partial", "full", "full", "full", None]
    assert out["tier"].to_list() == ["1", "1", None, None, None, None, None, None]
    assert out["group"][4] == "potash-2021"
    assert out["group"][5] == "wood"


def test_everything_list() -> None:
    every = product_list(None)
    assert every.is_all
    df = pl.DataFrame({"hs": ["01", "999999"]})
    assert df.filter(every.expr()).height == 2


def test_contains() -> None:
    assert "44071190" in product_list("belarus-wood")
    assert "4507" not in product_list("belarus-wood")


# -- vintages ------------------------------------------------------------------------------
def test_chpl_to_hs2017() -> None:
    chpl = product_list("chpl")
    old = chpl.to_hs6("HS2017")
    hs2017 = set(nomenclature("HS2017").filter(pl.col("level") == 6)["code"])
    assert set(old.codes) <= hs2017
    # 854151 and 854159 merge into 854150, so 49 codes remain
    assert len(old) == 49
    for code in ("880330", "854150", "854140", "852580", "854890"):
        assert code in old.codes
    for code in ("880730", "854151", "854159", "854149", "852589", "854800"):
        assert code not in old.codes
    assert "854150" in old.tiers["3A"]
    assert "880330" in old.tiers["3B"]


def test_older_list_to_newer_uses_concordance() -> None:
    old = product_list(["854150", "880330", "010121"])
    new = dataclasses.replace(old, vintage="HS2017").to_hs6("HS2022")
    assert set(new.codes) == {"854151", "854159", "880730", "010121"}


def test_eu833_to_hs6() -> None:
    eu6 = product_list("eu-833").to_hs6("HS2022")
    assert {len(c) for c in eu6.codes} == {4, 6}
    assert len(set(eu6.codes)) == len(eu6.codes)
    hs2022 = set(nomenclature("HS2022")["code"])
    assert set(eu6.codes) <= hs2022  # old CN codes (e.g. 441294) were carried forward
    assert "010121" in eu6.codes
    assert "2106" in eu6.codes  # an unchanged heading stays a prefix
    assert "8803" not in eu6.codes  # HS2017 heading 8803 became 8807 in HS2022
    assert {"880710", "880720", "880730", "880790"} <= set(eu6.codes)
    assert any("cut to HS6" in n for n in eu6.notes)


def test_prefixes_kept_when_heading_unchanged() -> None:
    wood = product_list("belarus-wood").to_hs6("HS2017")
    assert wood.codes == ("44",)
    assert dict(wood.confidence) == {"44": "verified"}
    # 6201 was re-cut into new HS6 codes in HS2022, but only within the heading
    coats = dataclasses.replace(product_list(["6201"]), vintage="HS2022").to_hs6("HS2017")
    assert coats.codes == ("6201",)
    # 8806 (drones) is new in HS2022: its goods sat in 8802 and 8525 before
    drones = dataclasses.replace(product_list(["8806"]), vintage="HS2022").to_hs6("HS2017")
    assert all(len(c) == 6 for c in drones.codes)
    assert {"880240", "852580"} <= set(drones.codes)


def test_list_on_harmonised_cn8_data() -> None:
    # CN8 and HS4 rows of eu-833 codes in 2021 (HS2017) and 2022 (HS2022), on HS2017
    codes = ["84713000", "85411000", "8803", "2106", "88073000"]
    periods = [dt.date(2021, 6, 1)] * 4 + [dt.date(2022, 6, 1)]
    trade = pl.DataFrame({"period": periods, "hs": codes, "hs_vintage": ["CN"] * 5})
    harmonised = harmonise_hs(trade).collect()
    assert harmonised["hs"].to_list() == ["847130", "854110", "8803", "2106", "880330"]
    listed = product_list("eu-833").to_hs6("HS2017")
    assert harmonised.filter(listed.expr("hs")).height == 5


def test_similar_codes_for_chpl() -> None:
    sim = similar_codes("chpl", "HS2017")
    assert sim.name == "chpl-similar"
    chpl17 = set(product_list("chpl").to_hs6("HS2017").codes)
    assert not set(sim.codes) & chpl17
    assert {"847141", "847149", "847190", "848280", "848299", "851770", "902780"} <= set(sim.codes)
    assert "854890" not in sim.codes  # CHPL 854800 is 854890 in HS2017
    assert {c[:4] for c in sim.codes} <= {c[:4] for c in chpl17}


# -- user lists ----------------------------------------------------------------------------
def test_comma_separated_codes() -> None:
    plist = product_list("4407, 4412 , ex 8541 10, 0101.21")
    assert plist.codes == ("4407", "4412", "854110", "010121")


def test_names_and_codes_combine() -> None:
    mixed = product_list("chpl-tier1, belarus-wood, 8471")
    assert mixed.codes == ("854231", "854232", "854233", "854239", "44", "8471")
    assert mixed.tiers["wood"] == ("44",)
    assert mixed.confidence["44"] == "verified"
    assert mixed.vintage is None  # codes of unknown vintage were added
    with pytest.raises(UnknownListError) as err:
        product_list("chpl, belarus-wod")
    assert err.value.hint is not None
    assert "belarus-wood" in err.value.hint
    assert (product_list("chpl-tier1") | product_list(None)).is_all


def test_expr_converts_to_data_vintage() -> None:
    df = pl.DataFrame({"hs": ["854150", "880330", "854151"]})
    chpl = product_list("chpl")
    assert df.select(chpl.expr())["hs"].to_list() == [False, False, True]
    assert df.select(chpl.expr(vintage="HS2017"))["hs"].to_list() == [True, True, False]


def test_sequence_of_codes_keeps_zeros_and_dedupes() -> None:
    assert product_list(["010121", "010121", "0301"]).codes == ("010121", "0301")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("code\n# comment\n0101 21\n\nex 8541.10\n44\n", encoding="utf-8")
    plist = product_list(str(path))
    assert plist.codes == ("010121", "854110", "44")
    assert plist.name == "mine"
    assert product_list(path).codes == plist.codes


def test_csv_file_with_tier(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("HS6,Tier,label\n010121,a,x\n854231,b,y\n", encoding="utf-8")
    plist = product_list(path)
    assert plist.codes == ("010121", "854231")
    assert dict(plist.tiers) == {"a": ("010121",), "b": ("854231",)}


def test_bad_line_names_file_line_and_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("010121\n8541x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a product code") as err:
        product_list(path)
    assert err.value.file == str(path)
    assert err.value.row == 2
    assert err.value.value == "8541x"


def test_lost_leading_zero_hint(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code\n10121\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        product_list(path)
    assert err.value.row == 2
    assert err.value.hint is not None
    assert "010121" in err.value.hint


def test_csv_without_code_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no code column"):
        product_list(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="not found"):
        product_list("no/such/list.txt")


def test_unknown_name_suggests() -> None:
    with pytest.raises(UnknownListError, match="no product list") as err:
        product_list("chlp")
    assert err.value.hint is not None
    assert "chpl" in err.value.hint


def test_unknown_tier() -> None:
    with pytest.raises(UnknownListError, match="no tier"):
        product_list("chpl").tier("5")
