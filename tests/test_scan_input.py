"""Bad or thin scenario input: product codes that exist in no HS vintage, silent sides."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import polars as pl
import pytest

from rerouting._exceptions import ConfigError
from rerouting._lists import product_list
from rerouting._scan import scan
from rerouting.synthetic import make_world

if TYPE_CHECKING:
    from pathlib import Path

WORLD = {"n_products": 30, "n_other_countries": 4, "eu_members": 4}


# ------------------------------------------------------------------ codes in no vintage
def test_codes_in_no_vintage_are_refused_by_name() -> None:
    # 1234xx and heading 1299 exist in no HS vintage (chapter 12 stops at 1214)
    with pytest.raises(ConfigError) as err:
        product_list("4407, 123456, 1299")
    e = err.value
    assert "2 of 3 product code(s) match no HS code in any vintage" in e.message
    assert "123456" in e.message
    assert "1299" in e.message
    assert "4407" not in e.message
    assert e.column == "products"
    # Python hint in Python syntax, CLI hint in CLI syntax
    assert "scan(..., products=" in (e.hint or "")
    assert "--" not in (e.hint or "")
    assert "--products" in (e.cli_hint or "")
    assert "scan(" not in (e.cli_hint or "")
    assert "--products" in e.cli_text()
    assert "--products" not in str(e)


def test_known_codes_of_any_vintage_and_cn8_codes_pass() -> None:
    # 880330 exists only in HS2012/HS2017, 880730 only in HS2022; 44071190 is CN8
    plist = product_list(["880330", "880730", "44071190", "99"])
    assert plist.codes == ("880330", "880730", "44071190", "99")


def test_a_product_file_names_the_rows_of_unknown_codes(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("code,tier\n4407,a\n770000,b\n851762,b\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        product_list(str(path))
    assert err.value.file == str(path)
    assert err.value.row == 3
    assert "770000 (row 3)" in err.value.message


def test_scan_refuses_codes_in_no_vintage_before_reading_anything() -> None:
    w = make_world(0, direction="import-ban", **WORLD)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="123456"):
        scan(w.trade, scenario=w.scenario, products="123456")


def test_cli_gives_the_cli_hint(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    make_world(0, direction="import-ban", **WORLD).trade.head(1000).write_parquet(path)  # type: ignore[arg-type]
    args = ["scan", str(path), "--origin", "BLR", "--destination", "EU", "--event", "2022-03"]
    proc = subprocess.run(
        [sys.executable, "-m", "rerouting", *args, "--products", "123456"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "123456" in proc.stderr
    assert "--products 4407,4412" in proc.stderr
    assert "scan(" not in proc.stderr


# ------------------------------------------------------------------ one-sided legs
def test_a_destination_that_never_reports_is_noted_with_its_legs(tmp_path: Path) -> None:
    w = make_world(0, direction="export-control", **WORLD)  # type: ignore[arg-type]
    full = scan(w.trade, scenario=w.scenario)
    # the generator's Russia files nothing from the event on
    assert full.notes == (
        "destination RUS reports nothing from 2022-03 (imports): hub→RUS and the direct leg "
        "rest on the exporters' declarations only; their mirror gaps are unknown and goods "
        "lost in transit cannot be seen",
    )
    never = scan(w.trade.filter(pl.col("reporter") != "RUS"), scenario=w.scenario)
    assert never.notes[0].startswith("destination RUS never reports (imports): hub→RUS and the")
    # what the note says is what the routes show: every hub→RUS number is the hub's own
    legs = never.legs.filter(pl.col("leg") == "hub_destination", pl.col("value") > 0)
    assert set(legs["provenance"]) == {"exporter_only"}
    # the report shows the note even without an ingest report (a table in memory)
    html = never.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "destination RUS never reports (imports)" in html


def test_no_note_when_every_side_reports() -> None:
    w = make_world(0, direction="export-control", **WORLD)  # type: ignore[arg-type]
    # a year before Russia falls silent, every side files every window
    table = scan(w.trade, scenario=w.scenario, event="2021-03", post="2021-03:2022-02")
    assert table.notes == ()
