"""MCP and SCAD (any separable penalty of :mod:`sparsity_lab.penalties`) along a grid.

    L(w) = 1/(2n) ||y - Xw||^2 + P_alpha(w)        (centred data)

As ncvreg does (Breheny and Huang 2011): coordinate descent warm-started from the previous
alpha's fit, from alpha_max down, so each fit is the stationary point the path leads to. Every
coordinate move is the penalty's exact 1-D minimiser (its prox), so exact zeros come from the
prox's dead zone (|z| <= alpha / L_j), never from rounding a small number. Then a finish makes
the fit a stationary point to rounding: with each nonzero coordinate's piece of the penalty
fixed (MCP: inside or beyond gamma alpha; SCAD: its three pieces), the stationarity equations
``c_S = p'(w_S)`` (c = X^T r / n) are linear, ``(X_S^T X_S / n + diag(b)) w_S = X_S^T y / n - a``
with ``p'(w) = a + b w`` on the piece (:meth:`Penalty.local_derivative`); one solve and a
refinement, kept when no coordinate leaves its piece, else more sweeps at a tighter tolerance.

The verdict is the penalty's own stationarity (the largest distance of 0 to a coordinate's
subdifferential, :meth:`Penalty.subdiff_distance`): ``ok`` at rounding level
(:func:`sparsity_lab.solvers.rounding_level`'s scale), ``not_converged`` and why otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sparsity_lab.penalties import Penalty, alpha_max_from_xty
from sparsity_lab.threads import thread_pools

#: Coordinate descent stops when a full sweep moves no coordinate by more than this times the
#: largest (scale sqrt(L_j)); the finish takes it to rounding.
CD_TOL = 1e-9
#: Sweeps per alpha at most.
MAX_SWEEPS = 10_000
#: Units of rounding of c = X^T r / n that the stationarity may keep.
SAFETY = 1e3
_EPS = np.finfo(np.float64).eps


@dataclass
class NonconvexPath:
    """Stationary points along a grid (largest alpha first) with each fit's verdict."""

    coefs: np.ndarray  # (K, p)
    n_iter: np.ndarray  # (K,) sweeps plus finishing solves
    converged: np.ndarray  # (K,) bool: stationary to rounding
    stationarity: np.ndarray  # (K,) largest subdifferential distance
    fit_seconds: np.ndarray  # (K,)
    status: list[str]
    message: list[str]


class _Data:
    """Centred (X, y) with the products the sweeps and the finish need."""

    def __init__(self, X, y, Xty, gram):
        self.X, self.y, self.Xty, self.gram = X, y, Xty, gram
        self.n, self.p = X.shape
        self.diag = np.diag(gram).copy() if gram is not None else np.einsum("ij,ij->j", X, X)
        self.L = self.diag / self.n
        self.amax = alpha_max_from_xty(Xty, self.n)

    def xtr(self, w: np.ndarray) -> np.ndarray:
        """c = X^T (y - X w) / n."""
        S = np.flatnonzero(w)
        if self.gram is not None:
            return (self.Xty - self.gram[:, S] @ w[S]) / self.n
        return self.X.T @ (self.y - self.X[:, S] @ w[S]) / self.n

    def block(self, S: np.ndarray) -> np.ndarray:
        """X_S^T X_S / n."""
        if self.gram is not None:
            return self.gram[np.ix_(S, S)] / self.n
        XS = self.X[:, S]
        return XS.T @ XS / self.n

    def tolerance(self, w: np.ndarray) -> float:
        """Rounding level of c at w: SAFETY units of its terms' rounding."""
        return SAFETY * _EPS * (self.amax + float(np.max(self.L, initial=0.0)) * np.abs(w).sum())

    def sweep(self, w: np.ndarray, penalty: Penalty, alpha: float, tol: float) -> int:
        from sparsity_lab._ncd_kernel import cd_gram, cd_resid

        code, param = penalty.kernel_params()
        if self.gram is not None:
            return int(cd_gram(w, self.gram, self.Xty, float(self.n), code, alpha, param, tol,
                               MAX_SWEEPS))  # fmt: skip
        return int(cd_resid(w, self.X, self.y, self.L, code, alpha, param, tol, MAX_SWEEPS))


def _finish(
    data: _Data, w: np.ndarray, penalty: Penalty, alpha: float
) -> tuple[np.ndarray, int, float, str]:
    """The fit made stationary to rounding: (w, iterations, stationarity, message)."""
    iterations = 0
    tol = CD_TOL
    for _ in range(8):
        c = data.xtr(w)
        distance = penalty.subdiff_distance(w, -c, alpha)
        worst = float(np.max(distance, initial=0.0))
        if worst <= data.tolerance(w):
            return w, iterations, worst, ""
        S = np.flatnonzero(w)
        zero_violated = bool(np.any(distance[w == 0.0] > data.tolerance(w)))
        if S.size and not zero_violated:
            a, b, piece = penalty.local_derivative(w[S], alpha)
            A = data.block(S)
            A[np.diag_indices_from(A)] += b
            rhs = data.Xty[S] / data.n - a
            try:
                new = np.linalg.solve(A, rhs)
                new += np.linalg.solve(A, rhs - A @ new)  # one step of refinement
            except np.linalg.LinAlgError:
                new = None
            iterations += 1
            if new is not None and np.all(np.isfinite(new)):
                _, _, new_piece = penalty.local_derivative(new, alpha)
                if np.array_equal(new_piece, piece) and np.all(np.sign(new) == np.sign(w[S])):
                    trial = w.copy()
                    trial[S] = new
                    c_trial = data.xtr(trial)
                    d_trial = penalty.subdiff_distance(trial, -c_trial, alpha)
                    if float(np.max(d_trial, initial=0.0)) < worst:
                        w = trial
                        continue
        # a zero that should move, or a coordinate that leaves its piece: sweep more tightly
        tol *= 1e-3
        iterations += data.sweep(w, penalty, alpha, max(tol, 1e-16))
    c = data.xtr(w)
    worst = float(np.max(penalty.subdiff_distance(w, -c, alpha), initial=0.0))
    if worst <= data.tolerance(w):
        return w, iterations, worst, ""
    return (
        w,
        iterations,
        worst,
        (f"stationarity {worst:.2g} above rounding ({data.tolerance(w):.2g}) after the finish"),
    )


def nonconvex_path(
    X: np.ndarray,
    y: np.ndarray,
    Xty: np.ndarray,
    gram: np.ndarray | None,
    alphas: np.ndarray,
    penalty: Penalty,
    on_fit: Callable[[int, int], None] | None = None,
    coef_init: np.ndarray | None = None,
) -> NonconvexPath:
    """A stationary point of the objective at every alpha (largest first), each warm-started
    from the previous one (the first from ``coef_init``, default 0).

    Parameters
    ----------
    X, y : ndarray
        Centred training data, shapes (n, p) and (n,); X in Fortran order without ``gram``.
    Xty : ndarray of shape (p,)
    gram : ndarray of shape (p, p) or None
        X^T X when it is cheaper than X (n > p).
    alphas : ndarray of shape (K,)
        Decreasing alphas > 0.
    penalty : Penalty
        MCP or SCAD (any penalty the kernel knows by its code).
    """
    data = _Data(X, y, Xty, gram)
    K = len(alphas)
    out = NonconvexPath(
        coefs=np.zeros((K, data.p)),
        n_iter=np.zeros(K, dtype=np.int64),
        converged=np.zeros(K, dtype=bool),
        stationarity=np.zeros(K),
        fit_seconds=np.zeros(K),
        status=["ok"] * K,
        message=[""] * K,
    )
    w = np.zeros(data.p) if coef_init is None else np.array(coef_init, dtype=np.float64)
    with thread_pools().limit(limits=1, user_api="blas"):
        for k, alpha in enumerate(np.asarray(alphas, dtype=np.float64)):
            start = time.perf_counter()
            alpha = float(alpha)
            if not alpha > 0:
                out.coefs[k] = np.nan
                out.status[k], out.message[k] = "failed", "alpha = 0: no penalty, use Ridge"
            elif alpha >= data.amax:  # |c_j| <= alpha = p'(0+) for every j: 0 is stationary
                w = np.zeros(data.p)
                out.converged[k] = True
            else:
                sweeps = data.sweep(w, penalty, alpha, CD_TOL)
                w, more, worst, msg = _finish(data, w, penalty, alpha)
                out.coefs[k] = w
                out.n_iter[k] = sweeps + more
                out.stationarity[k] = worst
                out.converged[k] = not msg
                if msg:
                    out.status[k], out.message[k] = "not_converged", msg
            out.fit_seconds[k] = time.perf_counter() - start
            if on_fit is not None:
                on_fit(k + 1, K)
    return out
