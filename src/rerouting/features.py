"""Route features: one documented ``pl.Expr`` per signal of rerouting.

Every feature is a function returning a ``pl.Expr`` over the wide route table
built by :func:`route_table` (one row per route, with per-leg window statistics).
The formulas and their sources are in ``docs/features.md``; docs/methods.md refers to
``docs/methods.md``.

Leg statistics use **implicit zeros**: a month without a record in an observed
leg is a month without trade, when some side of the pair filed anything that month
(``LegSet.observed``); a month nobody filed is missing. Window levels are
interquartile means over those months, so one large shipment cannot dominate
(docs/methods.md#route-legs-and-window-statistics).

Leg prefixes: ``oh`` origin→hub, ``hd`` hub→destination, ``dr`` direct
origin→destination. Window prefixes: ``b`` baseline, ``p`` post. Measures:
``v`` value, ``kg`` net mass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import polars as pl

from rerouting._blocs import bloc_members
from rerouting.mirror_formulas import relative_gap
from rerouting.schema import LEGS, ROUTE_KEY

if TYPE_CHECKING:
    from collections.abc import Callable

    from rerouting._columns import Kind
    from rerouting._legs import LegSet, Windows

__all__ = [
    "BASELINE_COLUMNS",
    "CONTROL_FLOOR",
    "FEATURES",
    "FLOOR_SHARE",
    "LOG_FEATURES",
    "MODEL_FEATURES",
    "RATIO_CAP",
    "REGISTRY",
    "Feature",
    "balance_kg",
    "comovement",
    "dest_other_growth",
    "direct_change",
    "excess",
    "freund_c2",
    "freund_c4",
    "freund_t",
    "growth",
    "hd_under_recorded",
    "hub_declared_ratio",
    "hub_import_growth",
    "hub_other_growth",
    "hub_plausibility",
    "importer_basis",
    "interquartile_mean",
    "leg_stats",
    "log_ratio",
    "materiality",
    "mirror_gap",
    "novelty",
    "pass_through",
    "persistence",
    "price_effect",
    "route_features",
    "route_table",
    "shift_z",
    "substitution_ratio",
    "uv_gap",
    "uv_gap_excess",
]


#: Named baseline scores/flags carried beside the main score.
BASELINE_COLUMNS: Final[tuple[str, ...]] = ("ec_surge", "freund", "both_up")

#: Ratios are capped at ×100: beyond that a ratio says "new", not "how much".
RATIO_CAP: Final = 100.0
#: The unit of the growth ratios, capped at :data:`RATIO_CAP`.
_RATIO_UNIT: Final = f"ratio post/baseline (×; capped at {RATIO_CAP:g}, see `capped`)"
#: A baseline below this share of the post level counts as (almost) no trade.
NOVELTY_SHARE: Final = 0.05
#: Freund C4 volume threshold (docs/methods.md#features-freund-criteria-and-excess-flows).
FREUND_C4: Final = 0.75


# ------------------------------------------------------------------ window statistics
def interquartile_mean(x: pl.Expr, n: int | pl.Expr, *, drop_top: bool = False) -> pl.Expr:
    """Interquartile mean of ``x`` over ``n`` periods, absent periods counting as zeros.

    Used inside ``group_by().agg()`` on the (sparse) observed months of one window:
    the ``n − count`` missing months are zeros at the bottom of the sorted series,
    and the mean of the middle half (ranks ``⌊n/4⌋ .. n − ⌊n/4⌋``) is returned. One
    shipment can move it by at most its share of the middle half.

    With fewer than four periods (annual data: two or three years) the middle half is
    every period, so one shipment moves the mean as much as the interquartile mean.
    ``drop_top=True`` always leaves out at least the largest period (ranks
    ``⌊n/4⌋ .. n − max(⌊n/4⌋, 1)``): the same statistic from four periods on, the
    smaller of two years, the mean of the two smaller of three.

    Args:
        x: Monthly values of one window (already filtered to the window).
        n: Number of periods in the window.
        drop_top: Leave out at least the largest period.
    """
    n_ = pl.lit(n, pl.Int64) if isinstance(n, int) else n.cast(pl.Int64)
    lo = n_ // 4
    hi = n_ - (lo.clip(lower_bound=1) if drop_top else lo)
    k = x.count().cast(pl.Int64)
    rank = x.rank("ordinal").cast(pl.Int64) - 1 + (n_ - k).clip(lower_bound=0)
    return x.filter((rank >= lo) & (rank < hi)).sum() / (hi - lo).clip(lower_bound=1).cast(
        pl.Float64
    )


def _sd(x: pl.Expr, n: int | pl.Expr) -> pl.Expr:
    """Standard deviation over ``n`` periods with implicit zeros."""
    n_ = pl.lit(n, pl.Float64) if isinstance(n, int) else n.cast(pl.Float64)
    s, ss = x.sum(), (x * x).sum()
    var = (ss - s * s / n_) / (n_ - 1.0).clip(lower_bound=1.0)
    return var.clip(lower_bound=0.0).sqrt()


def leg_stats(
    flows: pl.LazyFrame, windows: Windows, observed: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """Per (src, dst, hs): window statistics of value and mass.

    Output columns (``w`` ∈ {b, p}): ``w_mean_v``, ``w_lvl_v`` (interquartile mean),
    ``p_low_v`` (the post level without at least its largest period), ``w_sd_v``,
    ``w_uv`` (unit value of the records that carry a mass:
    ``Σ value_kg / Σ kg``), ``w_mean_kg`` and ``w_lvl_kg`` (value / unit value:
    volume is value deflated by price, so records without a mass still count),
    ``p_max_v``, ``p_nz`` (post months with trade), ``p_exp``/``p_imp`` (post sums
    of the exporter's and the importer's FOB value where both reported),
    ``w_paired_v``/``b_imp`` (the leg's value and the importer's FOB value summed over
    the periods both sides reported, per window; ``p_imp`` is the post one) and
    ``provenance`` (sides used in the post window).

    With ``observed`` (``src, dst, n_b, n_p``, :attr:`rerouting._legs.LegSet.observed`)
    a window holds only the periods some side of the pair filed: periods nobody filed
    are missing, not zeros. Without it every period of the window counts.
    """
    aggs: list[pl.Expr] = []
    if observed is not None:
        flows = flows.join(observed.lazy(), on=["src", "dst"], how="left").with_columns(
            pl.col("n_b").fill_null(windows.n_baseline).clip(lower_bound=1),
            pl.col("n_p").fill_null(windows.n_post).clip(lower_bound=1),
        )
    for w, n_all, cond in (
        ("b", windows.n_baseline, windows.in_baseline()),
        ("p", windows.n_post, windows.in_post()),
    ):
        n: int | pl.Expr = pl.col(f"n_{w}").first() if observed is not None else n_all
        x = pl.col("value").filter(cond)
        kg = pl.col("kg").filter(cond).sum()
        aggs += [
            (x.sum() / n).cast(pl.Float64).alias(f"{w}_mean_v"),
            interquartile_mean(x, n).alias(f"{w}_lvl_v"),
            *([interquartile_mean(x, n, drop_top=True).alias("p_low_v")] if w == "p" else []),
            _sd(x, n).alias(f"{w}_sd_v"),
            pl.when(kg > 0).then(pl.col("value_kg").filter(cond).sum() / kg).alias(f"{w}_uv"),
        ]
    post = windows.in_post()
    paired = pl.col("has_exp") & pl.col("has_imp")
    both = post & paired
    both_b = windows.in_baseline() & paired
    aggs += [
        pl.col("value").filter(post).max().fill_null(0.0).alias("p_max_v"),
        (pl.col("value").filter(post) > 0).sum().alias("p_nz"),
        pl.col("exp_value").filter(both).sum().alias("p_exp"),
        pl.col("imp_value_fob").filter(both).sum().alias("p_imp"),
        pl.col("value").filter(both).sum().alias("p_paired_v"),
        pl.col("imp_value_fob").filter(both_b).sum().alias("b_imp"),
        pl.col("value").filter(both_b).sum().alias("b_paired_v"),
        pl.col("provenance").filter(post).unique().sort().str.join("+").alias("provenance"),
    ]
    return flows.group_by("src", "dst", "hs").agg(aggs)


# ------------------------------------------------------------------ the wide route table
_STAT_COLS: Final = (
    "b_mean_v", "p_mean_v", "b_lvl_v", "p_lvl_v", "p_low_v", "b_sd_v", "p_sd_v",
    "p_max_v", "p_nz", "p_exp", "p_imp", "p_paired_v", "b_imp", "b_paired_v",
)  # fmt: skip
_LEG_COLS: Final = (
    *_STAT_COLS, "b_uv", "p_uv", "b_mean_kg", "p_mean_kg", "b_lvl_kg", "p_lvl_kg", "provenance",
)  # fmt: skip


def route_table(routes: pl.LazyFrame, legs: LegSet) -> pl.LazyFrame:
    """Join each route with the statistics of its three legs and of its controls.

    A leg observed in a window (some side reports it) but without a record gets
    zeros; a leg nobody reports gets nulls. Mass statistics are value statistics
    divided by the window's unit value (null when no record has a mass).
    """
    w = legs.windows
    f = legs.flows
    sides = legs.sides
    olab, dlab, hubs = (
        list(sides.origin_labels),
        list(sides.destination_labels),
        list(legs.hubs),
    )
    leg_rows = f.filter(
        (pl.col("src").is_in(olab) & (pl.col("dst").is_in(hubs) | pl.col("dst").is_in(dlab)))
        | (pl.col("src").is_in(hubs) & pl.col("dst").is_in(dlab))
    )
    stats = leg_stats(leg_rows, w, legs.observed)
    # Placeholder kg columns, filled from value and unit value after the zero-fill.
    stats = stats.with_columns(
        [
            pl.lit(None, pl.Float64).alias(f"{w_}_{s}_kg")
            for w_ in ("b", "p")
            for s in ("mean", "lvl")
        ]
    )
    key = {leg.prefix: ((leg.src, "src"), (leg.dst, "dst")) for leg in LEGS}
    out = routes
    for leg, ((a, sa), (b, sb)) in key.items():
        renamed = stats.rename({sa: a, sb: b}).rename({c: f"{leg}_{c}" for c in _LEG_COLS})
        out = out.join(renamed, on=[a, b, "hs"], how="left")
        zero_fill = []
        for c in _STAT_COLS:
            win = "baseline" if c.startswith("b_") else "post"
            obs = pl.col(f"{leg}_obs_{win}")
            zero_fill.append(
                pl.when(obs).then(pl.col(f"{leg}_{c}").fill_null(0)).alias(f"{leg}_{c}")
            )
        out = out.with_columns(zero_fill).with_columns(
            [
                pl.when(pl.col(f"{leg}_{w}_{s}_v") == 0)
                .then(0.0)
                .otherwise(pl.col(f"{leg}_{w}_{s}_v") / pl.col(f"{leg}_{w}_uv"))
                .alias(f"{leg}_{w}_{s}_kg")
                for w in ("b", "p")
                for s in ("mean", "lvl")
            ]
        )
    return out.join(_controls(f, legs), on=list(ROUTE_KEY), how="left")


def _controls(f: pl.LazyFrame, legs: LegSet) -> pl.LazyFrame:
    """Window means of the control flows each route is compared with.

    - ``dest_tot``: the destination's imports of the product from everyone;
    - ``hub_imp_tot``, ``hub_exp_tot``: the hub's imports of the product from
      everyone and exports to everyone (``LegSet.totals``);
    - ``hub_oth``: the hub's exports to the destination of every other product;
    - ``org_exp_tot``: the origin's exports of the product to everyone.
    """
    w = legs.windows
    sides = legs.sides
    olab, dlab, hubs = (
        list(sides.origin_labels),
        list(sides.destination_labels),
        list(legs.hubs),
    )

    def means(frame: pl.LazyFrame, keys: list[str], name: str) -> pl.LazyFrame:
        return frame.group_by(keys).agg(
            (pl.col("value").filter(w.in_baseline()).sum() / w.n_baseline).alias(f"{name}_b"),
            (pl.col("value").filter(w.in_post()).sum() / w.n_post).alias(f"{name}_p"),
        )

    dest = means(f.filter(pl.col("dst").is_in(dlab)).rename({"dst": "destination"}),
                 ["destination", "hs"], "dest_tot")  # fmt: skip
    hub_tot = (
        legs.totals.lazy()
        .filter(pl.col("country").is_in(hubs))
        .select(
            pl.col("country").alias("hub"),
            "hs",
            pl.col("imp_b").alias("hub_imp_tot_b"),
            pl.col("imp_p").alias("hub_imp_tot_p"),
            pl.col("exp_b").alias("hub_exp_tot_b"),
            pl.col("exp_p").alias("hub_exp_tot_p"),
        )
    )
    oexp = means(f.filter(pl.col("src").is_in(olab)).rename({"src": "origin"}),
                 ["origin", "hs"], "org_exp_tot")  # fmt: skip
    hoth = means(
        legs.other_flows.filter(pl.col("src").is_in(hubs) & pl.col("dst").is_in(dlab)).rename(
            {"src": "hub", "dst": "destination"}
        ),
        ["hub", "destination"],
        "hub_oth",
    )
    base = (
        pl.LazyFrame({"origin": olab}, schema={"origin": pl.String})
        .join(pl.LazyFrame({"hub": hubs}, schema={"hub": pl.String}), how="cross")
        .join(pl.LazyFrame({"destination": dlab}, schema={"destination": pl.String}), how="cross")
    )
    prods = f.select("hs").unique()
    return (
        base.join(prods, how="cross")
        .join(dest, on=["destination", "hs"], how="left")
        .join(hub_tot, on=["hub", "hs"], how="left")
        .join(oexp, on=["origin", "hs"], how="left")
        .join(hoth, on=["hub", "destination"], how="left")
    )


# ------------------------------------------------------------------ feature expressions
def log_ratio(post: pl.Expr, base: pl.Expr, floor: pl.Expr) -> pl.Expr:
    """``ln((post + floor) / (base + floor))``, capped at ``±ln RATIO_CAP``.

    The floor keeps a zero baseline finite; it is a small share of the leg's own
    scale (:data:`FLOOR_SHARE`), so the ratio is scale-free.
    """
    cap = math.log(RATIO_CAP)
    return ((post + floor) / (base + floor)).log().clip(-cap, cap)


#: Floor of growth ratios, as a share of the leg's larger window mean: it only keeps a
#: zero baseline finite (which then reads as the cap, "new").
FLOOR_SHARE: Final = 0.001


def _floor(leg: str, m: str) -> pl.Expr:
    larger = pl.max_horizontal(pl.col(f"{leg}_b_mean_{m}"), pl.col(f"{leg}_p_mean_{m}"))
    return FLOOR_SHARE * larger + 1e-9


def growth(leg: str, m: str = "v") -> pl.Expr:
    """Robust growth ratio of a leg: post level / baseline level (interquartile means).

    Source: surge against a pre-sanction baseline (docs/methods.md#baseline-ec-surge-rule, F6),
    made robust
    with interquartile means (docs/methods.md#route-legs-and-window-statistics).
    """
    return log_ratio(pl.col(f"{leg}_p_lvl_{m}"), pl.col(f"{leg}_b_lvl_{m}"), _floor(leg, m)).exp()


def excess(leg: str, m: str = "v") -> pl.Expr:
    """Robust monthly excess of a leg over its baseline: ``lvl_post − lvl_baseline``."""
    return pl.col(f"{leg}_p_lvl_{m}") - pl.col(f"{leg}_b_lvl_{m}")


def direct_change() -> pl.Expr:
    """Relative change of the direct flow's mean, post vs baseline (−1 = vanished).

    Source: EBRD (docs/methods.md#features-growth-and-excess): sanctioned exports to Russia fell
    ~80% more.
    """
    b, p = pl.col("dr_b_mean_v"), pl.col("dr_p_mean_v")
    return pl.when(b > 0).then(p / b - 1.0)


def _leg_excess_kg_or_value(leg: str) -> pl.Expr:
    return pl.coalesce(excess(leg, "kg"), excess(leg, "v"))


def balance_kg() -> pl.Expr:
    """Mass balance of the hub legs: ``min(Δkg_oh, Δkg_hd) / max(Δkg_oh, Δkg_hd)``.

    Goods passing through keep their mass (value gains a markup), so the two legs'
    excess in kg should be of the same size (Freund's C4 volume rule,
    docs/methods.md#features-freund-criteria-and-excess-flows,
    applied to the excess). Falls back to value when a leg has no mass; null
    when a hub leg is missing; 0 when either leg did not grow.
    """
    a, b = _leg_excess_kg_or_value("oh"), _leg_excess_kg_or_value("hd")
    lo, hi = pl.min_horizontal(a, b), pl.max_horizontal(a, b)
    return pl.when(a.is_null() | b.is_null()).then(None).when(lo <= 0).then(0.0).otherwise(lo / hi)


def pass_through() -> pl.Expr:
    """Iyoha bound: what could have passed through the hub over the post window.

    ``Σ_post min(M^{h←o}, X^{h→d})`` approximated by ``n_post · min(mean_oh, mean_hd)``
    in value (docs/methods.md#what-the-scores-mean). An upper bound, never an evidence of evasion.
    Null
    when a hub leg is missing.
    """
    oh, hd = pl.col("oh_p_mean_v"), pl.col("hd_p_mean_v")
    return pl.when(oh.is_not_null() & hd.is_not_null()).then(
        pl.min_horizontal(oh, hd) * pl.col("_n_post")
    )


def materiality() -> pl.Expr:
    """Money at stake: the smaller hub leg's excess over the post window (value).

    With one hub leg missing, the observed leg's excess.
    """
    a, b = excess("oh"), excess("hd")
    m = pl.min_horizontal(a, b)
    return (m.clip(lower_bound=0.0) * pl.col("_n_post")).fill_null(0.0)


def substitution_ratio() -> pl.Expr:
    """Route-level substitution ratio: hub legs' excess / fall of the direct flow.

    ``SR = min(Δ_oh, Δ_hd) / (−Δ_direct)`` with Δ = post mean − baseline mean
    (EBRD DP20097, docs/methods.md#features-substitution-and-pass-through, route-level version; a
    missing hub leg is
    left out of the min). Null when the direct flow did not fall or is missing.
    """
    d_oh = pl.col("oh_p_mean_v") - pl.col("oh_b_mean_v")
    d_hd = pl.col("hd_p_mean_v") - pl.col("hd_b_mean_v")
    d_dr = pl.col("dr_p_mean_v") - pl.col("dr_b_mean_v")
    sub = pl.min_horizontal(d_oh, d_hd)
    return pl.when(d_dr < 0).then((sub / -d_dr).clip(0.0, 10.0))


def freund_c2() -> pl.Expr:
    """Freund C2: ``sh^{d←o}`` falls, ``sh^{h←o}`` rises and ``sh^{d←h}`` rises
    (docs/methods.md#features-freund-criteria-and-excess-flows).

    Three-valued, as polars' ``&`` is (Kleene logic): where a leg nobody reports leaves a
    share unknown, C2 is False if a known share fails its test and null (unknown) if the
    known ones pass. Hub-only data therefore give both values, and that is meant.
    """
    sh_do_b = pl.col("dr_b_mean_v") / pl.col("dest_tot_b")
    sh_do_p = pl.col("dr_p_mean_v") / pl.col("dest_tot_p")
    sh_ho_b = pl.col("oh_b_mean_v") / pl.col("hub_imp_tot_b")
    sh_ho_p = pl.col("oh_p_mean_v") / pl.col("hub_imp_tot_p")
    sh_dh_b = pl.col("hd_b_mean_v") / pl.col("dest_tot_b")
    sh_dh_p = pl.col("hd_p_mean_v") / pl.col("dest_tot_p")
    return (
        (sh_do_p.fill_nan(0.0) < sh_do_b.fill_nan(0.0))
        & (sh_ho_p.fill_nan(0.0) > sh_ho_b.fill_nan(0.0))
        & (sh_dh_p.fill_nan(0.0) > sh_dh_b.fill_nan(0.0))
    )


def freund_c4() -> pl.Expr:
    """Freund C4: ``M^{h←o}_post ≥ 0.75 · X^{h→d}_post``
    (docs/methods.md#features-freund-criteria-and-excess-flows)."""
    return pl.col("oh_p_mean_v") >= FREUND_C4 * pl.col("hd_p_mean_v")


def freund_t() -> pl.Expr:
    """Freund excess-flow transshipment value per post month
    (docs/methods.md#features-freund-criteria-and-excess-flows).

    ``excess_oh = M^{h←o}_e − (M^{h←o}_s / M^{h←W}_s)·M^{h←W}_e``,
    ``excess_hd = X^{h→d}_e − (X^{h→d}_s / M^{d←W}_s)·M^{d←W}_e``,
    ``T = min(max(excess_oh, 0), max(excess_hd, 0))`` with window means.
    """
    ex_oh = pl.col("oh_p_mean_v") - (
        pl.col("oh_b_mean_v") / pl.col("hub_imp_tot_b") * pl.col("hub_imp_tot_p")
    ).fill_nan(0.0)
    ex_hd = pl.col("hd_p_mean_v") - (
        pl.col("hd_b_mean_v") / pl.col("dest_tot_b") * pl.col("dest_tot_p")
    ).fill_nan(0.0)
    return pl.min_horizontal(ex_oh.clip(lower_bound=0.0), ex_hd.clip(lower_bound=0.0))


def uv_gap(num_leg: str, num_w: str, den_leg: str, den_w: str) -> pl.Expr:
    """``|ln(UV_num / UV_den)|`` with the unit values of a leg and window.

    Goods passing through a hub keep their unit value up to a markup
    (docs/methods.md#features-unit-values-and-price-effects);
    a large gap says the two legs carry different goods.
    """
    r = (pl.col(f"{num_leg}_{num_w}_uv") / pl.col(f"{den_leg}_{den_w}_uv")).log().abs()
    return pl.when(r.is_finite()).then(r)


def uv_gap_excess() -> pl.Expr:
    """``|ln(UV_excess_hd / UV_excess_oh)|``: do the two legs *add* the same goods?

    The unit value of a leg's excess is its robust value excess over its robust kg
    excess (``excess(leg, "v") / excess(leg, "kg")``): the price of what was added after
    the event, without the baseline trade that dilutes :func:`uv_gap` on post levels.
    Rerouted goods keep their unit value up to a markup and freight
    (docs/methods.md#features-unit-values-and-price-effects,
    docs/methods.md#features-unit-values-and-price-effects
    F10); a hub that buys one grade and sells another of its own making does not.
    Null when either leg's value or kg excess is not positive.
    """
    ex = {leg: (excess(leg, "v"), excess(leg, "kg")) for leg in ("oh", "hd")}
    ok = pl.all_horizontal([(x > 0) & (k > 0) for x, k in ex.values()])
    r = ((ex["hd"][0] / ex["hd"][1]) / (ex["oh"][0] / ex["oh"][1])).log().abs()
    return pl.when(ok & r.is_finite()).then(r)


def price_effect() -> pl.Expr:
    """How much of the hub legs' value growth is price: ``max(ln r_value − ln r_kg)``.

    Values up with flat kg is a price shock, not a new route
    (docs/methods.md#features-growth-and-excess: unit
    values rose; docs/methods.md#features-unit-values-and-price-effects: kg-per-value anomalies).
    """
    parts = [growth(leg, "v").log() - growth(leg, "kg").log() for leg in ("oh", "hd")]
    return pl.max_horizontal(parts)


def novelty() -> pl.Expr:
    """A hub leg had (almost) no trade before: baseline mean < 5% of post mean.

    The extensive margin of the E5/BIS red flags (docs/methods.md#features-novelty-and-persistence)
    and the wood cases'
    "from zero to tens of thousands of m³" (docs/methods.md#features-novelty-and-persistence).
    """
    flags = [
        (pl.col(f"{leg}_b_mean_v") < NOVELTY_SHARE * pl.col(f"{leg}_p_mean_v"))
        & (pl.col(f"{leg}_p_mean_v") > 0)
        for leg in ("oh", "hd")
    ]
    return pl.any_horizontal(flags)


def persistence() -> pl.Expr:
    """Share of each hub leg's mean rise that the typical post month carries.

    ``clip((low_post − lvl_base) / (mean_post − mean_base), 0, 1)`` with interquartile
    means as levels: a lasting route shifts the level, so the typical month carries
    its rise (≈ 1, also on a noisy leg or one that ramps up over months); one or two
    spikes raise the mean but not the interquartile mean (≈ 0). ``low_post`` leaves
    out at least the largest post period (:func:`interquartile_mean`, ``drop_top``),
    so that in annual data one shipment that fills one of two post years reads as a
    spike, not as a level. A leg that did not rise scores 0. The smaller of the two
    legs' shares; a missing leg is left out. Exceedances of a ``mean + 2·sd`` band,
    used before, read a noisy or ramping leg as a one-off
    (docs/methods.md#features-novelty-and-persistence).
    """
    shares = []
    for leg in ("oh", "hd"):
        mean_rise = pl.col(f"{leg}_p_mean_v") - pl.col(f"{leg}_b_mean_v")
        level_rise = pl.col(f"{leg}_p_low_v") - pl.col(f"{leg}_b_lvl_v")
        shares.append(
            pl.when(mean_rise > 0).then((level_rise / mean_rise).clip(0.0, 1.0)).otherwise(0.0)
        )
    return pl.min_horizontal(shares)


def shift_z(leg: str) -> pl.Expr:
    """How sure the leg's level rose: ``(mean_post − mean_base) / SE`` in kg.

    ``SE = sqrt(sd_b²/n_b + sd_p²/n_p)`` (Welch's t statistic over months, implicit
    zeros), kg taken as value over the window's unit value. A route through a hub with
    large trade of its own raises the leg by a few per cent only, but steadily: the
    ratio barely moves while the shift is many standard errors
    (docs/methods.md#detection-changes-of-the-second-wave).
    """

    def kg(stat: str, w: str) -> pl.Expr:
        uv = pl.col(f"{leg}_{w}_uv")
        return pl.when(uv > 0).then(pl.col(f"{leg}_{w}_{stat}_v") / uv)

    n_b, n_p = pl.col("_n_baseline"), pl.col("_n_post")
    se = ((kg("sd", "b") ** 2) / n_b + (kg("sd", "p") ** 2) / n_p).sqrt()
    z = (kg("mean", "p") - kg("mean", "b")) / se
    return pl.when(se > 0).then(z.clip(-100.0, 100.0))


#: A control's growth is measured with a floor of this share of the route leg's own
#: level: a control much smaller than the leg says nothing about it (a tiny flow that
#: appears from zero is not a boom that explains a large leg).
CONTROL_FLOOR: Final = 0.1


def _control_ratio(b: pl.Expr, p: pl.Expr, leg: str) -> pl.Expr:
    scale = pl.max_horizontal(pl.col(f"{leg}_b_mean_v"), pl.col(f"{leg}_p_mean_v"))
    floor = CONTROL_FLOOR * scale + FLOOR_SHARE * pl.max_horizontal(b, p) + 1e-9
    return log_ratio(p, b, floor).exp()


def dest_other_growth() -> pl.Expr:
    """Growth of the destination's imports of the product from all *other* partners.

    Everyone but the origin and this hub. If it grew like the hub leg, the hub leg
    reflects a demand boom at the destination, not a route (difference-in-differences
    control, docs/methods.md#features-growth-and-excess, docs/methods.md#features-controls).
    Measured on the scale of the hub→destination
    leg (:data:`CONTROL_FLOOR`).
    """
    b = pl.col("dest_tot_b") - pl.col("dr_b_mean_v").fill_null(0) - pl.col("hd_b_mean_v")
    p = pl.col("dest_tot_p") - pl.col("dr_p_mean_v").fill_null(0) - pl.col("hd_p_mean_v")
    return _control_ratio(b.clip(lower_bound=0.0), p.clip(lower_bound=0.0), "hd")


def hub_import_growth() -> pl.Expr:
    """Growth of the hub's imports of the product from all partners other than the origin.

    If it grew like the origin→hub leg, the hub's own demand rose (control). Measured
    on the scale of the origin→hub leg.
    """
    b = (pl.col("hub_imp_tot_b") - pl.col("oh_b_mean_v")).clip(lower_bound=0.0)
    p = (pl.col("hub_imp_tot_p") - pl.col("oh_p_mean_v")).clip(lower_bound=0.0)
    return _control_ratio(b, p, "oh")


def hub_other_growth() -> pl.Expr:
    """Growth of the hub's exports to the destination in every other product (DiD control).

    Measured on the scale of the hub→destination leg.
    """
    return _control_ratio(pl.col("hub_oth_b"), pl.col("hub_oth_p"), "hd")


def hub_plausibility() -> pl.Expr:
    """Hub→destination excess relative to the hub's own baseline exports of the product.

    ``excess_hd / mean_baseline(X^{h→World}_p)``: a hub that already exported the
    product widely can plausibly have produced it; a large ratio means the new
    outflow dwarfs its capacity (docs/methods.md#features-plausibility-leg-gaps-and-materiality;
    the Kazakh plywood case, docs/methods.md#features-plausibility-leg-gaps-and-materiality).
    """
    cap = pl.col("hub_exp_tot_b") + _floor("hd", "v")
    return (excess("hd").clip(lower_bound=0.0) / cap).clip(upper_bound=RATIO_CAP)


def mirror_gap(leg: str) -> pl.Expr:
    """Relative mirror gap of a leg over post months both sides report
    (docs/methods.md#features-plausibility-leg-gaps-and-materiality).

    ``(M_fob − X) / max(M_fob, X)``; negative means exports without arrivals, the
    lost-in-transit direction (docs/methods.md#arrival-ratio-and-lost-in-transit).
    """
    x, m = pl.col(f"{leg}_p_exp"), pl.col(f"{leg}_p_imp")
    return pl.when(pl.max_horizontal(x, m) > 0).then(relative_gap(x, m))


# ------------------------------------------------------------------ co-movement
def comovement(
    flows: pl.LazyFrame,
    routes: pl.LazyFrame,
    windows: Windows,
    max_lag: int,
    measure: str = "kg",
) -> pl.LazyFrame:
    """Best-lag Pearson correlation of the two hub legs over baseline + post.

    For lags ``ℓ = 0..max_lag`` (months; 0 for annual data), pairs the origin→hub
    flow at ``t`` with the hub→destination flow at ``t + ℓ``; months without a
    record are zeros. Returns ``origin, hub, destination, hs, comove, comove_lag``
    (the lag with the highest correlation). Source: Liu & Shi (2019), Nouwen
    (quantities, lagged), World Bank 96% (docs/methods.md#features-co-movement-of-the-hub-legs, F9).
    """
    step = windows.step
    if measure == "kg":
        # Mass of the month: value deflated by the month's unit value (records with
        # a mass), else by the leg's overall unit value.
        leg = ["src", "dst", "hs"]
        kg_per_value = pl.when(pl.col("value_kg") > 0).then(pl.col("kg") / pl.col("value_kg"))
        leg_kg_per_value = pl.col("kg").sum().over(leg) / pl.col("value_kg").sum().over(leg)
        flows = flows.with_columns(_m=pl.col("value") * pl.coalesce(kg_per_value, leg_kg_per_value))
    else:
        flows = flows.with_columns(_m=pl.col("value"))
    col = "_m"
    lags = list(range((max_lag if step == 1 else 0) + 1))
    n = windows.n_baseline + windows.n_post  # pairs per lag (gap months excluded below)
    w0, w1 = windows.start, windows.end
    keys = routes.select(ROUTE_KEY).unique()
    oh = flows.select(
        pl.col("src").alias("origin"),
        pl.col("dst").alias("hub"),
        "hs",
        "period",
        x=pl.col(col),
    ).join(keys.select("origin", "hub", "hs").unique(), on=["origin", "hub", "hs"], how="semi")
    hd = flows.select(
        pl.col("src").alias("hub"), pl.col("dst").alias("destination"), "hs", "period",
        y=pl.col(col),
    ).join(keys.select("hub", "destination", "hs").unique(), on=["hub", "destination", "hs"],
           how="semi")  # fmt: skip
    lag_df = pl.LazyFrame({"lag": lags}, schema={"lag": pl.Int32})
    in_y = pl.col("ty").is_between(pl.lit(w0), pl.lit(w1))
    # x at t pairs with y at t + lag: shift x forward to the y period.
    ox = (
        oh.join(lag_df, how="cross")
        .with_columns(ty=pl.col("period").dt.offset_by(pl.format("{}mo", pl.col("lag") * step)))
        .filter(in_y & pl.col("ty").is_between(pl.lit(w0), pl.lit(w1)))
    )
    sx = ox.group_by("origin", "hub", "hs", "lag").agg(
        sx=pl.col("x").sum(), sxx=(pl.col("x") ** 2).sum()
    )
    sy_all = hd.filter(pl.col("period").is_between(pl.lit(w0), pl.lit(w1)))
    sy = (
        sy_all.join(lag_df, how="cross")
        # y at t+lag needs x at t ≥ w0: drop the first ``lag`` y months.
        .filter(
            pl.col("period") >= pl.lit(w0).dt.offset_by(pl.format("{}mo", pl.col("lag") * step))
        )
        .group_by("hub", "destination", "hs", "lag")
        .agg(sy=pl.col("y").sum(), syy=(pl.col("y") ** 2).sum())
    )
    sxy = (
        ox.join(
            hd.rename({"period": "ty"}),
            on=["hub", "hs", "ty"],
        )
        .group_by(*ROUTE_KEY, "lag")
        .agg(sxy=(pl.col("x") * pl.col("y")).sum())
    )
    k = list(ROUTE_KEY)
    n_l = pl.lit(n) - pl.col("lag") * 1
    grid = (
        keys.join(lag_df, how="cross")
        .join(sx, on=["origin", "hub", "hs", "lag"], how="left")
        .join(sy, on=["hub", "destination", "hs", "lag"], how="left")
        .join(sxy, on=[*k, "lag"], how="left")
        .with_columns(pl.col("sx", "sxx", "sy", "syy", "sxy").fill_null(0.0))
        .with_columns(
            r=(n_l * pl.col("sxy") - pl.col("sx") * pl.col("sy"))
            / (
                (n_l * pl.col("sxx") - pl.col("sx") ** 2).clip(lower_bound=0.0)
                * (n_l * pl.col("syy") - pl.col("sy") ** 2).clip(lower_bound=0.0)
            ).sqrt()
        )
        .with_columns(r=pl.when(pl.col("r").is_finite()).then(pl.col("r").clip(-1.0, 1.0)))
    )
    return (
        grid.sort([*k, "lag"])
        .group_by(k)
        .agg(
            comove=pl.col("r").max(),
            comove_lag=pl.col("lag").filter(pl.col("r") == pl.col("r").max()).first(),
        )
    )


# ------------------------------------------------------------------ assembly
#: A destination that files imports in less than this share of the post periods is silent.
SILENT_SHARE: Final = 0.75


def hd_under_recorded() -> pl.Expr:
    """The hub→destination leg may record less than passed through the hub.

    Either the destination filed nothing in some post months, so the leg rests on the
    hub's own export declarations (Russia stopped publishing in 2022), or hub and
    destination form a customs union without a customs border (EAEU), whose mutual
    exports are known to be under-recorded: the EBRD found half of the EU's extra
    exports to Armenia, Kazakhstan and Kyrgyzstan never recorded on arrival
    (docs/methods.md#arrival-ratio-and-lost-in-transit).
    """
    eaeu = list(bloc_members("EAEU"))
    # the destination filed imports in less than three quarters of the post periods
    one_sided = pl.col("dest_import_share_post").fill_null(1.0) < SILENT_SHARE
    union = pl.col("hub").is_in(eaeu) & pl.col("destination").is_in(eaeu)
    return one_sided | union


def hub_declared_ratio() -> pl.Expr:
    """How the hub's declared exports to the destination moved in every other product.

    ``min(1, hub_oth_p / hub_oth_b)``: below 1 when the hub's declarations to the
    destination fell across the board (under-declaration, or a destination that went
    silent so that only the hub's own declarations remain). Null without a baseline.
    """
    b, p = pl.col("hub_oth_b"), pl.col("hub_oth_p")
    return pl.when((b > 0) & (p > 0)).then((p / b).clip(1.0 / RATIO_CAP, 1.0))


#: Post statistics of the hub→destination leg that :func:`route_features` measures
#: against the hub's declarations in other products when the leg is under-recorded.
_HD_POST_LEVELS: Final = (
    "hd_p_mean_v", "hd_p_lvl_v", "hd_p_low_v", "hd_p_sd_v", "hd_p_max_v", "hd_p_mean_kg",
    "hd_p_lvl_kg",
)  # fmt: skip


#: Window statistics of the hub→destination leg that :func:`importer_basis` rescales,
#: by window: the post ones are the same as above.
_HD_LEVELS: Final = {
    "b": ("hd_b_mean_v", "hd_b_lvl_v", "hd_b_sd_v", "hd_b_mean_kg", "hd_b_lvl_kg"),
    "p": _HD_POST_LEVELS,
}


def importer_basis(window: str) -> pl.Expr:
    """The destination's record of the hub→destination leg against the leg's value.

    ``Σ M_fob / Σ best_value`` over the periods of ``window`` (``b`` or ``p``) that both
    the hub and the destination reported; null when no period was reported by both.
    :func:`route_features` uses it only when the destination files imports in the post
    window (not silent, :data:`SILENT_SHARE`): a reporter that stopped in the event
    year filed part of that year, and its annual record is not the hub's year.
    The leg's value is a reliability-weighted mean of the two sides' records, and the
    hub's export declarations are the weak side of this leg: exports are recorded by
    the last known destination, not checked at a border where duty is due, and a hub
    that passes goods on may declare a fraction of them, so its declarations can fall
    while the goods keep arriving. Freund's implementation measures the flows on the
    importer's record for this reason, the exporter's only as a fallback
    (docs/methods.md#importer-basis-of-the-hub-destination-leg).
    """
    imp, paired = pl.col(f"hd_{window}_imp"), pl.col(f"hd_{window}_paired_v")
    return pl.when((imp > 0) & (paired > 0)).then(imp / paired)


def route_features(table: pl.LazyFrame, n_post: int, n_baseline: int) -> pl.LazyFrame:
    """Add every feature of :data:`REGISTRY` that has an expression to the wide route table.

    Where both sides of the hub→destination leg reported in both windows, the leg's
    window statistics are first put on the destination's record
    (:func:`importer_basis`), so that a hub cutting its declarations does not read as a
    fall of the route. Otherwise, where the leg is under-recorded
    (:func:`hd_under_recorded`) and the hub's declarations to the destination fell in
    every other product (:func:`hub_declared_ratio` < 1), the leg's post statistics are
    divided by that ratio: a difference in differences against the hub's other
    products, so that a fall common to all of the hub's declarations does not read as a
    fall of the route.
    """
    t = table.with_columns(
        _n_post=pl.lit(n_post, dtype=pl.Float64),
        _n_baseline=pl.lit(n_baseline, dtype=pl.Float64),
        **{f.name: f.expr() for f in REGISTRY if f.first and f.expr is not None},
    )
    basis = {w: importer_basis(w) for w in ("b", "p")}
    # a destination that went silent may have filed part of a year: no basis then
    files = pl.col("dest_import_share_post").fill_null(1.0) >= SILENT_SHARE
    on_importer = basis["b"].is_not_null() & basis["p"].is_not_null() & files
    deflate = (
        pl.when(pl.col("hd_under_recorded") & ~on_importer)
        .then(pl.col("hub_declared_ratio").fill_null(1.0))
        .otherwise(1.0)
    )
    rescale = {w: pl.when(on_importer).then(basis[w]).otherwise(1.0) for w in ("b", "p")}
    levels = [(pl.col(c) * rescale[w]).alias(c) for w, cols in _HD_LEVELS.items() for c in cols]
    t = t.with_columns(levels).with_columns(
        [(pl.col(c) / deflate).alias(c) for c in _HD_POST_LEVELS]
    )
    return t.with_columns(
        **{f.name: f.expr() for f in REGISTRY if not f.first and f.expr is not None}
    )


# ------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class Feature:
    """One feature column of the route table: its name, what it means, how it is made.

    Attributes:
        name: The column of ``RouteTable.routes``.
        doc: One line on what it measures (tooltips, ``rerouting columns``, the docs).
        expr: Builds its ``pl.Expr`` over the wide route table; ``None`` for the
            co-movement columns, which :func:`comovement` computes and the scan joins.
        model: An input of the anomaly score and the classifier.
        log: Read on a log scale in the model matrix (a ratio).
        first: Computed before the others, which read the legs it adjusts.
        unit: Its unit in the route table (``currency``: the table's currency column).
        kind: How outputs round it (:data:`rerouting._columns.Kind`).
    """

    name: str
    doc: str
    expr: Callable[[], pl.Expr] | None = None
    model: bool = False
    log: bool = False
    first: bool = False
    unit: str = ""
    kind: Kind = "measure"


#: Every feature column of ``RouteTable.routes``, in order: the one home of each
#: feature's name, formula and meaning.
REGISTRY: Final[tuple[Feature, ...]] = (
    Feature(
        "direct_change",
        "direct origin→destination flow: relative change of the mean, post vs pre",
        direct_change,
        model=True,
        unit="relative change (−0.95 = −95%)",
    ),
    Feature(
        "oh_ratio_value",
        "origin→hub leg: robust post level / baseline level, value",
        lambda: growth("oh", "v"),
        model=True,
        log=True,
        unit=_RATIO_UNIT,
    ),
    Feature(
        "oh_ratio_kg",
        "origin→hub leg: robust post level / baseline level, kg",
        lambda: growth("oh", "kg"),
        model=True,
        log=True,
        unit=_RATIO_UNIT,
    ),
    Feature(
        "hd_ratio_value",
        "hub→destination leg: robust post level / baseline level, value",
        lambda: growth("hd", "v"),
        model=True,
        log=True,
        unit=_RATIO_UNIT,
    ),
    Feature(
        "hd_ratio_kg",
        "hub→destination leg: robust post level / baseline level, kg",
        lambda: growth("hd", "kg"),
        model=True,
        log=True,
        unit=_RATIO_UNIT,
    ),
    Feature(
        "oh_excess_value",
        "origin→hub leg: robust monthly excess over baseline, value",
        lambda: excess("oh", "v"),
        unit="currency per period",
        kind="money",
    ),
    Feature(
        "hd_excess_value",
        "hub→destination leg: robust monthly excess over baseline, value",
        lambda: excess("hd", "v"),
        unit="currency per period",
        kind="money",
    ),
    Feature(
        "oh_excess_kg",
        "origin→hub leg: robust monthly excess over baseline, kg",
        lambda: excess("oh", "kg"),
        unit="kg per period",
        kind="kg",
    ),
    Feature(
        "hd_excess_kg",
        "hub→destination leg: robust monthly excess over baseline, kg",
        lambda: excess("hd", "kg"),
        unit="kg per period",
        kind="kg",
    ),
    Feature(
        "balance_kg",
        "min/max of the two hub legs' kg excess (mass in ≈ mass out)",
        balance_kg,
        model=True,
        unit="share 0–1",
    ),
    Feature(
        "substitution_ratio",
        "hub legs' excess / fall of the direct flow (EBRD substitution ratio)",
        substitution_ratio,
        model=True,
        unit="ratio 0–10",
    ),
    Feature(
        "pass_through",
        "Σ_post min(origin→hub, hub→destination), value (Iyoha upper bound)",
        pass_through,
        unit="currency, whole post window",
        kind="money",
    ),
    Feature(
        "freund_c2",
        "Freund C2: origin loses share at destination, hub gains at both ends",
        freund_c2,
        unit="true/false",
        kind="flag",
    ),
    Feature(
        "freund_c4",
        "Freund C4: hub's imports from origin ≥ 0.75 × its exports to destination",
        freund_c4,
        unit="true/false",
        kind="flag",
    ),
    Feature(
        "freund_t",
        "Freund excess-flow transshipment value T (per post month)",
        freund_t,
        unit="currency per post period",
        kind="money",
    ),
    Feature(
        "comove_kg",
        "best-lag correlation of the two hub legs' monthly kg",
        model=True,
        unit="correlation −1–1",
    ),
    Feature(
        "comove_lag_kg",
        "lag (months) of that best correlation, kg",
        unit="months",
        kind="count",
    ),
    Feature(
        "comove_value",
        "best-lag correlation of the two hub legs' monthly value",
        model=True,
        unit="correlation −1–1",
    ),
    Feature(
        "comove_lag_value",
        "lag (months) of that best correlation, value",
        unit="months",
        kind="count",
    ),
    Feature(
        "uv_gap_legs",
        "|ln(unit value hub→destination / unit value origin→hub)|, post",
        lambda: uv_gap("hd", "p", "oh", "p"),
        model=True,
        unit="|ln ratio| (0 = equal, 0.69 = ×2)",
    ),
    Feature(
        "uv_gap_direct",
        "|ln(unit value hub→destination post / direct unit value baseline)|",
        lambda: uv_gap("hd", "p", "dr", "b"),
        model=True,
        unit="|ln ratio| (0 = equal, 0.69 = ×2)",
    ),
    Feature(
        "uv_gap_excess",
        "|ln(unit value of the hub→destination excess / of the origin→hub excess)|",
        uv_gap_excess,
        unit="|ln ratio| (0 = equal, 0.69 = ×2)",
    ),
    Feature(
        "price_effect",
        "largest (ln value ratio − ln kg ratio) over the hub legs: price, not volume",
        price_effect,
        model=True,
        unit="ln ratio difference",
    ),
    Feature(
        "novelty",
        "a hub leg had (almost) no trade in the baseline",
        novelty,
        model=True,
        unit="true/false",
        kind="flag",
    ),
    Feature(
        "persistence",
        "share of the hub legs' mean rise carried by the typical month (level shift)",
        persistence,
        model=True,
        unit="share 0–1",
    ),
    Feature(
        "oh_shift_z",
        "origin→hub leg: post − baseline mean in kg over its standard error (t-like)",
        lambda: shift_z("oh"),
        unit="standard errors (t-like)",
    ),
    Feature(
        "hd_shift_z",
        "hub→destination leg: post − baseline mean in kg over its standard error",
        lambda: shift_z("hd"),
        unit="standard errors (t-like)",
    ),
    Feature(
        "dest_other_growth",
        "destination's imports of the product from all other partners, ratio",
        dest_other_growth,
        model=True,
        log=True,
        unit="ratio post/baseline (×)",
    ),
    Feature(
        "hub_other_growth",
        "hub's exports to the destination of all other products, ratio",
        hub_other_growth,
        model=True,
        log=True,
        unit="ratio post/baseline (×)",
    ),
    Feature(
        "hub_import_growth",
        "hub's imports of the product from all other partners, ratio",
        hub_import_growth,
        model=True,
        log=True,
        unit="ratio post/baseline (×)",
    ),
    Feature(
        "hub_plausibility",
        "hub→destination excess / hub's own baseline exports of the product",
        hub_plausibility,
        model=True,
        log=True,
        unit=f"ratio (capped at {RATIO_CAP:g})",
    ),
    Feature(
        "hd_under_recorded",
        "hub→destination leg may under-record: silent destination, customs union",
        hd_under_recorded,
        first=True,
        unit="true/false",
        kind="flag",
    ),
    Feature(
        "hub_declared_ratio",
        "hub's exports to the destination, other products: post/baseline, ≤ 1",
        hub_declared_ratio,
        first=True,
        unit="ratio post/baseline (×, ≤ 1)",
    ),
    Feature(
        "gap_oh",
        "relative mirror gap on the origin→hub leg, post (−: lost in transit)",
        lambda: mirror_gap("oh"),
        model=True,
        unit="relative gap (−0.1 = 10% lost)",
    ),
    Feature(
        "gap_hd",
        "relative mirror gap on the hub→destination leg, post",
        lambda: mirror_gap("hd"),
        model=True,
        unit="relative gap (−0.1 = 10% lost)",
    ),
    Feature(
        "materiality",
        "smaller hub leg's excess over the post window, money",
        materiality,
        unit="currency, whole post window",
        kind="money",
    ),
)
#: Feature name → one-line meaning, in column order.
FEATURES: Final[dict[str, str]] = {f.name: f.doc for f in REGISTRY}
#: Features fed to the anomaly score and the classifier, in column order.
MODEL_FEATURES: Final[tuple[str, ...]] = tuple(f.name for f in REGISTRY if f.model)
#: Model features read on a log scale.
LOG_FEATURES: Final[frozenset[str]] = frozenset(f.name for f in REGISTRY if f.log)
