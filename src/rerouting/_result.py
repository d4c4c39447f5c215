"""The result of a scan: ranked routes, their monthly legs, and the scenario.

``RouteTable`` is what :func:`rerouting.scan` returns and what the report, the CLI
and the exporters consume. Its columns are a stable contract, documented in
``docs/detection.md``:

``routes`` (one row per origin → hub → destination × HS6 route, sorted by ``rank``)
    ``rank``, ``origin``, ``hub``, ``destination``, ``hs``, ``score`` (0-1, the strength
    of the evidence), ``priority`` (0-1, the default rank: evidence, then money),
    ``value_at_stake`` (per year, the data's currency), ``explanation``,
    ``missing_legs``, ``material``, every feature of
    :data:`rerouting.features.FEATURES`, the evidence score's ``gate`` and its
    factors ``gate_<name>`` (multipliers), one ``contrib_<term>`` column per evidence
    term (they sum to ``evidence_score``), ``evidence_score``, ``learned_score``
    (``iforest_score`` too, with ``scorer="isolation-forest"``), and the named
    baselines ``ec_surge``, ``freund``, ``both_up`` with their rules as ``<name>_flag``.

``legs`` (monthly series per route and leg)
    ``origin``, ``hub``, ``destination``, ``hs``, ``leg`` (one of
    :data:`rerouting.schema.LEG_NAMES`: ``origin_hub``, ``hub_destination`` or
    ``direct``), ``period`` (Date), ``value``, ``kg``,
    ``provenance`` (which side of the mirror pair the number comes from).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from rerouting import features
from rerouting._atomic import atomic_path
from rerouting._exceptions import ConfigError, InputError
from rerouting._hs import hs_description
from rerouting._score import GATES
from rerouting.features import BASELINE_COLUMNS
from rerouting.schema import LEG_NAMES, ROUTE_KEY

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rerouting._columns import Precision
    from rerouting._config import Scenario
    from rerouting._ingest import IngestReport
    from rerouting._legs import LegSet, Windows
    from rerouting._rank import Sort

__all__ = [
    "FRONT_COLUMNS",
    "LEGS_SCHEMA",
    "ResolvedScan",
    "RouteTable",
    "descriptions",
    "resolved_scan",
    "route_columns",
]

#: The first columns of ``routes``: the rank, the route key and what a reader looks at first.
FRONT_COLUMNS: Final = (
    "rank", *ROUTE_KEY, "score", "priority", "value_at_stake", "explanation", "missing_legs",
    "material",
)  # fmt: skip


#: Score columns a scan adds only when the chosen scorer reads them.
OPTIONAL_SCORE_COLUMNS: Final = ("iforest_score",)


def route_columns(columns: Iterable[str]) -> list[str]:
    """The columns of ``routes`` in contract order (see the module docstring).

    Args:
        columns: The columns of the scored table; its ``contrib_<term>`` columns are
            kept in their order.
    """
    columns = list(columns)
    contrib = [c for c in columns if c.startswith("contrib_")]
    optional = [c for c in OPTIONAL_SCORE_COLUMNS if c in columns]
    return [
        *FRONT_COLUMNS,
        *(f.name for f in features.REGISTRY),  # read at call time: one entry adds a column
        "gate",
        *(f"gate_{g.name}" for g in GATES),
        *contrib,
        "evidence_score",
        *optional,
        "learned_score",
        *BASELINE_COLUMNS,
        *(f"{name}_flag" for name in BASELINE_COLUMNS),
    ]


def descriptions(routes: pl.DataFrame, vintage: str) -> pl.DataFrame:
    """``hs`` → ``description`` of the routes' codes, in the vintage they were harmonised to."""
    codes = routes["hs"].unique().sort()
    return pl.DataFrame({"hs": codes, "description": hs_description(codes, vintage)})


LEGS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "origin": pl.String(),
    "hub": pl.String(),
    "destination": pl.String(),
    "hs": pl.String(),
    "leg": pl.Enum(list(LEG_NAMES)),
    "period": pl.Date(),
    "value": pl.Float64(),
    "kg": pl.Float64(),
    "provenance": pl.String(),
}


@dataclass(frozen=True)
class ResolvedScan:
    """The scenario as the scan resolved it against the data: the one record of what ran.

    The report and the explanations read these windows; nothing re-derives them.

    Attributes:
        origin: Member countries of the origin side (ISO3).
        destination: Member countries of the destination side (ISO3).
        hubs: The hub candidates scanned.
        windows: Baseline and post windows on the data's period grid (with ``frequency``
            ``"M"`` or ``"A"``).
        vintage: The HS vintage the codes were harmonised to.
        currency: The currency of every value in the table (``None`` when the data
            did not say).
    """

    origin: tuple[str, ...]
    destination: tuple[str, ...]
    hubs: tuple[str, ...]
    windows: Windows
    vintage: str
    currency: str | None

    @property
    def frequency(self) -> str:
        return self.windows.frequency


def resolved_scan(legs: LegSet, currency: str | None) -> ResolvedScan:
    """What the scan resolved: the legs' sides, hubs, windows and vintage, and the currency."""
    return ResolvedScan(
        origin=tuple(legs.sides.origin),
        destination=tuple(legs.sides.destination),
        hubs=legs.hubs,
        windows=legs.windows,
        vintage=legs.vintage,
        currency=currency,
    )


@dataclass(frozen=True)
class RouteTable:
    """Ranked candidate routes of a scan.

    Attributes:
        routes: One row per route, sorted by ``rank`` (1 = first to look at, by the
            scan's ``sort``).
        legs: Monthly series per route and leg (see module docstring).
        scenario: The scenario that was scanned.
        ingest: Row accounting of the data read, when the scan read it.
        descriptions: Optional ``hs`` → ``description`` table for labels.
        resolved: The scenario as resolved against the data (windows, sides, vintage,
            currency); set by :func:`rerouting.scan`.
        notes: What the reader of the ranking should know about the data: choices the
            scan made (e.g. monthly over annual records) and legs that rest on one side
            of the mirror only (a destination, origin or hub that never reports).
    """

    routes: pl.DataFrame
    legs: pl.DataFrame
    scenario: Scenario
    ingest: IngestReport | None = None
    descriptions: pl.DataFrame | None = None
    resolved: ResolvedScan | None = None
    notes: tuple[str, ...] = ()

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return self.routes.height

    def __repr__(self) -> str:
        sc = self.scenario
        head = (
            f"RouteTable({len(self)} routes; {'+'.join(sc.origin)} → hubs → "
            f"{'+'.join(sc.destination)}, event {sc.event:%Y-%m}, scorer {sc.scorer!r})"
        )
        if not len(self):
            return head
        cols = [c for c in ("rank", *ROUTE_KEY, "score") if c in self.routes]
        with pl.Config(tbl_rows=5, tbl_hide_dataframe_shape=True):
            return f"{head}\n{self.routes.select(cols).head(5)}"

    def top(self, n: int = 10) -> pl.DataFrame:
        """The ``n`` best-ranked routes with their key columns, score and explanation."""
        cols = [
            c
            for c in (
                "rank",
                *ROUTE_KEY,
                "description",
                "score",
                "priority",
                "value_at_stake",
                "pass_through",
                "missing_legs",
                "explanation",
            )
            if c in self._labelled().columns
        ]
        return self._labelled().sort("rank").head(n).select(cols)

    def _labelled(self) -> pl.DataFrame:
        if self.descriptions is None or "description" in self.routes.columns:
            return self.routes
        desc = self.descriptions.select(pl.col("hs").cast(pl.String), "description").unique("hs")
        return self.routes.join(desc, on="hs", how="left", maintain_order="left")

    def route(self, route: int | tuple[str, str]) -> dict[str, Any]:
        """One route's row as a dict, by rank or by ``(hub, hs)`` (best-ranked match)."""
        if isinstance(route, tuple):
            hub, hs = route
            rows = self.routes.filter((pl.col("hub") == hub) & (pl.col("hs") == hs))
            what = f"hub {hub}, hs {hs}"
        else:
            rows = self.routes.filter(pl.col("rank") == int(route))
            what = f"rank {route}"
        if rows.is_empty():
            raise InputError(
                f"no route with {what}",
                value=route,
                hint="use a rank between 1 and len(table), or a (hub, hs) pair from .routes",
            )
        return rows.sort("rank").row(0, named=True)

    def explain(self, route: int | tuple[str, str]) -> str:
        """Plain-language account of one route: what moved, and why it scores as it does.

        Args:
            route: Its rank (1 = top), or a ``(hub, hs)`` pair.
        """
        from rerouting._explain import explain_row

        return explain_row(self.route(route))

    def hubs(self, sort: Sort = "priority") -> pl.DataFrame:
        """Per-hub summary, the hub to look at first on top.

        Columns: ``hub``, ``n_routes``, ``n_flagged`` (routes scoring ≥ 0.5),
        ``total_excess`` (sum of the routes' ``materiality``: the smaller hub leg's
        excess over the post window, money), ``value_at_stake`` (sum of the routes'
        yearly value at stake), ``best_score``, ``mean_score``, ``hub_score`` (sum of
        route scores: the expected number of rerouted products through the hub if
        scores were probabilities) and ``hub_priority`` (sum of route priorities).

        Args:
            sort: ``"priority"`` (default: ``hub_priority``), ``"score"``
                (``hub_score``) or ``"value"`` (``value_at_stake``), as in ``scan``.
        """
        r = self.routes
        first = {"priority": "hub_priority", "score": "hub_score", "value": "value_at_stake"}
        if sort not in first:
            raise ConfigError(
                "unknown sort",
                column="sort",
                value=sort,
                hint=f"one of {', '.join(map(repr, first))}, e.g. table.hubs(sort='score')",
            )

        def col(name: str) -> pl.Expr:
            return pl.col(name) if name in r.columns else pl.lit(None, dtype=pl.Float64)

        by = [first[sort], "hub_score", "best_score", "hub"]
        return (
            r.group_by("hub")
            .agg(
                n_routes=pl.len(),
                n_flagged=(pl.col("score") >= 0.5).sum(),
                total_excess=col("materiality").fill_nan(None).sum(),
                value_at_stake=col("value_at_stake").fill_nan(None).sum(),
                best_score=pl.col("score").max(),
                mean_score=pl.col("score").mean(),
                hub_score=pl.col("score").sum(),
                hub_priority=col("priority").fill_nan(None).sum(),
            )
            .sort(by, descending=[True, True, True, False], nulls_last=True)
        )

    # ------------------------------------------------------------------ export
    def readable(self, *, precision: Precision = "short") -> pl.DataFrame:
        """``routes`` for a reader: leading columns first (rank, route, hs, description,
        score, value, currency, explanation, missing legs), money in whole units, other
        measures to 4 significant digits (``precision="full"`` keeps every digit), capped
        ratios named in ``capped``. Column meanings: ``docs/columns.md``."""
        from rerouting._columns import readable_routes

        return readable_routes(self, precision=precision)

    def write_csv(self, path: str | Path, *, precision: Precision = "short") -> Path:
        """Write :meth:`readable` routes to CSV (one row per route)."""
        p = Path(path)
        with atomic_path(p) as tmp:
            self.readable(precision=precision).write_csv(tmp)
        return p

    def write_parquet(self, path: str | Path, *, legs: bool = False) -> Path:
        """Write :meth:`readable` routes at full precision to Parquet; with ``legs=True``
        also ``<stem>.legs.parquet``."""
        p = Path(path)
        with atomic_path(p) as tmp:
            self.readable(precision="full").write_parquet(tmp)
        if legs:
            with atomic_path(p.with_name(f"{p.stem}.legs.parquet")) as tmp:
                self.legs.write_parquet(tmp)
        return p

    def write_json(self, path: str | Path, *, precision: Precision = "short") -> Path:
        """Write the scenario and :meth:`readable` routes (records) as one UTF-8 JSON document."""
        p = Path(path)
        routes = self.readable(precision=precision)
        floats = [c for c, t in routes.schema.items() if t.is_float()]
        routes = routes.with_columns(  # JSON has no NaN or infinity
            pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats
        )
        doc = {
            "scenario": self.scenario.model_dump(mode="json"),
            "routes": routes.to_dicts(),
        }
        text = json.dumps(doc, default=str, allow_nan=False, indent=1, ensure_ascii=False)
        with atomic_path(p) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return p

    def to_html(self, path: str | Path, *, top: int = 20) -> Path:
        """Write the offline HTML report (see ``docs/report.md``)."""
        from rerouting._report import write_html  # altair loads only when asked for

        return Path(write_html(self, path, top=top))

    def _repr_html_(self) -> str:
        from rerouting._report import repr_html

        return str(repr_html(self))
