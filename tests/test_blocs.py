from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from rerouting._blocs import (
    bloc_members,
    get_bloc,
    list_blocs,
    member_expr,
    resolve_countries,
)
from rerouting._exceptions import ConfigError, UnknownListError


def test_eu_membership_by_date() -> None:
    assert "GBR" in bloc_members("EU", dt.date(2019, 6, 1))
    assert "GBR" in bloc_members("EU", dt.date(2020, 1, 31))
    assert "GBR" not in bloc_members("EU", dt.date(2020, 2, 1))
    assert "GBR" not in bloc_members("EU", dt.date(2021, 1, 1))
    assert len(bloc_members("EU", dt.date(2019, 6, 1))) == 28
    assert len(bloc_members("EU", dt.date(2021, 1, 1))) == 27
    assert "HRV" not in bloc_members("EU", dt.date(2013, 6, 30))
    assert "HRV" in bloc_members("EU", dt.date(2013, 7, 1))
    assert len(bloc_members("EU", dt.date(1990, 1, 1))) == 12


def test_fixed_composition_blocs() -> None:
    eu27 = bloc_members("EU27", dt.date(2010, 1, 1))
    assert len(eu27) == 27
    assert "GBR" not in eu27
    assert "HRV" in eu27
    assert set(bloc_members("EU28")) == {*eu27, "GBR"}
    assert bloc_members("eu27") == bloc_members("EU27_2020")


def test_eaeu_dates() -> None:
    assert bloc_members("EAEU", dt.date(2014, 12, 31)) == ()
    assert bloc_members("EAEU", dt.date(2015, 1, 1)) == ("BLR", "KAZ", "RUS")
    assert bloc_members("EAEU", dt.date(2016, 1, 1)) == ("ARM", "BLR", "KAZ", "KGZ", "RUS")


def test_coalition_has_39_members() -> None:
    members = bloc_members("coalition")
    assert len(members) == 39
    assert {"USA", "GBR", "JPN", "KOR", "TWN", "CHE", "NOR", "DEU"} <= set(members)
    assert not {"SGP", "RUS", "BLR", "CHN"} & set(members)
    assert bloc_members("GECC") == members


def test_hub_groups() -> None:
    assert bloc_members("CCA3") == ("ARM", "KAZ", "KGZ")
    assert len(bloc_members("central-asia-caucasus")) == 7
    points = bloc_members("transshipment")
    assert len(points) == 18
    assert {"ARE", "TUR", "CHN", "GEO", "TWN"} <= set(points)


def test_unknown_bloc_suggests() -> None:
    with pytest.raises(UnknownListError, match="no bloc") as err:
        get_bloc("EAUE")
    assert "EAEU" in str(err.value)


def test_list_blocs_frame() -> None:
    blocs = list_blocs()
    assert {"name", "members", "n", "source"} <= set(blocs.columns)
    assert (blocs["n"] == blocs["members"].list.len()).all()
    assert blocs["source"].str.len_chars().min() > 10  # type: ignore[operator]
    assert blocs.filter(pl.col("name") == "coalition")["n"].item() == 39


def test_member_expr_respects_period() -> None:
    df = pl.DataFrame(
        {
            "partner": ["GBR", "GBR", "GBR", "DEU", "ARM", "ARM", "KAZ", None],
            "period": [
                dt.date(2019, 6, 1),
                dt.date(2020, 1, 1),
                dt.date(2021, 1, 1),
                dt.date(2021, 1, 1),
                dt.date(2014, 12, 1),
                dt.date(2015, 1, 1),  # joined 2015-01-02: member during January
                dt.date(2015, 1, 1),
                dt.date(2020, 1, 1),
            ],
        }
    )
    out = df.select(
        eu=member_expr("partner", "EU"),
        eaeu=member_expr("partner", "EAEU"),
        cca3=member_expr(pl.col("partner"), "CCA3"),
    )
    assert out["eu"].to_list() == [True, True, False, True, False, False, False, False]
    assert out["eaeu"].to_list() == [False, False, False, False, False, True, True, False]
    assert out["cca3"].to_list() == [False, False, False, False, True, True, True, False]


def test_resolve_countries_expands_and_dedupes() -> None:
    got = resolve_countries(["CCA3", "kaz", "GE", "Türkiye", "Russia", "United Kingdom"])
    assert got == ("ARM", "KAZ", "KGZ", "GEO", "TUR", "RUS", "GBR")
    assert resolve_countries("EU, KAZ", at=dt.date(2019, 1, 1))[-1] == "KAZ"
    assert "GBR" in resolve_countries(["EU"], at=dt.date(2019, 1, 1))
    assert "GBR" not in resolve_countries(["EU"], at=dt.date(2021, 1, 1))


@pytest.mark.parametrize(
    ("bad", "suggestion"), [("Kazakstan", "KAZ"), ("EUU", "EU"), ("KZX", "KAZ")]
)
def test_resolve_countries_unknown_hints(bad: str, suggestion: str) -> None:
    with pytest.raises(ConfigError, match="unknown country or bloc") as err:
        resolve_countries(["ARM", bad])
    assert err.value.value == bad
    assert err.value.hint is not None
    assert suggestion in err.value.hint
