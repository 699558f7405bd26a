"""The relaxed and the adaptive lasso, built on the exact lasso of :mod:`sparsity_lab.solvers`.

Both keep the shared objective scale ``1/(2n) ||y - Xw - b||^2 + alpha * penalty`` on centred
data, and both take their zeros from an exact lasso optimum, so every zero they report is
proven by the KKT conditions the exact solver checks.

Relaxed lasso (Meinshausen 2007; the form of Hastie, Tibshirani and Tibshirani 2020):
``w(alpha, gamma) = gamma * w_lasso(alpha) + (1 - gamma) * w_ls(alpha)`` with ``w_ls`` the least
squares fit on the lasso's support. gamma = 1 is the lasso, gamma = 0 least squares on its
support; the zeros are the lasso's for every gamma.

Adaptive lasso (Zou 2006): ``alpha * sum_j |w_j| / |w_init_j|^nu``. With ``s_j = |w_init_j|^nu``
the substitution ``w_j = s_j c_j`` turns it into a plain lasso in c on the columns ``s_j x_j``,
which the exact solver solves; a feature with ``w_init_j = 0`` has an infinite weight and is
0.0 without entering the solve.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from sparsity_lab.models._linear import LinearPredictor
from sparsity_lab.solvers import EXACT_SOLVERS, ExactPath, exact_path
from sparsity_lab.threads import thread_pools

_EXACT_SOLVER_OPTIONS = StrOptions({"auto", *EXACT_SOLVERS})


def exact_lasso_path(X: np.ndarray, y: np.ndarray, alphas, solver: str = "auto") -> ExactPath:
    """The exact lasso at every alpha (largest first) on centred (X, y), as the suite's
    :class:`sparsity_lab.models.Lasso` calls it: the Gram matrix when n > p."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, p = X.shape
    gram = X.T @ X if n > p else None
    return exact_path(
        np.asfortranarray(X) if gram is None else X,
        y,
        X.T @ y,
        gram,
        np.asarray(alphas, dtype=np.float64),
        1.0,
        solver,
    )


@dataclass
class RelaxedPath:
    """Relaxed lasso fits over a grid of alphas (largest first) and of gammas."""

    coefs: np.ndarray  # (K, G, p): alpha, gamma, feature
    lasso_coefs: np.ndarray  # (K, p)
    ls_coefs: np.ndarray  # (K, p): least squares on each lasso support
    exact: ExactPath  # the lasso's verdicts (status, message, converged, n_iter)


def relaxed_lasso_path(
    X: np.ndarray, y: np.ndarray, alphas, gammas, solver: str = "auto"
) -> RelaxedPath:
    """The relaxed lasso at every (alpha, gamma) on centred (X, y).

    Parameters
    ----------
    X : ndarray of shape (n, p)
    y : ndarray of shape (n,)
    alphas : array-like of shape (K,)
        Decreasing alphas > 0.
    gammas : array-like of shape (G,)
        Values in [0, 1]; 1 is the lasso.
    solver : {"auto", "cd_exact", "homotopy"}

    Returns
    -------
    RelaxedPath
        Least squares on a support of rank below its size is the minimum-norm fit.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    gammas = np.asarray(gammas, dtype=np.float64)
    exact = exact_lasso_path(X, y, alphas, solver)
    ls = np.zeros_like(exact.coefs)
    # one small least-squares fit per alpha: BLAS threads only contend (500 x 100, 100 alphas:
    # 0.12 -> 0.06 s for the fits at load 2 on 2 cores), as in solvers.exact_path
    with thread_pools().limit(limits=1, user_api="blas"):
        for k, w in enumerate(exact.coefs):
            S = np.flatnonzero(w)
            if S.size:
                ls[k, S] = np.linalg.lstsq(X[:, S], y, rcond=None)[0]
    coefs = (
        gammas[None, :, None] * exact.coefs[:, None, :]
        + (1.0 - gammas)[None, :, None] * ls[:, None, :]
    )
    return RelaxedPath(coefs, exact.coefs, ls, exact)


def initial_estimate(X: np.ndarray, y: np.ndarray, init: str, init_alpha: float) -> np.ndarray:
    """The adaptive lasso's w_init on centred (X, y): least squares (``ols``, minimum norm when
    p > n) or ridge ``1/(2n) ||y - Xw||^2 + init_alpha/2 ||w||^2`` (``ridge``)."""
    n, p = X.shape
    if init == "ols":
        return np.linalg.lstsq(X, y, rcond=None)[0]
    A = X.T @ X / n
    A[np.diag_indices(p)] += float(init_alpha)
    return np.linalg.solve(A, X.T @ y / n)


@dataclass
class AdaptivePath:
    """Adaptive lasso fits over a grid of alphas (largest first)."""

    coefs: np.ndarray  # (K, p)
    init_coef: np.ndarray  # (p,)
    weights: np.ndarray  # (p,): inf where init_coef is 0
    exact: ExactPath | None  # the rescaled lasso's verdicts; None when every weight is inf


def adaptive_lasso_path(
    X: np.ndarray,
    y: np.ndarray,
    alphas,
    nu: float = 1.0,
    init: str = "ols",
    init_alpha: float = 1e-3,
    solver: str = "auto",
) -> AdaptivePath:
    """The adaptive lasso at every alpha on centred (X, y): one initial estimate, one exact
    lasso path on the columns scaled by ``|w_init|^nu``.

    Parameters
    ----------
    X : ndarray of shape (n, p)
    y : ndarray of shape (n,)
    alphas : array-like of shape (K,)
        Decreasing alphas > 0.
    nu, init, init_alpha, solver
        As in :class:`AdaptiveLasso`.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    alphas = np.asarray(alphas, dtype=np.float64)
    w_init = initial_estimate(X, y, init, init_alpha)
    scale = np.abs(w_init) ** float(nu)
    with np.errstate(divide="ignore"):
        weights = 1.0 / scale
    keep = np.flatnonzero(scale > 0.0)
    coefs = np.zeros((len(alphas), X.shape[1]))
    exact = None
    if keep.size:  # every weight infinite: 0 is the optimum, nothing to solve
        exact = exact_lasso_path(X[:, keep] * scale[keep], y, alphas, solver)
        coefs[:, keep] = exact.coefs * scale[keep]
    return AdaptivePath(coefs, w_init, weights, exact)


#: The relaxations a path job walks by default (Hastie, Tibshirani and Tibshirani 2020 use
#: these five).
DEFAULT_PATH_GAMMAS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


def check_path_gammas(values) -> np.ndarray:
    """``path_gammas``: a non-empty list of distinct numbers in [0, 1] (one ValueError)."""
    try:
        gammas = np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        gammas = np.zeros(0)
    ok = not isinstance(values, str) and gammas.size and len(set(gammas)) == gammas.size
    if not (ok and np.all((gammas >= 0.0) & (gammas <= 1.0))):
        raise ValueError(
            f"path_gammas={values!r}: allowed values are a non-empty list of distinct numbers "
            "in [0, 1]"
        )
    return gammas


class _ExactLassoBased(LinearPredictor, BaseEstimator):
    """Centring, verdicts and predict shared by the two estimators."""

    #: Their zeros are those of an L1 problem: the runner fills the certificate columns from it
    #: (``regularization.objective_l1_ratio``) and walks the lasso's relative grid.
    penalty_l1_ratio = 1.0

    def _centre(self, X, y):
        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        p = X.shape[1]
        x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(p)
        y_mean = float(y.mean()) if self.fit_intercept else 0.0
        return X - x_mean, y - y_mean, x_mean, y_mean

    def _set_verdict(self, exact: ExactPath) -> None:
        self.n_iter_ = int(exact.n_iter[0])
        self.converged_ = bool(exact.converged[0])
        self.status_ = exact.status[0]
        self.message_ = exact.message[0]


class RelaxedLasso(_ExactLassoBased):
    """Relaxed lasso: ``gamma * lasso + (1 - gamma) * least squares on the lasso's support``.

    Parameters
    ----------
    alpha : float, default=1.0
        Lasso strength in the shared scale (> 0).
    gamma : float, default=0.5
        In [0, 1]: 1 is the lasso, 0 least squares on its support.
    fit_intercept : bool, default=True
    solver : {"auto", "cd_exact", "homotopy"}, default="auto"
        Route of the exact lasso (:func:`sparsity_lab.solvers.choose_solver`).
    path_gammas : tuple of float, default=(0.0, 0.25, 0.5, 0.75, 1.0)
        The gammas a path job walks at each alpha of its grid (``regularization.fit_path``,
        the suite's runner); ``fit`` uses ``gamma``.

    Attributes
    ----------
    coef_, intercept_
        The relaxed fit.
    lasso_coef_ : ndarray of shape (n_features,)
        The exact lasso optimum; its zeros are those of ``coef_``.
    ls_coef_ : ndarray of shape (n_features,)
        Least squares on the lasso's support.
    n_iter_, converged_, status_, message_
        The exact lasso's verdict.
    """

    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "gamma": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "solver": [_EXACT_SOLVER_OPTIONS],
        "path_gammas": ["array-like"],
    }

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        gamma: float = 0.5,
        fit_intercept: bool = True,
        solver: str = "auto",
        path_gammas=DEFAULT_PATH_GAMMAS,
    ):
        self.alpha = alpha
        self.gamma = gamma
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.path_gammas = path_gammas

    def _check_params(self) -> None:
        """scikit-learn's parameter checks, then ``path_gammas`` (the pre-launch check calls it)."""
        self._validate_params()
        check_path_gammas(self.path_gammas)

    def fit(self, X, y):
        """Fit the lasso at ``alpha``, least squares on its support, and their blend.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        Xc, yc, x_mean, y_mean = self._centre(X, y)
        path = relaxed_lasso_path(Xc, yc, [float(self.alpha)], [float(self.gamma)], self.solver)
        self.coef_ = path.coefs[0, 0]
        self.lasso_coef_ = path.lasso_coefs[0]
        self.ls_coef_ = path.ls_coefs[0]
        self.intercept_ = y_mean - float(x_mean @ self.coef_)
        self._set_verdict(path.exact)
        return self


class AdaptiveLasso(_ExactLassoBased):
    """Adaptive lasso ``alpha * sum_j |w_j| / |w_init_j|^nu``, solved exactly.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength in the shared scale (> 0).
    nu : float, default=1.0
        Exponent of the weights (>= 0; 0 is the lasso).
    init : {"ols", "ridge"}, default="ols"
        The initial estimate: least squares (minimum norm when p > n), or ridge at
        ``init_alpha`` in the shared scale (``1/(2n) ||y - Xw||^2 + init_alpha/2 ||w||^2``).
    init_alpha : float, default=1e-3
        Used with ``init="ridge"`` only (> 0).
    fit_intercept : bool, default=True
    solver : {"auto", "cd_exact", "homotopy"}, default="auto"
        Route of the exact lasso on the rescaled columns.

    Attributes
    ----------
    coef_, intercept_
    init_coef_ : ndarray of shape (n_features,)
        The initial estimate.
    weights_ : ndarray of shape (n_features,)
        ``1 / |init_coef_|^nu`` (inf where the initial estimate is 0: that coefficient is 0).
    n_iter_, converged_, status_, message_
        The exact solver's verdict on the rescaled lasso.
    """

    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "nu": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"ols", "ridge"})],
        "init_alpha": [Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "solver": [_EXACT_SOLVER_OPTIONS],
    }

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        nu: float = 1.0,
        init: str = "ols",
        init_alpha: float = 1e-3,
        fit_intercept: bool = True,
        solver: str = "auto",
    ):
        self.alpha = alpha
        self.nu = nu
        self.init = init
        self.init_alpha = init_alpha
        self.fit_intercept = fit_intercept
        self.solver = solver

    def fit(self, X, y):
        """Fit the initial estimate, then the exact lasso on the rescaled columns.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        Xc, yc, x_mean, y_mean = self._centre(X, y)
        path = adaptive_lasso_path(
            Xc, yc, [self.alpha], self.nu, self.init, self.init_alpha, self.solver
        )
        if path.exact is not None:
            self._set_verdict(path.exact)
        else:
            self.n_iter_, self.converged_, self.status_, self.message_ = 0, True, "ok", ""
        self.init_coef_ = path.init_coef
        self.weights_ = path.weights
        self.coef_ = path.coefs[0]
        self.intercept_ = y_mean - float(x_mean @ self.coef_)
        return self
