"""rerouting: find sanctions circumvention (trade rerouting) in mirror trade statistics.

Read UN Comtrade, Eurostat Comext or CEPII BACI files into one canonical table,
pair the mirror sides, and rank origin → hub → destination routes whose legs
move the way rerouting does::

    import rerouting as rr

    trade = rr.read_trade("comtrade/*.csv")
    routes = rr.scan(trade, origin="BLR", destination="EU", event="2022-03", products="belarus")
    routes.top(10)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from rerouting.config import Scenario
from rerouting.exceptions import (
    CodeMappingError,
    ConfigError,
    CurrencyError,
    DataQualityWarning,
    FormatDetectionError,
    InputError,
    NoDataError,
    ParseError,
    ReroutingError,
    ReroutingWarning,
    SchemaError,
    SourceNotFoundError,
    UnknownListError,
)
from rerouting.ingest import IngestReport

try:
    __version__ = version("rerouting")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "CodeMappingError",
    "ConfigError",
    "CurrencyError",
    "DataQualityWarning",
    "FormatDetectionError",
    "IngestReport",
    "InputError",
    "NoDataError",
    "ParseError",
    "ReroutingError",
    "ReroutingWarning",
    "Scenario",
    "SchemaError",
    "SourceNotFoundError",
    "UnknownListError",
    "__version__",
]
