from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from rerouting._exceptions import ConfigError
from rerouting._hs import (
    VINTAGES,
    concordance,
    conversion_table,
    corrections,
    correlation_table,
    hs_description,
    is_split,
    nomenclature,
    normalise_vintage,
    split_codes,
    vintage_for_period,
)


@pytest.mark.parametrize(("vintage", "n6"), [("HS2012", 5206), ("HS2017", 5388), ("HS2022", 5613)])
def test_nomenclature_sizes_and_leading_zeros(vintage: str, n6: int) -> None:
    nom = nomenclature(vintage)
    six = nom.filter(pl.col("level") == 6)
    assert six.height == n6
    assert six["code"].str.len_chars().eq(6).all()
    assert six["code"].is_unique().all()
    assert "010121" in six["code"].to_list()  # leading zero kept
    # every HS6 code's parent is its HS4 heading
    assert (six["parent"] == six["code"].str.slice(0, 4)).all()


@pytest.mark.parametrize(
    ("alias", "expected"),
    [("H5", "HS2017"), ("hs17", "HS2017"), ("2022", "HS2022"), (" HS2012 ", "HS2012")],
)
def test_normalise_vintage_aliases(alias: str, expected: str) -> None:
    assert normalise_vintage(alias) == expected


def test_normalise_vintage_rejects_unshipped_revision() -> None:
    with pytest.raises(ConfigError, match="unsupported HS vintage") as err:
        normalise_vintage("HS2007")
    assert "HS2012" in str(err.value)


def test_vintage_for_period_boundaries() -> None:
    periods = pl.Series(
        "period",
        [
            dt.date(2011, 5, 1),
            dt.date(2016, 12, 1),
            dt.date(2017, 1, 1),
            dt.date(2021, 12, 1),
            dt.date(2022, 1, 1),
            None,
        ],
    )
    out = pl.DataFrame({"period": periods}).select(vintage_for_period())["hs_vintage"].to_list()
    assert out == ["HS2012", "HS2012", "HS2017", "HS2017", "HS2022", None]


def test_hs_description_series_and_expr() -> None:
    s = hs_description(["854232", "999998", "01"], "HS2022")
    assert s.to_list()[0] == "Electronic integrated circuits; memories"
    assert s[1] is None
    assert s[2] == "Animals; live"
    df = pl.DataFrame({"hs": ["880730", "880330"]})
    got = df.select(hs_description(pl.col("hs"), "HS2017"))["hs"].to_list()
    assert got[0] is None  # 880730 is new in HS2022
    assert got[1] is not None
    assert "aeroplanes or helicopters" in got[1]


@pytest.mark.parametrize(
    ("src", "dst"), [("HS2022", "HS2017"), ("HS2022", "HS2012"), ("HS2017", "HS2012")]
)
def test_conversion_tables_cover_every_newer_code_once(src: str, dst: str) -> None:
    table = conversion_table(src, dst)
    newer = nomenclature(src).filter(pl.col("level") == 6)["code"]
    older = set(nomenclature(dst).filter(pl.col("level") == 6)["code"])
    assert table["from_code"].is_unique().all()
    assert set(table["from_code"]) == set(newer)
    assert set(table["to_code"]) <= older


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ("880730", "880330"),
        ("854149", "854140"),
        ("852589", "852580"),
        ("854800", "854890"),
        ("854151", "854150"),
        ("854159", "854150"),
        ("851713", "851712"),
    ],
)
def test_known_hs2022_to_hs2017_conversions(new: str, old: str) -> None:
    table = conversion_table("HS2022", "HS2017")
    assert dict(zip(table["from_code"], table["to_code"], strict=True))[new] == old


def test_correction_is_listed_and_differs_from_un() -> None:
    fixes = corrections()
    assert set(fixes["from_code"]) == {"854151", "854159"}
    assert (fixes["un_to_code"] == "851712").all()
    assert (fixes["to_code"] == "854150").all()
    corr = correlation_table("HS2022", "HS2017")
    pairs = set(zip(corr["from_code"], corr["to_code"], strict=True))
    assert {("854151", "854150"), ("854159", "854150")} <= pairs


def test_conversion_direction_is_checked() -> None:
    with pytest.raises(ConfigError, match="newer codes to older") as err:
        conversion_table("HS2017", "HS2022")
    assert "concordance" in str(err.value)
    identity = conversion_table("HS2017", "HS2017")
    assert (identity["from_code"] == identity["to_code"]).all()


def test_correlation_relationships() -> None:
    corr = correlation_table("HS2022", "HS2017")
    row = corr.filter((pl.col("from_code") == "854149") & (pl.col("to_code") == "854140"))
    assert row["relationship"].to_list() == ["n:1"]  # 854140 became several HS2022 codes
    composed = correlation_table("HS2022", "HS2012")
    assert set(composed["relationship"].unique()) <= {"1:1", "1:n", "n:1", "n:n"}
    assert composed.filter(pl.col("from_code") == "880730")["to_code"].to_list() == ["880330"]


def test_known_splits_hs2017_to_hs2022() -> None:
    splits = dict(split_codes("HS2017", "HS2022").iter_rows())
    assert splits["854150"] == ["854151", "854159"]
    assert splits["854140"] == ["854141", "854142", "854143", "854149"]
    assert {"852581", "852582", "852583", "852589"} <= set(splits["852580"])
    assert "880330" not in splits  # renumbered to 880730, not split
    assert "010121" not in splits


def test_concordance_partitions_newer_codes() -> None:
    conc = concordance("HS2017", "HS2022")
    via_conv = conc.filter(pl.col("via") == "conversion")
    assert via_conv["new_code"].is_unique().all()
    old = set(nomenclature("HS2017").filter(pl.col("level") == 6)["code"])
    # every older code has a successor, except one the bundled UN tables never mention
    assert old - set(conc["old_code"]) == {"300219"}
    assert conc.filter(pl.col("old_code") == "880330")["new_code"].to_list() == ["880730"]


def test_is_split_expression() -> None:
    df = pl.DataFrame({"hs": ["854150", "880330", "854140", None, "8541"]})
    assert df.select(is_split("hs"))["hs"].to_list() == [True, False, True, False, False]


def test_every_vintage_pair_works() -> None:
    for i, new in enumerate(VINTAGES):
        for old in VINTAGES[: i + 1]:
            assert (
                conversion_table(new, old).height
                == nomenclature(new).filter(pl.col("level") == 6).height
            )


def test_a_code_hs2022_merged_into_another_is_read_as_one_family() -> None:
    """HS2017 620112 was deleted; its goods went to HS2022 620130, which converts to 620192.

    Harmonised to HS2017 both the deleted code and its sibling read as one family in
    every period, so the deleted code's goods neither vanish in 2022 nor make the
    sibling jump; a product list naming the deleted code keeps the family.
    """
    import datetime as dt

    from rerouting import ProductList
    from rerouting._hs import merge_families
    from rerouting._normalise import harmonise_hs_with_summary

    assert merge_families("HS2017", "HS2022")["620112"] == "620192"
    trade = pl.DataFrame(
        {
            "period": [dt.date(2021, 6, 1), dt.date(2021, 6, 1), dt.date(2022, 6, 1)],
            "hs": ["620112", "620192", "620130"],
            "hs_vintage": ["HS2017", "HS2017", "HS2022"],
            "value": [10.0, 5.0, 15.0],
        }
    )
    out, _ = harmonise_hs_with_summary(trade)
    got = out.collect()
    assert got["hs"].to_list() == ["620192", "620192", "620192"]
    assert got.group_by(pl.col("period").dt.year()).agg(pl.col("value").sum()).sort("period")[
        "value"
    ].to_list() == [15.0, 15.0]
    codes = ProductList(name="t", codes=("620112",), vintage="HS2017").to_hs6("HS2017").codes
    assert "620192" in codes
    assert "620112" in codes
