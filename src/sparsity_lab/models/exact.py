"""Lasso and ElasticNet solved to their optimum (:mod:`sparsity_lab.solvers`).

scikit-learn's estimators with one more parameter, ``solver``: ``auto`` (default) picks an exact
route by shape, ``cd_exact`` and ``homotopy`` name one, ``cd`` is scikit-learn's own coordinate
descent at ``tol`` (kept for comparison: its zeros are whatever the tolerance left). Along a grid
the suite calls :func:`sparsity_lab.regularization.fit_path`, which solves every alpha at once.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet as _SkElasticNet
from sklearn.linear_model import Lasso as _SkLasso
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from sparsity_lab.solvers import SOLVERS, choose_solver, exact_path


class ExactSolverMixin:
    """``solver`` parameter, its check and an exact ``fit`` for scikit-learn's ElasticNet family.

    After ``fit``: ``converged_``, ``status_`` (``ok`` or ``not_converged``) and ``message_``.
    """

    def _check_params(self) -> None:
        """scikit-learn's parameter validation (``alpha=-1``, ``l1_ratio=2``, an unknown
        ``solver``: one InvalidParameterError naming the parameter and what is allowed), then
        the combinations the exact routes do not take."""
        if not isinstance(self.solver, str) or self.solver not in SOLVERS:
            raise ValueError(f"solver={self.solver!r}: allowed values are {', '.join(SOLVERS)}")
        self._validate_params()
        if self.solver == "cd":
            return
        choose_solver(self.solver, 1, 1, float(self.l1_ratio))  # homotopy on an elastic net
        if self.positive:
            raise ValueError(
                f"positive=True: allowed only with solver='cd' (got solver={self.solver!r})"
            )

    def __sklearn_tags__(self):
        """The exact routes take dense X and one target; ``solver='cd'`` is scikit-learn's."""
        tags = super().__sklearn_tags__()
        if getattr(self, "solver", "cd") != "cd":
            tags.input_tags.sparse = False
            tags.target_tags.multi_output = False
        return tags

    def fit(self, X, y, sample_weight=None, check_input: bool = True):
        """Fit at ``alpha``: the optimum (exact routes) or scikit-learn's iterate (``cd``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Dense on the exact routes.
        y : array-like of shape (n_samples,)
            One target on the exact routes.
        sample_weight : float or array-like of shape (n_samples,), default=None
            As scikit-learn: rescaled to sum to n_samples, so the data term is
            ``1/(2 sum(sw)) sum_i sw_i (y_i - x_i w - b)^2`` (weights of 2 are rows counted
            twice).
        check_input : bool, default=True
            Passed to scikit-learn with ``solver='cd'``.
        """
        self._check_params()
        if self.solver == "cd":
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                super().fit(X, y, sample_weight=sample_weight, check_input=check_input)
            warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
            self.converged_ = not warned
            self.status_ = "ok" if not warned else "not_converged"
            self.message_ = str(warned[-1].message).splitlines()[0] if warned else ""
            return self
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n, p = X.shape
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            sw = sw * (n / sw.sum())
        if self.fit_intercept:
            x_mean = np.average(X, axis=0, weights=sw)
            y_mean = float(np.average(y, weights=sw))
        else:
            x_mean, y_mean = np.zeros(p), 0.0
        Xc, yc = X - x_mean, y - y_mean
        if sw is not None:  # weighted least squares: rows scaled by sqrt(sw)
            root = np.sqrt(sw)
            Xc, yc = Xc * root[:, None], yc * root
        gram = Xc.T @ Xc if n > p else None
        path = exact_path(
            np.asfortranarray(Xc) if gram is None else Xc,
            yc,
            Xc.T @ yc,
            gram,
            np.array([float(self.alpha)]),
            float(self.l1_ratio),
            self.solver,
        )
        self.coef_ = path.coefs[0]
        self.intercept_ = y_mean - float(x_mean @ self.coef_)
        # the start (homotopy, coordinate descent, or the test alpha >= alpha_max that answers
        # 0) and the active-set iterations of the exact finish
        self.n_iter_ = 1 + int(path.n_iter[0])
        self.dual_gap_ = np.nan
        self.converged_ = bool(path.converged[0])
        self.status_, self.message_ = path.status[0], path.message[0]
        return self


_SOLVER_CONSTRAINT = {"solver": [StrOptions(set(SOLVERS))]}


class ElasticNet(ExactSolverMixin, _SkElasticNet):
    """Elastic net ``alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)`` at its optimum.

    Parameters
    ----------
    alpha, l1_ratio, fit_intercept, precompute, max_iter, copy_X, tol, warm_start, positive,
    random_state, selection
        As in :class:`sklearn.linear_model.ElasticNet` (tol, max_iter, selection, precompute and
        warm_start matter only with ``solver='cd'``).
    solver : {"auto", "cd", "cd_exact", "homotopy"}, default="auto"
        ``homotopy`` needs ``l1_ratio=1``.
    """

    _parameter_constraints: ClassVar[dict] = {
        **_SkElasticNet._parameter_constraints,
        **_SOLVER_CONSTRAINT,
    }

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        l1_ratio: float = 0.5,
        solver: str = "auto",
        fit_intercept: bool = True,
        precompute=False,
        max_iter: int = 1000,
        copy_X: bool = True,
        tol: float = 1e-4,
        warm_start: bool = False,
        positive: bool = False,
        random_state=None,
        selection: str = "cyclic",
    ):
        super().__init__(
            alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept, precompute=precompute,
            max_iter=max_iter, copy_X=copy_X, tol=tol, warm_start=warm_start, positive=positive,
            random_state=random_state, selection=selection,
        )  # fmt: skip
        self.solver = solver


class Lasso(ExactSolverMixin, _SkLasso):
    """Lasso ``alpha ||w||_1`` at its optimum.

    Parameters
    ----------
    alpha, fit_intercept, precompute, copy_X, max_iter, tol, warm_start, positive, random_state,
    selection
        As in :class:`sklearn.linear_model.Lasso` (tol, max_iter, selection, precompute and
        warm_start matter only with ``solver='cd'``).
    solver : {"auto", "cd", "cd_exact", "homotopy"}, default="auto"
    """

    _parameter_constraints: ClassVar[dict] = {
        **_SkLasso._parameter_constraints,
        **_SOLVER_CONSTRAINT,
    }

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        solver: str = "auto",
        fit_intercept: bool = True,
        precompute=False,
        copy_X: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-4,
        warm_start: bool = False,
        positive: bool = False,
        random_state=None,
        selection: str = "cyclic",
    ):
        super().__init__(
            alpha=alpha, fit_intercept=fit_intercept, precompute=precompute, copy_X=copy_X,
            max_iter=max_iter, tol=tol, warm_start=warm_start, positive=positive,
            random_state=random_state, selection=selection,
        )  # fmt: skip
        self.solver = solver
