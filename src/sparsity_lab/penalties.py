"""Penalties Omega of the shared objective, each with its value, subgradient and prox.

    L(w) = 1/(2n) ||y - Xw - b||^2 + alpha * Omega(w)

One object per penalty serves every SGD update rule (in the spirit of skglm's penalty x solver
split): the rules ask the penalty for a subgradient or a prox, never the other way round. The
numpy methods here are the reference definitions, used by the objective of every fit
(:func:`sparsity_lab.metrics.objective`), the penalty figure and the tests; the numba kernels in
:mod:`sparsity_lab.models._kernels` apply the same formulas one coordinate at a time and pick
them by the penalty's ``code``.
"""

from __future__ import annotations

import numpy as np

# The penalty codes the numba kernels branch on (:mod:`sparsity_lab.models._kernels` imports
# them from here, so that the objective of a fit never needs numba).
PENALTY_L1 = 0
PENALTY_L2 = 1
PENALTY_ELASTICNET = 2  # only the clip, rda and ftrl rules, which take its l1_ratio


def alpha_max_from_xty(Xty: np.ndarray, n_samples: int, l1_ratio: float = 1.0) -> float:
    """alpha_max, the one formula: ``max_j |Xc_j^T yc| / (n * l1_ratio)`` from the centred
    correlations ``Xty = Xc^T yc``, the smallest alpha at which the L1 (or elastic-net)
    solution is all zeros (the dual norm of the gradient at 0). For L2 (l1_ratio 0) and unknown
    penalties (NaN) the L1 value, so that their grids match the Lasso's; 0 without features.
    ``regularization.alpha_max`` computes it from the data."""
    Xty = np.asarray(Xty)
    if Xty.size == 0:
        return 0.0
    amax = float(np.max(np.abs(Xty))) / n_samples
    if np.isfinite(l1_ratio) and l1_ratio > 0:
        return amax / l1_ratio
    return amax


def penalty_value(W: np.ndarray, l1_ratio: float) -> np.ndarray:
    """Omega(w) = l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2 for each row w of ``W``.

    Parameters
    ----------
    W : ndarray, shape (K, n_features) or (n_features,)
    l1_ratio : float
        1 for L1, 0 for L2, in between for the elastic net.

    Returns
    -------
    ndarray, shape (K,)
    """
    W = np.atleast_2d(W)
    return l1_ratio * np.abs(W).sum(axis=1) + 0.5 * (1.0 - l1_ratio) * np.sum(W * W, axis=1)


class L1:
    """Omega(w) = ||w||_1; its prox is the soft-threshold, its subgradient sign(w), sign(0) = 0."""

    code = PENALTY_L1
    #: Omega = l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2 with l1_ratio = 1.
    l1_ratio = 1.0

    def value(self, w: np.ndarray) -> float:
        """Omega(w) for ``w`` of shape (n_features,)."""
        return float(penalty_value(w, self.l1_ratio)[0])

    def subgradient(self, w: np.ndarray) -> np.ndarray:
        """The subgradient sign(w) of shape (n_features,), with sign(0) = 0 as in the seed note."""
        return np.sign(w)

    def prox(self, z: np.ndarray, step: float) -> np.ndarray:
        """argmin_w 1/2 ||w - z||^2 + step * ||w||_1: soft-threshold of ``z`` at ``step``."""
        return np.sign(z) * np.maximum(np.abs(z) - step, 0.0)


class L2:
    """Omega(w) = 1/2 ||w||^2; its gradient is w and its prox a division by 1 + step."""

    code = PENALTY_L2
    l1_ratio = 0.0

    def value(self, w: np.ndarray) -> float:
        """Omega(w) for ``w`` of shape (n_features,)."""
        return float(penalty_value(w, self.l1_ratio)[0])

    def subgradient(self, w: np.ndarray) -> np.ndarray:
        """The gradient w, shape (n_features,)."""
        return np.asarray(w).copy()

    def prox(self, z: np.ndarray, step: float) -> np.ndarray:
        """argmin_w 1/2 ||w - z||^2 + step/2 ||w||^2 = z / (1 + step)."""
        return z / (1.0 + step)


class ElasticNet:
    """Omega(w) = l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2; L1 at l1_ratio = 1, L2 at 0.

    Parameters
    ----------
    l1_ratio : float
        The L1 share, in [0, 1].
    """

    code = PENALTY_ELASTICNET

    def __init__(self, l1_ratio: float):
        self.l1_ratio = float(l1_ratio)

    def value(self, w: np.ndarray) -> float:
        """Omega(w) for ``w`` of shape (n_features,)."""
        return float(penalty_value(w, self.l1_ratio)[0])

    def subgradient(self, w: np.ndarray) -> np.ndarray:
        """``l1_ratio sign(w) + (1 - l1_ratio) w``, shape (n_features,), sign(0) = 0."""
        return self.l1_ratio * np.sign(w) + (1.0 - self.l1_ratio) * np.asarray(w)

    def prox(self, z: np.ndarray, step: float) -> np.ndarray:
        """argmin_w 1/2 ||w - z||^2 + step * Omega(w): soft-threshold, then shrinkage."""
        return L1().prox(z, step * self.l1_ratio) / (1.0 + step * (1.0 - self.l1_ratio))
