"""Penalties of the shared objective: each penalty's formulas have this one home.

    L(w) = 1/(2n) ||y - Xw - b||^2 + P_alpha(w),   P_alpha(w) = sum_j p_alpha(w_j)

For the elastic-net family ``P_alpha = alpha * Omega`` (``Omega = l1_ratio ||w||_1 + (1 -
l1_ratio)/2 ||w||^2``); the non-convex MCP (Zhang 2010) and SCAD (Fan and Li 2001) are not
homogeneous in alpha, so every formula takes alpha. Their derivative at 0+ is alpha, so the top
of the grid, alpha_max, is the Lasso's for all of them.

Two layers, in the spirit of skglm's ``penalties/`` (a penalty object that generic solvers ask
for its value, prox and subdifferential distance):

- **Formulas** (module-level functions marked ``@formula``): one coordinate each, written in
  the subset of Python that numba compiles, and importable without numba. The elastic-net
  value and subdifferential distance take numpy arrays as they are (the objective and the KKT
  check of every Lasso fit need no numba). The numba kernels (``models/_kernels.py`` SGD
  rules, ``_cd_kernel.py`` and ``_ncd_kernel.py`` coordinate descent) compile them with
  :func:`jitted` (calls between formulas are compiled too) and dispatch on the penalty's
  ``code``; arrays get the scalar formulas through :func:`vectorized` (numba ufuncs).
- **Penalty objects** (:class:`L1`, :class:`L2`, :class:`ElasticNet`, :class:`MCP`,
  :class:`SCAD`): value, prox, distance to the subdifferential (stationarity / KKT), alpha_max,
  which coordinates the penalty can set to 0, the curvature its concavity removes (the
  convexity test of the objective), and ``kernel_params`` (code and parameter for the kernels).

Adding a penalty: its formulas here, its class here (with a new code), the branches of the
kernels that should run it (keyed on the code), a model config and its tests (docs/design.md).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable

import numpy as np

# The penalty codes the numba kernels branch on (the kernels import them from here, so that the
# objective of a fit never needs numba).
PENALTY_L1 = 0
PENALTY_L2 = 1
PENALTY_ELASTICNET = 2  # SGD: only the clip, rda and ftrl rules, which take its l1_ratio
PENALTY_MCP = 3
PENALTY_SCAD = 4

_FORMULAS: dict[str, Callable] = {}


def formula(fn: Callable) -> Callable:
    """Mark ``fn`` as a penalty formula: :func:`jitted` compiles the formulas it calls with it."""
    _FORMULAS[fn.__name__] = fn
    return fn


@functools.cache
def jitted(fn: Callable):
    """``fn`` compiled by numba (``inline="always"``), the formulas it calls compiled with it.

    numba resolves a function's globals when it compiles it: the copy compiled here sees the
    compiled versions of the other formulas under their own names. numba is imported here, on
    first use, never by importing this module.
    """
    import numba

    names = set(fn.__code__.co_names) & (_FORMULAS.keys() - {fn.__name__})
    env = {**fn.__globals__, **{name: jitted(_FORMULAS[name]) for name in names}}
    copy = types.FunctionType(fn.__code__, env, fn.__name__, fn.__defaults__, fn.__closure__)
    return numba.njit(inline="always")(copy)


@functools.cache
def vectorized(fn: Callable):
    """``fn`` as a numpy ufunc (numba's ``vectorize``): the array form of a scalar formula."""
    import numba

    return numba.vectorize(nopython=True, cache=True)(jitted(fn).py_func)


# ----------------------------------------------------------------------------------------------
# Formulas, one coordinate each. ``grad`` is the derivative of the data term at the coordinate
# (-X_j^T r / n); a distance to the subdifferential is that of -grad to the penalty's.


@formula
def soft_threshold(z, t):
    """argmin_w 1/2 (w - z)^2 + t |w| (scalar): z moved by t towards 0, 0.0 where |z| <= t.

    ``z - clip(z, -t, t)`` with the builtin min and max: no branch, so the kernels' loops
    vectorise; bitwise ``z - t`` / ``z + t`` outside [-t, t] and +0.0 inside.
    """
    return z - min(max(z, -t), t)


@formula
def enet_value(w, alpha, l1_ratio):
    """alpha (l1_ratio |w| + (1 - l1_ratio)/2 w^2); arrays work as they are."""
    return alpha * (l1_ratio * np.abs(w) + 0.5 * (1.0 - l1_ratio) * w * w)


@formula
def enet_subgradient(w, alpha, l1_ratio):
    """alpha (l1_ratio sign(w) + (1 - l1_ratio) w), sign(0) = 0 (the seed note's subgradient;
    scalar: the sign is a select, which keeps the kernels' loops vectorised)."""
    sign = 1.0 if w > 0.0 else (-1.0 if w < 0.0 else 0.0)
    return alpha * (l1_ratio * sign + (1.0 - l1_ratio) * w)


@formula
def enet_prox(z, step, alpha, l1_ratio):
    """prox of step * alpha * Omega_EN at z (scalar): soft-threshold, then shrinkage."""
    if l1_ratio != 0.0:
        z = soft_threshold(z, step * alpha * l1_ratio)
    if l1_ratio != 1.0:
        z = z / (1.0 + step * alpha * (1.0 - l1_ratio))
    return z


@formula
def enet_subdiff_distance(w, grad, alpha, l1_ratio):
    """Distance of -grad to alpha * dOmega_EN(w) per coordinate (numpy arrays; the kernels
    do not need it, so metrics' KKT check needs no numba)."""
    lam = alpha * l1_ratio
    g = grad + alpha * (1.0 - l1_ratio) * w
    return np.where(w != 0.0, np.abs(g + lam * np.sign(w)), np.maximum(0.0, np.abs(g) - lam))


@formula
def mcp_value(w, alpha, gamma):
    """MCP: alpha |w| - w^2 / (2 gamma) for |w| <= gamma alpha, gamma alpha^2 / 2 beyond."""
    a = np.minimum(np.abs(w), gamma * alpha)
    return alpha * a - a * a / (2.0 * gamma)


@formula
def mcp_prox(z, step, alpha, gamma):
    """prox of step * MCP at z (scalar), the exact minimiser for every step. For step < gamma
    (the 1-D problem is convex) the firm threshold: 0 for |z| <= step alpha, z for |z| > gamma
    alpha, the soft-threshold scaled by 1 / (1 - step / gamma) between. For step >= gamma the
    concave middle piece has its minimum at an end: 0 or sign(z) max(|z|, gamma alpha), the
    better of the two."""
    a = abs(z)
    if step >= gamma:
        c = max(a, gamma * alpha)
        if (c - a) * (c - a) / (2.0 * step) + gamma * alpha * alpha / 2.0 < a * a / (2.0 * step):
            return c if z > 0.0 else -c
        return 0.0
    if a > gamma * alpha:
        return z
    return soft_threshold(z, step * alpha) / (1.0 - step / gamma)


@formula
def mcp_subdiff_distance(w, grad, alpha, gamma):
    """Distance of -grad to the (Frechet) subdifferential of MCP at w (scalar)."""
    if w == 0.0:
        return max(0.0, abs(grad) - alpha)
    a = abs(w)
    if a >= gamma * alpha:
        return abs(grad)
    slope = alpha - a / gamma
    return abs(grad + slope) if w > 0.0 else abs(grad - slope)


@formula
def scad_value(w, alpha, gamma):
    """SCAD: alpha |w| up to alpha, (2 gamma alpha |w| - w^2 - alpha^2) / (2 (gamma - 1)) up to
    gamma alpha, alpha^2 (gamma + 1) / 2 beyond."""
    a = abs(w)
    if a <= alpha:
        return alpha * a
    if a <= gamma * alpha:
        return (2.0 * gamma * alpha * a - a * a - alpha * alpha) / (2.0 * (gamma - 1.0))
    return alpha * alpha * (gamma + 1.0) / 2.0


@formula
def scad_prox(z, step, alpha, gamma):
    """prox of step * SCAD at z (scalar), the exact minimiser for every step. For step < gamma
    - 1 (convex 1-D problem): the soft-threshold at step alpha up to |z| = (1 + step) alpha,
    ((gamma - 1) z - sign(z) step gamma alpha) / (gamma - 1 - step) up to gamma alpha, z
    beyond. Otherwise the middle piece is concave: the better of min(max(|z| - step alpha, 0),
    alpha) and max(|z|, gamma alpha), with the sign of z."""
    a = abs(z)
    if step >= gamma - 1.0:
        c1 = min(max(a - step * alpha, 0.0), alpha)
        c3 = max(a, gamma * alpha)
        f1 = (c1 - a) * (c1 - a) / (2.0 * step) + scad_value(c1, alpha, gamma)
        f3 = (c3 - a) * (c3 - a) / (2.0 * step) + scad_value(c3, alpha, gamma)
        c = c1 if f1 <= f3 else c3
        return c if z > 0.0 else -c
    if a <= (1.0 + step) * alpha:
        return soft_threshold(z, step * alpha)
    if a > gamma * alpha:
        return z
    shift = step * gamma * alpha if z > 0.0 else -step * gamma * alpha
    return ((gamma - 1.0) * z - shift) / (gamma - 1.0 - step)


@formula
def scad_subdiff_distance(w, grad, alpha, gamma):
    """Distance of -grad to the (Frechet) subdifferential of SCAD at w (scalar)."""
    if w == 0.0:
        return max(0.0, abs(grad) - alpha)
    a = abs(w)
    if a <= alpha:
        slope = alpha
    elif a <= gamma * alpha:
        slope = (gamma * alpha - a) / (gamma - 1.0)
    else:
        slope = 0.0
    return abs(grad + slope) if w > 0.0 else abs(grad - slope)


# ----------------------------------------------------------------------------------------------


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
    return ElasticNet(l1_ratio).row_values(W, 1.0)


class Penalty:
    """What every penalty answers; subclasses set ``code``, ``name`` and the formulas."""

    code: int
    name: str
    #: The L1 share of an elastic-net penalty (NaN for the non-convex ones): what metrics'
    #: duality gap and gap-safe test, which know the elastic-net family only, use.
    l1_ratio: float = float("nan")
    #: The curvature the penalty removes (MCP 1/gamma, SCAD 1/(gamma - 1), 0 when convex): the
    #: objective is strictly convex where the smallest eigenvalue of X^T X / n exceeds it.
    concavity: float = 0.0

    def _param(self) -> float:
        return self.l1_ratio

    def kernel_params(self) -> tuple[int, float]:
        """(code, parameter) for the numba kernels: l1_ratio, or gamma for MCP and SCAD."""
        return self.code, float(self._param())

    def elementwise(self, w: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
        """p_alpha(w_j) per coordinate (arrays broadcast)."""
        raise NotImplementedError

    def row_values(self, W: np.ndarray, alphas: float | np.ndarray) -> np.ndarray:
        """P_alpha(w) for each row w of ``W`` (K, p), with ``alphas`` a scalar or (K,)."""
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        alphas = np.broadcast_to(np.asarray(alphas, dtype=np.float64), (W.shape[0],))
        return self.elementwise(W, alphas[:, None]).sum(axis=1)

    def value(self, w: np.ndarray, alpha: float = 1.0) -> float:
        """P_alpha(w) for ``w`` of shape (n_features,)."""
        return float(self.row_values(w, alpha)[0])

    def prox(self, z: np.ndarray, step: float, alpha: float = 1.0) -> np.ndarray:
        """argmin_w 1/2 ||w - z||^2 + step * P_alpha(w), coordinate by coordinate."""
        raise NotImplementedError

    def subdiff_distance(
        self, w: np.ndarray, grad: np.ndarray, alpha: float | np.ndarray = 1.0
    ) -> np.ndarray:
        """Per coordinate, the distance of -grad (grad: the data term's gradient) to the
        subdifferential of p_alpha at w_j: 0 everywhere at a stationary point (KKT)."""
        raise NotImplementedError

    def alpha_max(self, Xty: np.ndarray, n_samples: int) -> float:
        """The smallest alpha at which w = 0 is stationary (optimal when convex)."""
        return alpha_max_from_xty(Xty, n_samples, self.l1_ratio)

    def zeroable(self, n_features: int) -> np.ndarray:
        """Which coordinates the penalty can set to exactly 0 (its prox has a dead zone)."""
        return np.ones(n_features, dtype=bool)

    def is_convex_on(self, smallest_eigenvalue: float) -> bool:
        """Whether the objective is strictly convex on a design whose X^T X / n has this
        smallest eigenvalue (always for the elastic-net family)."""
        return self.concavity <= 0.0 or smallest_eigenvalue > self.concavity


class ElasticNet(Penalty):
    """Omega(w) = l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2; L1 at l1_ratio = 1, L2 at 0.

    Parameters
    ----------
    l1_ratio : float
        The L1 share, in [0, 1].
    """

    code = PENALTY_ELASTICNET
    name = "elasticnet"

    def __init__(self, l1_ratio: float):
        self.l1_ratio = float(l1_ratio)

    def elementwise(self, w, alpha):
        return enet_value(np.asarray(w, dtype=np.float64), alpha, self.l1_ratio)

    def subgradient(self, w: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        """``alpha (l1_ratio sign(w) + (1 - l1_ratio) w)``, shape (n_features,), sign(0) = 0."""
        return vectorized(enet_subgradient)(np.asarray(w, dtype=np.float64), alpha, self.l1_ratio)

    def prox(self, z, step, alpha=1.0):
        return vectorized(enet_prox)(np.asarray(z, dtype=np.float64), step, alpha, self.l1_ratio)

    def subdiff_distance(self, w, grad, alpha=1.0):
        w, grad = np.asarray(w, dtype=np.float64), np.asarray(grad, dtype=np.float64)
        return enet_subdiff_distance(w, grad, alpha, self.l1_ratio)

    def dual_scaling(self, dual_norm: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """The factor min(1, alpha l1_ratio / ||g||_inf) that makes the residual dual feasible
        (``dual_norm`` = ||X^T r / n - alpha (1 - l1_ratio) w||_inf): the duality gap's dual
        point and the gap-safe test's sphere centre (:mod:`sparsity_lab.metrics`)."""
        lam = np.asarray(alpha, dtype=np.float64) * self.l1_ratio
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(dual_norm > lam, lam / dual_norm, 1.0)

    def zeroable(self, n_features):
        return np.full(n_features, self.l1_ratio > 0.0)


class L1(ElasticNet):
    """Omega(w) = ||w||_1; its prox is the soft-threshold, its subgradient sign(w), sign(0) = 0."""

    code = PENALTY_L1
    name = "l1"

    def __init__(self):
        super().__init__(1.0)


class L2(ElasticNet):
    """Omega(w) = 1/2 ||w||^2; its gradient is w and its prox a division by 1 + step alpha."""

    code = PENALTY_L2
    name = "l2"

    def __init__(self):
        super().__init__(0.0)


class _NonConvex(Penalty):
    """MCP and SCAD: ``gamma`` and the formulas; arrays through numba ufuncs."""

    _value: Callable
    _prox: Callable
    _distance: Callable
    #: gamma must exceed this (MCP 1, SCAD 2).
    gamma_min: float

    def __init__(self, gamma: float):
        self.gamma = float(gamma)
        if not self.gamma > self.gamma_min:  # NaN too
            raise ValueError(f"gamma={gamma!r}: allowed values are numbers > {self.gamma_min:g}")

    def _param(self) -> float:
        return self.gamma

    def elementwise(self, w, alpha):
        return vectorized(type(self)._value)(np.asarray(w, dtype=np.float64), alpha, self.gamma)

    def prox(self, z, step, alpha=1.0):
        return vectorized(type(self)._prox)(np.asarray(z, dtype=np.float64), step, alpha,
                                            self.gamma)  # fmt: skip

    def subdiff_distance(self, w, grad, alpha=1.0):
        return vectorized(type(self)._distance)(
            np.asarray(w, dtype=np.float64), np.asarray(grad, dtype=np.float64), alpha, self.gamma
        )

    def alpha_max(self, Xty, n_samples):
        return alpha_max_from_xty(Xty, n_samples, 1.0)  # p'(0+) = alpha: the Lasso's

    def local_derivative(
        self, w: np.ndarray, alpha: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For nonzero ``w``: (a, b, piece) with p_alpha'(v) = a + b v for v on the same
        piece of the penalty as w (and of its sign); ``piece`` numbers the pieces."""
        raise NotImplementedError


class MCP(_NonConvex):
    """The minimax concave penalty (Zhang 2010), skglm's ``MCPenalty(alpha, gamma)``:
    p(w) = alpha |w| - w^2 / (2 gamma) for |w| <= gamma alpha, gamma alpha^2 / 2 beyond.

    Parameters
    ----------
    gamma : float
        Concavity, > 1 (the prox of a unit step is then a firm threshold); the objective is
        convex on designs whose smallest eigenvalue of X^T X / n exceeds 1 / gamma.
    """

    code = PENALTY_MCP
    name = "mcp"
    gamma_min = 1.0
    _value = staticmethod(mcp_value)
    _prox = staticmethod(mcp_prox)
    _distance = staticmethod(mcp_subdiff_distance)

    @property
    def concavity(self) -> float:
        return 1.0 / self.gamma

    def local_derivative(self, w, alpha):
        w = np.asarray(w, dtype=np.float64)
        inner = np.abs(w) < self.gamma * alpha
        a = np.where(inner, alpha * np.sign(w), 0.0)
        b = np.where(inner, -1.0 / self.gamma, 0.0)
        return a, b, (~inner).astype(np.int64)


class SCAD(_NonConvex):
    """The smoothly clipped absolute deviation (Fan and Li 2001), skglm's ``SCAD(alpha, gamma)``.

    Parameters
    ----------
    gamma : float
        > 2; the objective is convex on designs whose smallest eigenvalue of X^T X / n exceeds
        1 / (gamma - 1).
    """

    code = PENALTY_SCAD
    name = "scad"
    gamma_min = 2.0
    _value = staticmethod(scad_value)
    _prox = staticmethod(scad_prox)
    _distance = staticmethod(scad_subdiff_distance)

    @property
    def concavity(self) -> float:
        return 1.0 / (self.gamma - 1.0)

    def local_derivative(self, w, alpha):
        w = np.asarray(w, dtype=np.float64)
        g = self.gamma
        piece = np.where(np.abs(w) <= alpha, 0, np.where(np.abs(w) <= g * alpha, 1, 2))
        sign = np.sign(w)
        a = np.select([piece == 0, piece == 1], [alpha * sign, g * alpha * sign / (g - 1.0)], 0.0)
        b = np.where(piece == 1, -1.0 / (g - 1.0), 0.0)
        return a, b, piece
