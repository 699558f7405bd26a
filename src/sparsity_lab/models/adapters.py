"""scikit-learn models expressed in the shared objective scale of DESIGN.md.

    L(w) = 1/(2n) ||y - Xw - b||^2 + alpha * Omega(w)

scikit-learn's Lasso and ElasticNet already use this scale and are used as they are. Its Ridge
minimises ||y - Xw||^2 + a ||w||^2, which is n times the shared objective with a = n * alpha.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge as _SkRidge
from sklearn.utils.validation import check_is_fitted, validate_data


class Ridge(RegressorMixin, BaseEstimator):
    """Ridge regression with penalty ``alpha * 1/2 ||w||_2^2`` in the shared scale.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularization strength in the shared scale; scikit-learn's Ridge receives ``n * alpha``.
    fit_intercept : bool, default=True
    solver : str, default="auto"
        Passed to :class:`sklearn.linear_model.Ridge`.
    """

    #: Omega = l1_ratio * ||w||_1 + (1 - l1_ratio)/2 ||w||^2: Ridge is the l1_ratio = 0 member.
    penalty_l1_ratio = 0.0

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True, solver: str = "auto"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True, dtype=[np.float64, np.float32])
        if self.alpha < 0:
            raise ValueError(f"alpha={self.alpha}: allowed values are alpha >= 0")
        inner = _SkRidge(
            alpha=self.alpha * X.shape[0], fit_intercept=self.fit_intercept, solver=self.solver
        ).fit(X, y)
        self.coef_ = inner.coef_
        self.intercept_ = inner.intercept_
        self.n_iter_ = inner.n_iter_
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X @ self.coef_ + self.intercept_
