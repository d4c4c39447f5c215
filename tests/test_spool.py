"""The default read of a scan (``spool_trade``): ``read_trade``'s records and report, lazily.

Every format goes through it, with every row rule (duplicates, parent commodity rows,
merged split rows); the route table must not depend on the format holding the records.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from click.testing import CliRunner
from tests._compare import assert_routes_equal

from rerouting import read_trade, scan
from rerouting._io import LazyTradeData, spool_trade
from rerouting.schema import CANONICAL_COLUMNS
from rerouting.synthetic import World, make_world

if TYPE_CHECKING:
    from rerouting._result import RouteTable

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
ORDER = list(CANONICAL_COLUMNS)
KEY = ["origin", "hub", "destination", "hs"]


@pytest.fixture(scope="module")
def world() -> World:
    return make_world(4, direction="import-ban", n_products=22, n_other_countries=3, eu_members=3)


def same_read(source: object, **kw: object) -> LazyTradeData:
    """Spool ``source`` and check it against the eager read: same records, same report."""
    lazy, eager = spool_trade(source, **kw), read_trade(source, **kw)  # type: ignore[arg-type]
    assert isinstance(lazy.frame, pl.LazyFrame)
    got = lazy.frame.collect().sort(ORDER, nulls_last=True)
    assert got.equals(eager.frame.sort(ORDER, nulls_last=True))
    assert lazy.report == eager.report
    return lazy


@pytest.mark.parametrize(
    "name",
    [
        "comtrade_plus_armenia_cars_2022.csv",
        "comtrade_plus_unmapped_partner_codes.csv.gz",
        "comtrade_legacy_kazakhstan_2019.csv",
        "comext_bulk_full202201_excerpt.dat",
        "comext_browser_reg833_LT_KG_2022-05_06_excerpt.csv",
        "comext_total_and_hs27_baltics_RU_2022_excerpt.csv",
        "tidy_sample.csv",
        "baci",
    ],
)
def test_every_format_reads_like_read_trade(name: str) -> None:
    same_read(FORMATS / name)


@pytest.mark.parametrize(
    ("at_once", "candidates_at_once"),
    [(None, None), (3, None), (None, 1)],
    ids=["one-pass", "hash-slices", "candidate-slices"],
)
def test_group_rules_count_like_read_trade(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    at_once: int | None,
    candidates_at_once: int | None,
) -> None:
    if at_once is not None:  # inputs too large to sort every key hash at once
        monkeypatch.setattr("rerouting._readers._spool._KEYS_AT_ONCE", at_once)
    if candidates_at_once is not None:  # repeated keys in slices, the other rows beside
        monkeypatch.setattr("rerouting._readers._spool._CANDIDATES_AT_ONCE", candidates_at_once)
    rows = [
        "period,reporter,partner,flow,hs,value",
        "2022-01,KAZ,DEU,import,870321,5",
        "2022-01,KAZ,DEU,import,870321,5",  # exact duplicate
        "2022-01,KAZ,DEU,import,8703,9",  # parent of 870321 in its group
        "2022-01,KAZ,DEU,import,TOTAL,99",  # a total next to product rows
        "2022-02,KAZ,DEU,export,10121,3",  # lost leading zero
        "2022-02,ABX,DEU,export,870321,3",  # unmapped reporter
        "2022-13,KAZ,DEU,export,870321,3",  # bad period
        "2022-02,KAZ,DEU,export,870321,-1",  # negative value
    ]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows) + "\n")
    report = same_read(path).report
    assert report.dropped == {
        "duplicate": 1,
        "parent_commodity_row": 1,
        "commodity_total": 1,
        "unmapped_reporter": 1,
        "bad_period": 1,
        "negative_value": 1,
    }
    assert report.rows_kept == 2
    assert any("leading zero" in n for n in report.notes)


def test_split_rows_are_merged_like_read_trade(tmp_path: Path) -> None:
    head = "freqCode,period,reporterISO,partnerISO,flowCode,cmdCode,motCode,primaryValue"
    rows = [
        head,
        "M,202201,KAZ,DEU,M,870321,1000,4",  # by sea
        "M,202201,KAZ,DEU,M,870321,2000,6",  # by rail: summed with the sea row
        "M,202201,KAZ,DEU,M,870322,0,7",  # mode total
        "M,202201,KAZ,DEU,M,870322,1000,7",  # ...and its part: the total wins
    ]
    path = tmp_path / "c.csv"
    path.write_text("\n".join(rows) + "\n")
    lazy = same_read(path)
    values = dict(lazy.frame.select("hs", "value").collect().iter_rows())
    assert values == {"870321": 10.0, "870322": 7.0}
    assert lazy.report.records_out == 2


@pytest.mark.parametrize("at_once", [None, 4], ids=["one-slice", "candidate-slices"])
def test_many_repeated_keys_are_merged_in_bounded_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at_once: int | None
) -> None:
    # Two overlapping downloads: most record keys repeat. With a small budget the
    # candidates are looked at in several slices of the hash range (here 63 rows
    # carry a repeated key: 16 slices), with the same records and counts as the eager read.
    if at_once is not None:
        monkeypatch.setattr("rerouting._readers._spool._CANDIDATES_AT_ONCE", at_once)
    head = "freqCode,period,reporterISO,partnerISO,flowCode,cmdCode,motCode,primaryValue"
    first = [
        f"M,2022{m:02d},KAZ,DEU,M,8703{k:02d},1000,{m + k}"
        for m in (1, 2, 3)
        for k in range(10, 20)
    ]
    second = [
        f"M,2022{m:02d},KAZ,DEU,M,8703{k:02d},2000,1" for m in (1, 2, 3) for k in range(10, 20)
    ]
    dup = first[:3]  # exact duplicates of the first file's rows
    path = tmp_path / "c.csv"
    path.write_text("\n".join([head, *first, *second, *dup]) + "\n")
    lazy = same_read(path)
    assert lazy.report.dropped == {"duplicate": 3}
    assert lazy.report.records_out == 30
    values = dict(
        lazy.frame.filter(pl.col("period").dt.month() == 1)
        .select("hs", "value")
        .collect()
        .iter_rows()
    )
    assert values == {f"8703{k:02d}": float(1 + k + 1) for k in range(10, 20)}


def test_clean_canonical_parquet_is_a_plain_parquet_scan(world: World, tmp_path: Path) -> None:
    path = tmp_path / "trade.parquet"
    world.trade.write_parquet(path)
    lazy = same_read(path)
    plan = lazy.frame.explain()
    assert "Parquet SCAN" in plan
    assert "FILTER" not in plan  # nothing staged, nothing removed
    # One failing row: the file is staged and counted instead.
    bad = world.trade.with_columns(
        reporter=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("??")).otherwise("reporter")
    )
    bad.write_parquet(path)
    assert same_read(path).report.dropped == {"unmapped_reporter": 1}


_FIRST = pl.int_range(pl.len()) == 0


def _at_first(column: str, value: object) -> pl.Expr:
    """``column`` with its first row set to ``value`` (same dtype)."""
    return pl.when(_FIRST).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)


#: One failing or non-canonical first row per case, each read by a different kind of
#: check: distinct values of one text column, of dates and enums, or every row.
_NOT_AS_IS: dict[str, list[pl.Expr]] = {
    "reporter": [_at_first("reporter", "??")],
    "same-partner": [
        pl.when(_FIRST).then(pl.col("partner")).otherwise("reporter").alias("reporter")
    ],
    "hs": [_at_first("hs", "44x231")],
    "total": [_at_first("hs", "TOTAL")],
    "parent": [_at_first("hs", "4412")],
    "negative": [_at_first("value", -1.0)],
    "nan": [_at_first("value", float("nan"))],
    "null-period": [_at_first("period", None).cast(pl.Date)],
    "mid-month": [
        (pl.col("period") + pl.when(_FIRST).then(pl.duration(days=3))).fill_null(pl.col("period"))
    ],
    "currency": [_at_first("currency", "usd")],
    "padded-unit": [_at_first("quantity_unit", " kg")],
    "null-source": [_at_first("source", None).cast(pl.String)],
}


@pytest.mark.parametrize("case", [*_NOT_AS_IS, "duplicate"])
def test_a_canonical_file_with_one_row_to_fix_is_not_taken_as_is(
    world: World, tmp_path: Path, case: str
) -> None:
    path = tmp_path / "trade.parquet"
    if case == "duplicate":
        trade = pl.concat([world.trade.head(1), world.trade])
    else:
        trade = world.trade.with_columns(_NOT_AS_IS[case])
    assert trade.schema == world.trade.schema  # still a canonical file
    trade.write_parquet(path)
    plan = same_read(path).frame.explain()
    assert str(path) not in plan  # the rows were spooled, not scanned as they are


@pytest.mark.parametrize("duplicate", [False, True])
def test_repeated_keys_are_found_in_slices_of_the_hash_range(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duplicate: bool
) -> None:
    """Inputs too large to count every key hash at once are looked at slice by slice."""
    monkeypatch.setattr("rerouting._readers._spool._KEYS_AT_ONCE", world.trade.height // 4)
    path = tmp_path / "trade.parquet"
    trade = world.trade
    (pl.concat([trade, trade.tail(1)]) if duplicate else trade).write_parquet(path)
    plan = same_read(path).frame.explain()
    assert (str(path) in plan) is not duplicate


# ----------------------------------------------------------------------------- formats


def _write(world: World, fmt: str, folder: Path) -> Path:
    t = world.trade
    if fmt == "canonical-parquet":
        path = folder / "trade.parquet"
        t.write_parquet(path)
        return path
    if fmt in ("tidy-parquet", "tidy-csv"):
        tidy = t.select(
            pl.col("period").dt.strftime("%Y-%m"),
            "reporter",
            "partner",
            pl.col("flow").cast(pl.String),
            "hs",
            "value",
            "net_weight_kg",
            "currency",
            "hs_vintage",
        )
        path = folder / ("tidy.parquet" if fmt == "tidy-parquet" else "tidy.csv")
        tidy.write_parquet(path) if fmt == "tidy-parquet" else tidy.write_csv(path)
        return path
    flow = {"import": "M", "export": "X", "re-import": "RM", "re-export": "RX"}
    path = folder / "comtrade.csv"
    t.select(
        pl.lit("M").alias("freqCode"),
        pl.col("period").dt.strftime("%Y%m").alias("period"),
        pl.col("reporter").alias("reporterISO"),
        pl.col("partner").alias("partnerISO"),
        pl.col("flow").cast(pl.String).replace_strict(flow).alias("flowCode"),
        pl.col("hs").alias("cmdCode"),
        pl.col("hs_vintage")
        .replace_strict({"HS2017": "H5", "HS2022": "H6"})
        .alias("classificationCode"),
        pl.col("value").alias("primaryValue"),
        pl.col("net_weight_kg").alias("netWgt"),
    ).write_csv(path)
    return path


def _routes(table: RouteTable) -> pl.DataFrame:
    return table.routes.sort(KEY)


def test_route_table_does_not_depend_on_the_format(world: World, tmp_path: Path) -> None:
    assert set(world.trade["currency"].unique()) == {"USD"}  # Comtrade values are USD
    paths = {
        fmt: _write(world, fmt, tmp_path)
        for fmt in ("canonical-parquet", "tidy-parquet", "tidy-csv", "comtrade-csv")
    }
    # The same canonical records whatever the format (only `source` names the format).
    records = {
        fmt: spool_trade(p).frame.drop("source").collect().sort(ORDER[:-1], nulls_last=True)
        for fmt, p in paths.items()
    }
    for fmt, got in records.items():
        assert got.equals(records["canonical-parquet"]), fmt
    tables = {fmt: _routes(scan(p, scenario=world.scenario)) for fmt, p in paths.items()}
    ref = tables.pop("canonical-parquet")
    assert ref.height > 10
    for fmt, got in tables.items():
        assert_routes_equal(ref, got, fmt)


def test_convert_writes_canonical_parquet_by_year_and_chapter(world: World, tmp_path: Path) -> None:
    from rerouting._cli import cli
    from rerouting._exceptions import ConfigError
    from rerouting._io import write_partitioned

    src = _write(world, "tidy-csv", tmp_path)
    out = tmp_path / "trade"
    result = CliRunner().invoke(cli, ["convert", str(src), "--output", str(out), "-q"])
    assert result.exit_code == 0, result.output
    files = sorted(out.rglob("*.parquet"))
    years = {f.parent.parent.name for f in files}
    assert years == {f"year={y}" for y in world.trade["period"].dt.year().unique()}
    assert all(f.parent.name == f"chapter={pl.read_parquet(f)['hs'][0][:2]}" for f in files)
    back = spool_trade(out)  # read as they are: one plain scan of canonical files
    assert "FILTER" not in back.frame.explain()
    eager = read_trade(src).frame.sort(ORDER, nulls_last=True)
    assert back.frame.collect().sort(ORDER, nulls_last=True).equals(eager)
    with pytest.raises(ConfigError, match="already holds Parquet"):
        write_partitioned(back, out)


def test_one_convert_run_is_trusted_and_two_runs_are_checked(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rerouting._io import write_partitioned
    from rerouting._readers import _spool

    src = _write(world, "tidy-csv", tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        write_partitioned(spool_trade(src), out)
    records = read_trade(src).report.records_out

    def no_check(*args: object, **kw: object) -> None:
        raise AssertionError("a converted folder's rows were checked again")

    with monkeypatch.context() as m:
        m.setattr(_spool, "_with_repeated", no_check)
        one = spool_trade(first)  # one run's stamp: counts from the footers only
    assert one.report.rows_read == one.report.records_out == records
    assert one.frame.select(pl.len()).collect().item() == records

    # Two runs of the same records: a duplicate across runs is possible, so every row
    # is checked, and each record of the second folder is dropped as a duplicate.
    both = spool_trade([first, second])
    assert both.report.rows_read == 2 * records
    assert both.report.dropped == {"duplicate": records}
    assert both.report.records_out == records

    # A file whose stamp is another version (or none) is checked like any other.
    f = sorted(first.rglob("*.parquet"))[0]
    pl.read_parquet(f).write_parquet(f, metadata={_spool.STAMP_KEY: '{"version": "0", "run": "x"}'})
    assert not _spool._one_run([str(f)])
    assert _spool._one_run([str(g) for g in sorted(second.rglob("*.parquet"))])
