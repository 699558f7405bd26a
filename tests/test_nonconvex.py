"""MCP and SCAD: against skglm's estimators where the objective is convex (same coefficients to
1e-8, same zero sets), stationarity and honest certificates where it is not, the estimator
contract, and the runner's rows."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils.estimator_checks import parametrize_with_checks

from sparsity_lab import metrics
from sparsity_lab.models import MCPRegression, SCADRegression
from sparsity_lab.nonconvex import nonconvex_path
from sparsity_lab.penalties import MCP, SCAD
from sparsity_lab.regularization import TrainingData, alpha_max, fit_path
from sparsity_lab.runner import nonconvex_certificates, smallest_eigenvalue

HAS_SKGLM = importlib.util.find_spec("skglm") is not None
needs_skglm = pytest.mark.skipif(not HAS_SKGLM, reason="skglm is not installed (extra: peers)")


def toeplitz(n: int, p: int, rho: float, seed: int = 0, k: int = 5):
    """Standardised Gaussian design with corr rho^|i-j|, k +-1 true coefficients, centred y."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    beta = np.zeros(p)
    beta[rng.choice(p, k, replace=False)] = rng.choice([-1.0, 1.0], k)
    y = X @ beta + rng.standard_normal(n)
    return (X - X.mean(0)) / X.std(0), y - y.mean()


def rounding(alphas: np.ndarray, W: np.ndarray) -> np.ndarray:
    """The solver's rounding level per fit: 1e3 units of rounding of X^T r / n (standardised
    columns): 1e3 eps (alpha_max + ||w||_1)."""
    return 1e3 * np.finfo(float).eps * (alphas[0] + np.abs(W).sum(axis=1))


def grid(data: TrainingData, num: int = 20) -> np.ndarray:
    return alpha_max(data.X, data.y, centred=True) * np.logspace(0, -2, num)


def skglm_path(X, y, alphas, penalty):
    """skglm's estimator warm-started along the grid at a stationarity tolerance of 1e-13."""
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import Quadratic
    from skglm.estimators import MCPRegression as SkMCP
    from skglm.penalties import SCAD as SkSCAD
    from skglm.solvers import AndersonCD

    coefs = []
    if isinstance(penalty, MCP):
        est = SkMCP(alpha=alphas[0], gamma=penalty.gamma, tol=1e-13, fit_intercept=False,
                    warm_start=True, max_iter=1000)  # fmt: skip
    else:
        solver = AndersonCD(tol=1e-13, fit_intercept=False, warm_start=True, max_iter=1000)
        est = GeneralizedLinearEstimator(Quadratic(), SkSCAD(alphas[0], penalty.gamma), solver)
    for alpha in alphas:
        if isinstance(penalty, MCP):
            est.set_params(alpha=float(alpha))
        else:  # skglm's own parametrisation: SCAD(alpha, gamma), the same as ours
            est.set_params(penalty=SkSCAD(float(alpha), penalty.gamma))
        est.fit(X, y)
        coefs.append(np.array(est.coef_, dtype=np.float64))
    return np.array(coefs)


@pytest.mark.slow  # skglm's compilation alone takes 10 to 20 s
@needs_skglm
@pytest.mark.parametrize("penalty", [MCP(3.0), SCAD(3.7)], ids=["mcp", "scad"])
@pytest.mark.parametrize("shape", [(300, 30, 0.2), (500, 50, 0.0)], ids=["rho0.2", "rho0"])
def test_same_path_as_skglm_where_convex(penalty, shape):
    X, y = toeplitz(*shape[:2], rho=shape[2])
    data = TrainingData(X, y)
    assert penalty.is_convex_on(smallest_eigenvalue(data))  # the design makes it convex
    alphas = grid(data)
    ours = nonconvex_path(data.X, data.y, data.Xty, data.gram, alphas, penalty)
    assert set(ours.status) == {"ok"}
    theirs = skglm_path(X, y, alphas, penalty)
    assert np.max(np.abs(ours.coefs - theirs)) <= 1e-8
    assert_array_equal(ours.coefs == 0.0, theirs == 0.0)
    # every exact zero is proven on this convex design
    XtR, rss = data.residual_products(ours.coefs)
    _, stat, certified, boundary, convex = nonconvex_certificates(
        ours.coefs, XtR, rss, alphas, data, penalty
    )
    assert convex.all() and np.all(stat <= rounding(alphas, ours.coefs))
    assert_array_equal(certified + boundary, metrics.count_exact_zeros(ours.coefs))


@pytest.mark.parametrize("penalty", [MCP(3.0), SCAD(3.7), MCP(1.5)], ids=["mcp", "scad", "mcp1.5"])
def test_stationary_to_rounding_where_not_convex(penalty):
    X, y = toeplitz(60, 200, rho=0.5)  # p > n: never convex
    data = TrainingData(X, y)
    alphas = grid(data, 30)
    path = nonconvex_path(data.X, data.y, data.Xty, data.gram, alphas, penalty)
    assert set(path.status) == {"ok"}
    XtR, rss = data.residual_products(path.coefs)
    obj, stat, certified, _, convex = nonconvex_certificates(
        path.coefs, XtR, rss, alphas, data, penalty
    )
    # the certificate recomputes stationarity from the data: rounding level
    assert np.all(stat <= rounding(alphas, path.coefs))
    assert not convex.any() and (certified == 0).all()  # zeros of a stationary point, unproven
    # every fit is a local minimum along each coordinate: no single coordinate move lowers L
    n = data.n_samples
    for k in (5, 15, 29):
        w = path.coefs[k]
        for j in range(0, 200, 7):
            for t in (-1e-3, 1e-3):
                v = w.copy()
                v[j] += t
                r = data.y - data.X @ v
                moved = r @ r / (2 * n) + penalty.value(v, alphas[k])
                assert moved >= obj[k] - 1e-12
    # exact zeros sit in the prox's dead zone: |X_j^T r| / n <= alpha
    zero = path.coefs == 0.0
    assert np.all(
        np.abs(XtR[zero]) / n <= np.repeat(alphas, 200).reshape(30, 200)[zero] * (1 + 1e-12)
    )


def test_fit_path_route_matches_the_estimator_warm_started():
    X, y = toeplitz(120, 15, rho=0.3)
    data = TrainingData(X, y)
    alphas = grid(data, 8)
    path = fit_path(SCADRegression(), data, alphas)
    est = SCADRegression(fit_intercept=False, warm_start=True)
    for k, alpha in enumerate(alphas):
        est.set_params(alpha=float(alpha)).fit(data.X, data.y)
        assert est.status_ == "ok" and est.stationarity_ <= 1e-12
        np.testing.assert_allclose(est.coef_, path.coefs[k], rtol=0, atol=1e-12)
        assert_array_equal(est.coef_ == 0.0, path.coefs[k] == 0.0)


def test_large_gamma_approaches_the_lasso():
    from sparsity_lab.models import Lasso

    X, y = toeplitz(100, 10, rho=0.3)
    alpha = 0.05
    lasso = Lasso(alpha=alpha).fit(X, y)
    mcp = MCPRegression(alpha=alpha, gamma=1e9).fit(X, y)
    np.testing.assert_allclose(mcp.coef_, lasso.coef_, atol=1e-6)
    assert_array_equal(mcp.coef_ == 0.0, lasso.coef_ == 0.0)


def test_gamma_is_validated_the_scikit_learn_way():
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = toeplitz(20, 3, rho=0.0, k=2)
    with pytest.raises(InvalidParameterError, match=r"'gamma' parameter .* range \(1.0, inf\)"):
        MCPRegression(gamma=0.5).fit(X, y)
    with pytest.raises(InvalidParameterError, match=r"'gamma' parameter .* range \(2.0, inf\)"):
        SCADRegression(gamma=2).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
        MCPRegression(alpha=-1).fit(X, y)


@parametrize_with_checks([MCPRegression(alpha=0.1), SCADRegression(alpha=0.1)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("model", ["mcp", "scad"])
def test_runner_rows_on_an_orthogonal_design_are_the_closed_form(compose_cfg, model):
    """X^T X = n I: each coefficient is the penalty's threshold of z_j = X_j^T y / n (firm
    threshold for MCP, Fan and Li's for SCAD), written out here; every zero proven."""
    from sparsity_lab.runner import load_prepared, run_path_job

    cfg = compose_cfg([f"model={model}", "dataset=orthogonal", "grid.num=12"])
    tables = run_path_job(cfg, model)
    fits, coefs = tables["fits"], tables["coefs"]
    _, prep = load_prepared(cfg)
    n = prep.X_train.shape[0]
    z = prep.X_train.T @ (prep.y_train - prep.y_train.mean()) / n
    gamma = float(cfg.model.gamma)
    for alpha, group in coefs.groupby("alpha", sort=False):
        a = np.abs(z)
        if model == "mcp":
            middle = np.sign(z) * (a - alpha) / (1 - 1 / gamma)
            expected = np.where(a <= alpha, 0.0, np.where(a > gamma * alpha, z, middle))
        else:
            middle = ((gamma - 1) * z - np.sign(z) * gamma * alpha) / (gamma - 2)
            soft = np.sign(z) * np.maximum(a - alpha, 0.0)
            expected = np.where(a <= 2 * alpha, soft, np.where(a > gamma * alpha, z, middle))
        np.testing.assert_allclose(group["coef"].to_numpy(), expected, rtol=0, atol=1e-12)
        assert_array_equal(group["coef"].to_numpy() == 0.0, expected == 0.0)
    assert (fits["status"] == "ok").all() and fits["objective_convex"].all()
    assert (fits["stationarity"] <= 1e-12).all()
    assert (fits["n_zero_certified"] + fits["n_zero_boundary"] == fits["n_zero"]).all()
    assert fits["duality_gap"].isna().all() and fits["objective"].notna().all()
    # the objective column is the penalty's value plus the data term, recomputed here by hand
    row = fits.iloc[5]
    w = coefs[coefs["alpha"] == row["alpha"]]["coef"].to_numpy()
    r = prep.y_train - prep.y_train.mean() - prep.X_train @ w
    if model == "mcp":
        t = np.minimum(np.abs(w), gamma * row["alpha"])
        pen = np.sum(row["alpha"] * t - t**2 / (2 * gamma))
    else:
        pen = sum(quad_scad(abs(v), row["alpha"], gamma) for v in w)
    assert row["objective"] == pytest.approx(r @ r / (2 * n) + pen, rel=1e-12)


def quad_scad(t: float, alpha: float, gamma: float) -> float:
    """Fan and Li's SCAD written from its derivative's integral."""
    if t <= alpha:
        return alpha * t
    if t <= gamma * alpha:
        return alpha**2 + (gamma * alpha * (t - alpha) - (t**2 - alpha**2) / 2) / (gamma - 1)
    return alpha**2 + (
        gamma * alpha * (gamma - 1) * alpha - ((gamma * alpha) ** 2 - alpha**2) / 2
    ) / (gamma - 1)
