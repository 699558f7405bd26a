"""The penalty objects against independent references: values against the integral of the
penalty's derivative, proxes against brute-force 1-D minimisation, subdifferential distances
against finite differences, and the compiled (numba) formulas against the array forms."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.integrate import quad
from scipy.optimize import minimize_scalar

from sparsity_lab import penalties
from sparsity_lab.penalties import L1, L2, MCP, SCAD, ElasticNet

RNG = np.random.default_rng(0)
POINTS = np.concatenate([RNG.normal(scale=3.0, size=40), [0.0, -0.0, 1e-300, -2.5, 2.5]])


def derivative(penalty, t: float, alpha: float) -> float:
    """p_alpha'(t) for t > 0, from the textbook definitions (not from penalties.py)."""
    if isinstance(penalty, MCP):
        return max(0.0, alpha - t / penalty.gamma)
    if isinstance(penalty, SCAD):
        g = penalty.gamma
        return alpha if t <= alpha else max(0.0, g * alpha - t) / (g - 1.0)
    return alpha * (penalty.l1_ratio + (1.0 - penalty.l1_ratio) * t)


PENALTIES = [L1(), L2(), ElasticNet(0.3), MCP(3.0), MCP(1.5), SCAD(3.7), SCAD(2.5)]
IDS = ["l1", "l2", "enet0.3", "mcp3", "mcp1.5", "scad3.7", "scad2.5"]


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
def test_value_is_the_integral_of_the_derivative(penalty):
    alpha = 0.8
    values = penalty.elementwise(POINTS, alpha)
    for w, value in zip(POINTS, values, strict=True):
        reference, _ = quad(lambda t: derivative(penalty, t, alpha), 0.0, abs(w), points=[
            alpha, alpha * getattr(penalty, "gamma", 1.0)], limit=200)  # fmt: skip
        assert value == pytest.approx(reference, rel=1e-10, abs=1e-12)
    # row_values sums a row with its own alpha
    W = np.vstack([POINTS, 2 * POINTS])
    expected = [values.sum(), penalty.elementwise(2 * POINTS, 0.5).sum()]
    assert_allclose(penalty.row_values(W, np.array([alpha, 0.5])), expected, rtol=1e-14)


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
@pytest.mark.parametrize("step", [0.3, 1.0, 5.0])
def test_prox_is_the_brute_force_minimiser(penalty, step):
    alpha = 0.8
    prox = penalty.prox(POINTS, step, alpha)
    for z, w in zip(POINTS, prox, strict=True):

        def f(v, z=z):
            return 0.5 * (v - z) ** 2 + step * penalty.elementwise(np.array([v]), alpha)[0]

        grid = np.linspace(-abs(z) - 1.0, abs(z) + 1.0, 4001)
        values = 0.5 * (grid - z) ** 2 + step * penalty.elementwise(grid, alpha)
        v0 = grid[np.argmin(values)]
        h = grid[1] - grid[0]
        best = minimize_scalar(f, bounds=(v0 - h, v0 + h), method="bounded",
                               options={"xatol": 1e-12}).x  # fmt: skip
        best = min([best, 0.0, v0], key=f)
        assert f(w) <= f(best) + 1e-12
        assert w == pytest.approx(best, abs=1e-6)
    # exact zeros exactly where |z| <= step * alpha (every penalty here has slope alpha at 0+)
    if penalty.zeroable(1)[0] and step < 5.0:
        dead = np.abs(POINTS) <= step * alpha * penalty.l1_ratio if penalty.code <= 2 else (
            np.abs(POINTS) <= step * alpha)  # fmt: skip
        assert_array_equal(prox == 0.0, dead)


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
def test_subdiff_distance_matches_its_definition(penalty):
    alpha, h = 0.8, 1e-7
    grads = RNG.normal(size=POINTS.size)
    distance = penalty.subdiff_distance(POINTS, grads, alpha)

    def p(v):
        return penalty.elementwise(np.array([v]), alpha)[0]

    for w, g, d in zip(POINTS, grads, distance, strict=True):
        if w == 0.0:  # the subdifferential is [-p'(0+), p'(0+)] (one-sided derivatives)
            slope = (p(h) - p(0.0)) / h
            reference = max(0.0, abs(g) - slope)
        else:  # differentiable: |grad + p'(w)| (difference outwards, never across 0)
            s = np.sign(w)
            reference = abs(g + s * (p(w + s * h) - p(w)) / h)
        assert d == pytest.approx(reference, abs=1e-6)


COMPILED = [MCP(3.0), SCAD(3.7), ElasticNet(0.4)]


@pytest.mark.parametrize("penalty", COMPILED, ids=["mcp", "scad", "enet0.4"])
def test_compiled_formulas_equal_the_array_forms(penalty):
    from numba import njit

    gamma_or_ratio = penalty.kernel_params()[1]
    names = {penalties.PENALTY_MCP: "mcp", penalties.PENALTY_SCAD: "scad"}
    prefix = names.get(penalty.code, "enet")
    prox = penalties.jitted(getattr(penalties, f"{prefix}_prox"))
    value = penalties.jitted(getattr(penalties, f"{prefix}_value"))

    @njit
    def apply(z, step, alpha, param):
        out = np.empty((2, z.shape[0]))
        for i in range(z.shape[0]):
            out[0, i] = prox(z[i], step, alpha, param)
            out[1, i] = value(z[i], alpha, param)
        return out

    out = apply(POINTS, 1.0, 0.8, gamma_or_ratio)
    assert_array_equal(out[0], penalty.prox(POINTS, 1.0, 0.8))
    assert_array_equal(out[1], penalty.elementwise(POINTS, 0.8))


def test_soft_threshold_is_bitwise_the_branches():
    z = np.concatenate([POINTS, [np.inf, -np.inf]])
    branches = np.where(z > 0.5, z - 0.5, np.where(z < -0.5, z + 0.5, 0.0))
    out = np.array([penalties.soft_threshold(v, 0.5) for v in z])
    assert_array_equal(out, branches)
    assert_array_equal(penalties.vectorized(penalties.soft_threshold)(z, 0.5), branches)
    assert not np.signbit(out[out == 0.0]).any()  # +0.0, never -0.0


def test_gamma_is_checked_and_convexity_thresholds():
    with pytest.raises(ValueError, match=r"gamma=1: allowed values are numbers > 1"):
        MCP(1)
    with pytest.raises(ValueError, match=r"gamma=2.0: allowed values are numbers > 2"):
        SCAD(2.0)
    with pytest.raises(ValueError, match="gamma=nan"):
        MCP(float("nan"))
    assert MCP(4.0).concavity == 0.25 and SCAD(3.0).concavity == 0.5
    assert MCP(4.0).is_convex_on(0.26) and not MCP(4.0).is_convex_on(0.25)
    assert L1().is_convex_on(0.0) and L1().concavity == 0.0
    assert not L2().zeroable(3).any() and MCP(3).zeroable(3).all()
    Xty = np.array([3.0, -5.0, 1.0])
    assert MCP(3).alpha_max(Xty, 10) == SCAD(3.7).alpha_max(Xty, 10) == L1().alpha_max(Xty, 10)
    assert ElasticNet(0.5).alpha_max(Xty, 10) == pytest.approx(1.0)
