"""``scan``: rank origin → hub → destination routes whose legs move the way rerouting does.

The pipeline (see ``docs/detection.md``):

1. resolve the scenario (blocs → members, default hubs, windows);
2. keep only records touching the scenario's countries, harmonise HS codes,
   keep the scanned products, and pair mirror sides (:mod:`rerouting._legs`);
3. build candidate routes and the statistics of their three legs and controls;
4. compute the features (:mod:`rerouting.features`);
5. score (:mod:`rerouting._score`), explain (:mod:`rerouting._explain`) and rank.
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
    SchemaError,
)
from rerouting._explain import explanation_expr
from rerouting._hs import hs_description
from rerouting._io import LazyTradeData, TradeData, spool_trade
from rerouting._legs import candidate_routes
from rerouting._normalise import convert_currency
from rerouting._one_sided import one_sided_notes
from rerouting._rank import Sort, priority, sort_keys, value_at_stake
from rerouting._result import LEGS_SCHEMA, ResolvedScan, RouteTable
from rerouting._score import (
    EC_MIN_VALUE,
    GATES,
    SCORERS,
    SUPERVISED,
    baseline_scores,
    check_scorer,
    default_score,
    iforest_score,
)
from rerouting.features import FEATURES, comovement, route_features, route_table

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence

    from rerouting._classifier import RouteClassifier
    from rerouting._ingest import IngestReport

__all__ = ["scan"]

#: Routes whose monthly legs the result carries, by default.
LEGS_TOP: Final = 100

_LEG_PREFIX: Final = {"oh": "origin_hub", "hd": "hub_destination", "dr": "direct"}


# Canonical columns every scan reads; a tidy frame (no `frequency`, text periods) lacks some.
_SCAN_COLUMNS: Final = ("period", "frequency", "reporter", "partner", "flow", "hs", "value")


def _canonical_frame(lf: pl.LazyFrame) -> pl.LazyFrame:
    names = lf.collect_schema().names()
    missing = [c for c in _SCAN_COLUMNS if c not in names]
    if missing:
        err = SchemaError.from_missing_columns(missing, names)
        raise SchemaError(
            f"scan needs a canonical frame; missing column(s) {', '.join(map(repr, missing))}",
            column=missing[0],
            hint="stage a tidy or raw file first: rr.scan(rr.read_trade('trade.parquet'), ...) "
            f"or rr.scan_trade(path); {err.hint}",
        )
    return lf


def _as_lazy(trade: Any) -> tuple[pl.LazyFrame, IngestReport | None, Callable[[], None] | None]:
    """The canonical lazy frame, its ingest report, and what to call once it is read."""
    if isinstance(trade, pl.LazyFrame):
        return _canonical_frame(trade), None, None
    if isinstance(trade, pl.DataFrame):
        return _canonical_frame(trade.lazy()), None, None
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
        trade: A :class:`rerouting._io.TradeData`, a polars DataFrame/LazyFrame in the
            canonical layout (``rerouting.schema``), or file paths for ``read_trade``.
        origin: Country/bloc codes the goods come from (``"BLR"``, ``"EU"``, a list).
        destination: Country/bloc codes the goods are meant for.
        event: First month under sanctions (``"2022-03"``).
        hubs: Candidate hubs; default every other country trading on a hub leg.
        products: Named list (``chpl``, ``eu-833``, ``belarus``), a file, HS prefixes,
            or ``None`` for everything.
        baseline: ``"START:END"`` baseline window; default up to 24 months before ``event``.
        post: ``"START:END"`` post window; default ``event`` to the end of the data.
        scorer: ``"default"``, ``"ec-surge"``, ``"freund"``, ``"both-up"``,
            ``"isolation-forest"``, or a fitted :class:`rerouting._classifier.RouteClassifier`.
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
        A :class:`rerouting._result.RouteTable`, best-ranked route first.

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
    lf, report, done = _as_lazy(trade)
    try:
        return _scan(lf, report, sc, chosen, rates, engine, legs_top, random_state, ec_min_value)
    finally:
        if done is not None:  # a path was read: its spooled rows are no longer needed
            done()


def _scan(
    lf: pl.LazyFrame,
    report: IngestReport | None,
    sc: Scenario,
    chosen: str | RouteClassifier,
    rates: Any,
    engine: str | LegBuilder,
    legs_top: int,
    random_state: int,
    ec_min_value: float,
) -> RouteTable:
    lf, data_currency = _currency(lf, sc, rates)

    legs = resolve_engine(engine).build(lf, sc)
    # Facts about the data, not problems: in the result, not warnings.
    side_notes = one_sided_notes(legs.coverage, legs.sides, legs.hubs, legs.windows)
    for note in legs.notes:
        warnings.warn(note, DataQualityWarning, stacklevel=3)  # the caller of scan()
    if report is not None and (legs.notes or side_notes):
        report = report.model_copy(update={"notes": (*report.notes, *legs.notes, *side_notes)})
    w = legs.windows
    routes = candidate_routes(legs)
    # Sorted by route key: group-by order varies run to run, and the IsolationForest
    # (and ties in the ranking) must not depend on it.
    wide = (
        route_features(route_table(routes, legs), w.n_post, w.n_baseline)
        .collect()
        .sort(["origin", "hub", "destination", "hs"])
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
        wide = wide.join(co, on=["origin", "hub", "destination", "hs"], how="left")
    # Co-movement needs both hub legs reported.
    both = _obs("oh") & _obs("hd")
    wide = wide.with_columns(
        [
            pl.when(both).then(pl.col(c)).alias(c)
            for c in ("comove_kg", "comove_lag_kg", "comove_value", "comove_lag_value")
        ]
    ).with_columns(
        _per_year=pl.lit(12.0 / w.step),
        missing_legs=_missing_legs(),
    )
    wide = default_score(wide)
    wide = baseline_scores(wide, ec_min_value=float(ec_min_value))
    wide = wide.with_columns(iforest_score(wide, random_state=int(random_state)))
    wide = _choose_score(wide, chosen).with_columns(material=pl.col("materiality") >= sc.min_value)
    wide = wide.with_columns(explanation=explanation_expr(sc.event, annual=w.step == 12))
    wide = wide.with_columns(value_at_stake=value_at_stake(12.0 / w.step)).with_columns(
        priority=priority()
    )
    by, descending = sort_keys(sc.sort)
    wide = wide.sort(by, descending=descending, nulls_last=True).with_row_index("rank", offset=1)
    wide = wide.with_columns(pl.col("rank").cast(pl.Int64))

    contrib = [c for c in wide.columns if c.startswith("contrib_")]
    base_cols = ["ec_surge", "freund", "both_up", "ec_surge_flag", "freund_flag", "both_up_flag"]
    front = [
        "rank", "origin", "hub", "destination", "hs", "score", "priority", "value_at_stake",
        "explanation", "missing_legs", "material",
    ]  # fmt: skip
    gates = [f"gate_{g.name}" for g in GATES]
    cols = [*front, *FEATURES, "gate", *gates, *contrib, "iforest_score", *base_cols]
    out = wide.select(cols)
    leg_frame = _legs_frame(legs, out.head(int(legs_top)))
    resolved = ResolvedScan(
        origin=tuple(legs.sides.origin),
        destination=tuple(legs.sides.destination),
        hubs=legs.hubs,
        windows=w,
        vintage=legs.vintage,
        currency=data_currency,
    )
    return RouteTable(
        routes=out,
        legs=leg_frame,
        scenario=sc,
        ingest=report,
        descriptions=_descriptions(out, legs.vintage),
        resolved=resolved,
        notes=(*legs.notes, *side_notes),
    )


def _obs(leg: str) -> pl.Expr:
    return pl.col(f"{leg}_obs_baseline").fill_null(False) | pl.col(f"{leg}_obs_post").fill_null(
        False
    )


def _missing_legs() -> pl.Expr:
    """Comma-separated legs no side reports (in a window: ``leg (post)``); null if none."""
    parts = []
    for leg, name in _LEG_PREFIX.items():
        b = pl.col(f"{leg}_obs_baseline").fill_null(False)
        p = pl.col(f"{leg}_obs_post").fill_null(False)
        parts.append(
            pl.when(~b & ~p)
            .then(pl.lit(name))
            .when(~b)
            .then(pl.lit(f"{name} (baseline)"))
            .when(~p)
            .then(pl.lit(f"{name} (post)"))
        )
    joined = pl.concat_list(parts).list.drop_nulls().list.join(", ")
    return pl.when(joined != "").then(joined)


def _choose_score(wide: pl.DataFrame, chosen: str | RouteClassifier) -> pl.DataFrame:
    if not isinstance(chosen, str):
        proba = chosen.predict_proba(wide)[:, -1]
        return wide.with_columns(score=pl.Series(proba, dtype=pl.Float64))
    return wide.with_columns(score=pl.col(SCORERS[chosen].column).fill_null(0.0))


def _legs_frame(legs: Any, top: pl.DataFrame) -> pl.DataFrame:
    """Monthly legs of the ``top`` routes, zeros where an observed leg had no trade."""
    if top.is_empty():
        return pl.DataFrame(schema=LEGS_SCHEMA)
    w = legs.windows
    periods = pl.DataFrame({"period": w.periods()}, schema={"period": pl.Date})
    keys = top.select("origin", "hub", "destination", "hs", "missing_legs")
    f = legs.flows.select("src", "dst", "hs", "period", "value", "kg", "provenance")
    frames = []
    for leg, (a, b) in {
        "oh": ("origin", "hub"),
        "hd": ("hub", "destination"),
        "dr": ("origin", "destination"),
    }.items():
        name = _LEG_PREFIX[leg]
        k = keys.select(a, b, "hs").unique()
        obs = (
            f.join(k.lazy().rename({a: "src", b: "dst"}), on=["src", "dst", "hs"], how="semi")
            .collect()
            .rename({"src": a, "dst": b})
        )
        grid = keys.join(periods, how="cross").join(obs, on=[a, b, "hs", "period"], how="left")
        missing = pl.col("missing_legs").fill_null("").str.contains(name, literal=True)
        frames.append(
            grid.with_columns(
                leg=pl.lit(name),
                value=pl.when(missing & pl.col("value").is_null())
                .then(None)
                .otherwise(pl.col("value").fill_null(0.0)),
                provenance=pl.when(missing & pl.col("value").is_null())
                .then(pl.lit("missing"))
                .otherwise(pl.col("provenance").fill_null("none")),
            ).select(list(LEGS_SCHEMA))
        )
    out = pl.concat(frames).with_columns(pl.col("leg").cast(LEGS_SCHEMA["leg"]))
    return out.sort("origin", "hub", "destination", "hs", "leg", "period")


def _descriptions(routes: pl.DataFrame, vintage: str) -> pl.DataFrame:
    """``hs`` → ``description`` in the vintage the codes were harmonised to."""
    codes = routes["hs"].unique().sort()
    return pl.DataFrame({"hs": codes, "description": hs_description(codes, vintage)})
