"""Exact Lasso and elastic-net solutions of the shared objective, at every alpha of a grid.

    L(w) = 1/(2n) ||y - Xw||^2 + lam ||w||_1 + mu/2 ||w||^2,  lam = alpha l1_ratio,
                                                             mu = alpha (1 - l1_ratio)

on centred data. Two routes produce a start point close to the optimum; one exact finish makes it
the optimum to machine precision:

``cd_exact``
    scikit-learn's coordinate descent (``enet_path``, Gram matrix when n > p) to a moderate
    tolerance, warm-started from the previous alpha's optimum.
``homotopy``
    the LARS-lasso homotopy (the suite's own, as ``lars_path(method="lasso")`` but with the
    support's solution recomputed at every breakpoint and ties kept out): the exact
    piecewise-linear path evaluated at the grid alphas (Lasso only); on p > n between grid
    alphas on a working set of columns, every other column checked at each grid alpha.

The exact finish is a primal active-set method on the KKT conditions with
``c = X^T (y - Xw)/n - mu w``: ``c_j = lam sign(w_j)`` where ``w_j != 0`` and ``|c_j| <= lam``
where ``w_j = 0``. With the support S and its signs s fixed, the optimum on S solves
``(X_S^T X_S / n + mu I) w_S = X_S^T y / n - lam s`` (Cholesky, or conjugate gradients on large
supports; on the Gram matrix a Lasso support's Cholesky factor is kept along the path,
:mod:`sparsity_lab._gram_cholesky`). A coefficient that changes sign stops the step at its
zero crossing and leaves S; a zero coordinate with ``|c_j| > lam`` (beyond rounding) joins S
with the sign of c_j. Every step lowers the objective; the loop ends when the KKT conditions
hold to rounding.

Coordinates with ``|c_j|`` equal to lam within rounding (ties, e.g. duplicate columns) sit on the
KKT boundary: the optimum there is not unique or not decidable in floating point. The finish
keeps them at 0.0 (a coefficient that would be nonzero only at rounding level is set to 0.0) and
:func:`sparsity_lab.metrics.boundary_zeros` counts them.

Near-duplicate columns (x1 = x0 + eps u) make X_S^T X_S singular to rounding once both twins are
in S, and a twin left at 0 within the tie tolerance can still cost a gap above GAP_RTOL (the
weight moves between twins at no L1 cost). The finish steps downhill along a null direction of
the singular system until a twin reaches 0, bars a coordinate that joins alone and leaves at
once (no support recurs), and :func:`exact_path` re-solves a fit whose gap is too large with
every violation beyond rounding admitted (``strict``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import enet_path

from sparsity_lab import metrics
from sparsity_lab._gram_cholesky import SupportCholesky
from sparsity_lab.errors import UserError
from sparsity_lab.metrics import BOUNDARY_RTOL
from sparsity_lab.penalties import ElasticNet, alpha_max_from_xty
from sparsity_lab.threads import thread_pools

#: Routes of the exact solver; ``auto`` picks one by shape and penalty.
EXACT_SOLVERS = ("cd_exact", "homotopy")
#: Every value of the ``solver`` parameter of the suite's Lasso and ElasticNet.
SOLVERS = ("auto", "cd", *EXACT_SOLVERS)
#: Relative duality gap (gap / objective) an exact fit must reach.
GAP_RTOL = 1e-12
#: Supports larger than this are solved by conjugate gradients, smaller ones by Cholesky.
CG_MIN_SUPPORT = 400
#: Tolerance of the coordinate-descent start of ``cd_exact``: largest move in a sweep relative to
#: the largest coefficient (numba kernel), scikit-learn's duality-gap tolerance without Gram.
CD_START_TOL = 1e-5
#: The homotopy's working set on X (p > n) from lam down to lam' holds every column with
#: ``|c_j| >= lam - _STRONG_RULE (lam - lam')`` (2: the sequential strong rule, 2 lam' - lam).
_STRONG_RULE = 2.0
#: Rounds of iterative refinement of the support's solution against the KKT residual.
_REFINE = 3
#: Relative residual of a refinement's solve: its correction is small already (conjugate
#: gradients to 1e-14 took 3x the iterations of the support's solve); 1e-6 left a gap of 1e-13
#: that the gap-safe test could not certify a zero with.
_REFINE_RTOL = 1e-10
#: Units of rounding a violation must exceed to join the support in the strict finish: c_j
#: carries about one unit (X^T r of the same residual), the default check allows 1e3.
_STRICT_SAFETY = 1.0
_EPS = np.finfo(np.float64).eps
#: An alpha this close (relative) to alpha_max is alpha_max: X^T y / n summed in another order.
_AMAX_RTOL = 1e3 * _EPS


class SolverError(UserError):
    """A solver that cannot handle the problem asked (e.g. the homotopy on an elastic net)."""


def choose_solver(solver: str, n_samples: int, n_features: int, l1_ratio: float) -> str:
    """The route ``solver`` means for this shape and penalty (``auto`` resolved).

    ``auto``: the homotopy for the Lasso when p > n or p <= 500 (few breakpoints, or a cheap
    Cholesky per breakpoint), ``cd_exact`` otherwise and for every elastic net.
    """
    if solver not in SOLVERS:
        raise SolverError(f"solver={solver!r}: allowed values are {', '.join(SOLVERS)}")
    if solver == "homotopy" and l1_ratio != 1.0:
        raise SolverError(
            f"solver='homotopy' solves the Lasso only (l1_ratio=1, got {l1_ratio}); "
            "allowed for the elastic net: auto, cd, cd_exact"
        )
    if solver != "auto":
        return solver
    if l1_ratio == 1.0 and (n_features > n_samples or n_features <= 500):
        return "homotopy"
    return "cd_exact"


@dataclass
class ExactPath:
    """Optima along a grid (largest alpha first) with each fit's verdict."""

    coefs: np.ndarray  # (K, p)
    n_iter: np.ndarray  # (K,) active-set iterations of the exact finish
    converged: np.ndarray  # (K,) bool: KKT to rounding and relative gap <= GAP_RTOL
    fit_seconds: np.ndarray  # (K,)
    status: list[str]
    message: list[str]


class _Problem:
    """Products of centred (X, y) the finish needs; the Gram matrix only when given (without
    it, the blocks X_S^T X_S already computed are kept for the next alphas)."""

    def __init__(self, X, y, Xty, gram):
        self.X, self.y, self.Xty, self.gram = X, y, Xty, gram
        self.n, self.p = X.shape
        self.yty = float(y @ y)
        self.amax = alpha_max_from_xty(Xty, self.n)
        self.diag = np.diag(gram).copy() if gram is not None else np.einsum("ij,ij->j", X, X)
        self._pos = np.full(self.p, -1, dtype=np.int64)  # feature -> row of self._block
        self._block = np.zeros((0, 0))
        # the Lasso's support factor kept along the path (n > p; supports >= CG_MIN_SUPPORT)
        self.factor = SupportCholesky(gram, self.n) if gram is not None else None
        # set once conjugate gradients stall on a support: the next ones along the path (larger
        # or similar supports of the same design) go straight to Cholesky
        self.cg_stalled = False

    def grad(self, w: np.ndarray, mu: float) -> tuple[np.ndarray, np.ndarray]:
        """(c, X^T r / n): c = X^T (y - Xw)/n - mu w."""
        S = np.flatnonzero(w)
        if self.gram is not None:
            Gw = self.gram @ w if 4 * len(S) > self.p else self.gram[:, S] @ w[S]
            xtr = self.Xty - Gw
        else:
            xtr = self.X.T @ (self.y - self.X[:, S] @ w[S])
        xtr /= self.n
        return xtr - mu * w, xtr

    def cross(self, S: np.ndarray, v: np.ndarray) -> np.ndarray:
        """X^T X_S v / n for v of shape (|S|,)."""
        if self.gram is not None:
            if 4 * len(S) > self.p:  # a full product beats copying the columns
                full = np.zeros(self.p)
                full[S] = v
                return self.gram @ full / self.n
            return self.gram[:, S] @ v / self.n
        return self.X.T @ (self.X[:, S] @ v) / self.n

    def column(self, S: np.ndarray, j: int) -> tuple[np.ndarray, float]:
        """(X_S^T x_j / n, ||x_j||^2 / n)."""
        if self.gram is not None:
            return self.gram[S, j] / self.n, self.diag[j] / self.n
        return self.X[:, S].T @ self.X[:, j] / self.n, self.diag[j] / self.n

    def system(self, S: np.ndarray, mu: float) -> np.ndarray:
        """X_S^T X_S / n + mu I."""
        if self.gram is not None:
            A = self.gram[np.ix_(S, S)]
        else:
            new = S[self._pos[S] < 0]
            if new.size:
                old = np.flatnonzero(self._pos >= 0)
                old = old[np.argsort(self._pos[old])]
                Xn = self.X[:, new]
                cross = self.X[:, old].T @ Xn
                self._block = np.block([[self._block, cross], [cross.T, Xn.T @ Xn]])
                self._pos[new] = len(old) + np.arange(new.size)
            idx = self._pos[S]
            A = self._block[np.ix_(idx, idx)]
        A /= self.n
        A[np.diag_indices_from(A)] += mu
        return A


def _factorize(
    A: np.ndarray, prob: _Problem | None = None
) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """``solve(b, x0)`` for the positive (semi)definite A; None when A is singular.

    Conjugate gradients on large systems (falling back to Cholesky when they stall), Cholesky
    with one step of iterative refinement otherwise. ``prob`` remembers a stall along a path.
    """
    m = len(A)
    if m == 0:
        return lambda b, x0: b.copy()
    cho = None
    if m < CG_MIN_SUPPORT or (prob is not None and prob.cg_stalled):
        try:
            cho = scipy.linalg.cho_factor(A, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        if np.abs(np.diag(cho[0])).min() ** 2 <= 1e3 * _EPS * np.max(np.diag(A)) * m:
            return None  # numerically singular

    # A CG step costs 2 m^2 flops and a Cholesky factor m^3 / 3: at most m / 12 steps keep a
    # CG that stalls (an ill-conditioned support, e.g. correlated features at small alpha) to
    # half the cost of the factor it then falls back on.
    cg_steps = min(500, max(25, m // 12))

    def solve(b: np.ndarray, x0: np.ndarray, rtol: float = 1e-14) -> np.ndarray | None:
        nonlocal cho
        if cho is None:
            if rtol == 1e-14:  # the support's solve, to rounding
                x = _cg(A, b, x0, max_iter=cg_steps)
            else:
                x = _cg_to(A, b, x0, cg_steps, rtol)
            if x is not None:
                return x
            if prob is not None:
                prob.cg_stalled = True
            try:  # this system's later solves (its refinements) use the factor too
                cho = scipy.linalg.cho_factor(A, check_finite=False)
            except np.linalg.LinAlgError:
                return None
        x = scipy.linalg.cho_solve(cho, b, check_finite=False)
        return x + scipy.linalg.cho_solve(cho, b - A @ x, check_finite=False)

    return solve


def _cg(A: np.ndarray, b: np.ndarray, x0: np.ndarray, max_iter: int = 500) -> np.ndarray | None:
    """Conjugate gradients from x0 until the residual stops decreasing at rounding level;
    None when it has not reached ``1e-13 ||b||`` (ill-conditioned: use Cholesky)."""
    return _cg_to(A, b, x0, max_iter, 1e-14)


def _cg_to(
    A: np.ndarray, b: np.ndarray, x0: np.ndarray, max_iter: int, rtol: float
) -> np.ndarray | None:
    """Conjugate gradients from x0 until the residual is ``rtol ||b||``; None when it has not
    reached ``10 rtol ||b||`` within ``max_iter`` steps."""
    x = x0.copy()
    r = b - A @ x
    d = r.copy()
    rr = float(r @ r)
    target = (rtol * float(np.linalg.norm(b))) ** 2
    for _ in range(max_iter):
        if rr <= target:
            return x
        Ad = A @ d
        step = rr / float(d @ Ad)
        x += step * d
        r -= step * Ad
        rr_new = float(r @ r)
        d = r + (rr_new / rr) * d
        rr = rr_new
    r = b - A @ x
    return x if float(r @ r) <= 100 * target else None


def rounding_level(prob: _Problem, w: np.ndarray, safety: float = 1e3) -> float:
    """Absolute rounding level of c = X^T r / n - mu w computed at w: ``safety`` units of
    rounding of its terms (|X^T y| / n and X^T X w / n)."""
    scale = prob.amax + float(np.max(prob.diag)) / prob.n * float(np.abs(w).sum())
    return safety * _EPS * scale


def kkt_tolerance(prob: _Problem, w: np.ndarray, lam: float) -> float:
    """The KKT conditions hold when violated by no more than this: rounding, or the boundary
    tolerance ``BOUNDARY_RTOL * lam`` (a zero that close to lam is a tie, left at 0)."""
    return max(BOUNDARY_RTOL * lam, rounding_level(prob, w))


def kkt_finish(
    prob: _Problem,
    w0: np.ndarray,
    lam: float,
    mu: float,
    max_iter: int = 500,
    trust_start: bool = True,
    strict: bool = False,
    xtr0: np.ndarray | None = None,
) -> tuple[np.ndarray, int, str, np.ndarray | None]:
    """The optimum at (lam, mu) from the start point ``w0`` by the primal active-set method.

    With ``trust_start``, a start that already satisfies the KKT conditions (the homotopy's)
    is returned after one check; otherwise the support's solution is always re-solved and
    refined. Returns (w, iterations, message, X^T r / n at w); the message is empty when the KKT
    conditions hold to :func:`kkt_tolerance`. ``strict`` admits every zero whose violation
    exceeds rounding (:func:`rounding_level`), the ties within the boundary tolerance included:
    for a fit whose duality gap those ties keep above :data:`GAP_RTOL` (near-duplicate columns,
    where a violation of 1e-10 lam is worth a gap of 1e-10 lam ||w||_1: moving the weight to
    the better twin costs no L1). ``xtr0``: X^T (y - X w0) / n when the caller has it
    (computed as :meth:`_Problem.grad` does), saving the first pass over X.

    A support whose system is singular to rounding (duplicate or near-duplicate columns) is
    left along a null direction of ``X_S^T X_S / n + mu I``, downhill: the objective on the
    support is linear there, with slope ``-(c_S - lam s_S)`` along it, so the step goes to the
    first coefficient that reaches 0 and drops it. A step of length 0 (a coordinate that just
    joined would change sign at once) makes the method add one violator at a time; a coordinate
    that joined alone and still leaves at once, or a rounding-level coefficient set to 0, is
    barred for the rest of the call, so no support recurs through zero-length steps (no
    cycling). A barred zero that violates the KKT conditions beyond :func:`kkt_tolerance` is
    reported in the message.
    """
    w = np.array(w0, dtype=np.float64)
    if lam <= 0:
        return w, 0, "alpha = 0: no L1 penalty, use Ridge or an alpha > 0", None
    if xtr0 is not None:
        xtr = xtr0.copy()
        c = xtr - mu * w
    else:
        c, xtr = prob.grad(w, mu)
    on = w != 0.0
    support_residual = float(np.max(np.abs(c[on] - lam * np.sign(w[on])), initial=0.0))
    zero_excess = float(np.max(np.abs(c[~on]) - lam, initial=0.0))
    tiny = on & (np.abs(w) <= 1e3 * _EPS * max(float(np.abs(w).max(initial=0.0)), 1e-300))
    if (
        trust_start
        and support_residual <= rounding_level(prob, w)
        and zero_excess <= kkt_tolerance(prob, w, lam)
        and not tiny.any()
    ):
        return w, 0, "", xtr
    # S and its signs; the start point's signs are the first guess
    active = w != 0.0
    sign = np.sign(w)
    one_at_a_time = False
    # coordinates that joined alone and left at once, or were zeroed as rounding-level ties:
    # they stay out (re-admitting them would repeat the same support: a cycle)
    barred = np.zeros(prob.p, dtype=bool)
    for it in range(1, max_iter + 1):
        S = np.flatnonzero(active)
        b = prob.Xty[S] / prob.n - lam * sign[S]
        solve = None
        if prob.factor is not None and mu == 0.0 and len(S) >= CG_MIN_SUPPORT:
            solve = prob.factor.solver(S, mu)  # None: singular, handled below
        if solve is None:
            A = prob.system(S, mu)
            solve = _factorize(A, prob)
        w_new = solve(b, w[S]) if solve is not None else None
        if w_new is None:  # singular: move along the null space until a coefficient is 0
            _, V = np.linalg.eigh(A)
            d = V[:, 0]
            c, _ = prob.grad(w, mu)
            slope = float((c[S] - lam * sign[S]) @ d)  # the objective falls by slope per unit
            if slope < 0 or (slope == 0 and float(sign[S] @ d) > 0):  # flat: shrink ||w||_1
                d = -d
            w_new = w[S] + d * (10.0 * (np.abs(w[S]).max() + 1.0))  # a far point on the line
        wrong = w_new * sign[S] <= 0.0
        if wrong.any():
            ws = w[S]
            t = np.ones(len(S))
            with np.errstate(divide="ignore", invalid="ignore"):
                t[wrong] = ws[wrong] / (ws[wrong] - w_new[wrong])
            t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
            k = int(np.argmin(np.where(wrong, t, np.inf)))
            step = t[k]
            ws = ws + step * (w_new - ws)
            drop = wrong & (t <= step)
            drop[k] = True
            ws[drop] = 0.0
            w[S] = ws
            active[S[drop]] = False
            if step == 0.0:  # a coordinate that just joined left at once: add one at a time
                barred[S[drop]] = one_at_a_time  # ... and if it had joined alone, bar it
                one_at_a_time = True
            continue
        w[S] = w_new
        c, xtr = prob.grad(w, mu)
        tol = rounding_level(prob, w, _STRICT_SAFETY) if strict else kkt_tolerance(prob, w, lam)
        before = np.inf
        for _ in range(_REFINE):  # refine against the KKT residual computed from X^T r
            residual = c[S] - lam * sign[S]
            size = float(np.max(np.abs(residual), initial=0.0))
            if size <= 4 * _EPS * prob.amax or size >= 0.5 * before:
                break
            before = size
            delta = solve(residual, np.zeros(len(S)), _REFINE_RTOL)
            if delta is None or not np.all((w[S] + delta) * sign[S] > 0):
                break
            w[S] += delta
            c, xtr = prob.grad(w, mu)
        excess = np.where(active, -np.inf, np.abs(c) - lam)
        viol = np.flatnonzero((excess > tol) & ~barred)
        if viol.size == 0:
            # coefficients nonzero only at rounding level on the boundary are ties: set to 0
            tiny = active & (np.abs(w) <= 1e3 * _EPS * max(float(np.abs(w).max()), 1e-300))
            if tiny.any():
                w[tiny] = 0.0
                active &= ~tiny
                barred |= tiny
                continue
            worst = float(np.max(excess[barred], initial=0.0))
            if worst > kkt_tolerance(prob, w, lam):
                msg = f"exact finish: a zero violates KKT by {worst / lam:.2g} lam and cannot join"
                return w, it, msg, None
            return w, it, "", xtr
        if one_at_a_time:
            viol = viol[[int(np.argmax(excess[viol]))]]
        active[viol] = True
        sign[viol] = np.sign(c[viol])
    msg = f"exact finish: KKT not reached in {max_iter} active-set iterations"
    return w, max_iter, msg, None


def relative_gap(
    prob: _Problem, w: np.ndarray, lam: float, mu: float, xtr: np.ndarray | None = None
) -> float:
    """Duality gap / primal objective of the shared objective at w: the gap of the fits table
    (:func:`sparsity_lab.metrics.duality_gap`); ``xtr`` = X^T r / n if known."""
    n = prob.n
    if xtr is None:
        _, xtr = prob.grad(w, mu)
    if prob.gram is not None:  # ||r||^2 = y^T y - w^T X^T y - n w^T (X^T r / n)
        rss = max(prob.yty - float(w @ prob.Xty) - n * float(w @ xtr), 0.0)
    else:
        S = np.flatnonzero(w)
        r = prob.y - prob.X[:, S] @ w[S]
        rss = float(r @ r)
    alpha = lam + mu
    primal = rss / (2 * n) + ElasticNet(lam / alpha).value(w, alpha)
    gap = metrics.duality_gap(
        w[None, :], n * xtr[None, :], np.array([rss]), prob.Xty, prob.yty, np.array([alpha]),
        lam / alpha, n,
    )[0]  # fmt: skip
    return float(gap) / primal if primal > 0 else 0.0


def _cd_start(
    prob: _Problem, w: np.ndarray, alpha: float, l1_ratio: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """Coordinate descent from w to a moderate tolerance at one alpha: the numba kernel on the
    Gram matrix, scikit-learn's ``enet_path`` without one. Returns (w, X^T (y - Xw) / n), the
    second from the kernel's running G w (None from ``enet_path``)."""
    if prob.gram is not None:
        from sparsity_lab._cd_kernel import cd_gram

        n = prob.n
        l1, l2 = n * alpha * l1_ratio, n * alpha * (1 - l1_ratio)
        w, Gw = cd_gram(np.array(w, dtype=np.float64), prob.gram, prob.Xty, l1, l2,
                        CD_START_TOL, 1000)  # fmt: skip
        return w, (prob.Xty - Gw) / n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the exact finish takes over
        _, coefs, _ = enet_path(
            prob.X,
            prob.y,
            l1_ratio=l1_ratio,
            alphas=[alpha],
            precompute=False,
            Xy=prob.Xty,
            coef_init=np.ascontiguousarray(w),
            tol=CD_START_TOL,
            max_iter=1000,
            check_input=False,
        )
    return np.ascontiguousarray(coefs[:, 0]), None


def _potrs(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(L L^T)^-1 b for a lower Cholesky factor L (LAPACK, without scipy's checks: the
    homotopy calls it twice per breakpoint)."""
    x, info = scipy.linalg.lapack.dpotrs(L, b, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dpotrs: info {info}")
    return x


def _trtrs(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L^-1 b for a lower triangular L (LAPACK)."""
    x, info = scipy.linalg.lapack.dtrtrs(L, b, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dtrtrs: info {info}")
    return x


def _homotopy_starts(prob: _Problem, alphas: np.ndarray) -> np.ndarray:
    """The Lasso path at every alpha of the grid by the LARS-lasso homotopy (K, p)."""
    return _homotopy_path(prob, alphas)[0]


def _homotopy_path(
    prob: _Problem, alphas: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """The Lasso path at every alpha of the grid by the LARS-lasso homotopy: (starts (K, p),
    X^T r / n at each start computed from the data, or None where the path did not get there).

    Between breakpoints the optimum is linear in lam: ``w_A(lam) = (G_AA/n)^-1 (X_A^T y/n -
    lam s_A)`` on the active set A with signs s_A. A variable joins when its |c_j| reaches lam,
    leaves when its coefficient reaches 0. At every breakpoint w_A is recomputed from the data,
    and c at every grid point (no drift). Ties that would make G_AA singular (duplicate columns)
    do not join: they stay zeros on the KKT boundary. Cholesky factors grow by one row per join;
    a drop refactors.

    Without a Gram matrix (p > n) the homotopy from one grid alpha to the next runs on a
    working set: the active set, the strong rule's candidates ``|c_j| >= 2 alpha_next - alpha``
    and every column an earlier check found. At the next grid point one pass over X computes c
    and checks every other column: ``|c_j| < alpha`` beyond rounding proves the working set's
    solution the optimum (the KKT conditions, and the optimum is unique); otherwise the
    violators join the working set and the interval is redone from the last proven point.
    """
    n, p, K = prob.n, prob.p, len(alphas)
    starts = np.zeros((K, p))
    xtrs: list[np.ndarray | None] = [None] * K
    c_all = prob.Xty / n
    lam = float(np.max(np.abs(c_all))) if p else 0.0
    i = int(np.searchsorted(-alphas, -lam, side="right"))  # grid alphas >= lam: all zeros
    if i == K or lam == 0.0:
        return starts, xtrs
    act: list[int] = [int(np.argmax(np.abs(c_all)))]
    sgn = np.sign(c_all[act])
    L = np.sqrt(prob.system(np.array(act), 0.0))
    blocked = np.zeros(p, dtype=bool)  # ties: would make G_AA singular
    w_act = np.zeros(1)
    tiny = 1e3 * _EPS
    dropped = joined = -1  # a variable that just left (joined) does not re-enter (leave) at once
    screen = prob.gram is None
    found = np.zeros(p, dtype=bool)  # columns a check found outside the working set
    steps, max_steps = 0, 20 * min(n, p) + 100
    while i < K and steps < max_steps:
        proven = (lam, list(act), sgn, L, w_act, blocked.copy(), dropped, joined, steps)
        A = np.array(act)
        if screen:  # the working set down to alphas[i]
            near = (np.abs(c_all) >= lam - _STRONG_RULE * (lam - alphas[i])) | found
            near[A] = True
            W = np.flatnonzero(near)
            if 2 * len(W) > p:  # most columns (a coarse grid): X itself, no copy
                W, XW = np.arange(p), prob.X
            else:
                XW = np.asfortranarray(prob.X[:, W])
        else:
            W = np.arange(p)
        pos = np.full(p, -1, dtype=np.int64)
        pos[W] = np.arange(len(W))
        c = c_all[W]
        c[pos[A]] = lam * sgn
        restart = True  # mid-segment: a column at |c_j| = lam within rounding joins now
        while steps < max_steps:
            A = np.array(act)
            d = _potrs(L, sgn)  # dw_A / d(-lam)
            if screen:
                XA = XW[:, pos[A]]
                a = XW.T @ (XA @ d) / n  # -dc / d(-lam) = X^T X_A d / n on W
            else:
                a = prob.cross(A, d)
            free = ~blocked[W]
            free[pos[A]] = False
            if dropped >= 0 and pos[dropped] >= 0:
                free[pos[dropped]] = False
            floor = -tiny * lam if restart else tiny * lam
            with np.errstate(divide="ignore", invalid="ignore"):
                g1 = (lam - c) / (1.0 - a)
                g2 = (lam + c) / (1.0 + a)
            g1 = np.where(free & (g1 > floor), g1, np.inf)
            g2 = np.where(free & (g2 > floor), g2, np.inf)
            g = np.minimum(g1, g2)
            k_join = int(np.argmin(g))
            j_join = int(W[k_join])
            gamma_join = max(float(g[k_join]), 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                gd = -w_act / d
            gd = np.where(gd > tiny * lam, gd, np.inf)
            if joined >= 0:
                gd[act.index(joined)] = np.inf
            k_drop = int(np.argmin(gd))
            gamma = min(gamma_join, float(gd[k_drop]), lam)
            restart = False
            if alphas[i] >= lam - gamma:  # the grid point is on this segment
                w_act = w_act + (lam - alphas[i]) * d
                c = c - (lam - alphas[i]) * a
                lam = float(alphas[i])
                starts[i, A] = w_act
                break
            steps += 1
            lam -= gamma
            dropped = joined = -1
            if gd[k_drop] <= gamma_join:
                dropped = act[k_drop]
                del act[k_drop]
                sgn = np.delete(sgn, k_drop)
                blocked[:] = False
                L = scipy.linalg.cholesky(prob.system(np.array(act), 0.0), lower=True)
            else:
                if screen:
                    col, gjj = XA.T @ XW[:, k_join] / n, prob.diag[j_join] / n
                else:
                    col, gjj = prob.column(A, j_join)
                row = _trtrs(L, col)
                diag2 = gjj - float(row @ row)
                if diag2 <= 1e-10 * gjj:
                    blocked[j_join] = True
                else:
                    act.append(j_join)
                    joined = j_join
                    sgn = np.append(sgn, np.sign(c[k_join] - gamma * a[k_join]))
                    # Fortran order: LAPACK would copy a C-ordered factor at every solve
                    grown = np.zeros((len(row) + 1, len(row) + 1), order="F")
                    grown[:-1, :-1], grown[-1, :-1], grown[-1, -1] = L, row, np.sqrt(diag2)
                    L = grown
            if not act:
                break
            A = np.array(act)
            w_act = _potrs(L, prob.Xty[A] / n - lam * sgn)
            if steps % 16 == 0:  # c from the data now and then, else updated along the segment
                if screen:
                    c = XW.T @ (prob.y - XW[:, pos[A]] @ w_act) / n
                else:
                    w = np.zeros(p)
                    w[A] = w_act
                    c = prob.grad(w, 0.0)[0]
            else:
                c = c - gamma * a
                c[pos[A]] = lam * sgn
        if lam != alphas[i] or not act:
            break
        _, xtr = prob.grad(starts[i], 0.0)
        if screen:
            outside = np.ones(p, dtype=bool)
            outside[W] = False
            viol = outside & (np.abs(xtr) > lam - rounding_level(prob, starts[i]))
            if viol.any():  # the working set missed a column: redo the interval with it
                found |= viol
                lam, act, sgn, L, w_act, blocked, dropped, joined, steps = proven
                starts[i] = 0.0
                continue
        xtrs[i] = xtr
        c_all = xtr.copy()
        i += 1
    for k in range(i, K):  # ran out of steps: the last point, the finish takes over
        starts[k] = starts[i - 1] if i > 0 else 0.0
    return starts, xtrs


def exact_path(
    X: np.ndarray,
    y: np.ndarray,
    Xty: np.ndarray,
    gram: np.ndarray | None,
    alphas: np.ndarray,
    l1_ratio: float,
    solver: str = "auto",
    on_fit: Callable[[int, int], None] | None = None,
) -> ExactPath:
    """The optimum of the shared objective at every alpha (largest first).

    Parameters
    ----------
    X, y : ndarray
        Centred training data, shapes (n, p) and (n,).
    Xty : ndarray of shape (p,)
        X^T y.
    gram : ndarray of shape (p, p) or None
        X^T X when it is cheaper than X (n > p).
    alphas : ndarray of shape (K,)
        Decreasing alphas >= 0.
    l1_ratio : float
        In (0, 1]; 1 is the Lasso.
    solver : str
        ``auto``, ``cd_exact`` or ``homotopy`` (:data:`SOLVERS`; ``cd`` is not exact).
    on_fit : callable, optional
        Called as ``on_fit(k, K)`` after the fit at alphas[k - 1].

    Returns
    -------
    ExactPath
        ``status`` is ``ok`` where the KKT conditions hold to rounding and the relative duality
        gap is <= :data:`GAP_RTOL`, ``not_converged`` (with the reason in ``message``) otherwise.
    """
    route = choose_solver(solver, X.shape[0], X.shape[1], l1_ratio)
    if route not in EXACT_SOLVERS:
        raise SolverError(f"solver={solver!r} is not exact: allowed {', '.join(EXACT_SOLVERS)}")
    prob = _Problem(X, y, Xty, gram)
    K = len(alphas)
    out = ExactPath(
        coefs=np.zeros((K, prob.p)),
        n_iter=np.zeros(K, dtype=np.int64),
        converged=np.zeros(K, dtype=bool),
        fit_seconds=np.zeros(K),
        status=["ok"] * K,
        message=[""] * K,
    )
    # matrix-vector products and small factorisations: threads only contend (several times slower
    # on a loaded 2-core machine); the Gram matrix, computed before, keeps its threads
    with thread_pools().limit(limits=1, user_api="blas"):
        start = time.perf_counter()
        starts, xtrs = _homotopy_path(prob, alphas) if route == "homotopy" else (None, None)
        shared = (time.perf_counter() - start) / max(K, 1)  # the homotopy is shared by the grid
        w = np.zeros(prob.p)
        for k, alpha in enumerate(alphas):
            start = time.perf_counter()
            lam, mu = float(alpha) * l1_ratio, float(alpha) * (1.0 - l1_ratio)
            # at and above alpha_max the optimum is 0 (the EN's too); alpha_max summed in another
            # order (X in C or F order) differs by rounding: a tie on the KKT boundary, kept at 0
            at_top = lam >= prob.amax * (1.0 - _AMAX_RTOL)
            if at_top:
                w = np.zeros(prob.p)
                it, msg, xtr = 0, "", None
            else:
                if starts is not None:  # the homotopy's check computed X^T r / n
                    w0, xtr0 = starts[k], xtrs[k]
                else:  # the kernel's running G w gives it
                    w0, xtr0 = _cd_start(prob, w, float(alpha), l1_ratio)
                w, it, msg, xtr = kkt_finish(prob, w0, lam, mu, xtr0=xtr0)
            rgap = relative_gap(prob, w, lam, mu, xtr) if not msg else np.nan
            if not msg and not at_top and rgap > GAP_RTOL:
                # KKT within the tie tolerance, gap too large: re-solve, ties admitted
                w, more, msg, xtr = kkt_finish(prob, w, lam, mu, trust_start=False, strict=True)
                it += more
                rgap = relative_gap(prob, w, lam, mu, xtr) if not msg else np.nan
            out.coefs[k] = w
            out.n_iter[k] = it
            if not msg and not rgap <= GAP_RTOL:
                msg = f"exact finish: relative duality gap {rgap:.2g} > {GAP_RTOL:g}"
            out.converged[k] = not msg
            if msg:
                out.status[k], out.message[k] = "not_converged", msg
            out.fit_seconds[k] = time.perf_counter() - start + shared
            if on_fit is not None:
                on_fit(k + 1, K)
    return out
