"""Supervised route scoring for users with labelled cases (scikit-learn estimator).

Kept apart from :mod:`rerouting._score` so that importing rerouting does not import
scikit-learn: the CLI starts faster, and only supervised users pay for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from rerouting._score import MODEL_FEATURES, _column_medians, feature_matrix

__all__ = ["RouteClassifier"]


class RouteClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Supervised route scorer: standardised features → logistic regression.

    Follows the scikit-learn estimator contract (it passes
    ``sklearn.utils.estimator_checks.check_estimator``): parameters are set in
    ``__init__`` and only stored; ``fit`` learns ``classes_``, ``n_features_in_``,
    ``features_``, ``center_``, ``scale_``, ``model_`` and ``n_iter_``;
    ``predict_proba``/``predict``/``decision_function``/``score`` need a fitted
    estimator. Missing feature values (a leg nobody reports) are allowed and
    replaced by the training median.

    ``X`` is a polars or pandas frame holding the feature columns (e.g.
    ``RouteTable.routes``), or a 2-D array whose columns are the features in order.

    Args:
        features: Feature columns to use (default :data:`MODEL_FEATURES`).
        C: Inverse regularisation strength of the logistic regression.
        class_weight: Passed to ``LogisticRegression`` (``"balanced"`` suits rare positives).
        max_iter: Solver iterations.

    Example:
        >>> clf = RouteClassifier().fit(table.routes, labels)   # doctest: +SKIP
        >>> scan(trade, ..., scorer=clf)                         # doctest: +SKIP
    """

    def __init__(
        self,
        features: tuple[str, ...] | None = None,
        C: float = 1.0,
        class_weight: str | dict[int, float] | None = "balanced",
        max_iter: int = 1000,
    ) -> None:
        self.features = features
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _named(self, X: Any) -> Any:
        """Feature columns of a frame, by name; anything else is returned as is."""
        feats = tuple(self.features or MODEL_FEATURES)
        if isinstance(X, pl.DataFrame):
            return feature_matrix(X, feats)
        cols = getattr(X, "columns", None)
        if cols is not None and hasattr(X, "to_numpy") and set(feats) <= set(map(str, cols)):
            return feature_matrix(pl.from_pandas(X[list(feats)]), feats)
        return X

    def fit(self, X: Any, y: Any) -> RouteClassifier:
        """Learn from labelled routes (``y``: 1 = rerouting, 0 = not)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import validate_data

        x, yy = validate_data(
            self, self._named(X), y, ensure_all_finite="allow-nan", dtype=np.float64
        )
        check_classification_targets(yy)
        self.features_ = tuple(self.features or MODEL_FEATURES)
        self.center_ = _column_medians(x)
        xi = np.where(np.isnan(x), self.center_, x)
        sd = xi.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.model_ = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=self.max_iter
        ).fit((xi - self.center_) / self.scale_, yy)
        self.classes_ = self.model_.classes_
        self.n_iter_ = self.model_.n_iter_
        return self

    def _z(self, X: Any) -> npt.NDArray[np.float64]:
        from sklearn.utils.validation import validate_data

        check_is_fitted(self)
        x = validate_data(
            self, self._named(X), reset=False, ensure_all_finite="allow-nan", dtype=np.float64
        )
        z: npt.NDArray[np.float64] = (np.where(np.isnan(x), self.center_, x) - self.center_) / (
            self.scale_
        )
        return z

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Probability of each class, columns in ``classes_`` order."""
        z = self._z(X)
        return self.model_.predict_proba(z)  # type: ignore[no-any-return]

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """Most likely class of each route."""
        z = self._z(X)
        return self.model_.predict(z)  # type: ignore[no-any-return]

    def decision_function(self, X: Any) -> npt.NDArray[np.float64]:
        """Log-odds of rerouting (binary) or per-class scores."""
        z = self._z(X)
        return self.model_.decision_function(z)  # type: ignore[no-any-return]

    def average_precision(self, X: Any, y: Any) -> float:
        """Average precision of the last class's probability against ``y`` (binary)."""
        from sklearn.metrics import average_precision_score

        proba = self.predict_proba(X)[:, -1]
        yy = np.asarray(y).ravel() == self.classes_[-1]
        return float(average_precision_score(yy, proba))

    def contributions(self, X: Any) -> npt.NDArray[np.float64]:
        """Per-feature log-odds contributions ``coef_j · z_j`` (binary).

        They sum to the log-odds minus the intercept.
        """
        z = self._z(X)
        return z * self.model_.coef_[0]  # type: ignore[no-any-return]
