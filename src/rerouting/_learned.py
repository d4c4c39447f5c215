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
    from collections.abc import Sequence

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
#: Grid points per side of each pairwise table, and quantile bins per input when ranking pairs.
_PAIR_GRID: Final = 17
_PAIR_BINS: Final = 8
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
    pairs: int | Sequence[tuple[str, str]] = 0,
    random_state: int = 0,
) -> dict[str, Any]:
    """Fit the model on labelled routes; return its shape tables (JSON-ready).

    Args:
        routes: route tables of labelled worlds (features and ``gate_*`` columns).
        y: one bool per row, ``True`` for a planted route.
        inputs: the inputs to fit on (default :data:`INPUTS`; the ablation leaves one out).
        pairs: pairwise interactions to add (GA²M, Lou et al. 2013): a number of pairs
            chosen by :func:`_rank_pairs` on the additive fit's residuals, or the pairs.
            Each is a tensor product of the two inputs' splines, shipped as a 2-D table.
        random_state: passed to the solver (the fit is deterministic for lbfgs).
    """
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer, StandardScaler

    x = _matrix(routes, inputs)
    target = np.asarray(y, dtype=bool)
    n = x.shape[1]
    spline = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        SplineTransformer(n_knots=_KNOTS, degree=_DEGREE, extrapolation="constant"),
    ).fit(x)
    imputer = spline[0]
    basis_per = _KNOTS + _DEGREE - 1  # SplineTransformer: n_knots + degree - 1 columns each
    basis = spline.transform(x)
    additive = np.hstack([basis, np.isnan(x)])
    if isinstance(pairs, int):
        chosen = []
        if pairs > 0:  # ranked on the additive fit's residuals, which only pairs need
            p = _logistic(additive, target, random_state).predict_proba(additive)[:, 1]
            chosen = _rank_pairs(x, target, p)[:pairs]
    else:
        chosen = [(inputs.index(a), inputs.index(b)) for a, b in pairs]
    by_input = basis.reshape(len(x), n, basis_per)
    tensors = [_tensor(by_input[:, i], by_input[:, j]) for i, j in chosen]
    fit = _logistic(np.hstack([additive, *tensors]), target, random_state)
    coef = fit.coef_[0]
    shape_coef = coef[: n * basis_per].reshape(n, basis_per)
    missing_coef = coef[n * basis_per : n * basis_per + n]
    pair_coef = coef[n * basis_per + n :].reshape(len(chosen), basis_per, basis_per)
    lo = np.nanmin(x, axis=0)
    hi = np.nanmax(x, axis=0)

    def grid_basis(i: int, size: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        a, b = (0.0, 0.0) if not np.isfinite(lo[i]) else (float(lo[i]), float(hi[i]))
        grid = np.linspace(a, b, size) if b > a else np.array([a])
        z = np.full((grid.size, n), np.nan)
        z[:, i] = grid
        # Only column i varies; the others sit at their medians (their share cancels below).
        at = spline.transform(_fill(z, imputer)).reshape(grid.size, n, basis_per)[:, i, :]
        return grid, at

    shapes: dict[str, Any] = {}
    for i, name in enumerate(inputs):
        grid, at = grid_basis(i, _GRID)
        s = at @ shape_coef[i]
        med = float(imputer.statistics_[i])
        s_med = float(np.interp(med, grid, s)) if grid.size > 1 else float(s[0])
        shapes[name] = {
            "x": [round(float(v), 10) for v in grid],
            "s": [round(float(v), 6) for v in s],
            "missing": s_med + float(missing_coef[i]),
        }
    interactions = []
    for (i, j), w in zip(chosen, pair_coef, strict=True):
        gi, bi = grid_basis(i, _PAIR_GRID)
        gj, bj = grid_basis(j, _PAIR_GRID)
        interactions.append(
            {
                "inputs": [inputs[i], inputs[j]],
                "x": [[round(float(v), 10) for v in gi], [round(float(v), 10) for v in gj]],
                "s": [[round(float(v), 6) for v in row] for row in bi @ w @ bj.T],
                "missing_as": [float(imputer.statistics_[i]), float(imputer.statistics_[j])],
            }
        )
    pair_text = f", {len(chosen)} pairwise interactions" if chosen else ""
    return {
        "model": f"additive logistic (splines of degree {_DEGREE}, {_KNOTS} knots{pair_text}), "
        f"balanced classes, C={_C:g}",
        "intercept": float(fit.intercept_[0]),
        "inputs": list(inputs),
        "shapes": shapes,
        "pairs": interactions,
    }


def _logistic(design: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=_C, class_weight="balanced", max_iter=5000, random_state=seed)
    return model.fit(design, y)


def _tensor(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Row-wise outer product of two spline bases: the design of one pairwise term."""
    return (a[:, :, None] * b[:, None, :]).reshape(len(a), -1)


def _rank_pairs(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], p: npt.NDArray[np.float64]
) -> list[tuple[int, int]]:
    """Input pairs, best first, by how much of the additive fit's residual they explain.

    FAST (Lou, Caruana, Gehrke & Hooker 2013, "Accurate intelligible models with
    pairwise interactions"): each input cut into quantile bins (missing: a bin of its
    own), each pair's residual sum per cell of the grid; a pair's gain is
    ``Σ_cells (Σ r)² / n_cell`` with the balanced-class residual ``r = w (y − p)``.
    """
    n = x.shape[1]
    w = np.where(y, 0.5 / max(y.mean(), 1e-12), 0.5 / max(1 - y.mean(), 1e-12))
    r = w * (y - p)
    bins = np.zeros(x.shape, dtype=np.int64)
    for i in range(n):
        col = x[:, i]
        known = ~np.isnan(col)
        if known.any():
            edges = np.unique(np.quantile(col[known], np.linspace(0, 1, _PAIR_BINS + 1)[1:-1]))
            bins[known, i] = np.searchsorted(edges, col[known], side="right") + 1
    gains = []
    for i in range(n):
        for j in range(i + 1, n):
            cell = bins[:, i] * (_PAIR_BINS + 2) + bins[:, j]
            total = np.bincount(cell, weights=r)
            count = np.bincount(cell)
            seen = count > 0
            gains.append((float((total[seen] ** 2 / count[seen]).sum()), i, j))
    return [(i, j) for _, i, j in sorted(gains, reverse=True)]


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
    for pair in model.get("pairs", []):
        a, b = pair["inputs"]
        at = [x[:, inputs.index(a)], x[:, inputs.index(b)]]
        at = [np.where(np.isnan(v), m, v) for v, m in zip(at, pair["missing_as"], strict=True)]
        out[f"lc_{a}×{b}"] = _bilinear(pair["x"][0], pair["x"][1], pair["s"], at[0], at[1])
    frame = pl.DataFrame(out, schema=dict.fromkeys(out, pl.Float64))
    return frame.with_columns(intercept=pl.lit(float(model["intercept"])))


def _bilinear(
    xa: list[float],
    xb: list[float],
    table: list[list[float]],
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """``table`` (rows over ``xa``, columns over ``xb``) at each ``(a, b)``: bilinear
    inside the grid, constant beyond its ends (as the 1-D shapes)."""
    t = np.asarray(table, dtype=np.float64)
    ga, gb = np.asarray(xa), np.asarray(xb)

    def cell(g: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> tuple[Any, Any]:
        if g.size == 1:
            return np.zeros(v.shape, dtype=np.int64), np.zeros(v.shape)
        v = np.clip(v, g[0], g[-1])
        k = np.clip(np.searchsorted(g, v, side="right") - 1, 0, g.size - 2)
        return k, (v - g[k]) / (g[k + 1] - g[k])

    (i, u), (j, w) = cell(ga, a), cell(gb, b)
    i1 = np.minimum(i + 1, ga.size - 1)
    j1 = np.minimum(j + 1, gb.size - 1)
    out = (
        t[i, j] * (1 - u) * (1 - w)
        + t[i1, j] * u * (1 - w)
        + t[i, j1] * (1 - u) * w
        + t[i1, j1] * u * w
    )
    return np.asarray(out, dtype=np.float64)


def learned_score(wide: pl.DataFrame, model: dict[str, Any] | None = None) -> pl.Series:
    """``σ(intercept + Σ contributions)`` per route, in [0, 1]."""
    c = learned_contributions(wide, model)
    logit = c.select(pl.sum_horizontal(pl.all())).to_series().to_numpy()
    proba = 1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0)))
    if not np.all(np.isfinite(proba)):  # pragma: no cover - inputs are cleaned above
        raise FloatingPointError("learned score is not finite")
    return pl.Series("learned_score", proba, dtype=pl.Float64)
