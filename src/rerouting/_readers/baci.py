"""CEPII BACI: reconciled bilateral flows ``t,i,j,k,v,q``.

``v`` is in thousands of US dollars and ``q`` in metric tonnes; ``i`` exports
to ``j``. Country codes follow Comtrade (842 USA, 251 France ...) and are
resolved with the BACI country table (``country_codes_V*.csv``) when one lies
beside the file or is given, else with the shipped Comtrade/ISO tables.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Final

import polars as pl

from rerouting import _countries
from rerouting._exceptions import CodeMappingError, SchemaError
from rerouting._readers._common import (
    country,
    find_fields,
    number,
    period_struct,
    prepare,
    stage,
    text,
)
from rerouting._readers._reader import Reader, Requires, StageArgs, missing_groups
from rerouting._readers._source import SourceFile, normalise_header

__all__ = ["ALIASES", "baci_vintage", "country_table", "matches", "stage_baci"]

ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "t": ("t",),
    "i": ("i",),
    "j": ("j",),
    "k": ("k",),
    "v": ("v",),
    "q": ("q",),
}

_VINTAGES: Final = {
    "92": "HS1992",
    "96": "HS1996",
    "02": "HS2002",
    "07": "HS2007",
    "12": "HS2012",
    "17": "HS2017",
    "22": "HS2022",
}


#: BACI headers: t, i, j, k and v.
REQUIRES: Final[Requires] = (("t",), ("i",), ("j",), ("k",), ("v",))


def matches(h: set[str]) -> bool:
    """BACI headers: t, i, j, k and v."""
    return not missing_groups(REQUIRES, h)


def baci_vintage(path: str) -> str | None:
    """HS vintage from a BACI file name: ``BACI_HS17_Y2022_V202401.csv`` -> ``HS2017``."""
    m = re.search(r"HS(\d{2})", Path(path).name, flags=re.IGNORECASE)
    return _VINTAGES.get(m.group(1)) if m else None


@lru_cache(maxsize=16)
def country_table(path: str) -> dict[str, str]:
    """Read a BACI country table: code -> ISO3 (rows with a real ISO3 only).

    Accepts the current layout (``country_code, country_name, country_iso2,
    country_iso3``) and the older one (``..., iso_2digit_alpha, iso_3digit_alpha``).

    Raises:
        SchemaError: The file has no code or ISO3 column.
    """
    from rerouting._readers._source import open_source

    src = open_source(Path(path))
    by_norm = {normalise_header(h): h for h in src.headers}
    code_col = by_norm.get("countrycode")
    iso_col = by_norm.get("countryiso3") or by_norm.get("iso3digitalpha")
    if code_col is None or iso_col is None:
        missing = [
            n for n, c in (("country_code", code_col), ("country_iso3", iso_col)) if c is None
        ]
        raise SchemaError.from_missing_columns(missing, list(src.headers), file=path)
    frame = src.frame.select(
        text(pl.col(code_col)).str.replace(r"\.0+$", "").str.replace(r"^0+(\d)", "$1"),
        text(pl.col(iso_col)).str.to_uppercase(),
    ).collect()
    known = _countries._iso3_codes()
    out: dict[str, str] = {}
    for line, (code, iso) in enumerate(frame.iter_rows(), start=2):
        if not (code and iso and re.fullmatch(r"[A-Z]{3}", iso)) or iso in ("S19", "EUR"):
            continue
        if iso not in known:
            # A table that maps codes to WLD/EUU/ZZZ would turn aggregates into countries.
            raise CodeMappingError(
                "BACI country table maps a code to something that is not a country's ISO3 code",
                file=path,
                line=line,
                column=iso_col,
                value=iso,
                hint="use the country_codes_V*.csv that came with the BACI release",
            )
        out[code] = iso
    return out


def find_country_table(path: str) -> Path | None:
    """The newest ``country_codes_V*.csv`` beside a BACI file, if any."""
    folder = Path(path).parent
    found = sorted(folder.glob("country_codes_V*.csv"))
    return found[-1] if found else None


def stage_baci(
    src: SourceFile,
    *,
    file_index: int,
    currency: str | None,
    table: Path | None,
    notes: list[str],
) -> pl.LazyFrame:
    """Stage a BACI file."""
    schema = dict(src.frame.collect_schema())
    f = find_fields(src.headers, schema, ALIASES, file=src.path)
    f.require(["t", "i", "j", "k", "v"], src.headers)
    table_path = table if table is not None else find_country_table(src.path)
    if table_path is not None:
        codes = country_table(str(table_path))
        note = f"{Path(src.path).name}: BACI country codes resolved with {Path(table_path).name}"
    else:
        codes = {}
        note = (
            f"{Path(src.path).name}: no BACI country table (country_codes_V*.csv) found; "
            "country codes resolved with the Comtrade/ISO numeric tables"
        )
    if note not in notes:
        notes.append(note)
    vintage = baci_vintage(src.path)
    notes_v = "BACI values are thousands of USD and quantities tonnes; converted to USD and kg"
    if notes_v not in notes:
        notes.append(notes_v)
    i_raw = text(f.col("i")).str.replace(r"\.0+$", "").str.replace(r"^0+(\d)", "$1")
    j_raw = text(f.col("j")).str.replace(r"\.0+$", "").str.replace(r"^0+(\d)", "$1")
    value = number(f.col("v"), f.dtype("v")) * 1000.0
    raw = {
        "period": f.col("t"),
        "reporter": i_raw,
        "partner": j_raw,
        "flow": pl.lit("export"),
        "hs": f.col("k"),
        "value": f.col("v"),
    }
    lf = prepare(
        src.frame,
        period=period_struct(text(f.col("t")), pl.String(), frequency=pl.lit("A")),
        reporter=country(i_raw, scheme="comtrade", role="reporter", extra=codes),
        partner=country(j_raw, scheme="comtrade", role="partner", extra=codes),
        flow=pl.lit("export"),
        hs=f.col("k"),
        value=value,
    )
    weight = number(f.col("q"), f.dtype("q")) * 1000.0 if f.has("q") else None
    return stage(
        lf,
        file_index=file_index,
        raw=raw,
        source=pl.lit("baci"),
        currency=pl.lit((currency or "USD").upper()),
        net_weight_kg=weight,
        hs_vintage=pl.lit(vintage, pl.String) if vintage else None,
    )


def _stage(src: SourceFile, a: StageArgs) -> pl.LazyFrame:
    return stage_baci(
        src, file_index=a.file_index, currency=a.currency, table=a.baci_table, notes=a.notes
    )


READER: Final = Reader(
    "baci", matches, _stage, {}, "CEPII BACI (fixed columns t,i,j,k,v,q)", REQUIRES
)
