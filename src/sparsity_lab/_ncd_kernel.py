"""numba coordinate descent for any separable penalty of :mod:`sparsity_lab.penalties`.

Private module of :mod:`sparsity_lab.nonconvex`. Each coordinate is set to its exact minimiser
with the others fixed: the prox of the penalty at step ``1 / L_j`` (``L_j = ||X_j||^2 / n``) of
``w_j + X_j^T r / (n L_j)``, the penalty's own formula picked by its code. Two forms: on the Gram
matrix (n > p: a coordinate move updates ``H = G w`` in O(p)) and on the residual (p >= n: a
move updates ``r`` in O(n), X in Fortran order). Full sweeps alternate with sweeps over the
nonzero coordinates only, as in :mod:`sparsity_lab._cd_kernel`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sparsity_lab import penalties
from sparsity_lab.penalties import PENALTY_MCP, PENALTY_SCAD, jitted

_mcp_prox = jitted(penalties.mcp_prox)
_scad_prox = jitted(penalties.scad_prox)
_enet_prox = jitted(penalties.enet_prox)


@njit(inline="always")
def prox_1d(code, z, step, alpha, param):
    """prox of ``step * p_alpha`` at ``z`` for the penalty ``code`` (param: gamma, or the
    elastic net's l1_ratio)."""
    if code == PENALTY_MCP:
        return _mcp_prox(z, step, alpha, param)
    if code == PENALTY_SCAD:
        return _scad_prox(z, step, alpha, param)
    return _enet_prox(z, step, alpha, param)


@njit(cache=True)
def _sweep_gram(w, G, q, H, inv_n, code, alpha, param, coords):
    p = w.shape[0]
    max_dw = 0.0
    max_w = 0.0
    for j in coords:
        lj = G[j, j] * inv_n
        if lj <= 0.0:
            continue
        wj = w[j]
        z = wj + (q[j] - H[j]) * inv_n / lj
        new = prox_1d(code, z, 1.0 / lj, alpha, param)
        if new != wj:
            d = new - wj
            for i in range(p):  # G is symmetric: row j is column j, contiguous
                H[i] += d * G[j, i]
            w[j] = new
            max_dw = max(max_dw, abs(d) * np.sqrt(lj))
        max_w = max(max_w, abs(new) * np.sqrt(lj))
    return max_dw, max_w


@njit(cache=True)
def cd_gram(w, G, q, n, code, alpha, param, tol, max_sweeps):
    """Coordinate descent in place from ``w`` on ``1/(2n) w^T G w - q^T w / n + P_alpha(w)``
    until a full sweep moves no coordinate by more than ``tol`` times the largest (scale
    sqrt(L_j)). Returns the number of sweeps."""
    p = w.shape[0]
    H = np.zeros(p)
    for j in range(p):
        if w[j] != 0.0:
            for i in range(p):
                H[i] += w[j] * G[j, i]
    inv_n = 1.0 / n
    everything = np.arange(p)
    sweeps = 0
    while sweeps < max_sweeps:
        max_dw, max_w = _sweep_gram(w, G, q, H, inv_n, code, alpha, param, everything)
        sweeps += 1
        if max_dw <= tol * max_w:
            break
        active = np.flatnonzero(w != 0.0)
        while sweeps < max_sweeps:
            max_dw, max_w = _sweep_gram(w, G, q, H, inv_n, code, alpha, param, active)
            sweeps += 1
            if max_dw <= tol * max_w:
                break
    return sweeps


@njit(cache=True)
def _sweep_resid(w, X, r, L, inv_n, code, alpha, param, coords):
    n = X.shape[0]
    max_dw = 0.0
    max_w = 0.0
    for j in coords:
        lj = L[j]
        if lj <= 0.0:
            continue
        wj = w[j]
        xr = 0.0
        for i in range(n):
            xr += X[i, j] * r[i]
        new = prox_1d(code, wj + xr * inv_n / lj, 1.0 / lj, alpha, param)
        if new != wj:
            d = new - wj
            for i in range(n):
                r[i] -= d * X[i, j]
            w[j] = new
            max_dw = max(max_dw, abs(d) * np.sqrt(lj))
        max_w = max(max_w, abs(new) * np.sqrt(lj))
    return max_dw, max_w


@njit(cache=True)
def cd_resid(w, X, y, L, code, alpha, param, tol, max_sweeps):
    """As :func:`cd_gram` on X itself (Fortran order), ``L_j = ||X_j||^2 / n`` given."""
    n, p = X.shape
    r = y.copy()
    for j in range(p):
        if w[j] != 0.0:
            for i in range(n):
                r[i] -= w[j] * X[i, j]
    inv_n = 1.0 / n
    everything = np.arange(p)
    sweeps = 0
    while sweeps < max_sweeps:
        max_dw, max_w = _sweep_resid(w, X, r, L, inv_n, code, alpha, param, everything)
        sweeps += 1
        if max_dw <= tol * max_w:
            break
        active = np.flatnonzero(w != 0.0)
        while sweeps < max_sweeps:
            max_dw, max_w = _sweep_resid(w, X, r, L, inv_n, code, alpha, param, active)
            sweeps += 1
            if max_dw <= tol * max_w:
                break
    return sweeps
