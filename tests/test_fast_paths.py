"""The staging fast paths (plain polars expressions) agree with the Python parsers.

``_common._FAST_PATHS = False`` sends every row through the per-distinct-value parsers,
as before the fast paths existed; the staged frames and reports must not change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rerouting._io import _staged_inputs, spool_trade
from rerouting._readers import _common

if TYPE_CHECKING:
    from pathlib import Path

# Co-prime list lengths, so that the rows mix every kind of value with every other.
PERIODS = [
    "2022-01", " 2022-02", "2022-13", "2022-00", "2022M03", "2022", None, "", "1799-01",
    "2201-01", "2200-12", "1800-01", "2022-01-15", "2022-1", "+2022-01", "2022-01 ",
    "٢٠٢٢-٠١", "202204", "Y2021", "2022/05", "2022-+1", "2023-06",
]  # fmt: skip
COUNTRIES = [
    "KAZ", "kaz", " KAZ", "DEU ", "Kazakhstan", "Germany", "XXX", None, "", "World",
    "EU27", "BLR", "blr", "Belarus", "ARM", "398", "CHN", "W00", "deu", "Türkiye", "TUR",
    "ABC", "FRA", "fra ",
]  # fmt: skip
FLOWS = [
    "import", "export", "re-import", "re-export", "Import", "EXPORTS", "M", "x", "1", "2",
    "3", "4", " import", "import ", None, "", "junk", "re export", "Re_Export", "rm", "2.0",
    "imports", "reexport",
]  # fmt: skip
CODES = [
    "870321", "8703.21", "10121", "TOTAL", "total", "87032", "", None, "+87032", "-8703",
    "8703210000", "12345678901", "٨٧٠٣٢١", " 870321", "870321 ", "87", "8703", "01",
    "0101.21.00", "ALL", "87a321", "620342", "10121.0", "8",
]  # fmt: skip
VALUES = [
    "1.5", "1e3", "1 000", "NA", "inf", "-5", None, "", "\u00a01000", "12", "0", ":",
    "3.5e308", "nan", " 7 ", "1,5", "-0", "42",
]  # fmt: skip
WEIGHTS = ["10", None, "", "-1", "inf", "2 500", "x", "0.5", "1e2", "NaN", "7"]
FREQS = ["M", "A", "monthly", "annual", None, "", "m", " M", "Q", "Monthly"]


def _tricky(n: int, *, clean: int = 0, frequency: bool = False) -> pl.DataFrame:
    """``clean`` plain rows (every value on a fast path), then ``n`` mixed rows."""

    def col(values: list[str | None], plain: str) -> list[str | None]:
        return [plain] * clean + [values[i % len(values)] for i in range(n)]

    data = {
        "period": col(PERIODS, "2022-01"),
        "reporter": col(COUNTRIES, "KAZ"),
        "partner": col(COUNTRIES[5:] + COUNTRIES[:5], "DEU"),
        "flow": col(FLOWS, "import"),
        "hs": col(CODES, "870321"),
        "value": col(VALUES, "1.5"),
        "net_weight_kg": col(WEIGHTS, "10"),
    }
    if frequency:
        data["frequency"] = col(FREQS, "M")
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


def _staged(source: object, fast: bool, monkeypatch: pytest.MonkeyPatch) -> list[pl.DataFrame]:
    """The staged rows, collected by the in-memory and the streaming engine."""
    monkeypatch.setattr(_common, "_FAST_PATHS", fast)
    by_format, _ = _staged_inputs(source, "auto", None, None, None)  # type: ignore[arg-type]
    plan = pl.concat([lf for st in by_format.values() for _, lf in st.frames])
    return [plan.collect(), plan.collect(engine="streaming")]


def _same_both_ways(source: object, monkeypatch: pytest.MonkeyPatch) -> pl.DataFrame:
    slow = _staged(source, False, monkeypatch)
    fast = _staged(source, True, monkeypatch)
    for got in [*fast, slow[1]]:
        assert_frame_equal(got, slow[0])
    return slow[0]


def _staged_tail(
    frame: pl.DataFrame, path: Path, monkeypatch: pytest.MonkeyPatch, *, reasons: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``frame`` written to ``path`` and staged both ways; the staged rows and the mixed tail.

    The inputs must reach both paths: kept rows and more than ``reasons`` distinct drop
    codes among the mixed rows of the tail.
    """
    frame.write_csv(path)
    staged = _same_both_ways(str(path), monkeypatch)
    assert staged.height == frame.height
    mixed = staged.tail(3_000)
    assert (mixed["_drop"] == 0).any()
    assert mixed["_drop"].n_unique() > reasons
    return staged, mixed


@pytest.mark.parametrize("frequency", [False, True])
def test_fast_paths_stage_as_the_parsers_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frequency: bool
) -> None:
    # Plain rows first: whole batches take the fast path, later ones mix both.
    frame = _tricky(3_000, clean=150_000, frequency=frequency)
    _, mixed = _staged_tail(frame, tmp_path / "tidy.csv", monkeypatch, reasons=8)
    assert mixed["_padded"].any()
    assert mixed["_total_code"].any()


def test_fast_paths_on_typed_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _tricky(2_000).with_columns(
        pl.col("value").cast(pl.Float64, strict=False),
        pl.col("net_weight_kg").cast(pl.Float64, strict=False),
        pl.col("flow").cast(pl.Categorical),
    )
    _same_both_ways(frame.lazy(), monkeypatch)


def test_fast_paths_on_all_null_and_empty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _tricky(500)
    nulls = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in ("reporter", "hs"))
    _same_both_ways(nulls, monkeypatch)
    _same_both_ways(frame.head(0), monkeypatch)


def test_fast_paths_keep_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tidy.csv"
    _tricky(3_000, clean=2_000, frequency=True).write_csv(path)
    reports = []
    for fast in (False, True):
        monkeypatch.setattr(_common, "_FAST_PATHS", fast)
        data = spool_trade(str(path))
        reports.append((data.report, data.frame.collect().sort(pl.all())))
    assert reports[0][0] == reports[1][0]
    assert_frame_equal(reports[0][1], reports[1][1])
    assert reports[1][0].rows_read == 5_000
    assert reports[1][0].rows_kept < 5_000


# Comext bulk files: ISO2 codes (Eurostat's EL/XI/QP... among them), FLOW 1/2 and
# PERIOD YYYYMM, as text or as the integers a CSV reader infers.
ISO2 = [
    "DE", "FR", "EL", "GR", "XI", "UK", "GB", "QP", "QV", "EU", "XX", "ZZ", "de", " DE",
    "KAZ", "BY", "KZ", None, "", "Germany", "XK", "XS", "AM", "1", "EU27_2020",
]  # fmt: skip
COMEXT_PERIODS = [
    "202201", "202212", "202213", "202200", "202252", "2022", "180001", "179912", "220012",
    "220101", "2022-03", "20220", "2022011", None, "", "202201.0", "+20221", "٢٠٢٢٠١", "202306",
]  # fmt: skip
COMEXT_FLOWS = ["1", "2", "3", "4", "0", None, "", "M", "X", "Import", "EXPORT", "RX", "Rm", "2.0"]


def _comext(n: int, *, clean: int = 0, integers: bool = False) -> pl.DataFrame:
    """``clean`` plain Comext rows, then ``n`` mixed ones (integer columns: digits only)."""

    def col(values: list[str | None], plain: str) -> list[str | None]:
        return [plain] * clean + [values[i % len(values)] for i in range(n)]

    periods, flows = COMEXT_PERIODS, COMEXT_FLOWS
    if integers:
        periods = [p for p in periods if p is None or (p.isascii() and p.isdigit())]
        flows = [f for f in flows if f is None or f.isdigit()]
    data = {
        "DECLARANT_ISO": col(ISO2, "DE"),
        "PARTNER_ISO": col(ISO2[7:] + ISO2[:7], "KZ"),
        "TRADE_TYPE": col(["E", "I", None], "E"),
        "PRODUCT_NC": col(["87032390", "8703239", "TOTAL", "84713000", "870323", None], "87032390"),
        "FLOW": col(flows, "2"),
        "STAT_REGIME": col(["1", "2", "3", None], "1"),
        "PERIOD": col(periods, "202201"),
        "VALUE_IN_EUROS": col(["100", "1e3", "NA", "-1", None], "100"),
        "QUANTITY_IN_KG": col(["5", None, "x"], "5"),
    }
    frame = pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))
    if integers:
        frame = frame.with_columns(pl.col("PERIOD", "FLOW").cast(pl.Int64))
    return frame


@pytest.mark.parametrize("integers", [False, True], ids=["text", "integers"])
def test_fast_paths_stage_comext_bulk_as_the_parsers_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, integers: bool
) -> None:
    frame = _comext(3_000, clean=150_000, integers=integers)
    staged, mixed = _staged_tail(frame, tmp_path / "comext.dat", monkeypatch, reasons=6)
    assert (staged.head(150_000)["_drop"] == 0).all()  # plain rows are kept
    # The Comext codes reach both paths: Eurostat's own ISO2 codes, 1/2 flows, YYYYMM.
    assert {"GRC", "GBR", "KAZ"} <= set(mixed["reporter"].drop_nulls())
    assert {"import", "export"} <= set(mixed["flow"].drop_nulls().cast(pl.String))
    assert mixed["period"].drop_nulls().n_unique() >= 3


def test_comext_bulk_in_memory_with_integer_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    _same_both_ways(_comext(2_000, integers=True).lazy(), monkeypatch)
