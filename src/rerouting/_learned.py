"""The learned score: an additive logistic model of the route features, fitted on worlds.

``learned_score = σ(b + Σ_f s_f(x_f))``. Each input ``x_f`` is a feature of the route
table (ratios on a log scale) or a gate factor or evidence term of the default score
(gates on a log scale). Each shape ``s_f`` is a cubic spline of the standardised input
(5 knots, constant beyond the training range), fitted jointly by an L2-penalised
logistic regression with balanced classes: a generalised additive model (Hastie &
Tibshirani 1986; scikit-learn's ``SplineTransformer`` + ``LogisticRegression``). A
missing input takes the training median and its own missing-value coefficient.

The fitted shapes ship as tables in ``_data/learned_score.json`` (the input value on a
grid and ``s_f`` there; linear between grid points, constant beyond the ends), so that
scoring needs no pickled estimator, and each route's log-odds split into one
contribution per input (``learned_contributions``). ``benchmarks/train_scorer.py`` writes
the file from the development worlds of ``rerouting._evaluate.DEV_SEEDS`` only; the
held-out seeds are never seen by it (docs/detection.md#learned-score).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import polars as pl

from rerouting._score import GATES, TERMS

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "INPUTS",
    "fit_learned",
    "learned_contributions",
    "learned_inputs",
    "learned_score",
    "load_learned",
]

#: Features read on a log scale (growth ratios; clipped at 1e-3 first).
_LOG: Final = frozenset(
    {
        "oh_ratio_value",
        "oh_ratio_kg",
        "hd_ratio_value",
        "hd_ratio_kg",
        "dest_other_growth",
        "hub_other_growth",
        "hub_import_growth",
    }
)
#: Route-table features the model reads as they are (or on a log scale, see _LOG).
_RAW: Final = (
    "direct_change",
    "oh_ratio_kg",
    "hd_ratio_kg",
    "oh_ratio_value",
    "hd_ratio_value",
    "balance_kg",
    "substitution_ratio",
    "comove_kg",
    "uv_gap_excess",
    "uv_gap_legs",
    "price_effect",
    "persistence",
    "oh_shift_z",
    "hd_shift_z",
    "dest_other_growth",
    "hub_other_growth",
    "hub_import_growth",
    "novelty",
    "uv_gap_direct",
    "comove_value",
    "hd_under_recorded",
    "gap_oh",
    "gap_hd",
)
#: The model's inputs, in order: log gate factors, evidence terms, raw features.
INPUTS: Final[tuple[str, ...]] = (
    *(f"ln_gate_{g.name}" for g in GATES),
    *(f"term_{t.name}" for t in TERMS),
    *_RAW,
)
#: Spline knots and degree per input, and grid points of each shipped shape table.
_KNOTS: Final = 5
_DEGREE: Final = 3
_GRID: Final = 65
#: Inverse regularisation strength of the logistic regression.
_C: Final = 1.0
_FILE: Final = "learned_score.json"


def learned_inputs(wide: pl.DataFrame) -> pl.DataFrame:
    """The model's inputs (:data:`INPUTS`) as Float64 columns, null where unknown.

    ``wide`` is a route table with the features and the default score's ``gate_*``
    columns (as :func:`rerouting._score.default_score` returns it).
    """

    def clean(e: pl.Expr) -> pl.Expr:
        e = e.cast(pl.Float64)
        return pl.when(e.is_finite()).then(e)

    cols: list[pl.Expr] = []
    for g in GATES:
        gate = pl.col(f"gate_{g.name}").clip(1e-4, 1.0).log()
        cols.append(clean(gate).alias(f"ln_gate_{g.name}"))
    for t in TERMS:
        cols.append(clean(t.expr).alias(f"term_{t.name}"))
    for c in _RAW:
        x = pl.col(c).cast(pl.Float64)
        cols.append(clean(x.clip(lower_bound=1e-3).log() if c in _LOG else x).alias(c))
    return wide.select(cols)


def _matrix(frame: pl.DataFrame, inputs: tuple[str, ...] = INPUTS) -> npt.NDArray[np.float64]:
    return learned_inputs(frame).select(inputs).to_numpy().astype(np.float64)


def fit_learned(
    routes: pl.DataFrame,
    y: Any,
    *,
    inputs: tuple[str, ...] = INPUTS,
    random_state: int = 0,
) -> dict[str, Any]:
    """Fit the additive model on labelled routes; return its shape tables (JSON-ready).

    Args:
        routes: route tables of labelled worlds (features and ``gate_*`` columns).
        y: one bool per row, ``True`` for a planted route.
        inputs: the inputs to fit on (default :data:`INPUTS`; the ablation leaves one out).
        random_state: passed to the solver (the fit is deterministic for lbfgs).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer, StandardScaler

    x = _matrix(routes, inputs)
    n = x.shape[1]
    spline = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        SplineTransformer(n_knots=_KNOTS, degree=_DEGREE, extrapolation="constant"),
    )
    design = ColumnTransformer(
        [
            ("shape", spline, list(range(n))),
            ("missing", MissingIndicator(features="all"), list(range(n))),
        ]
    )
    model = make_pipeline(
        design,
        LogisticRegression(C=_C, class_weight="balanced", max_iter=5000, random_state=random_state),
    )
    model.fit(x, np.asarray(y, dtype=bool))
    fitted = model[0].named_transformers_["shape"]
    imputer, scaler = fitted[0], fitted[1]
    coef = model[-1].coef_[0]
    basis_per = _KNOTS + _DEGREE - 1  # SplineTransformer: n_knots + degree - 1 columns each
    shape_coef = coef[: n * basis_per].reshape(n, basis_per)
    missing_coef = coef[n * basis_per :]
    lo = np.nanmin(x, axis=0)
    hi = np.nanmax(x, axis=0)
    shapes: dict[str, Any] = {}
    for i, name in enumerate(inputs):
        a, b = (0.0, 0.0) if not np.isfinite(lo[i]) else (float(lo[i]), float(hi[i]))
        grid = np.linspace(a, b, _GRID) if b > a else np.array([a])
        z = np.full((grid.size, n), np.nan)
        z[:, i] = grid
        # Only column i varies; the others sit at their medians (their share cancels below).
        basis = fitted[2].transform(scaler.transform(imputer.transform(_fill(z, imputer))))
        s = basis.reshape(grid.size, n, basis_per)[:, i, :] @ shape_coef[i]
        med = float(imputer.statistics_[i])
        s_med = float(np.interp(med, grid, s)) if grid.size > 1 else float(s[0])
        shapes[name] = {
            "x": [round(float(v), 10) for v in grid],
            "s": [round(float(v), 6) for v in s],
            "missing": s_med + float(missing_coef[i]),
        }
    return {
        "model": f"additive logistic (splines of degree {_DEGREE}, {_KNOTS} knots), "
        f"balanced classes, C={_C:g}",
        "intercept": float(model[-1].intercept_[0]),
        "inputs": list(inputs),
        "shapes": shapes,
    }


def _fill(z: npt.NDArray[np.float64], imputer: Any) -> npt.NDArray[np.float64]:
    out = z.copy()
    idx = np.where(np.isnan(out))
    out[idx] = np.take(imputer.statistics_, idx[1])
    return out


@cache
def load_learned() -> dict[str, Any]:
    """The shipped model (``_data/learned_score.json``)."""
    text = resources.files("rerouting").joinpath("_data", _FILE).read_text(encoding="utf-8")
    model: dict[str, Any] = json.loads(text)
    unknown = set(model["inputs"]) - set(INPUTS)
    if unknown:  # a subset is fine: the refit scans worlds with the previous file
        raise RuntimeError(
            f"{_FILE} reads inputs this version does not compute ({', '.join(sorted(unknown))}); "
            "rerun benchmarks/train_scorer.py"
        )
    return model


def learned_contributions(wide: pl.DataFrame, model: dict[str, Any] | None = None) -> pl.DataFrame:
    """Per route, the log-odds each input adds (``lc_<input>``) and the ``intercept``."""
    model = model or load_learned()
    inputs = tuple(model["inputs"])
    x = _matrix(wide, inputs)
    out: dict[str, Any] = {}
    for i, name in enumerate(inputs):
        sh = model["shapes"][name]
        col = x[:, i]
        known = ~np.isnan(col)
        v = np.full(col.shape, float(sh["missing"]))
        v[known] = np.interp(col[known], sh["x"], sh["s"])
        out[f"lc_{name}"] = v
    frame = pl.DataFrame(out, schema=dict.fromkeys(out, pl.Float64))
    return frame.with_columns(intercept=pl.lit(float(model["intercept"])))


def learned_score(wide: pl.DataFrame, model: dict[str, Any] | None = None) -> pl.Series:
    """``σ(intercept + Σ contributions)`` per route, in [0, 1]."""
    c = learned_contributions(wide, model)
    logit = c.select(pl.sum_horizontal(pl.all())).to_series().to_numpy()
    proba = 1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0)))
    if not np.all(np.isfinite(proba)):  # pragma: no cover - inputs are cleaned above
        raise FloatingPointError("learned score is not finite")
    return pl.Series("learned_score", proba, dtype=pl.Float64)
