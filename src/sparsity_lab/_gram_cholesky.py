"""A Cholesky factor of the support's Gram block kept along the exact Lasso path (n > p).

Private module of :mod:`sparsity_lab.solvers`. Along a grid of alphas the support of the
optimum changes by a few features from one alpha to the next, so the factor of
``G_SS / n + mu I`` is updated instead of recomputed (m^3 / 3 flops, or conjugate gradients of
about 30 products with the block on a support of m >= 400): a feature that joins adds a row
(a triangular solve, m^2 flops per feature), one that leaves deletes its row and column (a
rank-one update of the trailing block, the numba kernel below, at most m^2 flops). The factor
keeps the order in which features joined; solves permute to and from it.

The diagonal shift mu is the elastic net's ridge weight alpha (1 - l1_ratio): it changes with
alpha, so the factor serves only calls with the mu it was built for (the Lasso's 0 along the
whole path); another mu builds a fresh factor. A support whose factor is singular to rounding
is refused (``None``): the caller's own handling of singular supports runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
import scipy.linalg.lapack

_EPS = np.finfo(np.float64).eps
#: The numba-compiled kernels, compiled on first use: importing this module imports no numba
#: (a homotopy path on the Gram matrix never deletes a row).
_COMPILED: dict[str, Callable] = {}


def _delete(Lt: np.ndarray, j: int) -> np.ndarray:
    """:func:`_delete_rows` compiled by numba."""
    if "delete" not in _COMPILED:
        from numba import njit

        _COMPILED["delete"] = njit(cache=True)(_delete_rows)
    return _COMPILED["delete"](Lt, j)


def _delete_rows(Lt, j):
    """The factor without row and column j: ``Lt`` is L^T (C order) of the lower factor L of
    A; returns the transpose of the lower factor of A without row and column j (C order).

    Rows above j keep their entries; the trailing block T (rows and columns after j) and the
    column x = L[j+1:, j] give T' T'^T = T T^T + x x^T: a rank-one update by rotations (stable,
    no downdate)."""
    m = Lt.shape[0]
    out = np.zeros((m - 1, m - 1))
    for k in range(m):  # column k of L is row k of Lt
        if k == j:
            continue
        kk = k if k < j else k - 1
        for i in range(k, m):
            if i == j:
                continue
            ii = i if i < j else i - 1
            out[kk, ii] = Lt[k, i]
    x = np.empty(m - 1 - j)
    for i in range(j + 1, m):
        x[i - j - 1] = Lt[j, i]
    for k in range(j, m - 1):  # rank-one update of the trailing block, column by column
        lkk = out[k, k]
        xk = x[k - j]
        r = np.hypot(lkk, xk)
        c = r / lkk
        s = xk / lkk
        out[k, k] = r
        for i in range(k + 1, m - 1):
            lik = (out[k, i] + s * x[i - j]) / c
            out[k, i] = lik
            x[i - j] = c * x[i - j] - s * lik
    return out


class SupportCholesky:
    """The lower Cholesky factor ``L`` of ``gram[S, S] / n + mu I`` for the support S in the
    order its features joined (``order``), updated as S changes."""

    def __init__(self, gram: np.ndarray, n: int):
        self.gram, self.n = gram, n
        self.diag = np.diag(gram) / n
        self.order = np.zeros(0, dtype=np.int64)
        self.L = np.zeros((0, 0), order="F")
        self.mu: float | None = None
        self._pos = np.full(gram.shape[0], -1, dtype=np.int64)  # feature -> row of L

    def reset(self) -> None:
        self._pos[self.order] = -1
        self.order = np.zeros(0, dtype=np.int64)
        self.L = np.zeros((0, 0), order="F")
        self.mu = None

    def _fresh(self, S: np.ndarray, mu: float) -> bool:
        self.reset()
        A = self.gram[np.ix_(S, S)] / self.n
        A[np.diag_indices_from(A)] += mu
        L, info = scipy.linalg.lapack.dpotrf(A, lower=1, clean=1)
        if info != 0:
            return False
        self.L = np.asfortranarray(L)
        self.order = np.array(S, dtype=np.int64)
        self._pos[self.order] = np.arange(len(S))
        self.mu = mu
        return True

    def remove(self, feature: int) -> None:
        """Delete ``feature``'s row and column (it left the support)."""
        j = int(self._pos[feature])
        self.L = _delete(np.ascontiguousarray(self.L.T), j).T
        self.order = np.delete(self.order, j)
        self._pos[feature] = -1
        self._pos[self.order[j:]] -= 1

    def append(self, features: np.ndarray) -> bool:
        """Add rows for ``features`` (they joined the support); False when the grown block is
        not positive definite (the factor is then left as it was)."""
        k, m = len(features), len(self.order)
        B = self.gram[np.ix_(self.order, features)] / self.n
        R, info = scipy.linalg.lapack.dtrtrs(self.L, B, lower=1)
        if info != 0:
            return False
        D = self.gram[np.ix_(features, features)] / self.n - R.T @ R
        D[np.diag_indices_from(D)] += self.mu
        L22, info = scipy.linalg.lapack.dpotrf(D, lower=1, clean=1)
        if info != 0:
            return False
        grown = np.zeros((m + k, m + k), order="F")
        grown[:m, :m] = self.L
        grown[m:, :m] = R.T
        grown[m:, m:] = L22
        self.L = grown
        self.order = np.concatenate([self.order, np.asarray(features, dtype=np.int64)])
        self._pos[features] = m + np.arange(k)
        return True

    def update(self, S: np.ndarray, mu: float) -> bool:
        """Make the factor that of ``gram[S, S] / n + mu I`` (S in any order): rows deleted
        and added while few change, a fresh factor otherwise. False when S's block is
        singular to rounding (the factor is then dropped)."""
        inside = self._pos[S] >= 0
        joining = S[~inside]
        leaving = self.order.size - int(inside.sum())
        m = len(S)
        # a deletion costs up to m^2 flops, a join m^2, a fresh factor m^3 / 3
        if self.mu != mu or 6 * (leaving + len(joining)) > m:
            ok = self._fresh(S, mu)
        else:
            if leaving:
                keep = np.zeros(self.gram.shape[0], dtype=bool)
                keep[S] = True
                for f in self.order[::-1]:  # from the end: the fewest rows rotated
                    if not keep[f]:
                        self.remove(int(f))
            ok = self.append(joining) if joining.size else True
            if not ok:
                ok = self._fresh(S, mu)
        if ok:  # the same test as a fresh Cholesky of the caller: singular to rounding
            d = np.diag(self.L)
            ok = d.min() ** 2 > 1e3 * _EPS * (float(self.diag[S].max()) + mu) * m
        if not ok:
            self.reset()
        return ok

    def solver(self, S: np.ndarray, mu: float) -> Callable[..., np.ndarray] | None:
        """``solve(b, x0, rtol)`` for ``gram[S, S] / n + mu I`` (b in S's order; x0 and rtol are
        ignored: the solve is direct), or None when the block is singular to rounding. The solve
        is not refined against the block: the caller refines against the KKT residual it
        computes from the data anyway (the block's product would cost a copy of the block)."""
        if not self.update(S, mu):
            return None
        rows = self._pos[S]
        L = self.L

        def solve(b: np.ndarray, x0: np.ndarray | None = None, rtol: float = 0.0) -> np.ndarray:
            bf = np.empty(len(rows))
            bf[rows] = b
            return scipy.linalg.lapack.dpotrs(L, bf, lower=1)[0][rows]

        return solve
