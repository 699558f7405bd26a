"""alpha_max, relative grids and warm-started path fitting in the shared objective scale.

Every model of a dataset is fitted along the same grid of ``alpha_ratio * alpha_max`` values
(the elastic net relative to its own alpha_max), from the largest alpha down, each fit starting
from the previous solution as glmnet does.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import singledispatch

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, enet_path
from sklearn.linear_model import Ridge as SklearnRidge

from sparsity_lab import solvers
from sparsity_lab.errors import ConfigError, UserError
from sparsity_lab.models.adapters import Ridge
from sparsity_lab.models.exact import ExactSolverMixin
from sparsity_lab.models.lasso_variants import AdaptiveLasso, RelaxedLasso, check_path_gammas
from sparsity_lab.models.nonconvex import _NonconvexRegression
from sparsity_lab.models.peers import LassoLars
from sparsity_lab.models.subset import BestSubset, SubsetRegressor, largest_size
from sparsity_lab.penalties import ElasticNet as ElasticNetPenalty
from sparsity_lab.penalties import Penalty, alpha_max_from_xty


class GridError(UserError):
    """A grid with no points or alphas outside what is allowed."""


@dataclass
class TrainingData:
    """Standardised, centred training data with the products every path reuses.

    ``gram`` (X^T X) is computed only when n > p, where it is cheaper than touching X again.
    """

    X: np.ndarray
    y: np.ndarray
    Xty: np.ndarray = field(init=False)
    yty: float = field(init=False)
    gram: np.ndarray | None = field(init=False)

    def __post_init__(self) -> None:
        n, p = np.shape(self.X)
        # Without a Gram matrix, coordinate descent walks the columns of X: give it F order.
        self.X = np.asarray(self.X, dtype=np.float64, order="F" if n <= p else None)
        self.y = np.asarray(self.y, dtype=np.float64)
        self.Xty = self.X.T @ self.y
        self.yty = float(self.y @ self.y)
        self.gram = self.X.T @ self.X if n > p else None

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    def residual_products(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X^T r and ||r||^2 for r = y - X w, for every row w of W (shape (K, p)).

        Uses the Gram matrix when there is one (p^2 K flops instead of n p K).
        """
        W = np.asarray(W, dtype=np.float64)
        if self.gram is not None:
            GW = W @ self.gram  # gram is symmetric
            XtR = self.Xty[None, :] - GW
            rss = self.yty - 2.0 * (W @ self.Xty) + np.einsum("kp,kp->k", W, GW)
            return XtR, np.maximum(rss, 0.0)
        R = self.y[:, None] - self.X @ W.T
        return (self.X.T @ R).T, np.einsum("nk,nk->k", R, R)


def alpha_max(X: np.ndarray, y: np.ndarray, l1_ratio: float = 1.0, centred: bool = False) -> float:
    """The top of every grid: the smallest alpha at which the L1 (or elastic-net) solution is
    all zeros, ``max_j |Xc_j^T yc| / (n * l1_ratio)`` on centred data (Xc, yc).

    The data's front of the one formula, :func:`sparsity_lab.penalties.alpha_max_from_xty`.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
    l1_ratio : float
        The penalty's l1_ratio (1 for L1). For L2 (0) and unknown penalties (NaN) the L1 value
        is returned, so that their grids match the Lasso's.
    centred : bool
        True when X and y are centred already (the prepared training data): skips the copy.
    """
    if not centred:
        X, y = X - X.mean(axis=0), y - y.mean()
    return alpha_max_from_xty(X.T @ y, X.shape[0], l1_ratio)


def log_grid_ratios(num: int, min_ratio: float) -> np.ndarray:
    """``num`` ratios log-spaced from 1 down to ``min_ratio`` (largest first); the one check of
    a log grid's ``grid.num`` and ``grid.min_ratio`` (GridError naming what is allowed)."""
    if isinstance(num, bool) or not isinstance(num, int | np.integer) or num < 1:
        raise GridError(f"grid.num={num!r}: allowed values are integers >= 1")
    bad_type = isinstance(min_ratio, bool) or not isinstance(min_ratio, int | float | np.floating)
    if bad_type or not 0.0 < min_ratio < 1.0:
        raise GridError(f"grid.min_ratio={min_ratio!r}: allowed values are 0 < min_ratio < 1")
    return np.logspace(0.0, np.log10(min_ratio), num)


def check_alphas(values) -> np.ndarray:
    """Explicit alphas: finite numbers >= 0, at least one; returned largest first."""
    try:
        alphas = np.asarray(list(values), dtype=np.float64)
    except (TypeError, ValueError):
        raise GridError(
            f"grid.values={values!r}: allowed values are a list of numbers >= 0"
        ) from None
    if alphas.size == 0:
        raise GridError("grid.values=[]: the grid has no points; give at least one alpha >= 0")
    if not np.isfinite(alphas).all() or (alphas < 0).any():
        raise GridError(f"grid.values={values!r}: every alpha must be a finite number >= 0")
    return np.sort(alphas)[::-1]


def objective_l1_ratio(estimator) -> float:
    """The l1_ratio of the estimator's penalty in Omega = l1_ratio ||w||_1 + (1-l1_ratio)/2 ||w||^2.

    1 for L1 models, 0 for L2 models; NaN when the estimator does not say.
    """
    ratio = getattr(estimator, "penalty_l1_ratio", None)
    if ratio is None and isinstance(estimator, ElasticNet):
        ratio = estimator.l1_ratio  # Lasso sets l1_ratio = 1.0
    return float("nan") if ratio is None else float(ratio)


def objective_penalty(estimator) -> Penalty | None:
    """The penalty object of the estimator's objective: its own (``estimator.penalty()``, MCP
    and SCAD), else the elastic net of :func:`objective_l1_ratio`; None when unknown."""
    own = getattr(estimator, "penalty", None)
    if callable(own):
        return own()
    l1_ratio = objective_l1_ratio(estimator)
    return ElasticNetPenalty(l1_ratio) if np.isfinite(l1_ratio) else None


@dataclass
class PathResult:
    """Fits along a grid, largest alpha first. Intercepts are those of the centred problem.

    ``exact``: every ``ok`` fit is the optimum of its objective (:mod:`sparsity_lab.solvers`).
    """

    alphas: np.ndarray
    coefs: np.ndarray  # (K, p)
    n_iter: np.ndarray  # (K,)
    converged: np.ndarray  # (K,) bool
    fit_seconds: np.ndarray  # (K,)
    status: list[str]
    message: list[str]
    exact: bool = False
    #: What the path walks (``schema.PATH_PARAMS``): ``alpha`` (one row per alpha of the
    #: grid), ``k`` (one row per size, ``alphas`` NaN), ``alpha,gamma`` (one row per pair).
    path_param: str = "alpha"
    #: Per row: its size (path over k) and its relaxation (relaxed lasso); None: NaN.
    k: np.ndarray | None = None
    gamma: np.ndarray | None = None
    #: Per row: the index of its alpha in the grid given (None: row i is alpha i; -1: none).
    grid_index: np.ndarray | None = None
    #: Per row, for a search over subsets: ``proven`` or ``heuristic``; None: "".
    optimality: list[str] | None = None
    #: The lasso problem whose optimum proves the rows' zeros, when it is not the rows' own
    #: (relaxed lasso: the lasso's coefficients at each row's alpha; adaptive lasso: the
    #: rescaled columns and coefficients), as (data, coefs (rows, p)); None: the rows' own.
    certificate: tuple[TrainingData, np.ndarray] | None = None


def _new_path(alphas: np.ndarray, p: int) -> PathResult:
    K = len(alphas)
    return PathResult(
        alphas=alphas,
        coefs=np.zeros((K, p)),
        n_iter=np.full(K, -1, dtype=np.int64),
        converged=np.zeros(K, dtype=bool),
        fit_seconds=np.zeros(K),
        status=["ok"] * K,
        message=[""] * K,
    )


#: Called as ``on_fit(n_done, n_total)`` after each alpha of a path (progress reporting).
FitCallback = Callable[[int, int], None]


@singledispatch
def fit_path(
    estimator, data: TrainingData, alphas: np.ndarray, on_fit: FitCallback | None = None
) -> PathResult:
    """Fit ``estimator`` at every alpha (largest first), warm-starting each fit.

    The generic route clones the estimator once, sets ``warm_start=True`` when it has that
    parameter and refits with ``set_params(alpha=...)``. Estimators may report ``converged_``,
    ``status_`` and ``message_``; an exception becomes a ``failed`` fit, never a crashed sweep.
    Every route calls ``on_fit(k, K)`` once fit k of K is done.
    """
    est = clone(estimator)
    params = est.get_params()
    if "warm_start" in params:
        est.set_params(warm_start=True)
    if "fit_intercept" in params:
        est.set_params(fit_intercept=False)  # data are centred
    out = _new_path(alphas, data.n_features)
    X = np.ascontiguousarray(data.X)
    for k, alpha in enumerate(alphas):
        est.set_params(alpha=float(alpha))
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                est.fit(X, data.y)
        except Exception as exc:  # any estimator error is a result, not a crash
            out.fit_seconds[k] = time.perf_counter() - start
            out.coefs[k] = np.nan
            out.status[k], out.message[k] = "failed", f"{type(exc).__name__}: {exc}"
            est = clone(estimator)  # do not warm-start from a broken state
            if "warm_start" in params:
                est.set_params(warm_start=True)
            _report(on_fit, k, alphas)
            continue
        out.fit_seconds[k] = time.perf_counter() - start
        out.coefs[k] = np.ravel(est.coef_)
        out.n_iter[k] = int(np.max(getattr(est, "n_iter_", -1) or -1))
        conv_warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        out.converged[k] = bool(getattr(est, "converged_", not conv_warned))
        status = getattr(est, "status_", None)
        if status is None:
            status = "ok" if out.converged[k] else "not_converged"
        if not np.isfinite(out.coefs[k]).all():
            status = "diverged"
        out.status[k] = status
        out.message[k] = getattr(est, "message_", "") or (
            str(caught[-1].message).splitlines()[0] if conv_warned else ""
        )
        _report(on_fit, k, alphas)
    return out


def _report(on_fit: FitCallback | None, k: int, alphas: np.ndarray) -> None:
    if on_fit is not None:
        on_fit(k + 1, len(alphas))


@fit_path.register
def _(
    estimator: ElasticNet, data: TrainingData, alphas: np.ndarray, on_fit: FitCallback | None = None
) -> PathResult:
    """scikit-learn's Lasso and ElasticNet: its coordinate descent, one alpha per call with the
    previous solution as start and the Gram matrix computed once (as ``lasso_path`` does).
    Convergence is the ``status`` column, not a warning."""
    p = estimator.get_params()
    l1_ratio = float(getattr(estimator, "l1_ratio", 1.0))
    out = _new_path(alphas, data.n_features)
    precompute = data.gram if data.gram is not None else False
    coef = np.zeros(data.n_features)
    for k, alpha in enumerate(alphas):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # n_iter says it
            _, coefs, _, n_iters = _cd_one_alpha(data, estimator, l1_ratio, alpha, coef, precompute)
        out.fit_seconds[k] = time.perf_counter() - start
        coef = np.ascontiguousarray(coefs[:, 0])
        out.coefs[k] = coef
        out.n_iter[k] = int(n_iters[0])
        out.converged[k] = n_iters[0] < p["max_iter"]
        if not out.converged[k]:
            out.status[k] = "not_converged"
            out.message[k] = f"max_iter={p['max_iter']} reached at tol={p['tol']}"
        _report(on_fit, k, alphas)
    return out


def _cd_one_alpha(data, estimator, l1_ratio, alpha, coef, precompute):
    """scikit-learn's ``enet_path`` at one alpha from ``coef``."""
    p = estimator.get_params()
    return enet_path(
        data.X,
        data.y,
        l1_ratio=l1_ratio,
        alphas=[float(alpha)],
        precompute=precompute,
        Xy=data.Xty,
        coef_init=coef,
        tol=p["tol"],
        max_iter=p["max_iter"],
        selection=p["selection"],
        random_state=p["random_state"],
        positive=p["positive"],
        check_input=False,
        return_n_iter=True,
    )


@fit_path.register
def _(
    estimator: ExactSolverMixin,
    data: TrainingData,
    alphas: np.ndarray,
    on_fit: FitCallback | None = None,
) -> PathResult:
    """The suite's Lasso and ElasticNet: the optimum at every alpha (:mod:`sparsity_lab.solvers`),
    or scikit-learn's coordinate descent with ``solver='cd'``."""
    if estimator.solver == "cd":
        return fit_path.dispatch(ElasticNet)(estimator, data, alphas, on_fit)
    exact = solvers.exact_path(
        data.X, data.y, data.Xty, data.gram, np.asarray(alphas, dtype=np.float64),
        float(estimator.l1_ratio), estimator.solver, on_fit,
    )  # fmt: skip
    return PathResult(
        alphas=alphas, coefs=exact.coefs, n_iter=exact.n_iter, converged=exact.converged,
        fit_seconds=exact.fit_seconds, status=exact.status, message=exact.message, exact=True,
    )  # fmt: skip


@fit_path.register
def _(
    estimator: _NonconvexRegression,
    data: TrainingData,
    alphas: np.ndarray,
    on_fit: FitCallback | None = None,
) -> PathResult:
    """MCP and SCAD: warm-started coordinate descent from the largest alpha down, each fit made
    stationary to rounding (:mod:`sparsity_lab.nonconvex`)."""
    from sparsity_lab.nonconvex import nonconvex_path

    penalty = estimator.penalty()  # gamma checked before launch (scikit-learn's constraints)
    path = nonconvex_path(
        data.X, data.y, data.Xty, data.gram, np.asarray(alphas, dtype=np.float64), penalty,
        on_fit,
    )  # fmt: skip
    return PathResult(
        alphas=alphas, coefs=path.coefs, n_iter=path.n_iter, converged=path.converged,
        fit_seconds=path.fit_seconds, status=path.status, message=path.message,
    )  # fmt: skip


@fit_path.register
def _(
    estimator: LassoLars,
    data: TrainingData,
    alphas: np.ndarray,
    on_fit: FitCallback | None = None,
) -> PathResult:
    """scikit-learn's LARS-lasso homotopy, run once down to the smallest alpha of the grid;
    every alpha is read off its piecewise-linear path (the interpolation ``LassoLars`` does).

    Alphas below the end of a path that stopped early (``max_iter`` knots, or a rank-deficient
    active set) get the path's last point and status ``not_converged``. ``fit_seconds`` is the
    path's time divided evenly over the alphas.
    """
    from sklearn.linear_model import lars_path

    estimator._check_params()
    alphas = np.asarray(alphas, dtype=np.float64)
    out = _new_path(alphas, data.n_features)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        knots, _, path, n_iter = lars_path(
            data.X, data.y, Xy=data.Xty, Gram=data.gram, max_iter=estimator.max_iter,
            alpha_min=float(alphas.min()), method="lasso", eps=estimator.eps,
            return_n_iter=True,
        )  # fmt: skip
    out.coefs[:] = interpolate_path(knots, path, alphas)
    out.fit_seconds[:] = (time.perf_counter() - start) / len(alphas)
    out.n_iter[:] = n_iter
    # lars_path's last knot is the smallest alpha it reached (alpha_min when it got there)
    reached = alphas >= knots[-1] * (1 - 1e-12)
    out.converged[:] = reached
    warned = [str(w.message).splitlines()[0] for w in caught]
    for k in np.flatnonzero(~reached):
        out.status[k] = "not_converged"
        out.message[k] = f"LARS path stopped at alpha {knots[-1]:.4g} after {n_iter} steps"
    for k in np.flatnonzero(reached):
        out.message[k] = warned[-1] if warned else ""
    _report(on_fit, len(alphas) - 1, alphas)
    return out


def interpolate_path(knots: np.ndarray, path: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Coefficients of a piecewise-linear path at ``alphas`` (shape (K, p)).

    ``knots`` (decreasing, shape (m,)) and ``path`` (p, m) as ``lars_path`` returns them; an
    alpha above the first knot gets the first point, below the last knot the last point, and
    within 1e-12 (relative) of a knot that knot's point: alpha_max computed another way is the
    first knot up to rounding, where every coefficient is 0. A coefficient that is 0.0 at both
    ends of a segment stays exactly 0.0 inside it.
    """
    knots = np.asarray(knots, dtype=np.float64)
    out = np.empty((len(alphas), path.shape[0]))
    for k, alpha in enumerate(alphas):
        near = np.flatnonzero(np.abs(knots - alpha) <= 1e-12 * knots[0])
        if near.size:
            out[k] = path[:, near[0]]
        elif alpha >= knots[0]:
            out[k] = path[:, 0]
        elif alpha <= knots[-1]:
            out[k] = path[:, -1]
        else:  # knots[i] >= alpha > knots[i + 1]
            i = int(np.searchsorted(-knots, -alpha, side="right")) - 1
            t = (knots[i] - alpha) / (knots[i] - knots[i + 1])
            out[k] = path[:, i] if t == 0.0 else (1.0 - t) * path[:, i] + t * path[:, i + 1]
    return out


@fit_path.register
def _(
    estimator: Ridge, data: TrainingData, alphas: np.ndarray, on_fit: FitCallback | None = None
) -> PathResult:
    """Ridge at every alpha from one eigendecomposition of X^T X (n > p) or one thin SVD of X.

    w(alpha) = V diag(1 / (s^2 + n alpha)) V^T X^T y, exact for every alpha of the grid.
    """
    start = time.perf_counter()
    n = data.n_samples
    if data.gram is not None:
        evals, V = np.linalg.eigh(data.gram)
        s2 = np.clip(evals, 0.0, None)
    else:
        _, s, Vt = np.linalg.svd(data.X, full_matrices=False)
        s2, V = s**2, Vt.T
    Vty = V.T @ data.Xty
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = 1.0 / (s2[None, :] + n * np.asarray(alphas)[:, None])
    coefs = (shrink * Vty[None, :]) @ V.T
    out = _new_path(alphas, data.n_features)
    out.coefs[:] = coefs
    out.n_iter[:] = 0
    out.converged[:] = np.isfinite(coefs).all(axis=1)
    for k in np.flatnonzero(~out.converged):
        out.status[k], out.message[k] = "failed", "singular system (alpha = 0 on rank-deficient X)"
    out.fit_seconds[:] = (time.perf_counter() - start) / len(alphas)
    _report(on_fit, len(alphas) - 1, alphas)
    return out


@fit_path.register
def _(
    estimator: SklearnRidge,
    data: TrainingData,
    alphas: np.ndarray,
    on_fit: FitCallback | None = None,
) -> PathResult:
    raise ConfigError(
        "model: sklearn.linear_model.Ridge uses another objective scale (a = n * alpha); "
        "use sparsity_lab.models.Ridge (config model=ridge)"
    )


@fit_path.register
def _(
    estimator: SubsetRegressor,
    data: TrainingData,
    alphas: np.ndarray,
    on_fit: FitCallback | None = None,
) -> PathResult:
    """Best subset and forward stepwise: one row per size k = 0 .. k_max, from one fit (every
    size at once); the grid's alphas do not apply (``alphas`` NaN). ``k_max`` is the
    estimator's ``k`` capped at the largest size the training rows determine, min(p, n - 1)
    (None: that size). ``optimality`` is ``proven`` where the size's fit is shown optimal among
    all subsets of its size, else ``heuristic``; ``fit_seconds`` is the whole fit's time over
    its rows."""
    est = clone(estimator)
    est._validate_params()
    top = largest_size(data.n_samples, data.n_features, True)
    k_max = top if est.k is None else min(int(est.k), top)
    est.set_params(k=k_max, fit_intercept=False)  # data are centred
    est.fit(data.X, data.y)
    K = k_max + 1
    out = _new_path(np.full(K, np.nan), data.n_features)
    out.coefs[:] = est.coef_path_
    out.n_iter[:] = getattr(est, "nodes_", 0) if isinstance(est, BestSubset) else np.arange(K)
    out.converged[:] = True
    out.fit_seconds[:] = est.fit_seconds_ / K
    out.message[:] = [est.message_] * K
    out.path_param = "k"
    out.k = np.arange(K, dtype=np.float64)
    out.grid_index = np.full(K, -1)
    out.optimality = ["proven" if proven else "heuristic" for proven in est.proven_path_]
    _report(on_fit, K - 1, out.alphas)
    return out


def _exact_rows(exact: solvers.ExactPath, rows: np.ndarray, alphas: np.ndarray) -> PathResult:
    """A PathResult shell for rows taken from an exact lasso path (``rows`` index its alphas)."""
    return PathResult(
        alphas=alphas[rows], coefs=np.zeros((len(rows), exact.coefs.shape[1])),
        n_iter=exact.n_iter[rows], converged=exact.converged[rows],
        fit_seconds=exact.fit_seconds[rows], status=[exact.status[i] for i in rows],
        message=[exact.message[i] for i in rows], exact=True, grid_index=rows,
    )  # fmt: skip


@fit_path.register
def _(
    estimator: RelaxedLasso,
    data: TrainingData,
    alphas: np.ndarray,
    on_fit: FitCallback | None = None,
) -> PathResult:
    """The relaxed lasso at every (alpha, gamma) of the grid and ``path_gammas``: one exact
    lasso path, least squares on each support. Rows alpha-major (each alpha's gammas in the
    order given); the zeros are the lasso's, so the certificate columns are the lasso's."""
    from sparsity_lab.models.lasso_variants import relaxed_lasso_path

    estimator._check_params()
    alphas = np.asarray(alphas, dtype=np.float64)
    gammas = check_path_gammas(estimator.path_gammas)
    K, G = len(alphas), len(gammas)
    rel = relaxed_lasso_path(data.X, data.y, alphas, gammas, estimator.solver)
    rows = np.repeat(np.arange(K), G)
    out = _exact_rows(rel.exact, rows, alphas)
    out.coefs[:] = rel.coefs.reshape(K * G, -1)
    out.fit_seconds[:] = rel.exact.fit_seconds[rows] / G
    out.path_param = "alpha,gamma"
    out.gamma = np.tile(gammas, K)
    out.certificate = (data, rel.lasso_coefs[rows])
    _report(on_fit, K - 1, alphas)
    return out


@fit_path.register
def _(
    estimator: AdaptiveLasso,
    data: TrainingData,
    alphas: np.ndarray,
    on_fit: FitCallback | None = None,
) -> PathResult:
    """The adaptive lasso at every alpha: one initial estimate, one exact lasso path on the
    columns scaled by ``|w_init|^nu``. Its certificates are that lasso's: the objective, gap
    and gap-safe test on the rescaled columns (a column whose weight is infinite is a zero
    column there, its zero certified by the test)."""
    from sparsity_lab.models.lasso_variants import adaptive_lasso_path

    estimator._validate_params()
    alphas = np.asarray(alphas, dtype=np.float64)
    p = estimator.get_params()
    ada = adaptive_lasso_path(
        data.X, data.y, alphas, p["nu"], p["init"], p["init_alpha"], p["solver"]
    )
    rows = np.arange(len(alphas))
    scale = np.abs(ada.init_coef) ** float(p["nu"])  # the columns' factors (0: weight inf)
    if ada.exact is None:  # every weight infinite: 0.0 everywhere, nothing solved
        out = _new_path(alphas, data.n_features)
        out.n_iter[:], out.converged[:], out.exact = 0, True, True
    else:
        out = _exact_rows(ada.exact, rows, alphas)
    out.coefs[:] = ada.coefs
    with np.errstate(divide="ignore", invalid="ignore"):
        rescaled = np.where(scale > 0, ada.coefs / scale, 0.0)
    out.certificate = (TrainingData(data.X * scale, data.y), rescaled)
    _report(on_fit, len(alphas) - 1, alphas)
    return out
