"""Real HS6 codes for the synthetic world: pools per direction, vintages, splits, unit values.

Every code is checked against the UN nomenclature files shipped in ``rerouting/_data``:
a "stable" code exists unchanged in HS2017 and HS2022 and converts to itself; a "split"
HS2017 code vanished in HS2022 and its HS2022 children all convert back to it only.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources
from typing import Final

__all__ = [
    "CONTROL_POOL",
    "SANCTIONED_POOL",
    "SPLIT_POOL",
    "Nomenclature",
    "nomenclature",
    "unit_value",
]


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("rerouting") / "_data" / name
    text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@dataclass(frozen=True)
class Nomenclature:
    """HS2017/HS2022 six-digit codes, descriptions and the clean HS2017 → HS2022 splits."""

    hs2017: dict[str, str]
    hs2022: dict[str, str]
    stable: frozenset[str]
    splits: dict[str, tuple[str, ...]]


@functools.cache
def nomenclature() -> Nomenclature:
    """Load the UN nomenclature and conversion tables once."""
    h17 = {
        r["code"]: r["description"]
        for r in _rows("comtrade_classification_H5_HS2017.csv")
        if r["level"] == "6"
    }
    h22 = {
        r["code"]: r["description"]
        for r in _rows("comtrade_classification_H6_HS2022.csv")
        if r["level"] == "6"
    }
    conv = {r["from_code"]: r["to_code"] for r in _rows("un_hs2022_to_hs2017_conversion.csv")}
    n_targets: dict[str, set[str]] = {}
    for r in _rows("un_hs2022_to_hs2017_correlation.csv"):
        n_targets.setdefault(r["from_code"], set()).add(r["to_code"])
    stable = frozenset(c for c in h17 if c in h22 and conv.get(c) == c)
    children: dict[str, list[str]] = {}
    for new, old in conv.items():
        children.setdefault(old, []).append(new)
    splits = {
        old: tuple(sorted(kids))
        for old, kids in children.items()
        if len(kids) >= 2
        and old in h17
        and old not in h22
        and all(k in h22 and k not in h17 and n_targets.get(k) == {old} for k in kids)
    }
    return Nomenclature(hs2017=h17, hs2022=h22, stable=stable, splits=splits)


# Sanctioned-product pools (HS2017). Import ban: EU Reg. 765/2006 as amended in 2021-22
# (wood ch. 44, potash, iron & steel, cement, tyres, mineral fuels). Export control: the
# Common High Priority List converted to HS2017, plus luxury cars (EU Reg. 833/2014).
SANCTIONED_POOL: Final[dict[str, tuple[str, ...]]] = {
    "import-ban": (
        "440711", "441231", "310420", "720839", "440712", "441233", "440719", "310520",
        "720838", "441239", "440791", "721049", "440799", "441234", "252329", "401120",
        "440311", "310560", "721391", "441012", "720827", "440312", "441510", "721420",
        "730890", "441600", "271019", "440321", "441113", "252310", "401110", "730630",
        "440810", "441112", "720917", "441114", "441520", "721710", "441700", "440795",
        "270400", "440131",
    ),
    "export-control": (
        "854231", "847150", "851762", "870323", "848210", "854232", "853690", "851769",
        "847180", "854239", "853221", "848220", "852990", "854233", "901380", "853669",
        "852910", "854110", "903020", "848250", "853224", "854129", "901480", "852691",
        "854121", "848230", "903082", "854130", "850440", "853400", "854320", "902750",
        "903032", "903039", "845710", "845811", "845891", "845961", "846693", "848610",
        "848620", "848640", "901310", "901420", "854160",
    ),
}  # fmt: skip

#: Clean HS2017 → HS2022 splits used for hs_split decoys and split routes, per direction.
SPLIT_POOL: Final[dict[str, tuple[str, ...]]] = {
    "import-ban": ("441294", "441810", "441820", "440140"),
    "export-control": ("854140", "851770", "902780"),
}

#: Non-sanctioned control products; the first codes keep leading zeros on purpose.
CONTROL_POOL: Final[dict[str, tuple[str, ...]]] = {
    "import-ban": (
        "030389", "090111", "080290", "847130", "870323", "300490", "220421", "040690",
        "610910", "940360", "392321", "100199", "170199", "640399", "392690", "732690",
        "841810", "870899", "940161", "611030", "620462", "180690", "200911", "160414",
        "210690", "330499", "481910", "490199", "630239", "691110", "760120", "848180",
        "852872", "900490", "950300", "020230", "071390", "080510", "030617", "081010",
        "151000", "940390", "847330",
    ),
    "export-control": (
        "030389", "090111", "080290", "300490", "220421", "040690", "610910", "940360",
        "330499", "640399", "180690", "210690", "100199", "170199", "392321", "481910",
        "490199", "630239", "691110", "200911", "160414", "620462", "611030", "020230",
        "071390", "080510", "030617", "081010", "151000", "940390", "760120", "732690",
        "392690", "870899", "841810", "940161", "950300", "900490",
    ),
}  # fmt: skip

# Typical unit values (US$ per kg) by HS chapter, with overrides for specific codes.
_UV_CHAPTER: Final[dict[str, float]] = {
    "02": 4.5, "03": 3.0, "04": 5.0, "07": 1.0, "08": 6.0, "09": 3.5, "10": 0.25,
    "15": 4.0, "16": 6.0, "17": 0.4, "18": 5.0, "20": 1.2, "21": 5.0, "22": 3.0,
    "25": 0.06, "27": 0.6, "30": 60.0, "31": 0.3, "33": 20.0, "39": 3.0, "40": 3.0,
    "44": 0.5, "48": 1.5, "49": 6.0, "61": 20.0, "62": 25.0, "63": 8.0, "64": 25.0,
    "69": 3.0, "72": 0.7, "73": 1.5, "76": 2.5, "84": 30.0, "85": 20.0, "87": 20.0,
    "90": 200.0, "94": 5.0, "95": 8.0,
}  # fmt: skip
_UV_CODE: Final[dict[str, float]] = {
    "440711": 0.35, "440712": 0.33, "440719": 0.3, "440311": 0.1, "440312": 0.1,
    "440321": 0.09, "440131": 0.17, "440140": 0.12, "441231": 0.75, "441233": 0.7,
    "441234": 0.7, "441239": 0.6, "441294": 0.8, "441810": 2.5, "441820": 2.2,
    "441510": 0.8, "441600": 1.2, "270400": 0.3, "271019": 0.7, "730890": 2.0,
    "854231": 1500.0, "854232": 900.0, "854233": 700.0, "854239": 800.0, "851762": 200.0,
    "847150": 80.0, "847180": 60.0, "847130": 150.0, "870323": 22.0, "848210": 12.0,
    "848220": 10.0, "848230": 10.0, "848250": 9.0, "854140": 60.0, "851770": 100.0,
    "902780": 250.0, "848610": 300.0, "848620": 400.0, "848640": 350.0, "854110": 400.0,
}  # fmt: skip


def unit_value(code: str) -> float:
    """Typical unit value of an HS2017 six-digit code in US$ per kg."""
    if code in _UV_CODE:
        return _UV_CODE[code]
    return _UV_CHAPTER.get(code[:2], 10.0)
