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

import importlib.metadata as _metadata
import types as _types
import typing as _typing

from rerouting import features, mirror_formulas, reference, synthetic
from rerouting._config import Scenario
from rerouting._engine import LegBuilder, PolarsEngine
from rerouting._exceptions import (
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
from rerouting._ingest import IngestReport
from rerouting._io import LazyTradeData, TradeData, detect_format, read_trade, scan_trade
from rerouting._mirror import arrival_ratio, mirror, reporter_reliability
from rerouting._normalise import convert_currency, harmonise_hs, harmonise_hs_with_summary
from rerouting._result import ResolvedScan, RouteTable
from rerouting._scan import scan
from rerouting._score import get_scorer_names
from rerouting._validate import ValidationReport, validate_trade
from rerouting.reference import ProductList, bloc_members, product_list, resolve_countries
from rerouting.synthetic import World, make_world

if _typing.TYPE_CHECKING:
    from rerouting._classifier import RouteClassifier
    from rerouting._dask import DaskEngine

try:
    __version__ = _metadata.version("rerouting")
except _metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "CodeMappingError",
    "ConfigError",
    "CurrencyError",
    "DaskEngine",
    "DataQualityWarning",
    "FormatDetectionError",
    "IngestReport",
    "InputError",
    "LazyTradeData",
    "LegBuilder",
    "NoDataError",
    "ParseError",
    "PolarsEngine",
    "ProductList",
    "ReroutingError",
    "ReroutingWarning",
    "ResolvedScan",
    "RouteClassifier",
    "RouteTable",
    "Scenario",
    "SchemaError",
    "SourceNotFoundError",
    "TradeData",
    "UnknownListError",
    "ValidationReport",
    "World",
    "__version__",
    "arrival_ratio",
    "bloc_members",
    "convert_currency",
    "detect_format",
    "features",
    "get_scorer_names",
    "harmonise_hs",
    "harmonise_hs_with_summary",
    "make_world",
    "mirror",
    "mirror_formulas",
    "product_list",
    "read_trade",
    "reference",
    "reporter_reliability",
    "resolve_countries",
    "scan",
    "scan_trade",
    "synthetic",
    "validate_trade",
]

# Exports say where users find them (as httpx does): ``rerouting.scan``, not the module
# that happens to implement it.
for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type | _types.FunctionType) and _obj.__module__.startswith("rerouting."):
        _obj.__module__ = "rerouting"
del _name, _obj


def __getattr__(name: str) -> _typing.Any:
    # RouteClassifier needs scikit-learn; import it only when asked for.
    if name == "RouteClassifier":
        from rerouting._classifier import RouteClassifier

        RouteClassifier.__module__ = "rerouting"
        return RouteClassifier
    # DaskEngine needs the optional dask extra (rerouting[dask]).
    if name == "DaskEngine":
        from rerouting._dask import DaskEngine

        DaskEngine.__module__ = "rerouting"
        return DaskEngine
    raise AttributeError(f"module 'rerouting' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"RouteClassifier", "DaskEngine"})
