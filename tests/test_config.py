from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from rerouting import ConfigError, Scenario
from rerouting._config import parse_month, parse_window

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-03", dt.date(2022, 3, 1)),
        ("202203", dt.date(2022, 3, 1)),
        ("2022-03-24", dt.date(2022, 3, 1)),
        ("2022", dt.date(2022, 1, 1)),
        (dt.date(2022, 3, 24), dt.date(2022, 3, 1)),
    ],
)
def test_parse_month_accepts_common_forms(text: object, expected: dt.date) -> None:
    assert parse_month(text) == expected


@pytest.mark.parametrize("text", ["2022-13", "March 2022", "22-03", "", "2022-00"])
def test_parse_month_rejects_garbage_with_hint(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_month(text, field="event")
    assert "event" in str(info.value)
    assert "YYYY-MM" in str(info.value)


def test_parse_window_orders_and_validates() -> None:
    assert parse_window("2020-03:2022-02", field="baseline") == (
        dt.date(2020, 3, 1),
        dt.date(2022, 2, 1),
    )
    with pytest.raises(ConfigError, match="ends before it starts"):
        parse_window("2022-02:2020-03", field="baseline")
    with pytest.raises(ConfigError, match="START:END"):
        parse_window("2020-03", field="baseline")


def test_scenario_splits_codes_and_parses_dates() -> None:
    s = Scenario.build(origin="blr", destination="EU", event="2022-03", hubs="KAZ, kgz")
    assert s.origin == ("BLR",)
    assert s.hubs == ("KAZ", "KGZ")
    assert s.event == dt.date(2022, 3, 1)
    assert s.cif_fob_margin == pytest.approx(0.06)


def test_scenario_is_frozen() -> None:
    s = Scenario.build(origin="BLR", destination="EU", event="2022-03")
    with pytest.raises(Exception, match="frozen"):
        s.event = dt.date(2023, 1, 1)  # type: ignore[misc]


def test_scenario_rejects_baseline_after_event() -> None:
    with pytest.raises(ConfigError, match="baseline must end before the event"):
        Scenario.build(origin="BLR", destination="EU", event="2022-03", baseline="2021-01:2022-05")


def test_scenario_rejects_unknown_field_and_bad_scorer() -> None:
    with pytest.raises(ConfigError):
        Scenario.build(origin="BLR", destination="EU", event="2022-03", colour="red")
    with pytest.raises(ConfigError, match="scorer"):
        Scenario.build(origin="BLR", destination="EU", event="2022-03", scorer="magic")


def test_scenario_from_toml_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "scan.toml"
    path.write_text(
        '[scenario]\norigin = "BLR"\ndestination = ["EU"]\nevent = "2022-03"\n'
        'products = ["4407", "4412"]\n',
        encoding="utf-8",
    )
    s = Scenario.from_toml(path, event="2022-06")
    assert s.destination == ("EU",)
    assert s.products == ("4407", "4412")
    assert s.event == dt.date(2022, 6, 1)


def test_scenario_from_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "scan.toml"
    path.write_text("origin = [", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Scenario.from_toml(path)
    assert str(path) in str(info.value)
