"""Best subset selection and forward stepwise regression: least squares on k features, k = 0..K.

Both minimise the data term of the shared objective under a cardinality constraint,

    min 1/(2n) ||y - Xw - b||^2   subject to   ||w||_0 <= k,

on centred data (the intercept is ``mean(y) - mean(X) w``). Every size is computed in one pass,
so the estimators expose the whole path over k (``coef_path_``), and ``coef_`` is the fit of
size ``k``.

:func:`best_subset_path` is exact where it can prove it: a branch and bound over subsets
(:mod:`sparsity_lab.models._subset_kernel`) that finishes on up to about 40 features of a full
column rank design, seeded with the heuristic's fits. Each size says whether its fit is
``proven`` optimal (the search compares residual sums of squares computed by orthogonal
updates, and cuts a subtree only when its bound beats the incumbents by their rounding
margin); a size the search could not finish (time limit, more features than
``max_exact_features``, a rank-deficient design) keeps the heuristic's fit, never marked proven.
The heuristic is forward stepwise followed by 1-swaps, the local search of L0Learn (Hazimeh and
Mazumder 2020): replace one chosen feature by another while that lowers the RSS.

:func:`forward_stepwise_path` adds, at each step, the feature that lowers the RSS most (the
largest ``|x_j~^T r| / ||x_j~||`` over the columns orthogonalised against the chosen ones, as the
``fs`` function of Hastie, Tibshirani and Tibshirani's ``bestsubset`` package), with
Gram-Schmidt (QR) updates: O(n p) per step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

from sparsity_lab.models._linear import LinearPredictor
from sparsity_lab.threads import thread_pools

#: Columns whose part orthogonal to the chosen ones is below this fraction of their norm
#: (squared) are collinear with them and cannot enter.
COLLINEAR_RTOL = 1e-10
#: A swap must lower the RSS by more than this fraction of ||y||^2 (rounding otherwise).
SWAP_RTOL = 1e-12
#: Rounding margin of the branch and bound's cuts, in units of eps * cond(X) * ||y||^2.
_MARGIN_FACTOR = 1e3
_EPS = float(np.finfo(np.float64).eps)
#: Nodes of the branch and bound between two looks at the clock.
_NODE_SLICE = 2000


@dataclass
class SubsetPath:
    """Fits of every size k = 0 .. k_max (of the data given: centred by the estimators).

    ``coefs[k]`` has at most k nonzeros; ``supports[k]`` lists its features (sorted; in order of
    entry for forward stepwise); ``rss[k]`` is ||y - X coefs[k]||^2; ``proven[k]`` says the fit
    is optimal among all size-k subsets; ``nodes`` counts the branch and bound's nodes.
    """

    coefs: np.ndarray  # (k_max + 1, p)
    supports: list[np.ndarray]
    rss: np.ndarray  # (k_max + 1,)
    proven: np.ndarray  # (k_max + 1,) bool
    nodes: int = 0
    message: str = ""


def _least_squares(X: np.ndarray, y: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, float]:
    """(w, RSS) of least squares on the columns ``support`` (minimum norm if rank-deficient)."""
    w = np.zeros(X.shape[1])
    if support.size:
        w[support] = np.linalg.lstsq(X[:, support], y, rcond=None)[0]
    r = y - X @ w
    return w, float(r @ r)


def _one_blas_thread():
    """Small factorisations and matrix-vector products: BLAS threads only contend (a 50 x 50
    triangular solve took 23 ms with the default threads on a loaded 2-core machine, 0.04 ms
    with one), as in :func:`sparsity_lab.solvers.exact_path`."""
    return thread_pools().limit(limits=1, user_api="blas")


def largest_size(n_samples: int, n_features: int, fit_intercept: bool) -> int:
    """The largest k with a least-squares fit determined by the data: min(p, n - intercept)."""
    return max(0, min(n_features, n_samples - int(bool(fit_intercept))))


def forward_stepwise_path(X: np.ndarray, y: np.ndarray, k_max: int) -> SubsetPath:
    """Forward stepwise from the empty model, k_max steps (fewer if the columns' rank runs out).

    Parameters
    ----------
    X : ndarray of shape (n, p)
        Centred features.
    y : ndarray of shape (n,)
        Centred target.
    k_max : int
        Steps to take.

    Returns
    -------
    SubsetPath
        ``supports[k]`` in order of entry (the first k features chosen); rows past the rank of X
        repeat the last fit and ``message`` says so. ``proven`` is True only for k = 0.
    """
    with _one_blas_thread():
        return _forward_stepwise(np.asarray(X, dtype=np.float64), np.asarray(y, np.float64), k_max)


def _forward_stepwise(X: np.ndarray, y: np.ndarray, k_max: int) -> SubsetPath:
    n, p = X.shape
    Xt = np.ascontiguousarray(X.T)  # rows are features: X^T v is one BLAS call
    r = y.copy()
    norm0 = np.einsum("ij,ij->j", X, X)
    # ||x_j - Q Q^T x_j||^2, updated by (q^T x_j)^2 per step; X^T r = Xres^T r as r is
    # orthogonal to Q, so the orthogonalised columns themselves are never formed
    norms = norm0.copy()
    Q = np.zeros((n, k_max))
    Rf = np.zeros((k_max, k_max))
    z = np.zeros(k_max)
    order: list[int] = []
    free = norm0 > 0.0
    for step in range(k_max):
        ok = free & (norms > COLLINEAR_RTOL * norm0)
        if not ok.any():
            break
        c = Xt @ r
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(ok, c * c / norms, -np.inf)
        j = int(np.argmax(score))
        proj = Q[:, :step].T @ X[:, j]
        q = X[:, j] - Q[:, :step] @ proj
        corr = Q[:, :step].T @ q  # Gram-Schmidt twice is enough (Giraud et al. 2005)
        q -= Q[:, :step] @ corr
        Rf[:step, step] = proj + corr
        Rf[step, step] = np.linalg.norm(q)
        q /= Rf[step, step]
        Q[:, step] = q
        z[step] = q @ y
        r -= z[step] * q
        norms -= (Xt @ q) ** 2
        free[j] = False
        order.append(j)
    steps = len(order)
    coefs = np.zeros((k_max + 1, p))
    supports = [np.zeros(0, dtype=np.int64)]
    rss = np.zeros(k_max + 1)
    rss[0] = float(y @ y)
    for k in range(1, k_max + 1):
        kk = min(k, steps)
        if kk:
            coefs[k, order[:kk]] = scipy.linalg.solve_triangular(Rf[:kk, :kk], z[:kk])
        supports.append(np.array(order[:kk], dtype=np.int64))
        res = y - X[:, order[:kk]] @ coefs[k, order[:kk]]
        rss[k] = float(res @ res)
    proven = np.zeros(k_max + 1, dtype=bool)
    proven[0] = True
    msg = "" if steps == k_max else f"rank of X reached after {steps} steps: later rows repeat it"
    return SubsetPath(coefs, supports, rss, proven, 0, msg)


def swap_search(
    X: np.ndarray, y: np.ndarray, support: np.ndarray, max_swaps: int = 1000
) -> tuple[np.ndarray, int]:
    """Best-improvement 1-swaps from ``support``: a local optimum of the RSS over subsets of its
    size (no single exchange of a chosen feature for another lowers it by more than rounding).

    Each round costs O(n p k): with the QR factor X_S = Q R, dropping feature i leaves the
    direction u_i (column i of Q R^-T, normalised) and raises the RSS by (u_i^T y)^2; adding j
    then lowers it by (xres_j^T r + (u_i^T x_j)(u_i^T y))^2 / (||xres_j||^2 + (u_i^T x_j)^2),
    with xres = X minus its projection on span(X_S) and r the residual.

    Returns (support sorted, swaps made).
    """
    S = np.sort(np.asarray(support, dtype=np.int64))
    k = S.size
    p = X.shape[1]
    if k == 0 or k == p:
        return S, 0
    norm0 = np.einsum("ij,ij->j", X, X)
    tol = SWAP_RTOL * float(y @ y)
    for swaps in range(max_swaps):
        Q, R = np.linalg.qr(X[:, S])
        rinv = scipy.linalg.solve_triangular(R, np.eye(k))
        U = Q @ rinv.T
        U /= np.linalg.norm(U, axis=0)
        r = y - Q @ (Q.T @ y)
        rss = float(r @ r)
        Xres = X - Q @ (Q.T @ X)
        res_norms = np.einsum("ij,ij->j", Xres, Xres)
        c = Xres.T @ r
        A = U.T @ X  # (k, p)
        b = U.T @ y  # (k,)
        den = res_norms[None, :] + A * A
        num = (c[None, :] + A * b[:, None]) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            new = rss + b[:, None] ** 2 - num / den
        bad = den <= COLLINEAR_RTOL * norm0[None, :]
        bad[:, S] = True
        new[bad] = np.inf
        i, j = np.unravel_index(int(np.argmin(new)), new.shape)
        if not new[i, j] < rss - tol:
            return S, swaps
        S = np.sort(np.concatenate([np.delete(S, i), [j]]))
    return S, max_swaps


def heuristic_path(
    X: np.ndarray, y: np.ndarray, k_max: int, deadline: float | None = None
) -> SubsetPath:
    """Forward stepwise, then 1-swaps at every size: upper bounds, none of them proven but k=0.

    ``deadline`` (a ``time.perf_counter()`` value): sizes not reached by then keep the
    stepwise fit, and ``message`` says how many.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with _one_blas_thread():
        fs = _forward_stepwise(X, y, k_max)
        supports = [np.zeros(0, dtype=np.int64)]
        coefs = np.zeros_like(fs.coefs)
        rss = np.zeros(k_max + 1)
        rss[0] = float(y @ y)
        unswapped = 0
        for k in range(1, k_max + 1):
            start = np.sort(fs.supports[k])
            if deadline is not None and time.perf_counter() > deadline:
                S = start
                unswapped += 1
            elif start.size < k:  # rank ran out: no larger set to swap in
                S = start
            else:
                S, _ = swap_search(X, y, start)
            coefs[k], rss[k] = _least_squares(X, y, S)
            if rss[k] > fs.rss[k]:  # rounding: keep the stepwise fit
                S, coefs[k], rss[k] = start, fs.coefs[k], fs.rss[k]
            supports.append(S)
    notes = [fs.message] if fs.message else []
    if unswapped:
        notes.append(f"time limit: {unswapped} sizes keep forward stepwise fits (no swaps)")
    return SubsetPath(coefs, supports, rss, fs.proven.copy(), 0, "; ".join(notes))


def best_subset_path(
    X: np.ndarray,
    y: np.ndarray,
    k_max: int,
    time_limit: float | None = None,
    max_exact_features: int = 40,
) -> SubsetPath:
    """The least-squares fit on the best k features for every k = 0 .. k_max.

    Parameters
    ----------
    X : ndarray of shape (n, p)
        Centred features.
    y : ndarray of shape (n,)
        Centred target.
    k_max : int
        Largest size, at most p.
    time_limit : float or None
        Seconds for the whole search, the heuristic's swaps included (sizes the swaps have not
        reached keep the stepwise fit); None: until the branch and bound finishes.
    max_exact_features : int
        Above this many features no proof is attempted (the search grows like 2^p at worst).

    Returns
    -------
    SubsetPath
        ``proven[k]`` is True where the branch and bound showed that no size-k subset has a lower
        RSS (to rounding); elsewhere the fit is the heuristic's (:func:`heuristic_path`) and
        ``message`` says why no proof was made.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    with _one_blas_thread():
        return _best_subset(X, y, k_max, deadline, time_limit, max_exact_features)


def _join(reason: str, note: str) -> str:
    """Why no proof was made, then the heuristic's own note."""
    return f"{reason}: heuristic fits" + (f"; {note}" if note else "")


def _best_subset(X, y, k_max, deadline, time_limit, max_exact_features) -> SubsetPath:
    from sparsity_lab.models import _subset_kernel as kernel

    p = X.shape[1]
    path = heuristic_path(X, y, k_max, deadline)
    if k_max == p:  # only one subset of size p
        path.proven[p] = True
    if p > max_exact_features:
        path.message = _join(f"p={p} > max_exact_features={max_exact_features}", path.message)
        return path
    Rxy = np.linalg.qr(np.column_stack([X, y]), mode="r")
    R0 = np.zeros((p + 1, p + 1))
    R0[: Rxy.shape[0]] = Rxy
    diag = np.abs(np.diag(R0)[:p])
    col = np.sqrt(np.einsum("ij,ij->j", X, X))
    if p and not np.all(diag > np.sqrt(COLLINEAR_RTOL) * col):
        path.message = _join(f"X has rank < p={p} (collinear or n too small)", path.message)
        return path
    # RSS and drop costs come from triangular solves and rotations: relative errors of about
    # eps * cond(X) each, a few hundred of them along a branch; cuts keep this margin
    cond = float(np.linalg.cond(R0[:p, :p])) if p else 1.0
    margin = _MARGIN_FACTOR * _EPS * cond * float(y @ y)
    best_rss = np.full(p + 1, np.inf)
    best_sets = np.zeros((p + 1, p), dtype=np.int64)
    for k in range(k_max + 1):
        best_rss[k] = path.rss[k]
        best_sets[k, :k] = path.supports[k]
    Rs = np.zeros((p + 1, p + 1, p + 1))
    Vs = np.zeros((p + 1, max(p, 1)), dtype=np.int64)
    qs = np.zeros(p + 1, dtype=np.int64)
    ms = np.zeros(p + 1, dtype=np.int64)
    nxt = np.zeros(p + 1, dtype=np.int64)
    incs = np.zeros((p + 1, max(p, 1)))
    rss = np.zeros(p + 1)
    state = (Rs, Vs, qs, ms, nxt, incs, rss, best_rss, best_sets)
    kernel.init_search(R0, p, *state, k_max)
    depth, nodes, first = 0, 1, True
    while depth >= 0:
        late = deadline is not None and time.perf_counter() > deadline
        if late and not first:
            break
        budget = 0 if late else _NODE_SLICE  # late: only open the root (its children's RSS)
        depth, opened = kernel.run_search(depth, *state, k_max, budget, margin, first)
        nodes += opened
        first = False
    open_ = (
        kernel.unproven_sizes(depth, qs, nxt, incs, rss, best_rss, k_max, margin)
        if depth >= 0
        else np.zeros(k_max + 1, dtype=bool)
    )
    for k in range(k_max + 1):
        S = np.sort(best_sets[k, :k])
        if not np.array_equal(S, np.sort(path.supports[k])):
            w, r = _least_squares(X, y, S)
            if r < path.rss[k]:
                path.coefs[k], path.rss[k], path.supports[k] = w, r, S
        path.proven[k] = path.proven[k] or not open_[k]
    path.nodes = nodes
    if depth >= 0:
        path.message = _join(
            f"time_limit={time_limit} s reached after {nodes} nodes, "
            f"{int(open_.sum())} sizes unproven",
            path.message,
        )
    else:
        path.message = ""
    return path


_K_CONSTRAINT = [Interval(Integral, 0, None, closed="left"), None]


class SubsetRegressor(LinearPredictor, BaseEstimator):
    """Shared fit/predict of the path-over-k estimators (``regularization.fit_path`` walks
    their sizes)."""

    _parameter_constraints: ClassVar[dict] = {
        "k": _K_CONSTRAINT,
        "fit_intercept": ["boolean"],
    }

    def _path(self, X: np.ndarray, y: np.ndarray, k_max: int) -> SubsetPath:
        raise NotImplementedError

    def fit(self, X, y):
        """Fit every size 0 .. k on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n, p = X.shape
        top = largest_size(n, p, self.fit_intercept)
        k = top if self.k is None else int(self.k)
        if k > top:
            raise ValueError(
                f"k={k} is too large for n_samples = {n}, n_features = {p}: allowed "
                f"0 <= k <= min(n_features, n_samples{' - 1' if self.fit_intercept else ''})"
                f" = {top}"
            )
        x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(p)
        y_mean = float(y.mean()) if self.fit_intercept else 0.0
        start = time.perf_counter()
        path = self._path(X - x_mean, y - y_mean, k)
        self.fit_seconds_ = time.perf_counter() - start
        self.coef_path_ = path.coefs
        self.intercept_path_ = y_mean - path.coefs @ x_mean
        self.rss_path_ = path.rss
        self.support_path_ = path.supports
        self.proven_path_ = path.proven
        self.coef_ = path.coefs[k]
        self.intercept_ = float(self.intercept_path_[k])
        self.proven_ = bool(path.proven[k])
        self.nodes_ = path.nodes
        self.status_ = "ok"
        self.message_ = path.message
        return self


class BestSubset(SubsetRegressor):
    """Least squares on the best ``k`` features, with the best fit of every smaller size.

    Parameters
    ----------
    k : int or None, default=None
        Size of the fit ``coef_`` and ``predict`` use; every size 0..k is computed. None: the
        largest, ``min(n_features, n_samples - fit_intercept)``.
    fit_intercept : bool, default=True
        Centre X and y (the intercept is not counted in k).
    time_limit : float or None, default=60.0
        Seconds for the search (swaps and branch and bound); sizes it has not settled by then
        keep heuristic fits. A fit that reaches it depends on the machine's speed (the rows
        flagged proven are optimal all the same); None: no limit.
    max_exact_features : int, default=40
        No proof is attempted on more features (heuristic fits only).

    Attributes
    ----------
    coef_path_ : ndarray of shape (k + 1, n_features)
        Row j: the least-squares fit on the best j features found.
    intercept_path_ : ndarray of shape (k + 1,)
    rss_path_ : ndarray of shape (k + 1,)
        Residual sum of squares of each row (training data).
    support_path_ : list of ndarray
        The features of each row, sorted.
    proven_path_ : ndarray of shape (k + 1,), bool
        True where the row is proven optimal among all subsets of its size.
    status_path_ : ndarray of shape (k + 1,), str
        ``proven`` or ``heuristic``, as ``proven_path_`` says.
    coef_, intercept_, proven_
        Row k.
    nodes_ : int
        Nodes the branch and bound opened (0 when no proof was attempted).
    status_ : str
        ``ok``.
    message_ : str
        Why some rows are heuristic (time limit, too many features, rank-deficient X), or "".
    """

    _parameter_constraints: ClassVar[dict] = {
        **SubsetRegressor._parameter_constraints,
        "time_limit": [Interval(Real, 0, None, closed="left"), None],
        "max_exact_features": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        k: int | None = None,
        *,
        fit_intercept: bool = True,
        time_limit: float | None = 60.0,
        max_exact_features: int = 40,
    ):
        self.k = k
        self.fit_intercept = fit_intercept
        self.time_limit = time_limit
        self.max_exact_features = max_exact_features

    def _path(self, X, y, k_max):
        return best_subset_path(X, y, k_max, self.time_limit, self.max_exact_features)

    def fit(self, X, y):
        super().fit(X, y)
        self.status_path_ = np.where(self.proven_path_, "proven", "heuristic")
        return self

    fit.__doc__ = SubsetRegressor.fit.__doc__


class ForwardStepwise(SubsetRegressor):
    """Forward stepwise regression: ``k`` steps, each adding the feature that lowers the RSS most.

    Parameters
    ----------
    k : int or None, default=None
        Steps of the fit ``coef_`` and ``predict`` use; every step 0..k is kept. None: the
        largest, ``min(n_features, n_samples - fit_intercept)``.
    fit_intercept : bool, default=True
        Centre X and y (the intercept is not counted in k).

    Attributes
    ----------
    coef_path_ : ndarray of shape (k + 1, n_features)
        Row j: least squares on the first j features to enter.
    intercept_path_, rss_path_, support_path_
        As in :class:`BestSubset`; ``support_path_[j]`` is in order of entry.
    proven_path_ : ndarray of shape (k + 1,), bool
        Stepwise proves nothing about the best subset: True only at j = 0.
    coef_, intercept_, proven_, status_, message_
        Row k, ``ok``, and a note when the rank of X ran out before k steps.
    """

    def __init__(self, k: int | None = None, *, fit_intercept: bool = True):
        self.k = k
        self.fit_intercept = fit_intercept

    def _path(self, X, y, k_max):
        return forward_stepwise_path(X, y, k_max)
