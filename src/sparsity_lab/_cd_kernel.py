"""numba coordinate descent on the Gram matrix: the start point of the ``cd_exact`` route.

Private module of :mod:`sparsity_lab.solvers`. scikit-learn's ``enet_path`` does the same sweeps
but re-validates and re-centres X on every call (about 20 ms at 20000 x 2000), which a grid of
100 alphas pays 100 times; this kernel touches only the Gram matrix.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sparsity_lab.penalties import jitted, soft_threshold

_soft_threshold = jitted(soft_threshold)


@njit(cache=True)
def _sweep(w, G, q, H, l1, l2, coords):
    """One cyclic pass over ``coords``; returns (max |dw_j| sqrt(G_jj), max |w_j| sqrt(G_jj))."""
    p = w.shape[0]
    max_dw = 0.0
    max_w = 0.0
    for j in coords:
        gjj = G[j, j]
        if gjj <= 0.0:
            continue
        wj = w[j]
        z = q[j] - H[j] + gjj * wj
        new = _soft_threshold(z, l1) / (gjj + l2)
        if new != wj:
            d = new - wj
            for i in range(p):  # G is symmetric: row j is column j, contiguous
                H[i] += d * G[j, i]
            w[j] = new
            max_dw = max(max_dw, abs(d) * np.sqrt(gjj))
        max_w = max(max_w, abs(new) * np.sqrt(gjj))
    return max_dw, max_w


@njit(cache=True)
def cd_gram(w, G, q, l1, l2, tol, max_sweeps):
    """Minimise 1/2 w^T G w - q^T w + l1 ||w||_1 + l2/2 ||w||^2 in place from w.

    Full sweeps alternate with sweeps over the nonzero coordinates only; stops when a full
    sweep moves no coordinate by more than ``tol`` times the largest (both in the scale of
    sqrt(G_jj) w_j). Returns (w, G w): the product the sweeps kept up to date, which the
    caller would otherwise recompute (a pass over G).
    """
    p = w.shape[0]
    H = np.zeros(p)
    for j in range(p):
        if w[j] != 0.0:
            for i in range(p):
                H[i] += w[j] * G[j, i]
    everything = np.arange(p)
    sweeps = 0
    while sweeps < max_sweeps:
        max_dw, max_w = _sweep(w, G, q, H, l1, l2, everything)
        sweeps += 1
        if max_dw <= tol * max_w:
            break
        active = np.flatnonzero(w != 0.0)
        while sweeps < max_sweeps:
            max_dw, max_w = _sweep(w, G, q, H, l1, l2, active)
            sweeps += 1
            if max_dw <= tol * max_w:
                break
    return w, H
