"""Eurostat Comext: bulk files (.dat/.csv) and Data-Browser extracts with labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import polars as pl

from rerouting._readers._common import (
    country,
    find_fields,
    flow_from_text,
    number,
    period_struct,
    prepare,
    stage,
    text,
)
from rerouting._readers._reader import Reader, Requires, StageArgs, missing_groups

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rerouting._readers._source import SourceFile

__all__ = ["BROWSER", "BULK", "matches_browser", "matches_bulk", "stage_browser", "stage_bulk"]

#: Bulk files: the classic layout (DECLARANT_ISO, VALUE_IN_EUROS ...) and the
#: 2024 "v2" layout (REPORTER, VALUE_EUR ...), normalised.
BULK: Final[dict[str, tuple[str, ...]]] = {
    "reporter": ("declarantiso", "reporter"),
    "partner": ("partneriso", "partner"),
    "flow": ("flow",),
    "product": ("productnc",),
    "period": ("period",),
    "value": ("valueineuros", "valueeur"),
    "kg": ("quantityinkg", "quantitykg"),
    "supq": ("supquantity", "quantitysupplunit"),
    "supunit": ("suppunit", "supplunit"),
    "trade_type": ("tradetype",),
    "regime": ("statregime", "statprocedure"),
}

#: Data-Browser / Easy Comext extracts with country labels, normalised.
BROWSER: Final[dict[str, tuple[str, ...]]] = {
    "reporter": ("reporter", "declarant", "reporterlabel"),
    "partner": ("partner", "partnerlabel"),
    "product": ("productcode", "product", "productnc"),
    "flow": ("flow",),
    "indicator": ("indicator", "indicators"),
    "period": ("period", "timeperiod", "time", "year"),
    "value": ("valueeur", "valueineur", "valueineuros", "value", "obsvalue"),
}

_VALUE_INDICATORS: Final = ("VALUE_IN_EUROS", "VALUE_IN_EUR", "VALUE_EUR", "VALUE")
_NO_UNIT: Final = ("NO_SU", "-", "", "0")


#: Bulk headers: PRODUCT_NC, FLOW, PERIOD, a EUR value and a reporter.
REQUIRES_BULK: Final[Requires] = (
    ("productnc",),
    ("flow",),
    ("period",),
    ("valueineuros", "valueeur"),
    ("declarantiso", "reporter"),
)
#: Extract headers: reporter, partner, a period and a EUR value.
REQUIRES_BROWSER: Final[Requires] = (
    ("reporter",),
    ("partner",),
    ("period", "timeperiod", "time", "year"),
    ("valueeur", "valueineur", "valueineuros"),
)


def matches_bulk(h: set[str]) -> bool:
    """Bulk headers: PRODUCT_NC, FLOW, PERIOD and a EUR value."""
    return not missing_groups(REQUIRES_BULK, h)


def matches_browser(h: set[str]) -> bool:
    """Extract headers: reporter, partner, a period and a EUR value."""
    return not missing_groups(REQUIRES_BROWSER, h)


def stage_bulk(
    src: SourceFile,
    *,
    file_index: int,
    currency: str | None,
    overrides: Mapping[str, str] | None,
    notes: list[str],
) -> pl.LazyFrame:
    """Stage a Comext bulk file (partner and reporter as ISO alpha-2)."""
    del notes
    schema = dict(src.frame.collect_schema())
    f = find_fields(src.headers, schema, BULK, overrides=overrides, file=src.path)
    f.require(["reporter", "partner", "flow", "product", "period", "value"], src.headers)
    rep_raw, par_raw = text(f.col("reporter")), text(f.col("partner"))
    raw = {
        "period": f.col("period"),
        "reporter": rep_raw,
        "partner": par_raw,
        "flow": f.col("flow"),
        "hs": f.col("product"),
        "value": f.col("value"),
    }
    lf = prepare(
        src.frame,
        period=period_struct(f.col("period"), f.dtype("period"), comext_annual=True),
        reporter=country(rep_raw, scheme="iso2", role="reporter"),
        partner=country(par_raw, scheme="iso2", role="partner"),
        flow=flow_from_text(f.col("flow")),
        hs=f.col("product"),
        value=number(f.col("value"), f.dtype("value")),
    )
    unit = text(f.col("supunit"))
    unit = pl.when(unit.is_in(list(_NO_UNIT))).then(None).otherwise(unit)
    supq = number(f.col("supq"), f.dtype("supq")) if f.has("supq") else None
    if supq is not None:
        supq = pl.when(unit.is_not_null()).then(supq)
    split = pl.concat_str(
        [text(f.col("trade_type")).fill_null("-"), text(f.col("regime")).fill_null("-")],
        separator="|",
    )
    return stage(
        lf,
        file_index=file_index,
        raw=raw,
        source=pl.lit("comext"),
        currency=pl.lit((currency or "EUR").upper()),
        net_weight_kg=number(f.col("kg"), f.dtype("kg")) if f.has("kg") else None,
        quantity=supq,
        quantity_unit=unit if f.has("supunit") else None,
        hs_vintage=pl.lit("CN"),
        split=split,
    )


def stage_browser(
    src: SourceFile,
    *,
    file_index: int,
    currency: str | None,
    overrides: Mapping[str, str] | None,
    notes: list[str],
) -> pl.LazyFrame:
    """Stage a Data-Browser extract (countries as English/French labels)."""
    schema = dict(src.frame.collect_schema())
    f = find_fields(src.headers, schema, BROWSER, overrides=overrides, file=src.path)
    f.require(["reporter", "partner", "flow", "period", "value"], src.headers)
    rep_raw, par_raw = f.col("reporter"), f.col("partner")
    if f.has("product"):
        product = f.col("product")
    else:
        product = pl.lit("TOTAL")
        notes.append(f"{src.path}: no product column; rows are all-goods totals (hs TOTAL)")
    raw = {
        "period": f.col("period"),
        "reporter": rep_raw,
        "partner": par_raw,
        "flow": f.col("flow"),
        "hs": product,
        "value": f.col("value"),
    }
    lf = prepare(
        src.frame,
        period=period_struct(f.col("period"), f.dtype("period"), comext_annual=True),
        reporter=country(rep_raw, scheme="auto", role="reporter"),
        partner=country(par_raw, scheme="auto", role="partner"),
        flow=flow_from_text(f.col("flow")),
        hs=product,
        value=number(f.col("value"), f.dtype("value")),
    )
    extra: list[tuple[pl.Expr, str, pl.Expr]] = []
    if f.has("indicator"):
        ind = text(f.col("indicator"), upper=True)
        extra.append(
            (~ind.is_in(list(_VALUE_INDICATORS)).fill_null(False), "unsupported_indicator", ind)
        )
    return stage(
        lf,
        file_index=file_index,
        raw=raw,
        source=pl.lit("comext"),
        currency=pl.lit((currency or "EUR").upper()),
        extra_rules=extra,
        hs_vintage=pl.lit("CN"),
    )


def _stage_bulk(src: SourceFile, a: StageArgs) -> pl.LazyFrame:
    return stage_bulk(
        src, file_index=a.file_index, currency=a.currency, overrides=a.overrides, notes=a.notes
    )


def _stage_browser(src: SourceFile, a: StageArgs) -> pl.LazyFrame:
    return stage_browser(
        src, file_index=a.file_index, currency=a.currency, overrides=a.overrides, notes=a.notes
    )


READER_BULK: Final = Reader(
    "comext",
    matches_bulk,
    _stage_bulk,
    {
        "period": "period",
        "reporter": "reporter",
        "partner": "partner",
        "flow": "flow",
        "hs": "product",
        "value": "value",
        "net_weight_kg": "kg",
        "quantity": "supq",
        "quantity_unit": "supunit",
    },
    "Eurostat Comext bulk files",
    REQUIRES_BULK,
)
READER_BROWSER: Final = Reader(
    "comext-browser",
    matches_browser,
    _stage_browser,
    {
        "period": "period",
        "reporter": "reporter",
        "partner": "partner",
        "flow": "flow",
        "hs": "product",
        "value": "value",
    },
    "Eurostat Data Browser extracts",
    REQUIRES_BROWSER,
)
