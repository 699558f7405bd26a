"""Other libraries' Lasso solvers as models of the suite: scikit-learn's LARS-lasso homotopy
(``LassoLars``) and the peers celer and skglm (the optional extra ``sparsity-lab[peers]``).

All minimise the shared objective ``1/(2n) ||y - Xw - b||^2 + alpha ||w||_1`` (each library's
own scale is this one), so their fits are compared with the suite's optimum at the same alpha
(``penalty_l1_ratio = 1``). A peer library is imported when a fit needs it: listing the models
imports none, and a model whose library is missing stops before launch with one line naming
the extra (:func:`require`).
"""

from __future__ import annotations

import importlib
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

from sparsity_lab.errors import ConfigError
from sparsity_lab.models._linear import LinearPredictor

#: The optional extra that installs the peers: ``pip install 'sparsity-lab[peers]'``.
EXTRA = "peers"


def require(module: str):
    """The module ``module``, or a ConfigError naming the extra that installs it.

    Raises
    ------
    ConfigError
        ``model: <module> is not installed; ...`` (one line; exit 2 on the command line).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"model: {module} is not installed; it comes with the optional extra: "
            f"pip install 'sparsity-lab[{EXTRA}]'"
        ) from None


def _check_number(name: str, value, low: float, low_open: bool) -> None:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and np.isfinite(value)
        and (value > low if low_open else value >= low)
    )
    if not ok:
        sign = ">" if low_open else ">="
        raise ConfigError(f"model.{name}={value!r}: allowed values are finite numbers {sign} {low}")


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"model.{name}={value!r}: allowed values are integers >= {low}")


class _PeerLasso(LinearPredictor, BaseEstimator):
    """A peer library's Lasso estimator behind the suite's estimator contract.

    Subclasses name the library (``_module``, ``_class``) and list the parameters passed on
    (``_passed``). With ``warm_start=True`` the library's estimator is kept between fits, so
    each fit along a grid starts from the previous solution (the library's own warm start).
    After ``fit``: ``coef_``, ``intercept_``, ``n_iter_`` and ``estimator_`` (the library's).
    """

    #: Omega = ||w||_1: fits are compared with the suite's Lasso optimum.
    penalty_l1_ratio = 1.0
    _module: ClassVar[str]
    _class: ClassVar[str]
    _passed: ClassVar[tuple[str, ...]]

    def _check_params(self) -> None:
        """The values are allowed and the library is installed (raise ConfigError)."""
        _check_number("alpha", self.alpha, 0.0, low_open=False)
        _check_number("tol", self.tol, 0.0, low_open=True)
        _check_int("max_iter", self.max_iter, 1)
        _check_int("max_epochs", self.max_epochs, 1)
        self._check_own_params()
        require(self._module)

    def _check_own_params(self) -> None:
        """The subclass's own parameters."""

    def fit(self, X, y):
        """Fit at ``alpha`` with the library's solver.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        """
        self._check_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        params = {name: getattr(self, name) for name in self._passed}
        if self.warm_start and hasattr(self, "estimator_"):
            self.estimator_.set_params(**params)
        else:
            self.estimator_ = getattr(require(self._module), self._class)(**params)
        self.estimator_.fit(X, y)
        self.coef_ = np.asarray(self.estimator_.coef_, dtype=np.float64).ravel()
        self.intercept_ = float(np.ravel(self.estimator_.intercept_)[0])
        self.n_iter_ = int(np.max(getattr(self.estimator_, "n_iter_", -1)))
        return self


class CelerLasso(_PeerLasso):
    """celer's Lasso (Massias, Gramfort and Salmon 2018: working sets and dual extrapolation).

    Parameters
    ----------
    alpha : float, default=1.0
    tol : float, default=1e-4
        celer stops when the duality gap is below ``tol * ||y||^2 / n``.
    max_iter : int, default=100
        Working-set subproblems.
    max_epochs : int, default=50000
        Coordinate-descent epochs per subproblem.
    p0 : int, default=10
        First working-set size.
    prune : bool, default=True
    fit_intercept : bool, default=True
    warm_start : bool, default=False
    """

    _module, _class = "celer", "Lasso"
    _passed = ("alpha", "tol", "max_iter", "max_epochs", "p0", "prune", "fit_intercept",
               "warm_start")  # fmt: skip

    def __init__(
        self,
        alpha: float = 1.0,
        tol: float = 1e-4,
        max_iter: int = 100,
        max_epochs: int = 50000,
        p0: int = 10,
        prune: bool = True,
        fit_intercept: bool = True,
        warm_start: bool = False,
    ):
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter
        self.max_epochs = max_epochs
        self.p0 = p0
        self.prune = prune
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start


class SkglmLasso(_PeerLasso):
    """skglm's Lasso (Bertrand et al. 2022: working sets and Anderson-accelerated coordinate
    descent).

    Parameters
    ----------
    alpha : float, default=1.0
    tol : float, default=1e-4
        skglm stops when the largest violation of the optimality conditions (the distance of
        ``-X_j^T r / n`` to ``alpha`` times the subdifferential of ``|w_j|``) is below ``tol``.
    max_iter : int, default=50
        Working-set iterations.
    max_epochs : int, default=50000
        Coordinate-descent epochs per working set.
    p0 : int, default=10
        First working-set size.
    ws_strategy : {"subdiff", "fixpoint"}, default="subdiff"
    fit_intercept : bool, default=True
    warm_start : bool, default=False
    """

    _module, _class = "skglm", "Lasso"
    _passed = ("alpha", "tol", "max_iter", "max_epochs", "p0", "ws_strategy", "fit_intercept",
               "warm_start")  # fmt: skip

    def __init__(
        self,
        alpha: float = 1.0,
        tol: float = 1e-4,
        max_iter: int = 50,
        max_epochs: int = 50000,
        p0: int = 10,
        ws_strategy: str = "subdiff",
        fit_intercept: bool = True,
        warm_start: bool = False,
    ):
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter
        self.max_epochs = max_epochs
        self.p0 = p0
        self.ws_strategy = ws_strategy
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start

    def _check_own_params(self) -> None:
        if self.ws_strategy not in ("subdiff", "fixpoint"):
            raise ConfigError(
                f"model.ws_strategy={self.ws_strategy!r}: allowed values are subdiff, fixpoint"
            )


class LassoLars(LinearPredictor, BaseEstimator):
    """scikit-learn's LARS-lasso homotopy (:class:`sklearn.linear_model.LassoLars`).

    Along a grid the suite runs the homotopy once down to the smallest alpha and reads every
    alpha off its piecewise-linear path (:func:`sparsity_lab.regularization.fit_path`), as
    ``LassoLars`` does for one alpha.

    Parameters
    ----------
    alpha : float, default=1.0
    max_iter : int, default=500
        Homotopy steps (knots); a path that needs more stops early.
    eps : float, default=machine epsilon
        scikit-learn's regularisation of the Cholesky diagonals.
    fit_intercept : bool, default=True
    """

    penalty_l1_ratio = 1.0

    def __init__(
        self,
        alpha: float = 1.0,
        max_iter: int = 500,
        eps: float = float(np.finfo(np.float64).eps),
        fit_intercept: bool = True,
    ):
        self.alpha = alpha
        self.max_iter = max_iter
        self.eps = eps
        self.fit_intercept = fit_intercept

    def _check_params(self) -> None:
        _check_number("alpha", self.alpha, 0.0, low_open=False)
        _check_number("eps", self.eps, 0.0, low_open=True)
        _check_int("max_iter", self.max_iter, 1)

    def fit(self, X, y):
        """The homotopy down to ``alpha`` (scikit-learn's ``LassoLars``)."""
        from sklearn.linear_model import LassoLars as _SkLassoLars

        self._check_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        inner = _SkLassoLars(
            alpha=self.alpha, max_iter=self.max_iter, eps=self.eps,
            fit_intercept=self.fit_intercept, fit_path=False,
        ).fit(X, y)  # fmt: skip
        self.coef_ = np.asarray(inner.coef_, dtype=np.float64).ravel()
        self.intercept_ = float(np.ravel(inner.intercept_)[0])
        self.n_iter_ = int(np.max(inner.n_iter_))
        return self
