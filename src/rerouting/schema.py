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

The route table a scan returns (``docs/detection.md``) is keyed by :data:`ROUTE_KEY`;
each route has the three legs of :data:`LEGS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CANONICAL_COLUMNS",
    "CANONICAL_SCHEMA",
    "FLOWS",
    "FLOW_DTYPE",
    "FREQUENCIES",
    "FREQUENCY_DTYPE",
    "LEGS",
    "LEG_NAMES",
    "OPTIONAL_COLUMNS",
    "RECONCILED_SOURCES",
    "RECORD_KEY",
    "REQUIRED_COLUMNS",
    "ROUTE_KEY",
    "Leg",
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


# ------------------------------------------------------------------ routes
#: Columns that identify a route of ``RouteTable.routes`` (and of ``RouteTable.legs``).
ROUTE_KEY: Final = ("origin", "hub", "destination", "hs")


@dataclass(frozen=True)
class Leg:
    """One leg of a route: the flow of the product from ``src`` to ``dst``.

    Attributes:
        prefix: Prefix of the leg's columns in the route table (``oh_ratio_value``).
        name: The leg's name in ``RouteTable.legs["leg"]`` and in ``missing_legs``.
        src: The :data:`ROUTE_KEY` column of the exporting side.
        dst: The :data:`ROUTE_KEY` column of the importing side.
    """

    prefix: str
    name: str
    src: str
    dst: str

    def between(self, route: Mapping[str, object]) -> str:
        """The leg of one route in words, e.g. ``"BLR → KAZ"`` (``"… (direct)"`` for ``dr``).

        ``Leg.between`` of the column names themselves gives the leg's title:
        ``origin → hub``.
        """
        text = f"{route[self.src]} → {route[self.dst]}"
        return f"{text} (direct)" if self.prefix == "dr" else text

    @property
    def title(self) -> str:
        """The leg in general terms: ``origin → hub``."""
        return self.between({c: c for c in ROUTE_KEY})


#: The three legs of a route, in the order tables and the report show them.
LEGS: Final = (
    Leg("oh", "origin_hub", "origin", "hub"),
    Leg("hd", "hub_destination", "hub", "destination"),
    Leg("dr", "direct", "origin", "destination"),
)
#: The legs' names, as in ``RouteTable.legs["leg"]``.
LEG_NAMES: Final = tuple(leg.name for leg in LEGS)
