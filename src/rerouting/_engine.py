"""The engine seam: where the work on raw records ends and the work on small tables starts.

An engine turns canonical trade records and a scenario into a :class:`LegSet`
(the raw-records side: reporting coverage, product filter, HS harmonisation,
mirror pairing, reporter reliability, world totals, other-product totals). The
scan then computes per-route statistics, features and scores on that small
table, whatever engine built it. Contract: ``docs/scale-out.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rerouting._exceptions import ConfigError
from rerouting._legs import LegSet, build_legs

if TYPE_CHECKING:
    import polars as pl

    from rerouting._config import Scenario

__all__ = ["ENGINES", "LegBuilder", "PolarsEngine", "dask_engine", "resolve_engine"]


@runtime_checkable
class LegBuilder(Protocol):
    """Builds the legs of a scan from raw records (``docs/scale-out.md``)."""

    def build(self, trade: pl.LazyFrame, scenario: Scenario) -> LegSet:
        """The scenario's labelled flows, totals and coverage from ``trade``."""
        ...


class PolarsEngine:
    """The default engine: one polars process (:func:`rerouting._legs.build_legs`)."""

    def build(self, trade: pl.LazyFrame, scenario: Scenario) -> LegSet:
        return build_legs(trade, scenario)


#: Engine names accepted by ``scan(engine=...)`` and the CLI's ``--engine``.
ENGINES: tuple[str, ...] = ("polars", "dask")


def resolve_engine(engine: str | LegBuilder) -> LegBuilder:
    """An engine instance from a name (``"polars"``, ``"dask"``) or an instance."""
    if not isinstance(engine, str):
        if not isinstance(engine, LegBuilder):
            raise ConfigError(
                "engine must be a name or have a build(trade, scenario) method",
                column="engine",
                value=type(engine).__name__,
                hint=f"engine={' or '.join(repr(e) for e in ENGINES)}",
            )
        return engine
    if engine == "polars":
        return PolarsEngine()
    if engine == "dask":
        return dask_engine()
    raise ConfigError(
        "unknown engine", column="engine", value=engine, hint=f"engine: {', '.join(ENGINES)}"
    )


def dask_engine(**options: Any) -> LegBuilder:
    """A :class:`rerouting._dask.DaskEngine`; dask is imported only here (an optional extra)."""
    try:
        from rerouting._dask import DaskEngine
    except ImportError as err:
        raise ConfigError(
            f"the Dask engine needs the optional dependency dask[distributed] ({err.name} is "
            "not installed)",
            column="engine",
            value="dask",
            hint="pip install 'rerouting[dask]'",
        ) from err
    return DaskEngine(**options)
