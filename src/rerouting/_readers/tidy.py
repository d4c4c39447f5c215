"""Tidy tables: the canonical column names, or any layout mapped with ``columns=``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import polars as pl

from rerouting._readers._common import (
    Fields,
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
from rerouting.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rerouting._readers._source import SourceFile

__all__ = ["ALIASES", "matches", "stage_tidy"]

#: Normalised header names accepted for each canonical column.
ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "period": ("period", "date", "month", "time"),
    "frequency": ("frequency", "freq"),
    "reporter": ("reporter", "reporteriso3", "reporteriso"),
    "partner": ("partner", "partneriso3", "partneriso"),
    "flow": ("flow", "tradeflow"),
    "hs": ("hs", "hscode", "hs6", "product", "productcode", "commodity", "commoditycode"),
    "value": ("value", "tradevalue"),
    "currency": ("currency",),
    "net_weight_kg": ("netweightkg", "netweight"),
    "quantity": ("quantity", "qty"),
    "quantity_unit": ("quantityunit", "qtyunit"),
    "hs_vintage": ("hsvintage", "classification"),
    "source": ("source",),
}

_LEGACY_FLOW_CODES: Final = {"3": "re-export", "4": "re-import"}


#: Every required canonical column, by its own name (aliases need ``columns=``).
REQUIRES: Final[Requires] = tuple(ALIASES[c][:1] for c in REQUIRED_COLUMNS)


def matches(normalised: set[str]) -> bool:
    """Whether normalised headers hold every required canonical column."""
    return not missing_groups(REQUIRES, normalised)


def _fields(src: SourceFile, columns: Mapping[str, str] | None) -> Fields:
    unknown = [c for c in (columns or {}) if c not in CANONICAL_COLUMNS]
    if unknown:
        from rerouting._exceptions import ConfigError

        raise ConfigError(
            f"columns= names unknown canonical column(s) {', '.join(map(repr, unknown))}",
            hint=f"canonical columns are: {', '.join(CANONICAL_COLUMNS)}",
        )
    schema = src.frame.collect_schema()
    fields = find_fields(src.headers, dict(schema), ALIASES, overrides=columns, file=src.path)
    fields.require(REQUIRED_COLUMNS, src.headers)
    return fields


def stage_tidy(
    src: SourceFile,
    *,
    file_index: int,
    columns: Mapping[str, str] | None,
    currency: str | None,
    notes: list[str],
) -> pl.LazyFrame:
    """Stage a tidy file (see :mod:`rerouting._readers._common`)."""
    f = _fields(src, columns)
    freq = f.col("frequency") if f.has("frequency") else None
    raw = {k: f.col(k) for k in ("period", "reporter", "partner", "flow", "hs", "value")}
    lf = prepare(
        src.frame,
        period=period_struct(
            f.col("period"), f.dtype("period"), frequency=freq, freq_dtype=f.dtype("frequency")
        ),
        reporter=country(f.col("reporter"), role="reporter"),
        partner=country(f.col("partner"), role="partner"),
        flow=flow_from_text(f.col("flow"), _LEGACY_FLOW_CODES, dtype=f.dtype("flow")),
        hs=f.col("hs"),
        value=number(f.col("value"), f.dtype("value")),
    )
    if currency is not None:
        cur = pl.lit(currency.upper())
    elif f.has("currency"):
        cur = text(f.col("currency"), upper=True).fill_null("USD")
    else:
        cur = pl.lit("USD")
        notes.append(f"{src.path}: no currency column and no currency= given; assumed USD")
    return stage(
        lf,
        file_index=file_index,
        raw=raw,
        source=text(f.col("source")).fill_null("tidy") if f.has("source") else pl.lit("tidy"),
        currency=cur,
        net_weight_kg=_opt_number(f, "net_weight_kg"),
        quantity=_opt_number(f, "quantity"),
        quantity_unit=text(f.col("quantity_unit")) if f.has("quantity_unit") else None,
        hs_vintage=text(f.col("hs_vintage")) if f.has("hs_vintage") else None,
    )


def _opt_number(f: Fields, name: str) -> pl.Expr | None:
    if not f.has(name):
        return None
    return number(f.col(name), f.dtype(name))


def _stage(src: SourceFile, a: StageArgs) -> pl.LazyFrame:
    return stage_tidy(
        src, file_index=a.file_index, columns=a.columns, currency=a.currency, notes=a.notes
    )


READER: Final = Reader(
    "tidy", matches, _stage, None, "canonical column names (docs/data-model.md)", REQUIRES
)
