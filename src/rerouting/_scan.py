"""``scan``: rank origin → hub → destination routes whose legs move the way rerouting does.

The pipeline (see ``docs/detection.md``), one stage per call in :func:`scan`:

1. read the trade records and resolve the scenario;
2. normalise: put values in one currency (:func:`rerouting.convert_currency`);
3. legs: the engine (:mod:`rerouting._engine`, default :func:`rerouting._legs.build_legs`)
   keeps the records touching the scenario's countries and products, harmonises HS
   codes, pairs mirror sides and labels the flows by side;
4. features: candidate routes, their leg statistics and controls, every feature
   (:mod:`rerouting.features`) and the missing legs;
5. score (:mod:`rerouting._score`), explain (:mod:`rerouting._explain`) and rank;
6. outputs: the routes in contract order, the legs of the top routes and the
   resolved scenario (:mod:`rerouting._result`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from rerouting._config import Scenario
from rerouting._engine import LegBuilder, resolve_engine
from rerouting._exceptions import (
    ConfigError,
    CurrencyError,
    DataQualityWarning,
    InputError,
    NoDataError,
)
from rerouting._explain import explanation_expr
from rerouting._io import LazyTradeData, TradeData, spool_trade
from rerouting._learned import learned_score
from rerouting._legs import candidate_routes, legs_frame, missing_legs, observed
from rerouting._normalise import convert_currency
from rerouting._one_sided import one_sided_notes
from rerouting._rank import Sort, priority, sort_keys, value_at_stake
from rerouting._result import RouteTable, descriptions, resolved_scan, route_columns
from rerouting._score import (
    EC_MIN_VALUE,
    SCORERS,
    SUPERVISED,
    baseline_scores,
    check_scorer,
    default_score,
    iforest_score,
)
from rerouting.features import comovement, route_features, route_table
from rerouting.schema import ROUTE_KEY

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence

    from rerouting._classifier import RouteClassifier
    from rerouting._ingest import IngestReport
    from rerouting._legs import LegSet, Windows

__all__ = ["scan"]

#: Routes whose monthly legs the result carries, by default.
LEGS_TOP: Final = 100

# Canonical columns every scan reads: a frame without them (tidy: no `frequency`, text
# periods) is staged first.
_SCAN_COLUMNS: Final = ("period", "frequency", "reporter", "partner", "flow", "hs", "value")


def _as_lazy(trade: Any) -> tuple[pl.LazyFrame, IngestReport | None, Callable[[], None] | None]:
    """The canonical lazy frame, its ingest report, and what to call once it is read."""
    if isinstance(trade, pl.LazyFrame | pl.DataFrame):
        names = trade.collect_schema().names()
        if all(c in names for c in _SCAN_COLUMNS):
            return trade.lazy(), None, None
        # A tidy (or raw) frame: staged once, with every row rule, like a file.
        data = spool_trade(trade)
        return data.frame, data.report, data.close
    if isinstance(trade, TradeData | LazyTradeData):
        frame = trade.frame
        return (frame.lazy() if isinstance(frame, pl.DataFrame) else frame), trade.report, None
    if isinstance(trade, str | Path) or (
        isinstance(trade, list | tuple) and all(isinstance(t, str | Path) for t in trade)
    ):
        data = spool_trade(trade)  # staged once, every row rule, bounded memory
        return data.frame, data.report, data.close
    raise InputError(
        "trade must be a TradeData, a polars DataFrame/LazyFrame or file paths",
        value=type(trade).__name__,
        hint="e.g. rerouting.read_trade('comtrade/*.csv')",
    )


def _scenario(scenario: Scenario | None, fields: dict[str, Any]) -> Scenario:
    if scenario is not None:
        if fields.get("scorer") == "default":
            fields = {k: v for k, v in fields.items() if k != "scorer"}
        return scenario.with_overrides(**fields)
    missing = [k for k in ("origin", "destination", "event") if fields.get(k) is None]
    if missing:
        raise ConfigError(
            f"scan needs {', '.join(missing)}",
            column=missing[0],
            hint="e.g. scan(trade, origin='BLR', destination='EU', event='2022-03')",
        )
    return Scenario.build(**fields)


def _currency(lf: pl.LazyFrame, sc: Scenario, rates: Any) -> tuple[pl.LazyFrame, str | None]:
    """Put values in the scenario's currency (converting with ``rates``) or check it.

    Returns the frame and the currency every value is in.
    """
    if sc.currency is not None:
        return convert_currency(lf, to=sc.currency, rates=rates), sc.currency
    found = lf.select(pl.col("currency").drop_nulls().unique()).collect().to_series().to_list()
    if len(found) > 1:
        raise CurrencyError(
            "values come in several currencies",
            column="currency",
            value=", ".join(sorted(found)),
            hint="name one, e.g. scan(..., currency='USD', rates='rates.csv')",
        )
    return lf, (found[0] if found else None)


def scan(
    trade: Any,
    origin: str | Sequence[str] | None = None,
    destination: str | Sequence[str] | None = None,
    event: str | dt.date | None = None,
    hubs: str | Sequence[str] | None = None,
    products: str | Sequence[str] | None = None,
    *,
    baseline: str | tuple[Any, Any] | None = None,
    post: str | tuple[Any, Any] | None = None,
    scorer: str | RouteClassifier = "default",
    scenario: Scenario | None = None,
    cif_fob_margin: float | None = None,
    min_value: float | None = None,
    max_lag: int | None = None,
    currency: str | None = None,
    rates: pl.DataFrame | str | Path | None = None,
    legs_top: int = LEGS_TOP,
    random_state: int = 0,
    ec_min_value: float = EC_MIN_VALUE,
    engine: str | LegBuilder = "polars",
    sort: Sort | None = None,
) -> RouteTable:
    """Rank candidate rerouting routes in mirror trade data.

    Args:
        trade: A :class:`rerouting.TradeData`, a polars DataFrame/LazyFrame (the
            canonical layout of ``rerouting.schema`` is read as it is; any other layout,
            e.g. a tidy frame with text months, is staged once with every row rule, as
            a file would be), or file paths (staged the same way).
        origin: Country/bloc codes the goods come from (``"BLR"``, ``"EU"``, a list).
        destination: Country/bloc codes the goods are meant for.
        event: First month under sanctions (``"2022-03"``).
        hubs: Candidate hubs; default every other country trading on a hub leg.
        products: Named list (``chpl``, ``eu-833``, ``belarus``), a file, HS prefixes,
            or ``None`` for everything.
        baseline: ``"START:END"`` baseline window; default up to 24 months before ``event``.
        post: ``"START:END"`` post window; default ``event`` to the end of the data.
        scorer: ``"default"``, ``"ec-surge"``, ``"freund"``, ``"both-up"``,
            ``"isolation-forest"``, or a fitted :class:`rerouting.RouteClassifier`.
        scenario: A :class:`rerouting.Scenario`; explicit arguments override its fields.
        cif_fob_margin: CIF/FOB margin that puts imports on an FOB basis (default 0.06).
        min_value: Routes whose pass-through bound is below this are flagged immaterial.
        max_lag: Largest lag, in months, between the hub's inflow and outflow.
        currency: Report values in this ISO 4217 currency: values in another currency
            are converted with ``rates`` (a :func:`rerouting._normalise.read_rates` table
            or a CSV path); without rates they raise ``CurrencyError``.
        rates: Exchange rates for ``currency``.
        legs_top: How many top routes get monthly legs in the result.
        random_state: Seed of the IsolationForest.
        ec_min_value: The EC rule's value threshold per year, in the data's currency.
        engine: ``"polars"`` (default, one process) or an object with
            ``build(trade, scenario) -> LegSet`` (``docs/scale-out.md``).
        sort: What ranks the routes: ``"priority"`` (default: evidence, then the money
            at stake), ``"score"`` (evidence only) or ``"value"`` (``value_at_stake``);
            see ``docs/detection.md#ranking``.

    Returns:
        A :class:`rerouting.RouteTable`, best-ranked route first.

    Raises:
        ConfigError: the scenario is invalid.
        NoDataError: no record touches the scenario's countries, products and windows,
            or no hub trades a scanned product with both sides.
    """
    chosen = check_scorer(scorer)
    fields = {
        "origin": origin,
        "destination": destination,
        "event": event,
        "hubs": hubs,
        "products": products,
        "baseline": baseline,
        "post": post,
        "scorer": chosen if isinstance(chosen, str) else SUPERVISED,
        "cif_fob_margin": cif_fob_margin,
        "min_value": min_value,
        "max_lag": max_lag,
        "currency": currency,
        "sort": sort,
    }
    sc = _scenario(scenario, fields)
    if isinstance(chosen, str):
        chosen = sc.scorer  # a scenario's own scorer wins over the default argument

    lf, report, done = _as_lazy(trade)  # read
    try:
        lf, data_currency = _currency(lf, sc, rates)  # normalise
        legs = resolve_engine(engine).build(lf, sc)  # filter, harmonise, mirror → legs
        # Facts about the data, not problems: in the result, not warnings.
        side_notes = one_sided_notes(legs.coverage, legs.sides, legs.hubs, legs.windows)
        report = _noted(report, legs.notes, side_notes)
        wide = _features(legs, sc)
        outside = outside_learned_domain(wide) if chosen == "default" else 0
        scored = _score(wide, chosen, sc, legs.windows, ec_min_value, random_state, outside)
        scorer_notes = _scorer_notes(outside, wide.height)
        side_notes = [*side_notes, *scorer_notes]
        report = _noted(report, (), scorer_notes)

        routes = scored.select(route_columns(scored.columns))
        return RouteTable(
            routes=routes,
            legs=legs_frame(legs, routes.head(int(legs_top))),
            scenario=sc,
            ingest=report,
            descriptions=descriptions(routes, legs.vintage),
            resolved=resolved_scan(legs, data_currency),
            notes=(*legs.notes, *side_notes),
        )
    finally:
        if done is not None:  # a path was read: its spooled rows are no longer needed
            done()


def _scorer_notes(outside: int, routes: int) -> tuple[str, ...]:
    """A note when the default scorer fell back to the evidence score (and why).

    ``outside``: the routes outside the learned score's domain (0 unless the default
    scorer was chosen), of ``routes``.
    """
    if outside == 0:
        return ()
    return (
        f"score: the evidence score (gates × weighted evidence) ranks this scan, not the "
        f"learned score: {outside} of {routes} routes have a hub leg that nobody reports, "
        "unlike every route the learned score was fitted on (docs/detection.md#learned-score)",
    )


def _noted(
    report: IngestReport | None, notes: Sequence[str], side_notes: Sequence[str]
) -> IngestReport | None:
    """Warn about the legs' data notes; add them and the side notes to the ingest report."""
    for note in notes:
        warnings.warn(note, DataQualityWarning, stacklevel=3)
    if report is not None and (notes or side_notes):
        report = report.model_copy(update={"notes": (*report.notes, *notes, *side_notes)})
    return report


def _features(legs: LegSet, sc: Scenario) -> pl.DataFrame:
    """One row per candidate route: its leg statistics and every feature.

    Raises:
        NoDataError: no hub trades a scanned product with both sides.
    """
    w = legs.windows
    # Sorted by route key: group-by order varies run to run, and the IsolationForest
    # (and ties in the ranking) must not depend on it.
    wide = (
        route_features(route_table(candidate_routes(legs), legs), w.n_post, w.n_baseline)
        .collect()
        .sort(ROUTE_KEY)
    )
    if wide.is_empty():
        raise NoDataError(
            "no candidate route: no hub trades a scanned product with both the origin "
            "and the destination",
            value=f"{'+'.join(sc.origin)} → {'+'.join(sc.destination)}",
            hint="check origin=, destination=, products= and the periods covered; a leg "
            "that nobody reports is not required, a reported leg without trade is",
            cli_hint="check --origin/--destination/--products and the periods covered; a leg "
            "that nobody reports is not required, a reported leg without trade is",
        )
    for measure in ("kg", "value"):
        co = comovement(legs.flows, wide.lazy(), w, sc.max_lag, measure).collect()
        co = co.rename({"comove": f"comove_{measure}", "comove_lag": f"comove_lag_{measure}"})
        wide = wide.join(co, on=list(ROUTE_KEY), how="left")
    # Co-movement needs both hub legs reported.
    both = observed("oh") & observed("hd")
    return wide.with_columns(
        [
            pl.when(both).then(pl.col(c)).alias(c)
            for c in ("comove_kg", "comove_lag_kg", "comove_value", "comove_lag_value")
        ]
    ).with_columns(missing_legs=missing_legs())


def _score(
    wide: pl.DataFrame,
    chosen: str | RouteClassifier,
    sc: Scenario,
    w: Windows,
    ec_min_value: float,
    random_state: int,
    outside: int,
) -> pl.DataFrame:
    """Every score, the chosen one as ``score``, the explanations, and the rank.

    ``outside``: routes outside the learned score's domain; the default scorer then
    ranks by the evidence score.
    """
    wide = default_score(wide.with_columns(_per_year=pl.lit(12.0 / w.step)))
    wide = wide.with_columns(evidence_score=pl.col("score"), learned_score=learned_score(wide))
    wide = baseline_scores(wide, ec_min_value=float(ec_min_value))
    if isinstance(chosen, str) and SCORERS[chosen].column == "iforest_score":
        # Only when it ranks: importing scikit-learn's ensemble module costs 1.5 s, a
        # sixth of a 25M-row scan (docs/performance.md).
        wide = wide.with_columns(iforest_score(wide, random_state=int(random_state)))
    wide = _choose_score(wide, chosen, fallback=outside > 0).with_columns(
        material=pl.col("materiality") >= sc.min_value
    )
    wide = wide.with_columns(explanation=explanation_expr(sc.event, annual=w.step == 12))
    wide = wide.with_columns(value_at_stake=value_at_stake(12.0 / w.step)).with_columns(
        priority=priority()
    )
    by, descending = sort_keys(sc.sort)
    wide = wide.sort(by, descending=descending, nulls_last=True).with_row_index("rank", offset=1)
    return wide.with_columns(pl.col("rank").cast(pl.Int64))


def _choose_score(
    wide: pl.DataFrame, chosen: str | RouteClassifier, *, fallback: bool
) -> pl.DataFrame:
    """``score`` from the chosen scorer; the evidence score for ``default`` on ``fallback``."""
    if not isinstance(chosen, str):
        proba = chosen.predict_proba(wide)[:, -1]
        return wide.with_columns(score=pl.Series(proba, dtype=pl.Float64))
    column = SCORERS["evidence" if chosen == "default" and fallback else chosen].column
    return wide.with_columns(score=pl.col(column).fill_null(0.0))


def outside_learned_domain(wide: pl.DataFrame) -> int:
    """Routes unlike every route the learned score was fitted on: a hub leg nobody reports.

    The development worlds always record both hub legs (one side at least, in both
    windows); only the direct flow may be missing. Where a scan has such routes (EU-only
    Comext data: hub→Russia is nobody's statistic) the default ranks by the evidence
    score instead, and says so in the table's notes.
    """
    missing = pl.col("missing_legs").fill_null("")
    hub_leg = missing.str.contains("origin_hub") | missing.str.contains("hub_destination")
    return int(wide.select(hub_leg.sum()).item())
