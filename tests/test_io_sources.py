"""Finding and opening inputs: paths, globs, folders, encodings, and the errors users see."""

from __future__ import annotations

import datetime as dt
import gzip
from typing import TYPE_CHECKING

import polars as pl
import pytest

from rerouting._exceptions import (
    ConfigError,
    FormatDetectionError,
    ParseError,
    ReroutingError,
    SchemaError,
    SourceNotFoundError,
)
from rerouting._io import FORMATS, detect_format, read_trade
from rerouting.schema import CANONICAL_SCHEMA

if TYPE_CHECKING:
    from pathlib import Path

TIDY = "period,reporter,partner,flow,hs,value\n2022-01,KAZ,DEU,import,870323,10\n"


@pytest.fixture(scope="module")
def formats(fixtures_dir: Path) -> Path:
    return fixtures_dir / "formats"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("comtrade_plus_armenia_cars_2022.csv", "comtrade"),
        ("comtrade_plus_unmapped_partner_codes.csv.gz", "comtrade"),
        ("comtrade_legacy_kazakhstan_2019.csv", "comtrade-legacy"),
        ("comext_bulk_full202201_excerpt.dat", "comext"),
        ("comext_bulk_v2_full202402_excerpt.csv.gz", "comext"),
        ("comext_browser_cp1252.csv", "comext-browser"),
        ("comext_browser_reg833_LT_KG_2022-05_06_excerpt.csv", "comext-browser"),
        ("eurostat_totals_KG_2022_excerpt.csv", "comext-browser"),
        ("baci/BACI_HS17_Y2022_V202401_excerpt.csv", "baci"),
        ("tidy_sample.csv", "tidy"),
    ],
)
def test_detect_format(formats: Path, name: str, fmt: str) -> None:
    assert detect_format(formats / name) == fmt


def test_folder_glob_and_list(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "one.csv").write_text(TIDY)
    # same format, other column order, gzip, nested folder
    with gzip.open(tmp_path / "a" / "b" / "two.csv.gz", "wt") as fh:
        fh.write("value,hs,flow,partner,reporter,period\n20,870324,import,FRA,KAZ,2022-02\n")
    (tmp_path / "a" / "notes.txt").write_text("not data")
    folder = read_trade(tmp_path / "a")
    assert folder.frame.height == 2
    assert len(folder.report.files) == 2
    glob = read_trade(str(tmp_path / "a" / "**" / "*.csv*"))
    assert sorted(glob.frame["value"].to_list()) == [10.0, 20.0]
    listed = read_trade([tmp_path / "a" / "one.csv", str(tmp_path / "a" / "b" / "two.csv.gz")])
    assert listed.frame.height == 2
    # the same file twice is read once
    twice = read_trade([tmp_path / "a" / "one.csv", tmp_path / "a" / "one.csv"])
    assert twice.report.rows_read == 1


def test_parquet_tidy_with_canonical_dtypes(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "period": [dt.date(2021, 1, 1), dt.date(2021, 5, 17)],
            "frequency": ["A", "M"],
            "reporter": ["KGZ", "KGZ"],
            "partner": ["CHN", "DEU"],
            "flow": ["import", "export"],
            "hs": ["847130", "870323"],
            "value": [1.0, 2.0],
            "currency": ["USD", "USD"],
        }
    ).with_columns(
        pl.col("frequency").cast(CANONICAL_SCHEMA["frequency"]),
        pl.col("flow").cast(CANONICAL_SCHEMA["flow"]),
    )
    path = tmp_path / "canonical.parquet"
    frame.write_parquet(path)
    data = read_trade(path)
    assert data.frame["period"].to_list() == [dt.date(2021, 1, 1), dt.date(2021, 5, 1)]
    assert data.frame["frequency"].to_list() == ["A", "M"]


def test_parquet_with_integer_codes(tmp_path: Path) -> None:
    path = tmp_path / "ints.parquet"
    pl.DataFrame(
        {
            "period": [202201],
            "reporterCode": [842],
            "partnerCode": [251],
            "flowCode": ["M"],
            "cmdCode": [10121],
            "primaryValue": [5],
        }
    ).write_parquet(path)
    data = read_trade(path)
    row = data.frame.row(0, named=True)
    assert (row["reporter"], row["partner"], row["hs"]) == ("USA", "FRA", "010121")


def test_cp1252_after_the_first_megabyte(tmp_path: Path) -> None:
    filler = "2022-01,KAZ,DEU,import,870323,10\n" * 36_000  # > 1 MB of ASCII
    body = b"reporter,partner,product_code,flow,period,value_eur\n"
    body += filler.replace("KAZ,DEU,import,870323", "Austria,Germany,870323,EXPORT").encode()
    body += "France,Côte d'Ivoire,18010000,EXPORT,2022-03,5\n".encode("cp1252")
    path = tmp_path / "late.csv"
    path.write_bytes(body)
    data = read_trade(path)
    assert "CIV" in set(data.frame["partner"])
    assert any("cp1252" in n for n in data.report.notes)


def test_missing_path_glob_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"not found") as err:
        read_trade(tmp_path / "nope.csv")
    assert err.value.file is not None
    assert "nope.csv" in err.value.file
    with pytest.raises(SourceNotFoundError, match="glob matched no file"):
        read_trade(str(tmp_path / "*.csv"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceNotFoundError, match="folder contains no"):
        read_trade(tmp_path / "empty")
    with pytest.raises(SourceNotFoundError):
        read_trade([])
    with pytest.raises(SourceNotFoundError):
        read_trade(tmp_path / "x.csv", baci_country_table=tmp_path / "nope.csv")


def test_unknown_header(tmp_path: Path) -> None:
    path = tmp_path / "weird.csv"
    path.write_text("country,year,amount\nKAZ,2022,1\n")
    with pytest.raises(FormatDetectionError) as err:
        read_trade(path)
    text = str(err.value)
    assert "weird.csv" in text
    assert "country, year, amount" in text
    for fmt in FORMATS:
        assert fmt in text
    assert "format=" in text  # Python terms for Python callers (issue 17) ...
    assert "columns=" in text
    assert "--format" not in text
    assert err.value.cli_hint is not None
    assert "--format" in err.value.cli_hint  # ... flags for the CLI
    with pytest.raises(FormatDetectionError):
        detect_format(path)


def test_garbage_files(tmp_path: Path) -> None:
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(ParseError) as err:
        read_trade(binary)
    assert err.value.file is not None
    assert "image.csv" in err.value.file
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match="empty"):
        read_trade(empty)
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(TIDY.encode() * 50)[:40])
    with pytest.raises(ParseError, match="gzip"):
        read_trade(truncated)
    parquet = tmp_path / "broken.parquet"
    parquet.write_bytes(b"PAR1" + b"\x01\x02" * 50)
    with pytest.raises(ParseError, match="Parquet"):
        read_trade(parquet)


def test_ragged_lines_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(TIDY + "2022-02,KAZ,DEU,import,870323,10,extra,fields\n")
    with pytest.raises(ParseError) as err:
        read_trade(path)
    assert err.value.file is not None
    assert "ragged.csv" in err.value.file


def test_missing_required_column_suggests(tmp_path: Path) -> None:
    path = tmp_path / "tidy.csv"
    path.write_text("period,reporter,partner,flow,hs,valeu\n2022-01,KAZ,DEU,import,870323,1\n")
    with pytest.raises(SchemaError) as err:
        read_trade(path, format="tidy")
    text = str(err.value)
    assert "'value'" in text
    assert "did you mean" in text
    assert "valeu" in text
    with pytest.raises(SchemaError):
        read_trade(path, columns={"value": "amount"})


def test_bad_arguments(tmp_path: Path) -> None:
    path = tmp_path / "tidy.csv"
    path.write_text(TIDY)
    with pytest.raises(ConfigError, match="unknown format"):
        read_trade(path, format="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="three-letter"):
        read_trade(path, currency="dollars")
    with pytest.raises(ConfigError, match="canonical column"):
        read_trade(path, columns={"importer": "reporter"})
    with pytest.raises(ConfigError):
        read_trade(path, format="baci", columns={"value": "v"})


def test_columns_override_for_comtrade(tmp_path: Path) -> None:
    path = tmp_path / "ct.csv"
    path.write_text(
        "freqCode,period,reporterCode,flowCode,partnerCode,cmdCode,primaryValue,fobvalue\n"
        "M,202201,398,X,643,870323,5,4\n"
    )
    data = read_trade(path, format="comtrade", columns={"value": "fobvalue"})
    assert data.frame["value"].to_list() == [4.0]


def test_every_error_is_a_rerouting_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    with pytest.raises(ReroutingError) as err:
        read_trade(path)
    assert err.value.exit_code == 3


def test_one_registry_line_adds_a_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new format is one Reader (here staged through the tidy rules) plus one line."""
    from rerouting._readers import _registry, tidy
    from rerouting._readers._reader import Reader

    columns = {"period": "yyyymm", "reporter": "declarant", "partner": "counterpart"}

    def stage(src, a):  # type: ignore[no-untyped-def]
        return tidy.stage_tidy(
            src, file_index=a.file_index, columns=columns, currency=a.currency, notes=a.notes
        )

    toy = Reader("toy", lambda h: {"yyyymm", "declarant"} <= h, stage, None, "a test format")
    monkeypatch.setattr(_registry, "READERS", (toy, *_registry.READERS))
    path = tmp_path / "toy.csv"
    path.write_text(
        "yyyymm,declarant,counterpart,flow,hs,value\n2022-01,KAZ,DEU,import,847130,100\n"
    )
    assert detect_format(path) == "toy"
    data = read_trade(path, format="toy")
    assert data.frame.select("reporter", "partner", "value").row(0) == ("KAZ", "DEU", 100.0)
    assert read_trade(path).report.files[0].format == "toy"
