"""From canonical trade records to the three legs of every candidate route.

A route is ``origin → hub → destination`` for one product. Its three legs
(:data:`rerouting.schema.LEGS`, column prefixes ``oh``, ``hd``, ``dr``) are:

``origin_hub``
    the origin's exports to the hub (or the hub's imports from the origin),
``hub_destination``
    the hub's exports to the destination (or the destination's imports from it),
``direct``
    the origin's exports to the destination.

Each leg is taken from the best available side of the mirror pair
(:func:`rerouting._mirror.mirror`), so a leg survives when one side stopped
reporting. A leg that *neither* side reports in a window is **missing**: its
statistics stay null, never zero (a zero is a reported absence of trade).

Everything here is lazy and vectorised: countries and products are filtered
before the mirror pairing, and legs are sparse (months without trade are implicit
zeros, which the statistics in :mod:`rerouting.features` account for).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import polars as pl

from rerouting._blocs import list_blocs, resolve_countries
from rerouting._countries import AGGREGATE_CODES
from rerouting._exceptions import ConfigError, NoDataError, ReroutingError
from rerouting._hs import VINTAGES
from rerouting._lists import ProductList, product_list
from rerouting._mirror import mirror, reporter_reliability
from rerouting._months import add_months, count_periods
from rerouting._normalise import HarmoniseSummary, harmonise_hs_with_summary
from rerouting._result import LEGS_SCHEMA
from rerouting.schema import LEGS, ROUTE_KEY

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from rerouting._config import Scenario

__all__ = [
    "LegSet",
    "Sides",
    "Windows",
    "build_legs",
    "candidate_routes",
    "legs_frame",
    "missing_legs",
    "observed",
    "resolve_sides",
    "scenario_windows",
]

EXPORT_FLOWS: Final = ("export", "re-export")
IMPORT_FLOWS: Final = ("import", "re-import")


def _resolve_codes(code: str, at: dt.date | None) -> tuple[str, ...]:
    """Member ISO3 codes of a country or bloc code."""
    return resolve_countries([code], at=at)


def _is_aggregate(code: str) -> bool:
    """Aggregates (world, bloc totals) are never a hub."""
    return code in AGGREGATE_CODES or len(code) != 3 or code.upper() in _bloc_names()


@functools.cache
def _bloc_names() -> frozenset[str]:
    blocs = list_blocs()
    names = set(blocs["name"].str.to_uppercase())
    names.update(a.upper() for aliases in blocs["aliases"] for a in aliases)
    return frozenset(names)


# ------------------------------------------------------------------ scenario sides
@dataclass(frozen=True)
class Sides:
    """Members of each side of the scenario, and the label each member reports under.

    A bloc (``EU``) is one side whose members are summed; a list of countries is
    several sides, one per country.
    """

    origin: dict[str, str]  # member ISO3 -> origin label
    destination: dict[str, str]
    hubs: tuple[str, ...] | None  # None = every other country

    @property
    def origin_labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.origin.values()))

    @property
    def destination_labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.destination.values()))

    def label_expr(self, col: str) -> pl.Expr:
        """Map a member column to its side label (other countries keep their code)."""
        mapping = {**self.origin, **self.destination}
        return pl.col(col).replace(mapping)

    def members(self) -> set[str]:
        return set(self.origin) | set(self.destination)


def resolve_sides(scenario: Scenario) -> Sides:
    """Expand the scenario's origin, destination and hubs into member countries.

    Raises:
        ConfigError: a country is both origin and destination, or a hub is on either side.
    """
    origin = {m: code for code in scenario.origin for m in _resolve_codes(code, scenario.event)}
    dest = {m: code for code in scenario.destination for m in _resolve_codes(code, scenario.event)}
    both = sorted(set(origin) & set(dest))
    if both:
        raise ConfigError(
            "origin and destination overlap",
            column="destination",
            value=",".join(both),
            hint="a country can be on one side of a route only",
        )
    hubs = None
    if scenario.hubs:
        hubs = tuple(dict.fromkeys(m for h in scenario.hubs for m in _resolve_codes(h, None)))
        clash = sorted(set(hubs) & (set(origin) | set(dest)))
        if clash:
            raise ConfigError(
                "a hub is also an origin or destination",
                column="hubs",
                value=",".join(clash),
                hint="remove it from hubs=",
                cli_hint="remove it from --hubs",
            )
    return Sides(origin=origin, destination=dest, hubs=hubs)


# ------------------------------------------------------------------ windows
#: Default baseline length, in months before the event (EC rule, docs/methods.md).
BASELINE_MONTHS: Final = 24


@dataclass(frozen=True)
class Windows:
    """Inclusive baseline and post windows on the data's period grid.

    Attributes:
        frequency: ``"M"`` or ``"A"``.
        baseline: First and last baseline period.
        post: First and last post period.
        n_baseline: Number of periods in the baseline window.
        n_post: Number of periods in the post window.
        step: Months between periods (1 or 12).
    """

    frequency: str
    baseline: tuple[dt.date, dt.date]
    post: tuple[dt.date, dt.date]
    n_baseline: int
    n_post: int
    step: int

    @property
    def start(self) -> dt.date:
        return self.baseline[0]

    @property
    def end(self) -> dt.date:
        return self.post[1]

    def periods(self) -> list[dt.date]:
        """Every period of baseline ∪ gap ∪ post, in order."""
        out, d = [], self.start
        while d <= self.end:
            out.append(d)
            d = add_months(d, self.step)
        return out

    def in_baseline(self, col: str = "period") -> pl.Expr:
        return pl.col(col).is_between(pl.lit(self.baseline[0]), pl.lit(self.baseline[1]))

    def in_post(self, col: str = "period") -> pl.Expr:
        return pl.col(col).is_between(pl.lit(self.post[0]), pl.lit(self.post[1]))


def scenario_windows(scenario: Scenario, first: dt.date, last: dt.date, frequency: str) -> Windows:
    """Baseline and post windows for data spanning ``first``..``last``.

    Defaults (docs/methods.md#baseline-ec-surge-rule, EC rule): the baseline is up to 24 months
    before the
    event; the post window runs from the event to the end of the data. With annual
    data the event's year counts as post (as in the EC and IESEG 2022-vs-2021
    comparisons) and the baseline is the two years before it.

    Raises:
        NoDataError: the data has no period in the baseline or in the post window.
    """
    event = scenario.event
    step = 12 if frequency == "A" else 1
    if step == 12:
        event = dt.date(event.year, 1, 1)
    if scenario.baseline:
        b0, b1 = scenario.baseline
        if step == 12:
            b0, b1 = dt.date(b0.year, 1, 1), dt.date(b1.year, 1, 1)
    else:
        b0, b1 = add_months(event, -BASELINE_MONTHS), add_months(event, -step)
    b0 = max(b0, first)
    if scenario.post:
        p0, p1 = scenario.post
        if step == 12:
            p0, p1 = dt.date(p0.year, 1, 1), dt.date(p1.year, 1, 1)
    else:
        p0, p1 = event, last
    p1 = min(p1, last)
    if b1 < b0 or b1 < first:
        raise NoDataError(
            "the data has no period before the event",
            value=f"{first:%Y-%m}..{last:%Y-%m}",
            hint=f"the baseline window needs data before {event:%Y-%m}",
        )
    if p1 < p0:
        raise NoDataError(
            "the data has no period after the event",
            value=f"{first:%Y-%m}..{last:%Y-%m}",
            hint=f"the post window needs data from {event:%Y-%m} on",
        )
    return Windows(
        frequency=frequency,
        baseline=(b0, b1),
        post=(p0, p1),
        n_baseline=count_periods(b0, b1, step),
        n_post=count_periods(p0, p1, step),
        step=step,
    )


# ------------------------------------------------------------------ leg flows
@dataclass
class LegSet:
    """Sparse leg flows and their coverage, ready for feature computation.

    Attributes:
        flows: ``src, dst, hs, period, value, kg, value_kg, exp_value,
            imp_value_fob, has_exp, has_imp, provenance`` (``kg`` is the known
            mass and ``value_kg`` the value of the records that have one), with
            ``src``/``dst`` mapped to side labels (one row per pair, product and
            period with trade).
        other_flows: ``src, dst, period, value`` summed over products outside
            the scanned set (the hub's other products, for controls); may be empty.
        coverage: ``country, window, reports_exports, reports_imports``.
        windows: The baseline/post windows.
        sides: The resolved scenario sides.
        hubs: The hub candidates.
        totals: Every country's exports and imports of each product, window means:
            ``country, hs, exp_b, exp_p, imp_b, imp_p`` (for the hub controls).
        observed: ``src, dst, n_b, n_p``: periods of each window in which some side
            of the pair filed anything (its exporter exports or its importer imports,
            in any product). Periods nobody filed are missing, not zero trade.
        vintage: The HS vintage codes were harmonised to.
        notes: Plain remarks (frequency chosen, rows filtered...).
    """

    flows: pl.LazyFrame
    other_flows: pl.LazyFrame
    coverage: pl.DataFrame
    windows: Windows
    sides: Sides
    hubs: tuple[str, ...]
    totals: pl.DataFrame = field(default_factory=pl.DataFrame)
    observed: pl.DataFrame | None = None
    vintage: str = "HS2017"
    notes: list[str] = field(default_factory=list)


def _products(spec: str | Sequence[str] | None) -> ProductList | None:
    if spec is None:
        return None
    plist = product_list(spec if isinstance(spec, str) else list(spec))
    return None if plist.is_all else plist


def _superset(plist: ProductList) -> pl.Expr:
    """Codes in the list in any shipped vintage: a cheap filter before harmonising.

    Lists of codes of at most six digits (the usual case) become one membership test
    per code length on the union of every vintage's codes, instead of one per vintage;
    longer (CN8) codes keep each list's own rule.
    """
    lists = [plist]
    for v in VINTAGES:
        try:
            lists.append(plist.to_hs6(v))
        except ReroutingError:  # a list that has no codes in an old vintage
            continue
    codes = {c for lst in lists for c in lst.codes}
    if codes and max(map(len, codes)) <= 6:
        by_length: dict[int, set[str]] = {}
        for c in codes:
            by_length.setdefault(len(c), set()).add(c)
        return pl.any_horizontal(
            pl.col("hs").str.slice(0, n).is_in(pl.Series(sorted(g), dtype=pl.String).implode())
            for n, g in sorted(by_length.items())
        ).fill_null(False)
    return pl.any_horizontal([lst.expr("hs") for lst in lists])


def build_legs(
    trade: pl.LazyFrame,
    scenario: Scenario,
    *,
    cif_fob_margin: float | None = None,
) -> LegSet:
    """Filter, harmonise and mirror ``trade``, then label flows by scenario side.

    Steps, all pushed down before the mirror pairing: keep one frequency and the
    baseline-to-post periods; keep records touching the scenario's countries (all
    countries when hubs are not given); keep records whose code is in the product
    list in any HS vintage; harmonise codes to one HS6 vintage
    (:func:`rerouting._normalise.harmonise_hs`) and keep the list's codes in that
    vintage; pair mirror sides (:func:`rerouting._mirror.mirror`). The labelled flow
    table is materialised once (it is small: scanned products only).

    The steps are the phases of ``docs/scale-out.md``; the Dask engine runs the same
    functions per partition and combines their partial results.

    Args:
        trade: Canonical trade records (lazy).
        scenario: The scenario (origin, destination, event, hubs, products, windows).
        cif_fob_margin: Override of ``scenario.cif_fob_margin``.

    Raises:
        NoDataError: no record touches the scenario's countries and products.
    """
    plan = leg_plan(scenario, cif_fob_margin)
    # One pass over the input: which country reports what, in which period.
    grid = period_grid(_reporting(trade), scenario)
    base = grid.base(trade, plan)
    scanned = plan.scanned(base)
    mapping, summary = _code_mapping(_distinct_codes(scanned))
    # Reporter reliability from every pair of the scanned products (one pass over
    # pair-month totals), so that the two subsets mirrored below weigh sides alike.
    # Pair totals ignore product codes: the records are summed per reporter, partner,
    # flow and month first (a streaming pass), which gives the same scores.
    reliability = reporter_reliability(_pair_month_totals(scanned), cif_fob_margin=plan.margin)
    flows, totals, other = product_legs(base, plan, grid, mapping, summary.target, reliability)
    return finish_legs(
        plan, grid, summary, flows, totals, other_label(other, plan.sides), trade=trade
    )


@dataclass(frozen=True)
class LegPlan:
    """What the scenario alone decides, before any record is read."""

    scenario: Scenario
    sides: Sides
    margin: float
    products: ProductList | None

    def near_filter(self) -> pl.Expr | None:
        """Records touching the scenario's countries or hubs (None: every record)."""
        if self.sides.hubs is None:
            return None
        # Rows of the hubs with third countries stay: they are the hub's world trade.
        keep = sorted(self.sides.members() | set(self.sides.hubs))
        return pl.col("reporter").is_in(keep) | pl.col("partner").is_in(keep)

    def scanned(self, base: pl.LazyFrame) -> pl.LazyFrame:
        """Records whose code is in the product list in some HS vintage."""
        return base if self.products is None else base.filter(_superset(self.products))


def leg_plan(scenario: Scenario, cif_fob_margin: float | None = None) -> LegPlan:
    """Sides, margin and product list of ``scenario`` (no data read)."""
    margin = scenario.cif_fob_margin if cif_fob_margin is None else cif_fob_margin
    return LegPlan(scenario, resolve_sides(scenario), margin, _products(scenario.products))


@dataclass(frozen=True)
class PeriodGrid:
    """The frequency, windows and reporting coverage read from the data's first pass."""

    frequency: str
    windows: Windows
    coverage: pl.DataFrame
    reports: pl.DataFrame  # the chosen frequency's rows of the reporting table
    notes: tuple[str, ...]

    def rows(self) -> pl.Expr:
        """Records of the chosen frequency inside the baseline-to-post periods."""
        # compared as stored (Enum or String): no string is made per record
        return (pl.col("frequency") == self.frequency) & pl.col("period").is_between(
            pl.lit(self.windows.start), pl.lit(self.windows.end)
        )

    def base(self, trade: pl.LazyFrame, plan: LegPlan) -> pl.LazyFrame:
        near = plan.near_filter()
        base = trade.filter(self.rows())
        return base if near is None else base.filter(near)


def period_grid(reports: pl.DataFrame, scenario: Scenario) -> PeriodGrid:
    """Frequency, windows and coverage from :func:`_reporting`'s table.

    Raises:
        NoDataError: the table is empty, or a window has no period.
    """
    if reports.is_empty():
        raise NoDataError("the trade table is empty", hint="check the input files")
    freqs = set(reports["frequency"])
    frequency = "M" if "M" in freqs else "A"
    notes = []
    if len(freqs) > 1:
        notes.append(f"mixed frequencies: using {'monthly' if frequency == 'M' else 'annual'} data")
    reports = reports.filter(pl.col("frequency") == frequency)
    first, last = reports["period"].min(), reports["period"].max()
    windows = scenario_windows(scenario, first, last, frequency)  # type: ignore[arg-type]
    return PeriodGrid(frequency, windows, _coverage(reports, windows), reports, tuple(notes))


def product_legs(
    base: pl.LazyFrame,
    plan: LegPlan,
    grid: PeriodGrid,
    mapping: pl.DataFrame,
    target: str,
    reliability: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """Labelled side flows, world totals and other-product side sums of ``base``.

    Every row of the results is product-level (flows, totals) or additive
    (other-product sums), so records partitioned by harmonised code give partial
    results that concatenate (``docs/scale-out.md``).
    """
    sides, margin = plan.sides, plan.margin
    harmonised = _apply_codes(plan.scanned(base), mapping)
    if plan.products is not None:
        harmonised = harmonised.filter(plan.products.to_hs6(target).expr("hs"))
    # 1. Pairs touching a side: the legs, the direct flow and their controls.
    members = list(sides.members())
    near = harmonised.filter(pl.col("reporter").is_in(members) | pl.col("partner").is_in(members))
    touch = pl.col("exporter").is_in(list(sides.origin)) | pl.col("importer").is_in(
        list(sides.destination)
    )
    side_pairs = mirror(near, cif_fob_margin=margin, reliability=reliability)
    flows_df, totals_df = pl.collect_all(
        [
            _label(side_pairs.select(_PAIR_COLUMNS).filter(touch), sides),
            # 2. Every country's world trade in each product, for the hub controls.
            _world_totals(harmonised, grid.windows, margin),
        ]
    )
    # 3. The hub's trade with the destination in every other product: a full pass
    # with a small result, streamed so that it fits in memory on any input size.
    other = (
        _other_sides(base.filter(~_superset(plan.products)), sides, margin).collect(
            engine="streaming"
        )
        if plan.products is not None
        else None
    )
    return flows_df, totals_df, other


def finish_legs(
    plan: LegPlan,
    grid: PeriodGrid,
    summary: HarmoniseSummary,
    flows_df: pl.DataFrame,
    totals_df: pl.DataFrame,
    other_flows: pl.LazyFrame,
    trade: pl.LazyFrame | None = None,
) -> LegSet:
    """The :class:`LegSet` from the (combined) product-level results.

    ``trade`` (the records, when the caller has them in one frame) lets a scan whose
    product list matches no record say so instead of "no hub trades the products".

    Raises:
        NoDataError: no hub trades a scanned product with both sides.
    """
    notes = list(grid.notes)
    if summary.rows_unknown:
        notes.append(
            f"{summary.rows_unknown:,} code-months have HS codes found in no vintage; kept "
            f"unchanged (e.g. {', '.join(summary.unknown_examples[:3])})"
        )
    flows = flows_df.lazy()
    hubs = _hub_candidates(flows, plan.sides)
    if not hubs:
        if trade is not None and plan.products is not None and flows_df.is_empty():
            _check_list_in_data(trade, plan.products)
        raise NoDataError(
            "no hub trades the scanned products with the origin or the destination",
            value=",".join(plan.scenario.hubs or ()) or None,
            hint="check origin=, destination= and products=, or widen hubs=",
            cli_hint="check --origin/--destination/--products, or widen --hubs",
        )
    return LegSet(
        flows=flows,
        other_flows=other_flows,
        coverage=grid.coverage,
        windows=grid.windows,
        sides=plan.sides,
        hubs=hubs,
        totals=_pick_reporting_side(totals_df, grid.coverage),
        observed=_observed_periods(grid.reports, plan.sides, hubs, grid.windows),
        vintage=summary.target,
        notes=notes,
    )


_CODE_KEYS: Final = ("hs", "hs_vintage", "period")


def _with_vintage(rows: pl.LazyFrame) -> pl.LazyFrame:
    if "hs_vintage" not in rows.collect_schema():
        return rows.with_columns(hs_vintage=pl.lit(None, pl.String))
    return rows


def _distinct_codes(rows: pl.LazyFrame, *extra: str) -> pl.DataFrame:
    """The distinct (code, declared vintage, period) of ``rows`` (and ``extra`` columns)."""
    return _with_vintage(rows).select(*_CODE_KEYS, *extra).unique().collect(engine="streaming")


def _check_list_in_data(trade: pl.LazyFrame, plist: ProductList) -> None:
    """Say so when no code of the product list occurs anywhere in the data.

    Runs only on the way to a no-data error (one more pass), so that "your list and
    your data share no code" is not reported as "no hub trades the products".
    """
    if trade.filter(_superset(plist)).head(1).collect().height:
        return
    shown = ", ".join(plist.codes[:5]) + (", ..." if len(plist.codes) > 5 else "")
    raise NoDataError(
        f"none of the {len(plist.codes)} codes of product list {plist.name!r} occur in the "
        "data (in any HS vintage)",
        value=shown,
        hint="check that the files hold these products, or choose another list "
        "(rerouting.reference.list_catalog()) or products=None for every product",
        cli_hint="check that the files hold these products, or choose another list "
        "(rerouting lists), or leave out --products to scan every product",
    )


def _code_mapping(distinct: pl.DataFrame) -> tuple[pl.DataFrame, HarmoniseSummary]:
    """:func:`rerouting._normalise.harmonise_hs` applied to distinct codes.

    The mapping depends only on (code, declared vintage, period), so it is computed
    on those distinct combinations (thousands, not millions) and joined onto the
    records by :func:`_apply_codes`: same result, a fraction of the memory on large
    inputs. The summary counts distinct combinations, not records.
    """
    mapped, summary = harmonise_hs_with_summary(
        distinct.select(_CODE_KEYS).with_columns(_v=pl.col("hs_vintage"))
    )
    mapping = mapped.select(
        pl.col("hs_original").alias("hs"),
        pl.col("_v").alias("hs_vintage"),
        "period",
        pl.col("hs").alias("_hs6"),
        pl.col("hs_vintage").alias("_target"),
    ).collect()
    return mapping, summary


def _apply_codes(rows: pl.LazyFrame, mapping: pl.DataFrame) -> pl.LazyFrame:
    """Records with their harmonised code (``hs``) and the original (``hs_original``)."""
    return (
        _with_vintage(rows)
        .join(mapping.lazy(), on=list(_CODE_KEYS), how="left", nulls_equal=True)
        .with_columns(
            pl.col("hs").alias("hs_original"),
            pl.col("_hs6").alias("hs"),
            pl.col("_target").alias("hs_vintage"),
        )
        .drop("_hs6", "_target")
    )


def _pair_month_totals(rows: pl.LazyFrame) -> pl.DataFrame:
    """Records summed per reporter, partner, flow and month (product detail dropped)."""
    schema = rows.collect_schema()
    keys = [
        c
        for c in ("reporter", "partner", "flow", "frequency", "period", "currency", "source")
        if c in schema
    ]
    return (
        rows.group_by(keys)
        .agg(pl.col("value").sum())
        .with_columns(hs=pl.lit("000000"))
        .collect(engine="streaming")
    )


def _other_sides(rows: pl.LazyFrame, sides: Sides, margin: float) -> pl.LazyFrame:
    """All-other-products sums touching the destination, per side and pair-month.

    ``x`` sums what exporters report, ``m`` what importers report (on an FOB basis);
    null when that side reports nothing. Both are sums, so partitions of the records
    add up (:func:`combine_other_sides`); :func:`other_label` takes the mean of the sides.
    """
    dest = list(sides.destination)
    fl = pl.col("flow").cast(pl.String)
    touching = rows.filter(pl.col("reporter").is_in(dest) | pl.col("partner").is_in(dest))
    # One pass over the records, grouped by the raw columns; the two sides are split
    # from its small result. (Two filtered group_bys of ``touching`` would share it
    # through a cache that the streaming engine fills with every touching record:
    # 5.9 GB at 250M rows, against 0.6 GB this way; docs/performance.md.)
    sums = touching.group_by("reporter", "partner", "period", "flow").agg(v=pl.col("value").sum())
    exp = (
        sums.filter(fl.is_in(EXPORT_FLOWS))
        .group_by(
            pl.col("reporter").alias("exporter"), pl.col("partner").alias("importer"), "period"
        )
        .agg(x=pl.col("v").sum())
    )
    imp = (
        sums.filter(fl.is_in(IMPORT_FLOWS))
        .group_by(
            pl.col("partner").alias("exporter"), pl.col("reporter").alias("importer"), "period"
        )
        .agg(m=pl.col("v").sum() / (1.0 + margin))
    )
    return exp.join(imp, on=["exporter", "importer", "period"], how="full", coalesce=True)


def combine_other_sides(parts: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """Partial :func:`_other_sides` sums added up; a side stays null if no part has it."""
    return (
        pl.concat(list(parts))
        .group_by("exporter", "importer", "period")
        .agg(pl.when(pl.col(c).count() > 0).then(pl.col(c).sum()).alias(c) for c in ("x", "m"))
    )


def other_label(sides_sums: pl.DataFrame | None, sides: Sides) -> pl.LazyFrame:
    """Other-product totals per labelled pair-month: the mean of the two sides' sums.

    A control only: each side's total is put on an FOB basis and the two sides are
    averaged when both report (no product-level pairing is needed for a total).
    """
    if sides_sums is None:
        return pl.LazyFrame(
            schema={"src": pl.String, "dst": pl.String, "period": pl.Date, "value": pl.Float64}
        )
    return (
        sides_sums.lazy()
        .with_columns(value=pl.mean_horizontal("x", "m"))
        .with_columns(src=sides.label_expr("exporter"), dst=sides.label_expr("importer"))
        .filter(pl.col("src") != pl.col("dst"))
        .group_by("src", "dst", "period")
        .agg(pl.col("value").sum())
        .collect()
        .lazy()
    )


_PAIR_COLUMNS: Final = (
    "exporter", "importer", "hs", "period", "best_value", "best_kg", "export_value",
    "import_value_fob", "provenance",
)  # fmt: skip


def _world_totals(rows: pl.LazyFrame, windows: Windows, margin: float) -> pl.LazyFrame:
    """Each country's imports and exports of each product, window means, from both sides.

    ``own_*`` sums what the country reports itself, ``mir_*`` what its partners report
    about it (imports put on an FOB basis). No pair-level matching: these totals are
    controls, and one plain ``group_by`` sum per side keeps them cheap on any data size.
    """
    fl = pl.col("flow").cast(pl.String)
    is_x, is_m = fl.is_in(EXPORT_FLOWS), fl.is_in(IMPORT_FLOWS)
    masks = {
        "x_b": is_x & windows.in_baseline(),
        "x_p": is_x & windows.in_post(),
        "m_b": is_m & windows.in_baseline(),
        "m_p": is_m & windows.in_post(),
    }
    n = {"b": windows.n_baseline, "p": windows.n_post}
    # Masked columns, then plain sums: much faster than filters inside the aggregation.
    masked = rows.select(
        "reporter",
        "partner",
        "hs",
        *[
            pl.when(m)
            .then(pl.col("value") / (n[k[-1]] * (1.0 + margin if k[0] == "m" else 1.0)))
            .otherwise(0.0)
            .alias(k)
            for k, m in masks.items()
        ],
    )
    own = masked.group_by(pl.col("reporter").alias("country"), "hs").agg(
        pl.col("x_b").sum().alias("own_exp_b"),
        pl.col("x_p").sum().alias("own_exp_p"),
        pl.col("m_b").sum().alias("own_imp_b"),
        pl.col("m_p").sum().alias("own_imp_p"),
    )
    # a partner's exports to the country are the country's imports, and vice versa
    mir = masked.group_by(pl.col("partner").alias("country"), "hs").agg(
        pl.col("m_b").sum().alias("mir_exp_b"),
        pl.col("m_p").sum().alias("mir_exp_p"),
        pl.col("x_b").sum().alias("mir_imp_b"),
        pl.col("x_p").sum().alias("mir_imp_p"),
    )
    return own.join(mir, on=["country", "hs"], how="full", coalesce=True)


def _pick_reporting_side(totals: pl.DataFrame, coverage: pl.DataFrame) -> pl.DataFrame:
    """The country's own figure when it reports that flow in the window, else its partners'."""
    cov = coverage.pivot(
        on="window", index="country", values=["reports_exports", "reports_imports"]
    )
    out = totals.join(cov, on="country", how="left")
    cols = []
    for role, rep in (("exp", "reports_exports"), ("imp", "reports_imports")):
        for w, win in (("b", "baseline"), ("p", "post")):
            name = f"{rep}_{win}"
            own = pl.col(name) if name in out.columns else pl.lit(False)
            cols.append(
                pl.when(own.fill_null(False))
                .then(pl.col(f"own_{role}_{w}").fill_null(0.0))
                .otherwise(pl.col(f"mir_{role}_{w}").fill_null(0.0))
                .alias(f"{role}_{w}")
            )
    return out.select("country", "hs", *cols)


_PROVENANCES: Final = ("both", "exporter_only", "importer_only", "reconciled")
#: Every combination of provenances as a bit mask → "a+b" (sorted names).
_PROVENANCE_SETS: Final = {
    mask: "+".join(sorted(p for i, p in enumerate(_PROVENANCES) if mask >> i & 1))
    for mask in range(1, 1 << len(_PROVENANCES))
}


def _label(pairs: pl.LazyFrame, sides: Sides) -> pl.LazyFrame:
    """Map exporters/importers to side labels and sum members of a bloc.

    Only plain sums, counts and a bitwise OR run inside the aggregation (values are
    masked beforehand), which keeps it fast on millions of pairs.
    """
    bit = (
        pl.col("provenance")
        .cast(pl.String)
        .replace_strict(
            list(_PROVENANCES), [1 << i for i in range(len(_PROVENANCES))], return_dtype=pl.UInt8
        )
    )
    return (
        pairs.with_columns(
            src=sides.label_expr("exporter"),
            dst=sides.label_expr("importer"),
            # Mass is often missing on some records: keep the mass that is known and
            # the value of those same records, so unit values stay unbiased.
            _value_kg=pl.when(pl.col("best_kg").is_not_null()).then(pl.col("best_value")),
            _bit=bit,
        )
        .filter(pl.col("src") != pl.col("dst"))
        .group_by("src", "dst", "hs", "period")
        .agg(
            value=pl.col("best_value").sum(),
            kg=pl.col("best_kg").sum(),
            value_kg=pl.col("_value_kg").sum(),
            exp_value=pl.col("export_value").sum(),
            imp_value_fob=pl.col("import_value_fob").sum(),
            has_exp=pl.col("export_value").count() > 0,
            has_imp=pl.col("import_value_fob").count() > 0,
            _bits=pl.col("_bit").bitwise_or(),
        )
        .with_columns(
            provenance=pl.col("_bits").replace_strict(
                list(_PROVENANCE_SETS), list(_PROVENANCE_SETS.values()), return_dtype=pl.String
            )
        )
        .drop("_bits")
    )


def _reporting(trade: pl.LazyFrame) -> pl.DataFrame:
    """Per frequency, reporter and period: does it report exports, imports (one pass).

    The pass groups by the raw columns (enums stay enums: no string is made per
    record); only the few groups are turned into flags (docs/performance.md).
    """
    fl = pl.col("flow").cast(pl.String)
    return (
        trade.group_by("frequency", "reporter", "period", "flow")
        .agg()
        .collect()
        .group_by(pl.col("frequency").cast(pl.String), "reporter", "period")
        .agg(exp=fl.is_in(EXPORT_FLOWS).any(), imp=fl.is_in(IMPORT_FLOWS).any())
    )


def _observed_periods(
    reports: pl.DataFrame, sides: Sides, hubs: Iterable[str], windows: Windows
) -> pl.DataFrame:
    """Per leg pair (side labels): periods of each window that some side filed.

    A period counts when the exporter filed any export or the importer any import that
    period (in any product). Sparse leg statistics read a period without a record as
    zero trade only when it counts: a reporter that skipped a month whose partner is
    silent too has no zero month, it has no month.
    """
    labels = [*sides.origin_labels, *hubs, *sides.destination_labels]
    rep = reports.with_columns(label=sides.label_expr("reporter")).filter(
        pl.col("label").is_in(labels)
    )
    all_labels = pl.DataFrame({"other": labels}, schema={"other": pl.String})
    by_exporter = (
        rep.filter("exp").select(src="label", period="period").unique()
        .join(all_labels, how="cross").select("src", dst="other", period="period")
    )  # fmt: skip
    by_importer = (
        rep.filter("imp").select(dst="label", period="period").unique()
        .join(all_labels, how="cross").select(src="other", dst="dst", period="period")
    )  # fmt: skip
    periods = pl.concat([by_exporter, by_importer]).unique()
    return (
        periods.filter(pl.col("src") != pl.col("dst"))
        .group_by("src", "dst")
        .agg(
            n_b=windows.in_baseline().sum().cast(pl.Int64),
            n_p=windows.in_post().sum().cast(pl.Int64),
        )
    )


def _coverage(reports: pl.DataFrame, windows: Windows) -> pl.DataFrame:
    """Which countries report exports / imports at all, per window."""
    win = (
        pl.when(windows.in_baseline())
        .then(pl.lit("baseline"))
        .when(windows.in_post())
        .then(pl.lit("post"))
    )
    n = pl.when(pl.col("window") == "post").then(windows.n_post).otherwise(windows.n_baseline)
    return (
        reports.with_columns(window=win)
        .filter(pl.col("window").is_not_null())
        .group_by(pl.col("reporter").alias("country"), "window")
        .agg(
            reports_exports=pl.col("exp").any(),
            reports_imports=pl.col("imp").any(),
            # share of the window's periods with any import record (0 = silent)
            import_share=pl.col("imp").sum() / n.first(),
        )
    )


def _hub_candidates(flows: pl.LazyFrame, sides: Sides) -> tuple[str, ...]:
    labels = set(sides.origin_labels) | set(sides.destination_labels)
    touching = (
        flows.filter(pl.col("src").is_in(labels) | pl.col("dst").is_in(labels))
        .select(pl.when(pl.col("src").is_in(labels)).then(pl.col("dst")).otherwise(pl.col("src")))
        .unique()
        .collect()
        .to_series()
        .to_list()
    )
    members = sides.members()
    found = {c for c in touching if c not in labels and c not in members and not _is_aggregate(c)}
    if sides.hubs is not None:
        found &= set(sides.hubs)
    return tuple(sorted(found))


def observable(coverage: pl.DataFrame, sides: Sides, hubs: Iterable[str]) -> pl.DataFrame:
    """Whether each leg is reported by at least one side, per window.

    Returns one row per (origin, hub, destination) with boolean columns
    ``oh_obs_baseline``, ``oh_obs_post``, ``hd_obs_baseline``, ``hd_obs_post``,
    ``dr_obs_baseline``, ``dr_obs_post``.
    """

    def reports(members: Iterable[str], window: str, what: str) -> bool:
        sub = coverage.filter(
            pl.col("country").is_in(list(members)) & (pl.col("window") == window) & pl.col(what)
        )
        return not sub.is_empty()

    olabels, dlabels = sides.origin_labels, sides.destination_labels
    omem = {o: [m for m, lab in sides.origin.items() if lab == o] for o in olabels}
    dmem = {d: [m for m, lab in sides.destination.items() if lab == d] for d in dlabels}
    side_rows = []
    # One small table per side label (a handful of rows), then joined with hubs.
    for w in ("baseline", "post"):
        for o in olabels:
            side_rows.append(("o", o, w, reports(omem[o], w, "reports_exports"), False))
        for d in dlabels:
            side_rows.append(("d", d, w, False, reports(dmem[d], w, "reports_imports")))
    sides_df = pl.DataFrame(
        side_rows, schema=["side", "label", "window", "exp", "imp"], orient="row"
    )
    hub_cov = (
        pl.DataFrame({"hub": list(hubs)}, schema={"hub": pl.String})
        .join(pl.DataFrame({"window": ["baseline", "post"]}), how="cross")
        .join(coverage.rename({"country": "hub"}), on=["hub", "window"], how="left")
        .with_columns(pl.col("reports_exports", "reports_imports").fill_null(False))
    )
    o_df = sides_df.filter(pl.col("side") == "o").select(
        pl.col("label").alias("origin"), "window", pl.col("exp").alias("o_exp")
    )
    d_df = sides_df.filter(pl.col("side") == "d").select(
        pl.col("label").alias("destination"), "window", pl.col("imp").alias("d_imp")
    )
    # A leg is reported when its exporting side reports exports or its importing side imports.
    exports = {"origin": pl.col("o_exp"), "hub": pl.col("reports_exports")}
    imports = {"hub": pl.col("reports_imports"), "destination": pl.col("d_imp")}
    prefixes = [leg.prefix for leg in LEGS]
    long = (
        hub_cov.join(o_df, on="window")
        .join(d_df, on="window")
        .with_columns(**{leg.prefix: exports[leg.src] | imports[leg.dst] for leg in LEGS})
    )
    return long.pivot(on="window", index=["origin", "hub", "destination"], values=prefixes).rename(
        {f"{p}_{w}": f"{p}_obs_{w}" for p in prefixes for w in ("baseline", "post")}
    )


def observed(leg: str) -> pl.Expr:
    """Whether some side reports a leg (prefix ``oh``, ``hd`` or ``dr``) in either window.

    Reads the ``<leg>_obs_baseline`` and ``<leg>_obs_post`` columns of :func:`observable`.
    """
    return pl.col(f"{leg}_obs_baseline").fill_null(False) | pl.col(f"{leg}_obs_post").fill_null(
        False
    )


def missing_legs() -> pl.Expr:
    """Comma-separated names of the legs no side reports, null if none.

    A leg reported in one window only is named with the other: ``origin_hub (post)``.
    """
    parts = []
    for leg in LEGS:
        b = pl.col(f"{leg.prefix}_obs_baseline").fill_null(False)
        p = pl.col(f"{leg.prefix}_obs_post").fill_null(False)
        parts.append(
            pl.when(~b & ~p)
            .then(pl.lit(leg.name))
            .when(~b)
            .then(pl.lit(f"{leg.name} (baseline)"))
            .when(~p)
            .then(pl.lit(f"{leg.name} (post)"))
        )
    joined = pl.concat_list(parts).list.drop_nulls().list.join(", ")
    return pl.when(joined != "").then(joined)


def candidate_routes(legs: LegSet) -> pl.LazyFrame:
    """Routes (origin, hub, destination, hs) worth scoring.

    A route needs trade on both hub legs at some time; a leg that is missing
    (no side reports it in either window) is not required. Returns the routes
    with the leg-observability columns of :func:`observable`.
    """
    sides = legs.sides
    olabels, dlabels = list(sides.origin_labels), list(sides.destination_labels)
    hubs = list(legs.hubs)
    f = legs.flows
    oh = (
        f.filter(pl.col("src").is_in(olabels) & pl.col("dst").is_in(hubs))
        .select(pl.col("src").alias("origin"), pl.col("dst").alias("hub"), "hs")
        .unique()
        .with_columns(has_oh=pl.lit(True))
    )
    hd = (
        f.filter(pl.col("src").is_in(hubs) & pl.col("dst").is_in(dlabels))
        .select(pl.col("src").alias("hub"), pl.col("dst").alias("destination"), "hs")
        .unique()
        .with_columns(has_hd=pl.lit(True))
    )
    obs = observable(legs.coverage, sides, hubs).lazy()
    oh_full = oh.join(pl.LazyFrame({"destination": dlabels}), how="cross")
    hd_full = hd.join(pl.LazyFrame({"origin": olabels}), how="cross")
    cand = (
        oh_full.join(hd_full, on=list(ROUTE_KEY), how="full", coalesce=True)
        .with_columns(pl.col("has_oh", "has_hd").fill_null(False))
        .join(obs, on=["origin", "hub", "destination"], how="left")
    )
    # How much of the post window the destination filed imports in (a bloc: its best member).
    members = pl.col("country").replace_strict(
        list(sides.destination), list(sides.destination.values()), default=None
    )
    dest_share = (
        legs.coverage.lazy()
        .filter(pl.col("window") == "post")
        .with_columns(destination=members)
        .filter(pl.col("destination").is_not_null())
        .group_by("destination")
        .agg(dest_import_share_post=pl.col("import_share").max().cast(pl.Float64))
    )
    cand = cand.join(dest_share, on="destination", how="left").with_columns(
        pl.col("dest_import_share_post").fill_null(0.0)
    )
    return cand.filter(
        (pl.col("has_oh") | ~observed("oh")) & (pl.col("has_hd") | ~observed("hd"))
    ).drop("has_oh", "has_hd")


def legs_frame(legs: LegSet, top: pl.DataFrame) -> pl.DataFrame:
    """``RouteTable.legs``: monthly legs of the ``top`` routes over every window period.

    An observed leg without a record in a month had no trade (``value`` 0, provenance
    ``none``); a missing leg (its name in the route's ``missing_legs``) stays null with
    provenance ``missing``.

    Args:
        legs: The scan's legs.
        top: Routes with their key and ``missing_legs`` columns.
    """
    if top.is_empty():
        return pl.DataFrame(schema=LEGS_SCHEMA)
    periods = pl.DataFrame({"period": legs.windows.periods()}, schema={"period": pl.Date})
    keys = top.select(*ROUTE_KEY, "missing_legs")
    f = legs.flows.select("src", "dst", "hs", "period", "value", "kg", "provenance")
    frames = []
    for leg in LEGS:
        a, b = leg.src, leg.dst
        k = keys.select(a, b, "hs").unique()
        obs = (
            f.join(k.lazy().rename({a: "src", b: "dst"}), on=["src", "dst", "hs"], how="semi")
            .collect()
            .rename({"src": a, "dst": b})
        )
        grid = keys.join(periods, how="cross").join(obs, on=[a, b, "hs", "period"], how="left")
        missing = pl.col("missing_legs").fill_null("").str.contains(leg.name, literal=True)
        unreported = missing & pl.col("value").is_null()
        frames.append(
            grid.with_columns(
                leg=pl.lit(leg.name),
                value=pl.when(unreported).then(None).otherwise(pl.col("value").fill_null(0.0)),
                provenance=pl.when(unreported)
                .then(pl.lit("missing"))
                .otherwise(pl.col("provenance").fill_null("none")),
            ).select(list(LEGS_SCHEMA))
        )
    out = pl.concat(frames).with_columns(pl.col("leg").cast(LEGS_SCHEMA["leg"]))
    return out.sort(*ROUTE_KEY, "leg", "period")
