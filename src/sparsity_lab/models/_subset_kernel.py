"""numba kernel of best subset selection: a depth-first branch and bound over a drop tree.

Private module of :mod:`sparsity_lab.models.subset`. The search is the leaps-and-bounds idea
(Furnival and Wilson 1974) in the dropping-column form of Gatu and Kontoghiorghes (2006) and
Hofmann, Gatu and Kontoghiorghes (2007):

- A node is an ordered set S of q variables with a mark m: its subtree holds every subset of S
  that keeps the first m variables, each exactly once. Child j (m <= j < q) drops the j-th
  variable and gets mark j.
- A node carries the upper triangular factor R of [X_S, y] ((q+1) x (q+1), y last), so that
  RSS(S) = R[q, q]^2. Dropping variable j raises the RSS by ``beta_j^2 / ((X_S^T X_S)^-1)_jj``
  (all children's RSS from one triangular inverse); a child that is visited gets its own factor
  by deleting column j and restoring the triangle with Givens rotations (O(q^2)).
- Bound: every subset in child j's subtree is a subset of the child, so its RSS is at least the
  child's. The subtree holds sizes j .. q-2 (the child itself, size q-1, is recorded with its
  parent); it is cut when the child's RSS, less a rounding margin, is no lower than the
  incumbent of every such size.
- Preordering: at each node the droppable variables are sorted by the RSS their drop costs,
  largest first, so the first children (small marks) lose a strong variable and are cut early.

The search state lives in arrays (one level per depth, at most p + 1), so the Python driver can
run it in slices of a node budget and stop at a time limit; what is left on the stack then says
which sizes are still proven (:func:`unproven_sizes`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _drop_costs(R, q, m, inc):
    """inc[j] = RSS increase when variable j of the node is dropped, for m <= j < q."""
    Rinv = np.zeros((q, q))
    for i in range(q - 1, -1, -1):  # inverse of the upper triangular R[:q, :q], row by row
        Rinv[i, i] = 1.0 / R[i, i]
        for col in range(i + 1, q):
            acc = 0.0
            for t in range(i + 1, col + 1):
                acc += R[i, t] * Rinv[t, col]
            Rinv[i, col] = -acc / R[i, i]
    for j in range(m, q):
        beta = 0.0
        norm2 = 0.0
        for t in range(j, q):
            beta += Rinv[j, t] * R[t, q]
            norm2 += Rinv[j, t] * Rinv[j, t]
        inc[j] = beta * beta / norm2


@njit(cache=True)
def _delete_column(R, q, j, out):
    """out[:q, :q] = the triangular factor of [X_S without variable j, y] (R is (q+1)^2)."""
    H = np.empty((q + 1, q))
    for col in range(q):
        src = col if col < j else col + 1
        for row in range(q + 1):
            H[row, col] = R[row, src]
    for i in range(j, q):
        a = H[i, i]
        b = H[i + 1, i]
        r = math.sqrt(a * a + b * b)
        if r == 0.0:
            continue
        c = a / r
        s = b / r
        for col in range(i, q):
            t1 = H[i, col]
            t2 = H[i + 1, col]
            H[i, col] = c * t1 + s * t2
            H[i + 1, col] = -s * t1 + c * t2
        H[i + 1, i] = 0.0
    for row in range(out.shape[0]):  # loops: numba compiles 2-D slice assignment slowly
        for col in range(out.shape[1]):
            out[row, col] = H[row, col] if row < q and col < q else 0.0


@njit(cache=True)
def _record(best_rss, best_sets, rss, V, q, skip):
    """Make V without position ``skip`` (size q - 1) the incumbent of its size if it is better."""
    k = q - 1
    if rss < best_rss[k]:
        best_rss[k] = rss
        t = 0
        for i in range(q):
            if i != skip:
                best_sets[k, t] = V[i]
                t += 1


@njit(cache=True)
def _triangularise(B):
    """B <- the R of B = QR (Householder, in place; B square)."""
    m = B.shape[0]
    for col in range(m - 1):
        norm2 = 0.0
        for i in range(col, m):
            norm2 += B[i, col] * B[i, col]
        if norm2 == 0.0:
            continue
        alpha = -np.sqrt(norm2) if B[col, col] >= 0.0 else np.sqrt(norm2)
        v = np.empty(m - col)
        for i in range(m - col):
            v[i] = B[col + i, col]
        v[0] -= alpha
        vnorm2 = norm2 - B[col, col] * B[col, col] + v[0] * v[0]
        if vnorm2 == 0.0:
            continue
        for c2 in range(col + 1, m):
            acc = 0.0
            for i in range(m - col):
                acc += v[i] * B[col + i, c2]
            acc *= 2.0 / vnorm2
            for i in range(m - col):
                B[col + i, c2] -= acc * v[i]
        B[col, col] = alpha
        for i in range(col + 1, m):
            B[i, col] = 0.0


@njit(cache=True)
def _open_node(L, Rs, Vs, qs, ms, nxt, incs, rss, best_rss, best_sets, k_max):
    """Drop costs of node L, its children recorded as incumbents, its free part preordered."""
    q = qs[L]
    m = ms[L]
    R = Rs[L]
    V = Vs[L]
    inc = incs[L]
    _drop_costs(R, q, m, inc)
    if q - 1 <= k_max:
        for j in range(m, q):
            _record(best_rss, best_sets, rss[L] + inc[j], V, q, j)
    nfree = q - m
    if nfree > 1:
        order = np.empty(nfree, dtype=np.int64)  # free positions by drop cost, largest first
        for t in range(nfree):
            pos = m + t
            u = t
            while u > 0 and inc[order[u - 1]] < inc[pos]:
                order[u] = order[u - 1]
                u -= 1
            order[u] = pos
        newV = np.empty(nfree, dtype=np.int64)
        newinc = np.empty(nfree)
        block = np.empty((q + 1 - m, nfree + 1))
        top = np.empty((m, nfree + 1))
        for t in range(nfree + 1):  # loops: numba compiles 2-D slice assignment slowly
            src = order[t] if t < nfree else q
            if t < nfree:
                newV[t] = V[src]
                newinc[t] = inc[src]
            for i in range(q + 1 - m):
                block[i, t] = R[m + i, src]
            for i in range(m):
                top[i, t] = R[i, src]
        _triangularise(block)
        for t in range(nfree + 1):
            for i in range(m):
                R[i, m + t] = top[i, t]
            for i in range(q + 1 - m):
                R[m + i, m + t] = block[i, t]
        for t in range(nfree):
            V[m + t] = newV[t]
            inc[m + t] = newinc[t]
    nxt[L] = m


def init_search(R0, p, Rs, Vs, qs, ms, nxt, incs, rss, best_rss, best_sets, k_max) -> None:
    """Level 0 = the full set with factor R0 ((p+1) x (p+1)), its RSS recorded. Plain Python:
    the first :func:`run_search` (``open_root=True``) opens it, so numba compiles one entry
    point (each entry point re-optimises the helpers it calls)."""
    Rs[0] = R0
    Vs[0, :p] = np.arange(p)
    qs[0], ms[0], nxt[0] = p, 0, 0
    rss[0] = R0[p, p] ** 2
    if p <= k_max and rss[0] < best_rss[p]:
        best_rss[p] = rss[0]
        best_sets[p, :p] = np.arange(p)


@njit(cache=True)
def run_search(
    depth, Rs, Vs, qs, ms, nxt, incs, rss, best_rss, best_sets, k_max, budget, margin, open_root
):
    """Continue the depth-first search from stack top ``depth`` for at most ``budget`` nodes
    (``open_root``: first open level 0, set by :func:`init_search`).

    A subtree is cut only when its bound exceeds the incumbents by ``margin`` (the rounding
    error of the RSS updates), so a cut never loses a better subset. Returns (depth, nodes
    opened); depth -1 means the search is complete.
    """
    if open_root and qs[0] > 0:
        _open_node(0, Rs, Vs, qs, ms, nxt, incs, rss, best_rss, best_sets, k_max)
    nodes = 0
    while depth >= 0 and nodes < budget:
        L = depth
        q = qs[L]
        j = nxt[L]
        if j >= q - 1:  # child q-1 is a leaf: recorded when its parent opened
            depth -= 1
            continue
        nxt[L] = j + 1
        if j > k_max:
            continue
        child_rss = rss[L] + incs[L, j]
        hi = min(q - 2, k_max)
        worst = best_rss[j]
        for s in range(j + 1, hi + 1):
            worst = max(worst, best_rss[s])
        if child_rss - margin >= worst:
            continue
        _delete_column(Rs[L], q, j, Rs[L + 1])
        t = 0
        for i in range(q):
            if i != j:
                Vs[L + 1, t] = Vs[L, i]
                t += 1
        qs[L + 1] = q - 1
        ms[L + 1] = j
        rss[L + 1] = Rs[L + 1, q - 1, q - 1] ** 2
        _open_node(L + 1, Rs, Vs, qs, ms, nxt, incs, rss, best_rss, best_sets, k_max)
        depth = L + 1
        nodes += 1
    return depth, nodes


def unproven_sizes(depth, qs, nxt, incs, rss, best_rss, k_max, margin) -> np.ndarray:
    """Sizes 0..k_max whose incumbent a subtree still on the stack could beat (bool mask)."""
    open_ = np.zeros(k_max + 1, dtype=bool)
    for L in range(depth + 1):
        q = int(qs[L])
        for j in range(int(nxt[L]), min(q - 2, k_max) + 1):
            bound = rss[L] + incs[L, j] - margin
            hi = min(q - 2, k_max)
            sizes = np.arange(j, hi + 1)
            open_[sizes[bound < best_rss[sizes]]] = True
    return open_
