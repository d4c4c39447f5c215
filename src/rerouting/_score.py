"""Scores that rank routes: evidence, learned, anomaly, baselines, a classifier.

``evidence`` (``evidence_score``; :func:`default_score` computes it)
    Evidence terms in [0, 1], each a documented transform of one or two features
    (:data:`TERMS`), combined as ``gate × Σ_i w_i e_i / Σ_i w_i``. The gate is
    the soft AND of the two hub legs' growth (a route needs goods in *and* out);
    the weighted mean says how well the rest of the evidence fits rerouting. The
    contributions ``contrib_<term> = gate × w_i e_i / Σ w`` sum to it. A
    term whose inputs are missing (a leg nobody reports) is left out of both sums.

``learned`` (``learned_score``; :mod:`rerouting._learned`)
    Gradient-boosted trees, monotone in the evidence, on the features and on the gates
    and terms above, fitted on development worlds. ``default`` ranks by it where every
    route has both hub legs recorded, and by the evidence score elsewhere.

``iforest_score``
    IsolationForest anomaly score (Liu, Ting & Zhou 2008) on the standardised
    features: ``s = 2^{−E[h(x)] / c(n)}`` in (0, 1], higher = more isolated.

Baselines (``scorer=``)
    ``ec-surge`` (European Commission rule, docs/methods.md#baseline-ec-surge-rule), ``freund``
    (criteria,
    docs/methods.md#features-freund-criteria-and-excess-flows) and ``both-up`` (both hub legs up).
    Each is a score in [0, 1]
    whose flag (``<name>_flag``) holds exactly when the score is ≥ 0.5; flagged
    routes are ordered by the rule's own magnitude.

:class:`rerouting._classifier.RouteClassifier`
    A supervised scorer with the scikit-learn estimator contract, for users with
    labelled cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import polars as pl

from rerouting._exceptions import ConfigError, InputError
from rerouting.features import LOG_FEATURES, MODEL_FEATURES

if TYPE_CHECKING:
    import numpy.typing as npt

    from rerouting._classifier import RouteClassifier

__all__ = [
    "MODEL_FEATURES",
    "SCORERS",
    "TERMS",
    "ScorerSpec",
    "baseline_scores",
    "default_score",
    "get_scorer_names",
    "iforest_score",
]


@dataclass(frozen=True)
class ScorerSpec:
    """A named scorer: the name users type, the column of the wide table it reads, its doc."""

    name: str
    column: str
    doc: str


#: The one registry of named scorers: the scenario, the CLI choices and ``scan`` read it.
#: A fitted ``RouteClassifier`` passed to ``scan`` is recorded as ``supervised``.
SCORERS: Final[dict[str, ScorerSpec]] = {
    s.name: s
    for s in (
        ScorerSpec(
            "default",
            "learned_score",
            "the learned score where every route has both hub legs recorded, else the "
            "evidence score",
        ),
        ScorerSpec("evidence", "evidence_score", "gated weighted mean of the evidence terms"),
        ScorerSpec("ec-surge", "ec_surge", "European Commission surge rule"),
        ScorerSpec("freund", "freund", "Freund et al. criteria"),
        ScorerSpec("both-up", "both_up", "both hub legs up"),
        ScorerSpec("isolation-forest", "iforest_score", "IsolationForest anomaly score"),
        ScorerSpec(
            "learned",
            "learned_score",
            "boosted trees of the features, monotone in the evidence, fitted on development worlds",
        ),
    )
}
#: What a scenario records when a fitted classifier ranked the routes.
SUPERVISED: Final = "supervised"


def get_scorer_names() -> list[str]:
    """The names ``scan(scorer=...)`` and ``--scorer`` accept."""
    return list(SCORERS)


#: EC rule thresholds (docs/methods.md#baseline-ec-surge-rule): ≥ +100% against the baseline, > €1m
#: a year.
EC_SURGE: Final = 1.0
EC_MIN_VALUE: Final = 1_000_000.0
#: Unit values of the two hub legs' excess further apart than this factor are not the
#: same goods passing through (a resale markup and freight add a few per cent).
SAME_GOODS_UV: Final = 1.5


def _sigmoid(x: pl.Expr) -> pl.Expr:
    return 1.0 / (1.0 + (-x).exp())


def _growth_evidence(ratio: pl.Expr) -> pl.Expr:
    """0.5 at ×1.5, 0.88 at ×2.7, 0.12 at flat: a leg "rose" when it grew by half or more."""
    return _sigmoid((ratio.log() - math.log(1.5)) / 0.35)


@dataclass(frozen=True)
class Term:
    """One evidence term of the default score."""

    name: str
    weight: float
    expr: pl.Expr
    doc: str


def _hub_leg_growth(leg: str) -> pl.Expr:
    # Volume first: kg cannot be inflated by a price rise
    # (docs/methods.md#features-co-movement-of-the-hub-legs, Nouwen).
    return pl.coalesce(pl.col(f"{leg}_ratio_kg"), pl.col(f"{leg}_ratio_value"))


#: A leg's level shift counts as sure at this many standard errors (0.5 at z = 3).
SHIFT_Z: Final = 3.0


def _leg_rose(leg: str) -> pl.Expr:
    """The larger of two kinds of evidence that a leg rose: growth, or a sure shift.

    A hub with large trade of its own in the product shows a route as a small but
    steady rise: the growth ratio barely moves, the level shift is many standard errors.
    """
    shift = _sigmoid((pl.col(f"{leg}_shift_z") - SHIFT_Z) / 0.75)
    return pl.max_horizontal(_growth_evidence(_hub_leg_growth(leg)), shift)


def _balance(expr: pl.Expr) -> pl.Expr:
    """``expr``, or unknown where the outflow may be lost in transit.

    When the hub→destination leg is under-recorded (:func:`rerouting.features.hd_under_recorded`)
    and carries less mass than the inflow, the shortfall is what the destination never
    recorded, not goods the hub kept: the mass balance is left out instead of counting
    against the route (docs/methods.md#arrival-ratio-and-lost-in-transit).
    """
    short = pl.coalesce(pl.col("hd_excess_kg"), pl.col("hd_excess_value")) < pl.coalesce(
        pl.col("oh_excess_kg"), pl.col("oh_excess_value")
    )
    uncorrected = pl.col("hub_declared_ratio").is_null()
    lost = pl.col("hd_under_recorded").fill_null(False) & uncorrected & short
    return pl.when(lost).then(None).otherwise(expr)


def _gates() -> tuple[Term, ...]:
    return (
        Term(
            "inflow",
            1.0,
            _leg_rose("oh"),
            "origin→hub rose: grew by half or more (kg, else value; logistic in ln growth, "
            "0.5 at ×1.5) or shifted by a sure margin (0.5 at 3 standard errors)",
        ),
        Term(
            "outflow",
            1.0,
            _leg_rose("hd"),
            "hub→destination rose: grew by half or more (kg, else value; logistic in ln "
            "growth, 0.5 at ×1.5) or shifted by a sure margin (0.5 at 3 standard errors)",
        ),
        Term(
            "balance",
            1.0,
            _balance(_sigmoid((pl.col("balance_kg") - 0.25) / 0.08)),
            "mass in ≈ mass out: the smaller leg's kg excess is at least a quarter of the "
            "larger's (0.5 at 0.25; Freund C4 applied to the excess, "
            "docs/methods.md#features-freund-criteria-and-excess-flows); left out where "
            "an under-recorded outflow is the smaller leg (lost in transit)",
        ),
        Term(
            "direct",
            1.0,
            _sigmoid(((-pl.col("direct_change")) - 0.3) / 0.1),
            "the direct flow fell: 0.5 at −30% (a sanction that binds, EBRD "
            "docs/methods.md#features-growth-and-excess)",
        ),
        Term(
            "same_goods",
            1.0,
            _sigmoid((math.log(SAME_GOODS_UV) - pl.col("uv_gap_excess")) / 0.1),
            "the goods added on the two hub legs are the same goods: their unit values "
            "within a factor 1.5 (0.5 at ×1.5; a markup and freight explain a few per "
            "cent, not half; docs/methods.md#features-unit-values-and-price-effects, "
            "docs/methods.md#features-unit-values-and-price-effects)",
        ),
    )


def _terms() -> tuple[Term, ...]:
    spec_hd = _hub_leg_growth("hd").log() - pl.max_horizontal(
        pl.col("dest_other_growth").log(), pl.col("hub_other_growth").log()
    )
    spec_oh = _hub_leg_growth("oh").log() - pl.col("hub_import_growth").log()
    return (
        Term(
            "balance_kg",
            1.5,
            _balance(pl.col("balance_kg")),
            "mass in ≈ mass out: min/max of the hub legs' kg excess (Freund C4, "
            "docs/methods.md#features-freund-criteria-and-excess-flows); left out where "
            "an under-recorded outflow is the smaller leg",
        ),
        Term(
            "direct_drop",
            1.0,
            (-pl.col("direct_change")).clip(0.0, 1.0),
            "the direct flow fell (EBRD substitution, docs/methods.md#features-growth-and-excess): "
            "−Δ direct, clipped to [0, 1]",
        ),
        Term(
            "comove",
            1.5,
            pl.col("comove_kg").fill_null(pl.col("comove_value")).clip(0.0, 1.0),
            "the hub legs co-move at their best lag (Liu & Shi, "
            "docs/methods.md#features-co-movement-of-the-hub-legs): r⁺ in kg",
        ),
        Term(
            "uv_match",
            1.0,
            (-pl.col("uv_gap_legs") / 0.5).exp(),
            "same goods in and out: exp(−|ln UV_hd/UV_oh| / 0.5) "
            "(docs/methods.md#features-unit-values-and-price-effects)",
        ),
        Term(
            "specific",
            1.5,
            _sigmoid((pl.min_horizontal(spec_hd, spec_oh) - math.log(1.5)) / 0.35),
            "growth beyond the controls (destination's other suppliers, hub's other "
            "products and other sources): difference in differences "
            "(docs/methods.md#features-growth-and-excess, docs/methods.md#features-controls)",
        ),
        Term(
            "persistence",
            1.0,
            pl.col("persistence"),
            "share of the legs' mean rise carried by the typical month (one or two spikes "
            "score low, a shifted level high)",
        ),
        Term(
            "volume_not_price",
            1.0,
            (-(pl.col("price_effect").clip(lower_bound=0.0)) / 0.5).exp(),
            "growth in kg, not only in price: exp(−max(0, ln r_value − ln r_kg) / 0.5)",
        ),
    )


GATES: Final = _gates()
TERMS: Final = _terms()


def gate_expr(gates: tuple[Term, ...] = GATES) -> pl.Expr:
    """Product of the gate factors that are known (a missing leg's factor is left out)."""
    known = [pl.col(f"gate_{g.name}") for g in gates] or [pl.lit(1.0)]
    legs = [
        pl.col(f"gate_{g.name}").is_not_null() for g in gates if g.name in ("inflow", "outflow")
    ]
    any_leg = pl.any_horizontal(legs) if legs else pl.lit(True)
    prod = known[0].fill_null(1.0)
    for k in known[1:]:
        prod = prod * k.fill_null(1.0)
    return pl.when(any_leg).then(prod).otherwise(0.0)


def default_score(
    features: pl.DataFrame,
    gates: tuple[Term, ...] = GATES,
    terms: tuple[Term, ...] = TERMS,
) -> pl.DataFrame:
    """The transparent default score and its decomposition.

    ``score = gate × Σ_i w_i e_i / Σ_i w_i``. Returns ``features`` with one
    ``gate_<name>`` column per :data:`GATES` factor (null when unknown), their
    product ``gate``, ``score`` and one ``contrib_<term>`` column per :data:`TERMS`
    entry; the contributions sum to ``score``. ``gates`` and ``terms`` default to
    :data:`GATES` and :data:`TERMS`; the ablation in ``benchmarks/evaluate_detection.py``
    passes them with one removed.
    """
    ev = features.with_columns(
        **{f"gate_{g.name}": g.expr.cast(pl.Float64).fill_nan(None) for g in gates},
        **{f"_e_{t.name}": t.expr.cast(pl.Float64).fill_nan(None) for t in terms},
    ).with_columns(gate=gate_expr(gates))
    wsum = pl.sum_horizontal(
        pl.when(pl.col(f"_e_{t.name}").is_not_null()).then(t.weight).otherwise(0.0) for t in terms
    )
    out = ev.with_columns(_wsum=wsum).with_columns(
        **{
            f"contrib_{t.name}": pl.when(pl.col("_wsum") > 0)
            .then(
                pl.col("gate") * t.weight * pl.col(f"_e_{t.name}").fill_null(0.0) / pl.col("_wsum")
            )
            .otherwise(0.0)
            for t in terms
        }
    )
    out = out.with_columns(
        score=pl.sum_horizontal(pl.col(f"contrib_{t.name}") for t in terms).clip(0.0, 1.0)
    )
    return out.drop([f"_e_{t.name}" for t in terms] + ["_wsum"])


# ------------------------------------------------------------------ baselines
def _flagged(flag: pl.Expr, money: pl.Expr, scale: float) -> pl.Expr:
    """A rule as a score: ``0.5 + 0.5·m/(1+m)`` when flagged, ``0.495·m/(1+m)`` otherwise.

    ``m = money / scale`` (money ≥ 0), so flagged routes come first, each group
    ordered by the money the rule measures, the way such lists are read.
    """
    m = (money.fill_null(0.0).fill_nan(0.0).clip(lower_bound=0.0)) / scale
    frac = m / (1.0 + m)
    return pl.when(flag.fill_null(False)).then(0.5 + 0.5 * frac).otherwise(0.495 * frac)


def baseline_scores(features: pl.DataFrame, *, ec_min_value: float = EC_MIN_VALUE) -> pl.DataFrame:
    """Add the named baseline rules as flags (``<name>_flag``) and scores.

    - ``ec_surge``: the flow via the hub (hub→destination; origin→hub when that leg
      is missing) is ≥ +100% against its baseline mean and worth more than
      ``ec_min_value`` a year in the post window (EC rule, docs/methods.md#baseline-ec-surge-rule).
      Ordered by that flow's yearly excess over its baseline.
    - ``freund``: C2 ∧ C4 ∧ T > 0 (docs/methods.md#features-freund-criteria-and-excess-flows).
    Ordered by T (money).
    - ``both_up``: both hub legs' means are above their baseline means. Ordered by
      the smaller leg's excess (money).

    Each score is ≥ 0.5 exactly when its flag holds.
    """
    per_year = pl.col("_per_year")
    via_b = pl.coalesce(pl.col("hd_b_mean_v"), pl.col("oh_b_mean_v"))
    via_p = pl.coalesce(pl.col("hd_p_mean_v"), pl.col("oh_p_mean_v"))
    surge = pl.when(via_b > 0).then(via_p / via_b - 1.0).when(via_p > 0).then(RATIO_INF)
    ec_flag = (surge >= EC_SURGE) & (via_p * per_year > ec_min_value)
    t = pl.col("freund_t")
    fr_flag = pl.col("freund_c2") & pl.col("freund_c4") & (t > 0)
    d_oh = pl.col("oh_p_mean_v") - pl.col("oh_b_mean_v")
    d_hd = pl.col("hd_p_mean_v") - pl.col("hd_b_mean_v")
    both_flag = (d_oh > 0) & (d_hd > 0)
    return features.with_columns(
        ec_surge_flag=ec_flag.fill_null(False),
        freund_flag=fr_flag.fill_null(False),
        both_up_flag=both_flag.fill_null(False),
        ec_surge=_flagged(ec_flag, (via_p - via_b) * per_year, ec_min_value),
        freund=_flagged(fr_flag, t * per_year, ec_min_value),
        both_up=_flagged(both_flag, pl.min_horizontal(d_oh, d_hd) * per_year, ec_min_value),
    )


RATIO_INF: Final = 1e6


def feature_matrix(
    frame: pl.DataFrame, features: tuple[str, ...] = MODEL_FEATURES
) -> npt.NDArray[np.float64]:
    """Numeric matrix of ``features`` (ratios on a log scale, NaN where unknown)."""
    cols = []
    for f in features:
        if f not in frame.columns:
            raise InputError(
                "feature column missing", column=f, hint="pass RouteTable.routes or scan output"
            )
        c = pl.col(f).cast(pl.Float64)
        if f in LOG_FEATURES:
            c = (c + 1e-6).log()
        cols.append(c.fill_nan(None).alias(f))
    out: npt.NDArray[np.float64] = frame.select(cols).to_numpy().astype(np.float64)
    return out


def _column_medians(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Median of each column ignoring NaN; 0 for a column with no value (no warning)."""
    out = np.zeros(x.shape[1], dtype=np.float64)
    for j in range(x.shape[1]):  # a loop over ~20 feature columns, not over rows
        col = x[:, j]
        col = col[~np.isnan(col)]
        if col.size:
            out[j] = float(np.median(col))
    return out


def _impute(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.where(np.isnan(x), _column_medians(x), x)


def iforest_score(frame: pl.DataFrame, *, random_state: int = 0) -> pl.Series:
    """IsolationForest anomaly score in (0, 1] (higher = more isolated)."""
    from sklearn.ensemble import IsolationForest

    if frame.height < 2:
        return pl.Series("iforest_score", [None] * frame.height, dtype=pl.Float64)
    x = _impute(feature_matrix(frame))
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    model = IsolationForest(n_estimators=100, random_state=random_state).fit(x)
    return pl.Series("iforest_score", -model.score_samples(x), dtype=pl.Float64)


def check_scorer(scorer: Any) -> str | RouteClassifier:
    """Validate ``scorer``: a name in :data:`SCORERS` or a fitted classifier."""
    if isinstance(scorer, str):
        if scorer not in SCORERS:
            raise ConfigError(
                "unknown scorer",
                column="scorer",
                value=scorer,
                hint=f"one of {', '.join(get_scorer_names())}",
            )
        return scorer
    if hasattr(scorer, "predict_proba"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(scorer)
        return scorer  # type: ignore[no-any-return]
    raise ConfigError(
        "scorer must be a name or a fitted classifier",
        column="scorer",
        value=type(scorer).__name__,
        hint=f"one of {', '.join(get_scorer_names())}, or RouteClassifier().fit(...)",
    )
