"""The learned score: a model of the route features, fitted on worlds.

``learned_score = σ(b + Σ_f c_f)``, the log-odds split into one contribution ``c_f`` per
input. Each input is a feature of the route table (ratios on a log scale) or a gate
factor or evidence term of the default score (gates on a log scale).

The shipped model (from round 10) is gradient-boosted trees (:func:`fit_trees`;
scikit-learn's ``HistGradientBoostingClassifier``, balanced classes), monotone in the
evidence (:data:`MONOTONE`). A route's contributions are the changes of expectation
along its paths, credited to each split's input (Saabas 2014), so they add up to its
log-odds exactly. The additive model of rounds 5-8 (:func:`fit_learned`: one cubic
spline per input, an L2-penalised logistic regression, Hastie & Tibshirani 1986) stays
for comparison (``benchmarks/train_scorer.py --additive``). A missing input takes the
side (trees) or the contribution (splines) learned for it.

The model ships as tables in ``_data/learned_score.json`` (the trees' nodes, or the
splines on a grid), so that scoring needs no pickled estimator: ``learned_contributions``
reads either. ``benchmarks/train_scorer.py`` writes the file from the development worlds
of ``rerouting._evaluate.DEV_SEEDS`` only; the held-out seeds are never seen by it
(docs/detection.md#learned-score).
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
    "fit_trees",
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
#: The boosted trees (:func:`fit_trees`), chosen by 5-fold CV by seed on the development
#: worlds (docs/detection.md#tenth-round-boosted-trees-measured-on-fresh-seeds).
_TREES: Final = {
    "max_iter": 300,
    "learning_rate": 0.05,
    "max_leaf_nodes": 31,
    "early_stopping": False,  # on by default above 10 000 rows; it holds out a random 10%
    "class_weight": "balanced",
}
#: The trees read their inputs rounded to this many decimals. Many routes sit exactly on
#: a split (a flat leg's log-ratio is 0, a saturated gate is the same value for all), and
#: two engines may sum the same flows in another order: rounded, their last-bit
#: differences cannot send a route down another branch.
_DECIMALS: Final = 9
#: Evidence the trees may only read one way (+1: more is never less route-like): a route
#: with more of it than another, all else equal, never scores lower. Every gate factor
#: and evidence term rises with the evidence by construction (docs/detection.md#the-default-score),
#: and the raw features they are built from are constrained with them: else the trees
#: could read the same evidence backwards through its unconstrained twin.
MONOTONE: Final = {
    **{f"ln_gate_{g.name}": 1 for g in GATES},
    **{f"term_{t.name}": 1 for t in TERMS},
    "oh_ratio_kg": 1,
    "hd_ratio_kg": 1,
    "balance_kg": 1,
    "direct_change": -1,
    "persistence": 1,
    "substitution_ratio": 1,
}
_FILE: Final = "learned_score.json"


def learned_inputs(wide: pl.DataFrame) -> pl.DataFrame:
    """The model's inputs (:data:`INPUTS`) as Float64 columns, null where unknown.

    ``wide`` is a route table with the features and the default score's ``gate_*``
    columns (as :func:`rerouting._score.default_score` returns it).
    """

    def clean(e: pl.Expr) -> pl.Expr:
        e = e.cast(pl.Float64)
        return pl.when(e.is_finite()).then(e)

    # A one-route frame built from a row (``explain()``) types a missing value as Null,
    # on which the gates' log and the terms' arithmetic are not defined.
    wide = wide.with_columns(pl.col(pl.Null).cast(pl.Float64))

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


def _tree_matrix(frame: pl.DataFrame, inputs: tuple[str, ...]) -> npt.NDArray[np.float64]:
    """:func:`_matrix` as the trees read it, fitted and scored: rounded (:data:`_DECIMALS`)."""
    return np.round(_matrix(frame, inputs), _DECIMALS)


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


def fit_trees(
    routes: pl.DataFrame,
    y: Any,
    *,
    inputs: tuple[str, ...] = INPUTS,
    random_state: int = 0,
) -> dict[str, Any]:
    """Fit gradient-boosted trees on labelled routes; return them as flat node tables.

    scikit-learn's ``HistGradientBoostingClassifier`` (:data:`_TREES`, monotone in
    :data:`MONOTONE`). Each node keeps its split (input, threshold, the side a missing
    value takes) and its expectation: a leaf's value, or the count-weighted mean of its
    children's. A route's log-odds is the intercept (the base log-odds plus every tree's
    root expectation) plus, along its path in every tree, the change of expectation at
    each split, credited to the split's input (Saabas 2014, "treeinterpreter"). So the
    contributions add up to the log-odds exactly, as the additive model's do.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = _tree_matrix(routes, inputs)
    target = np.asarray(y, dtype=bool)
    cst = [MONOTONE.get(name, 0) for name in inputs]
    fit = HistGradientBoostingClassifier(
        **_TREES, monotonic_cst=cst, random_state=random_state
    ).fit(x, target)
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    missing_left: list[bool] = []
    expect: list[float] = []
    roots: list[int] = []
    for (predictor,) in fit._predictors:  # one tree per iteration (binary)
        nodes = predictor.nodes
        base = len(feature)
        roots.append(base)
        e = nodes["value"].astype(np.float64).copy()
        for i in range(len(nodes) - 1, -1, -1):  # children come after their parent
            if not nodes["is_leaf"][i]:
                a, b = int(nodes["left"][i]), int(nodes["right"][i])
                ca, cb = float(nodes["count"][a]), float(nodes["count"][b])
                e[i] = (ca * e[a] + cb * e[b]) / (ca + cb)
        for i, node in enumerate(nodes):
            leaf = bool(node["is_leaf"])
            t = float(node["num_threshold"])
            feature.append(-1 if leaf else int(node["feature_idx"]))
            threshold.append(0.0 if leaf else (t if np.isfinite(t) else float(np.finfo(float).max)))
            left.append(base + int(node["left"]) if not leaf else base + i)
            right.append(base + int(node["right"]) if not leaf else base + i)
            missing_left.append(bool(node["missing_go_to_left"]))
            expect.append(round(float(e[i]), 12))
    baseline = float(np.ravel(fit._baseline_prediction)[0])
    return {
        "model": f"gradient-boosted trees ({_TREES['max_iter']} trees of at most "
        f"{_TREES['max_leaf_nodes']} leaves, learning rate {_TREES['learning_rate']:g}), "
        "balanced classes, monotone in " + ", ".join(f"{k} ({v:+d})" for k, v in MONOTONE.items()),
        "intercept": baseline + float(sum(expect[r] for r in roots)),
        "inputs": list(inputs),
        "trees": {
            "roots": roots,
            "feature": feature,
            "threshold": threshold,
            "left": left,
            "right": right,
            "missing_left": missing_left,
            "expect": expect,
        },
    }


#: The dtype of each node table as the walk reads it (JSON gives lists).
_NODE_DTYPES: Final = {
    "roots": np.int32,
    "feature": np.int32,
    "threshold": np.float64,
    "left": np.int32,
    "right": np.int32,
    "missing_left": np.bool_,
    "expect": np.float64,
}


def _node_arrays(trees: dict[str, Any]) -> dict[str, Any]:
    """The node tables as arrays of :data:`_NODE_DTYPES` (no copy if they already are)."""
    return {k: np.asarray(trees[k], dtype=t) for k, t in _NODE_DTYPES.items()}


def _walk_trees(
    x: npt.NDArray[np.float64], trees: dict[str, Any], *, contributions: bool
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
    """Every route down every tree (see :func:`fit_trees`): per route, the sum over the
    trees of the expectation gained from root to leaf, and with ``contributions`` that
    sum split by input (routes × inputs).

    All (route, tree) pairs walk at once, one level per step, and a pair leaves the
    walk at its leaf: no Python loop over routes or trees."""
    nodes = _node_arrays(trees)
    feature, threshold, expect = nodes["feature"], nodes["threshold"], nodes["expect"]
    left, right, missing_left = nodes["left"], nodes["right"], nodes["missing_left"]
    roots = nodes["roots"]
    n, p = x.shape
    flat = x.ravel()
    unknown = np.isnan(flat)
    cell = np.repeat(np.arange(n, dtype=np.int64) * p, roots.size)  # row's first cell
    node = np.tile(roots, n)
    out = np.zeros(n * p) if contributions else None
    active = np.flatnonzero(feature[node] >= 0)
    while active.size:
        at = node[active]
        idx = cell[active] + feature[at]
        # x <= t is false for a missing x: it goes left only where the split says so
        go_left = (flat[idx] <= threshold[at]) | (unknown[idx] & missing_left[at])
        child = np.where(go_left, left[at], right[at])
        if out is not None:
            out += np.bincount(idx, weights=expect[child] - expect[at], minlength=n * p)
        node[active] = child
        active = active[feature[child] >= 0]
    gained = expect[node].reshape(n, roots.size).sum(axis=1) - expect[roots].sum()
    return gained, None if out is None else out.reshape(n, p)


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
    if "trees" in model:  # node tables as arrays once, not on every explain()
        model["trees"] = _node_arrays(model["trees"])
    return model


def learned_contributions(wide: pl.DataFrame, model: dict[str, Any] | None = None) -> pl.DataFrame:
    """Per route, the log-odds each input adds (``lc_<input>``) and the ``intercept``."""
    model = model or load_learned()
    inputs = tuple(model["inputs"])
    if "trees" in model:
        _, c = _walk_trees(_tree_matrix(wide, inputs), model["trees"], contributions=True)
        assert c is not None  # asked for
        out: dict[str, Any] = {f"lc_{name}": c[:, i] for i, name in enumerate(inputs)}
    else:
        out = _shape_contributions(_matrix(wide, inputs), model)
    frame = pl.DataFrame(out, schema=dict.fromkeys(out, pl.Float64))
    return frame.with_columns(intercept=pl.lit(float(model["intercept"])))


def _shape_contributions(x: npt.NDArray[np.float64], model: dict[str, Any]) -> dict[str, Any]:
    """The additive model's contributions: each shape, and each pairwise table."""
    inputs = tuple(model["inputs"])
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
    return out


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
    model = model or load_learned()
    if "trees" in model:  # the same sum, without splitting it by input
        x = _tree_matrix(wide, tuple(model["inputs"]))
        gained, _ = _walk_trees(x, model["trees"], contributions=False)
        logit = float(model["intercept"]) + gained
    else:
        c = learned_contributions(wide, model)
        logit = c.select(pl.sum_horizontal(pl.all())).to_series().to_numpy()
    proba = 1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0)))
    if not np.all(np.isfinite(proba)):  # pragma: no cover - inputs are cleaned above
        raise FloatingPointError("learned score is not finite")
    return pl.Series("learned_score", proba, dtype=pl.Float64)
