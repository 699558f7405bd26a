"""MCP and SCAD regression in the shared objective scale (:mod:`sparsity_lab.nonconvex`).

    L(w) = 1/(2n) ||y - Xw - b||^2 + sum_j p_alpha(w_j)

with p the MCP (Zhang 2010) or SCAD (Fan and Li 2001) of :mod:`sparsity_lab.penalties`: the
parametrisation of skglm's ``MCPRegression(alpha, gamma)`` and ``SCAD(alpha, gamma)`` (and
ncvreg's lambda and gamma, on unstandardised columns). Their derivative at 0+ is alpha, so the
grid's alpha_max is the Lasso's. A fit is a stationary point (coordinate descent, then a finish
to rounding); along a grid the suite warm-starts each fit from the previous one
(:func:`sparsity_lab.regularization.fit_path`), from alpha_max down, as ncvreg does.
"""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

from sparsity_lab.models._linear import LinearPredictor
from sparsity_lab.penalties import MCP, SCAD, Penalty


class _NonconvexRegression(LinearPredictor, BaseEstimator):
    """A separable non-convex penalty's regression; subclasses name the penalty.

    After ``fit``: ``coef_``, ``intercept_``, ``n_iter_`` (sweeps and finishing solves),
    ``stationarity_`` (largest distance of 0 to a coordinate's subdifferential), ``converged_``,
    ``status_`` (``ok``: stationary to rounding, else ``not_converged``) and ``message_``.
    """

    _penalty_class: ClassVar[type]
    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Interval(Real, 0.0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self, alpha: float = 1.0, gamma: float = 3.0, fit_intercept: bool = True,
        warm_start: bool = False,
    ):  # fmt: skip
        self.alpha = alpha
        self.gamma = gamma
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start

    def penalty(self) -> Penalty:
        """The penalty object of this estimator's ``gamma``."""
        return self._penalty_class(float(self.gamma))

    def fit(self, X, y):
        """A stationary point at ``alpha`` (from the previous ``coef_`` with ``warm_start``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        """
        from sparsity_lab.nonconvex import nonconvex_path

        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
        y_mean = float(y.mean()) if self.fit_intercept else 0.0
        Xc, yc = X - x_mean, y - y_mean
        n, p = Xc.shape
        gram = Xc.T @ Xc if n > p else None
        start = None
        if self.warm_start and getattr(self, "coef_", None) is not None:
            if np.shape(self.coef_) == (p,):
                start = self.coef_
        path = nonconvex_path(
            Xc if gram is not None else np.asfortranarray(Xc), yc, Xc.T @ yc, gram,
            np.array([float(self.alpha)]), self.penalty(), coef_init=start,
        )  # fmt: skip
        self.coef_ = path.coefs[0]
        self.intercept_ = y_mean - float(x_mean @ self.coef_)
        self.n_iter_ = int(path.n_iter[0])
        self.stationarity_ = float(path.stationarity[0])
        self.converged_ = bool(path.converged[0])
        self.status_, self.message_ = path.status[0], path.message[0]
        return self


class MCPRegression(_NonconvexRegression):
    """Least squares with the minimax concave penalty (MCP; Zhang 2010).

    p(w) = alpha |w| - w^2 / (2 gamma) for |w| <= gamma alpha, gamma alpha^2 / 2 beyond.

    Parameters
    ----------
    alpha : float, default=1.0
        > 0; the slope of the penalty at 0 (as the Lasso's alpha).
    gamma : float, default=3.0
        > 1; the objective is convex where the smallest eigenvalue of X^T X / n exceeds
        1 / gamma (the Lasso as gamma -> inf).
    fit_intercept : bool, default=True
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    """

    _penalty_class = MCP
    _parameter_constraints: ClassVar[dict] = {
        **_NonconvexRegression._parameter_constraints,
        "gamma": [Interval(Real, 1.0, None, closed="neither")],
    }

    def __init__(
        self, alpha: float = 1.0, gamma: float = 3.0, fit_intercept: bool = True,
        warm_start: bool = False,
    ):  # fmt: skip
        super().__init__(alpha, gamma, fit_intercept, warm_start)


class SCADRegression(_NonconvexRegression):
    """Least squares with the smoothly clipped absolute deviation penalty (SCAD; Fan and Li
    2001): alpha |w| up to alpha, quadratic up to gamma alpha, constant alpha^2 (gamma + 1) / 2
    beyond.

    Parameters
    ----------
    alpha : float, default=1.0
        > 0; the slope of the penalty at 0.
    gamma : float, default=3.7
        > 2 (Fan and Li's 3.7 is the default); the objective is convex where the smallest
        eigenvalue of X^T X / n exceeds 1 / (gamma - 1).
    fit_intercept : bool, default=True
    warm_start : bool, default=False
    """

    _penalty_class = SCAD
    _parameter_constraints: ClassVar[dict] = {
        **_NonconvexRegression._parameter_constraints,
        "gamma": [Interval(Real, 2.0, None, closed="neither")],
    }

    def __init__(
        self, alpha: float = 1.0, gamma: float = 3.7, fit_intercept: bool = True,
        warm_start: bool = False,
    ):  # fmt: skip
        super().__init__(alpha, gamma, fit_intercept, warm_start)
