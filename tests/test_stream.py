"""``scan_trade``: lazy reads that account for every row like ``read_trade`` does."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rerouting import LazyTradeData, read_trade, scan, scan_trade
from rerouting._exceptions import ConfigError, FormatDetectionError, ReroutingError
from rerouting._readers._stream import GROUP_RULES_NOTE
from rerouting.schema import CANONICAL_COLUMNS, CANONICAL_SCHEMA, ROUTE_KEY
from rerouting.synthetic import World, make_world

if TYPE_CHECKING:
    from pathlib import Path

REPO_FORMATS = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "formats"
KEY = list(ROUTE_KEY)
ORDER = ["period", "reporter", "partner", "flow", "hs", "value"]


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(CANONICAL_COLUMNS).sort(ORDER, nulls_last=True)


@pytest.fixture(scope="module")
def world_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    world = make_world(4, direction="import-ban", n_products=30, n_other_countries=4, eu_members=4)
    path = tmp_path_factory.mktemp("stream") / "trade.parquet"
    world.trade.write_parquet(path)
    return path, world


def test_canonical_parquet_passes_through_as_a_parquet_scan(
    world_file: tuple[Path, World],
) -> None:
    path, world = world_file
    data = scan_trade(path)
    assert isinstance(data, LazyTradeData)
    eager = read_trade(path)
    assert data.report.rows_read == eager.report.rows_read == world.trade.height
    assert data.report.rows_kept == eager.report.rows_kept
    assert data.report.dropped == eager.report.dropped == {}
    assert data.report.files[0].format == "tidy (canonical Parquet)"
    assert GROUP_RULES_NOTE in data.report.notes
    # The plan is the file itself: no per-row work sits between filters and the reader.
    plan = data.frame.explain()
    assert plan.splitlines()[0].startswith("Parquet SCAN"), plan
    assert canonical(data.frame.collect()).equals(canonical(eager.frame))


def test_scan_of_a_streamed_read_equals_the_eager_scan(world_file: tuple[Path, World]) -> None:
    path, world = world_file
    sc = world.scenario
    lazy = scan(scan_trade(path), scenario=sc)
    eager = scan(read_trade(path), scenario=sc)
    assert lazy.ingest is not None
    assert lazy.ingest.rows_read == eager.ingest.rows_read
    assert lazy.routes.select(KEY).equals(eager.routes.select(KEY))
    assert (lazy.routes["score"] - eager.routes["score"]).abs().max() < 1e-9  # type: ignore[operator]


def _dirty() -> pl.DataFrame:
    """Canonical columns and types, with rows each rule must catch or repair."""
    rows = [
        # period, reporter, partner, flow, hs, value, currency, source
        ("2022-01-01", "KAZ", "DEU", "import", "870321", 10.0, "EUR", "tidy"),  # kept
        ("2022-01-15", "KAZ", "DEU", "import", "870322", 11.0, "EUR", "tidy"),  # truncated
        ("2022-01-01", "KAZ", "WLD", "import", "870321", 12.0, "EUR", "tidy"),  # aggregate
        ("2022-01-01", "XXQ", "DEU", "import", "870321", 13.0, "EUR", "tidy"),  # unmapped
        ("2022-01-01", "KAZ", "DEU", "import", "87A321", 14.0, "EUR", "tidy"),  # bad code
        ("2022-01-01", "KAZ", "DEU", "import", "10121", 15.0, "EUR", "tidy"),  # padded
        ("2022-01-01", "KAZ", "DEU", "import", "870323", -1.0, "EUR", "tidy"),  # negative
        ("2022-01-01", "KAZ", "DEU", "import", "870324", float("inf"), "EUR", "tidy"),
        ("2022-01-01", "KAZ", "DEU", "import", "870325", None, "EUR", "tidy"),  # no value
        ("2022-01-01", "KAZ", "KAZ", "import", "870321", 16.0, "EUR", "tidy"),  # same country
        ("2022-01-01", "KAZ", "DEU", "smuggle", "870321", 17.0, "EUR", "tidy"),  # flow
        ("2022-01-01", "kaz", "Germany", "import", "870326", 18.0, " eur ", None),  # repaired
        ("2022-01-01", "KAZ", "DEU", "import", "TOTAL", 99.0, "EUR", "tidy"),  # total
        (None, "KAZ", "DEU", "import", "870321", 19.0, "EUR", "tidy"),  # no period
    ]
    frame = pl.DataFrame(
        rows,
        schema=["period", "reporter", "partner", "flow", "hs", "value", "currency", "source"],
        orient="row",
    )
    return frame.with_columns(pl.col("period").str.to_date())


def test_a_file_with_failing_rows_is_staged_and_counted_like_read_trade(tmp_path: Path) -> None:
    path = tmp_path / "dirty.parquet"
    _dirty().write_parquet(path)
    lazy, eager = scan_trade(path), read_trade(path)
    assert lazy.report.files[0].format == "tidy"
    assert lazy.report.rows_read == eager.report.rows_read == 14
    assert lazy.report.dropped == eager.report.dropped
    assert lazy.report.dropped == {
        "aggregate_partner": 1,
        "unmapped_reporter": 1,
        "bad_hs_code": 1,
        "negative_value": 1,
        "non_finite_value": 1,
        "non_numeric_value": 1,
        "not_a_country_pair": 1,
        "unsupported_flow": 1,
        "bad_period": 1,
        "commodity_total": 1,
    }
    assert lazy.report.examples["unmapped_reporter"] == ("XXQ",)
    assert any("leading zero" in n for n in lazy.report.notes)
    assert canonical(lazy.frame.collect()).equals(canonical(eager.frame))


def test_csv_and_parquet_inputs_together(world_file: tuple[Path, World], tmp_path: Path) -> None:
    path, _ = world_file
    csv = tmp_path / "dirty.csv"
    _dirty().write_csv(csv)
    data = scan_trade([path, csv])
    eager = read_trade([path, csv])
    assert [f.format for f in data.report.files] == ["tidy (canonical Parquet)", "tidy"]
    assert data.report.rows_read == eager.report.rows_read
    assert data.report.dropped == eager.report.dropped
    assert data.frame.collect().height == eager.frame.height


def test_other_formats_are_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match="tidy") as info:
        scan_trade(REPO_FORMATS / "comtrade_plus_armenia_cars_2022.csv")
    assert info.value.hint is not None
    assert "read_trade" in info.value.hint
    assert "comtrade_plus_armenia_cars_2022.csv" in str(info.value)


def test_a_missing_required_column_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "novalue.parquet"
    _dirty().drop("value").rename({"hs": "product"}).write_parquet(path)
    with pytest.raises(FormatDetectionError) as info:
        scan_trade(path)
    assert info.value.hint is not None
    assert "columns=" in info.value.hint
    assert "novalue.parquet" in str(info.value)


def test_column_mapping_and_empty_files(tmp_path: Path) -> None:
    mine = _dirty().rename({"reporter": "country", "value": "usd"})
    mapped = tmp_path / "mapped.csv"
    mine.write_csv(mapped)
    empty = tmp_path / "empty.parquet"
    mine.head(0).write_parquet(empty)
    cols = {"reporter": "country", "value": "usd"}
    data = scan_trade([empty, mapped], columns=cols)
    eager = read_trade([empty, mapped], columns=cols)
    assert [f.rows_read for f in data.report.files] == [0, 14]
    assert data.report.dropped == eager.report.dropped
    assert canonical(data.frame.collect()).equals(canonical(eager.frame))


_MUTATIONS = {
    "reporter": st.sampled_from(["KAZ", "DEU", "WLD", "XXQ", "kaz", "", "EUU"]),
    "partner": st.sampled_from(["DEU", "KAZ", "ARM", "World", "ZZZ"]),
    "hs": st.sampled_from(["870321", "10121", "TOTAL", "87", "x", "8703210000", "123"]),
    "value": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
    "flow": st.sampled_from(["import", "export", "re-export", "bogus"]),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.fixed_dictionaries(_MUTATIONS).map(lambda d: {**d, "period": dt.date(2022, 1, 1)}),
        min_size=1,
        max_size=30,
    )
)
def test_property_streamed_accounting_matches_read_trade(
    rows: list[dict[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Unique rows: duplicates and parent codes are the rules streaming leaves out.
    frame = pl.DataFrame(
        rows, schema={**{k: CANONICAL_SCHEMA[k] for k in ORDER}, "flow": pl.String}
    )
    frame = (
        frame.with_row_index("n")
        .with_columns(
            pl.date(2000, 1, 1).dt.offset_by(pl.format("{}mo", pl.col("n"))).alias("period")
        )
        .drop("n")
    )
    path = tmp_path_factory.mktemp("prop") / "t.parquet"
    frame.write_parquet(path)
    lazy, eager = scan_trade(path), read_trade(path)
    assert lazy.report.rows_read == eager.report.rows_read == frame.height
    assert lazy.report.dropped == eager.report.dropped
    assert lazy.report.rows_kept + lazy.report.rows_dropped == frame.height
    assert canonical(lazy.frame.collect()).equals(canonical(eager.frame))


def test_canonical_file_with_repairs_stays_lazy_and_equals_read_trade(tmp_path: Path) -> None:
    # Every row passes the rules; some need the repairs staging makes (mid-month dates,
    # blank text, a missing currency), so the plan carries them instead of passing through.
    frame = (
        _dirty()
        .filter(
            pl.col("reporter").is_in(["KAZ"])
            & pl.col("partner").is_in(["DEU"])
            & pl.col("hs").str.contains(r"^\d{6}$")
            & pl.col("value").is_finite()
            & (pl.col("value") >= 0)
            & (pl.col("flow") == "import")
            & pl.col("period").is_not_null()
        )
        .with_columns(
            currency=pl.Series([None, "EUR"]),
            source=pl.Series([" comext ", ""]),
            hs_vintage=pl.lit("HS2017"),
        )
    )
    assert frame.height == 2
    path = tmp_path / "repairs.parquet"
    frame.write_parquet(path)
    data, eager = scan_trade(path), read_trade(path)
    assert data.report.files[0].format == "tidy (canonical Parquet)"
    assert data.report.rows_kept == eager.report.rows_kept == 2
    assert not data.frame.explain().splitlines()[0].startswith("Parquet SCAN")
    got = canonical(data.frame.collect())
    assert got.equals(canonical(eager.frame))
    assert got["period"].to_list() == [dt.date(2022, 1, 1)] * 2
    assert got["currency"].to_list() == ["USD", "EUR"]
    assert got["source"].to_list() == ["comext", "tidy"]


def test_a_folder_of_canonical_files_is_one_scan_with_per_file_accounting(
    world_file: tuple[Path, World], tmp_path: Path
) -> None:
    path, _ = world_file
    trade = pl.read_parquet(path)
    folder = tmp_path / "parts"
    folder.mkdir()
    parts = trade.with_row_index("i").with_columns(part=pl.col("i") % 3).drop("i")
    for k in range(3):
        parts.filter(pl.col("part") == k).drop("part").write_parquet(folder / f"p{k}.parquet")
    total = trade.head(1).with_columns(hs=pl.lit("TOTAL"), value=pl.lit(1e9))
    pl.concat([trade.head(5), total]).write_parquet(folder / "p3-with-total.parquet")
    _dirty().write_parquet(folder / "p4-dirty.parquet")
    data, eager = scan_trade(folder), read_trade(folder)
    formats = {f.path.rsplit("/", 1)[-1]: f.format for f in data.report.files}
    assert formats["p0.parquet"] == "tidy (canonical Parquet)"
    assert formats["p4-dirty.parquet"] == "tidy"
    by_file = {f.path.rsplit("/", 1)[-1]: f for f in data.report.files}
    assert by_file["p3-with-total.parquet"].dropped == {"commodity_total": 1}
    assert data.report.rows_read == eager.report.rows_read
    assert data.report.dropped["commodity_total"] == eager.report.dropped["commodity_total"] == 2
    # read_trade also drops the duplicates the extra file repeats; streaming sums them.
    assert eager.report.dropped.get("duplicate", 0) == 5
    got = data.frame.collect()
    assert got.height == eager.frame.height + 5
    assert got.filter(pl.col("hs") == "TOTAL").is_empty()


def test_an_unparsable_csv_is_named(tmp_path: Path) -> None:
    good = tmp_path / "a-good.csv"
    _dirty().write_csv(good)
    bad = tmp_path / "b-ragged.csv"
    bad.write_text(
        "period,reporter,partner,flow,hs,value\\n2022-01,KAZ,DEU,import,870321,1\\n"
        '2022-01,KAZ,DEU,import,"870321,2\\n'
    )
    with pytest.raises(ReroutingError) as info:
        scan_trade([good, bad])
    assert "b-ragged.csv" in str(info.value)
