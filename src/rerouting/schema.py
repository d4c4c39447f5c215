"""The canonical trade table: one row per reported record.

Every reader produces this layout and every analysis consumes it. See
``docs/data-model.md`` for the meaning of each column.

=================  ==========  ===========================================================
column             dtype       meaning
=================  ==========  ===========================================================
period             Date        first day of the month (monthly) or of the year (annual)
frequency          Enum        ``M`` monthly or ``A`` annual
reporter           String      ISO 3166 alpha-3 of the country that reported the record
partner            String      ISO 3166 alpha-3 of the trade partner
flow               Enum        ``import``, ``export``, ``re-import`` or ``re-export``
hs                 String      2-10 digit product code, leading zeros kept (``TOTAL`` = all goods)
value              Float64     trade value in ``currency`` (CIF for imports, FOB for exports)
currency           String      ISO 4217 code of ``value``
net_weight_kg      Float64     net mass in kilograms (optional, null when unknown)
quantity           Float64     supplementary quantity (optional)
quantity_unit      String      unit of ``quantity`` (optional)
hs_vintage         String      ``HS2012``, ``HS2017``, ``HS2022``, ``CN`` ... (optional)
source             String      ``comtrade``, ``comext``, ``baci``, ``tidy``, ``synthetic``...
=================  ==========  ===========================================================
"""

from __future__ import annotations

from typing import Final

import polars as pl

__all__ = [
    "CANONICAL_COLUMNS",
    "CANONICAL_SCHEMA",
    "FLOWS",
    "FLOW_DTYPE",
    "FREQUENCIES",
    "FREQUENCY_DTYPE",
    "OPTIONAL_COLUMNS",
    "RECONCILED_SOURCES",
    "RECORD_KEY",
    "REQUIRED_COLUMNS",
]

FLOWS: Final = ("import", "export", "re-import", "re-export")
FLOW_DTYPE: Final = pl.Enum(list(FLOWS))
FREQUENCIES: Final = ("M", "A")
FREQUENCY_DTYPE: Final = pl.Enum(list(FREQUENCIES))

#: Sources that already reconcile both mirror sides into one record per flow.
RECONCILED_SOURCES: Final = frozenset({"baci"})

CANONICAL_SCHEMA: Final[dict[str, pl.DataType]] = {
    "period": pl.Date(),
    "frequency": FREQUENCY_DTYPE,
    "reporter": pl.String(),
    "partner": pl.String(),
    "flow": FLOW_DTYPE,
    "hs": pl.String(),
    "value": pl.Float64(),
    "currency": pl.String(),
    "net_weight_kg": pl.Float64(),
    "quantity": pl.Float64(),
    "quantity_unit": pl.String(),
    "hs_vintage": pl.String(),
    "source": pl.String(),
}

CANONICAL_COLUMNS: Final = tuple(CANONICAL_SCHEMA)
#: Columns that identify one record: everything but the measures.
RECORD_KEY: Final = (
    "period",
    "frequency",
    "reporter",
    "partner",
    "flow",
    "hs",
    "currency",
    "hs_vintage",
    "source",
)
REQUIRED_COLUMNS: Final = ("period", "reporter", "partner", "flow", "hs", "value")
OPTIONAL_COLUMNS: Final = tuple(c for c in CANONICAL_COLUMNS if c not in REQUIRED_COLUMNS)
