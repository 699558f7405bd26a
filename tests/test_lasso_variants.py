"""Relaxed and adaptive lasso against closed forms (orthonormal designs), scikit-learn's Lasso
at a tight tolerance, least squares refits and the weighted KKT conditions."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import Lasso as SkLasso
from sklearn.utils.estimator_checks import parametrize_with_checks

from sparsity_lab.models.lasso_variants import (
    AdaptiveLasso,
    RelaxedLasso,
    adaptive_lasso_path,
    relaxed_lasso_path,
)


def soft(z, t):
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def orthonormal_design(n=40, p=6, seed=0):
    """Centred X with X^T X / n = I, and y with X^T y / n = z (known)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p + 1))
    Q, _ = np.linalg.qr(A - A.mean(0))  # orthonormal, centred columns
    X = np.sqrt(n) * Q[:, :p]
    z = np.array([2.0, -1.5, 0.9, -0.4, 0.2, 0.05])[:p]
    y = X @ z + 0.7 * np.sqrt(n) * Q[:, p]  # noise orthogonal to every column
    return X, y, z


def correlated(n=60, p=15, rho=0.7, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    beta = np.zeros(p)
    beta[[0, 3, 7, 11]] = [1.5, -1.0, 0.8, 0.5]
    return X, X @ beta + rng.standard_normal(n) + 2.0


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0])
def test_relaxed_lasso_orthonormal_closed_form(gamma):
    X, y, z = orthonormal_design()
    alpha = 0.5
    est = RelaxedLasso(alpha=alpha, gamma=gamma).fit(X, y)
    lasso = soft(z, alpha)
    ls = np.where(lasso != 0, z, 0.0)
    assert_allclose(est.lasso_coef_, lasso, atol=1e-12)
    assert_allclose(est.ls_coef_, ls, atol=1e-12)
    assert_allclose(est.coef_, gamma * lasso + (1 - gamma) * ls, atol=1e-12)
    assert_array_equal(est.coef_ == 0.0, lasso == 0.0)
    assert est.status_ == "ok" and est.converged_


def test_relaxed_lasso_against_sklearn_and_refit():
    X, y = correlated()
    Xc, yc = X - X.mean(0), y - y.mean()
    alpha_max = np.max(np.abs(Xc.T @ yc)) / len(y)
    for ratio in (0.5, 0.1, 0.02):
        alpha = ratio * alpha_max
        est = RelaxedLasso(alpha=alpha, gamma=0.25).fit(X, y)
        ref = SkLasso(alpha=alpha, tol=1e-14, max_iter=100_000).fit(X, y)
        assert_allclose(est.lasso_coef_, ref.coef_, atol=1e-8)
        S = np.flatnonzero(est.lasso_coef_)
        assert_array_equal(S, np.flatnonzero(np.abs(ref.coef_) > 1e-10))
        ls = np.linalg.lstsq(Xc[:, S], yc, rcond=None)[0]
        assert_allclose(est.ls_coef_[S], ls, rtol=1e-9)
        assert_allclose(est.coef_[S], 0.25 * est.lasso_coef_[S] + 0.75 * ls, rtol=1e-9)
        assert np.all(est.coef_[est.lasso_coef_ == 0.0] == 0.0)
        assert_allclose(est.predict(X), X @ est.coef_ + est.intercept_)
        assert_allclose(est.intercept_, y.mean() - X.mean(0) @ est.coef_)


def test_relaxed_lasso_path_matches_the_estimator():
    X, y = correlated(seed=3)
    Xc, yc = X - X.mean(0), y - y.mean()
    alphas = np.array([0.3, 0.1, 0.03])
    gammas = np.array([0.0, 0.5, 1.0])
    path = relaxed_lasso_path(Xc, yc, alphas, gammas)
    assert path.coefs.shape == (3, 3, 15)
    for k, a in enumerate(alphas):
        assert_allclose(path.coefs[k, 2], path.lasso_coefs[k])
        assert_allclose(path.coefs[k, 0], path.ls_coefs[k])
        est = RelaxedLasso(alpha=a, gamma=0.5).fit(X, y)
        assert_allclose(path.coefs[k, 1], est.coef_, atol=1e-12)


def test_relaxed_lasso_path_refits_on_one_blas_thread_are_least_squares(monkeypatch):
    """The refits (one small least-squares fit per alpha) run with BLAS capped to one thread
    (threads only contend on them) and are the least-squares fits on each lasso support."""
    from contextlib import contextmanager

    from threadpoolctl import threadpool_info

    from sparsity_lab.models import lasso_variants

    pools = lasso_variants.thread_pools
    threads = []  # BLAS threads inside each limit the path takes

    class Recording:
        @contextmanager
        def limit(self, **kwargs):
            with pools().limit(**kwargs):
                info = threadpool_info()
                threads.append(max(p["num_threads"] for p in info if p["user_api"] == "blas"))
                yield

    monkeypatch.setattr(lasso_variants, "thread_pools", Recording)
    X, y = correlated(n=200, p=40, seed=4)
    Xc, yc = X - X.mean(0), y - y.mean()
    alphas = np.max(np.abs(Xc.T @ yc)) / len(y) * np.logspace(0, -3, 12)
    path = relaxed_lasso_path(Xc, yc, alphas, [0.0])
    assert threads == [1]
    for w, ls in zip(path.lasso_coefs, path.ls_coefs, strict=True):
        S = np.flatnonzero(w)
        expected = np.zeros_like(w)
        if S.size:
            expected[S] = np.linalg.lstsq(Xc[:, S], yc, rcond=None)[0]
        assert_allclose(ls, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("nu", [0.5, 1.0, 2.0])
def test_adaptive_lasso_orthonormal_closed_form(nu):
    # OLS init = z; the weighted lasso separates: w_j = soft(z_j, alpha / |z_j|^nu)
    X, y, z = orthonormal_design()
    alpha = 0.3
    est = AdaptiveLasso(alpha=alpha, nu=nu).fit(X, y)
    assert_allclose(est.init_coef_, z, atol=1e-12)
    assert_allclose(est.weights_, 1 / np.abs(z) ** nu, rtol=1e-12)
    assert_allclose(est.coef_, soft(z, alpha / np.abs(z) ** nu), atol=1e-12)
    assert est.status_ == "ok"


@pytest.mark.parametrize("init", ["ols", "ridge"])
def test_adaptive_lasso_weighted_kkt_and_sklearn(init):
    X, y = correlated(seed=5)
    Xc, yc = X - X.mean(0), y - y.mean()
    n = len(y)
    alpha = 0.05
    est = AdaptiveLasso(alpha=alpha, nu=1.0, init=init, init_alpha=0.1).fit(X, y)
    if init == "ridge":
        ridge = np.linalg.solve(Xc.T @ Xc / n + 0.1 * np.eye(15), Xc.T @ yc / n)
        assert_allclose(est.init_coef_, ridge, rtol=1e-10)
    w, lam = est.coef_, alpha * est.weights_
    c = Xc.T @ (yc - Xc @ w) / n
    on = w != 0.0
    assert 0 < on.sum() < 15
    assert_allclose(c[on], lam[on] * np.sign(w[on]), rtol=1e-9, atol=1e-12)
    assert np.all(np.abs(c[~on]) <= lam[~on] * (1 + 1e-9))
    # scikit-learn's lasso on the rescaled columns, independently solved
    s = np.abs(est.init_coef_)
    ref = SkLasso(alpha=alpha, tol=1e-14, max_iter=100_000, fit_intercept=False).fit(Xc * s, yc)
    assert_allclose(w, ref.coef_ * s, atol=1e-8)


def test_adaptive_lasso_path_matches_the_estimator():
    X, y = correlated(seed=4)
    Xc, yc = X - X.mean(0), y - y.mean()
    alphas = np.array([0.5, 0.1, 0.02])
    path = adaptive_lasso_path(Xc, yc, alphas, nu=2.0, init="ridge", init_alpha=0.05)
    assert path.coefs.shape == (3, 15) and all(s == "ok" for s in path.exact.status)
    zeros = [int(np.sum(w == 0.0)) for w in path.coefs]
    assert zeros[0] > zeros[2]  # sparser at larger alpha
    for k, a in enumerate(alphas):
        est = AdaptiveLasso(alpha=a, nu=2.0, init="ridge", init_alpha=0.05).fit(X, y)
        assert_allclose(path.coefs[k], est.coef_, atol=1e-12)


def test_adaptive_lasso_zero_init_is_excluded_and_nu_zero_is_the_lasso():
    X, y = correlated(seed=2)
    X = np.column_stack([X, np.ones(len(y))])  # constant: centred to 0, OLS gives it 0
    est = AdaptiveLasso(alpha=0.05).fit(X, y)
    assert est.init_coef_[-1] == 0.0 and np.isinf(est.weights_[-1]) and est.coef_[-1] == 0.0
    lasso = RelaxedLasso(alpha=0.05, gamma=1.0).fit(X, y)
    assert_allclose(AdaptiveLasso(alpha=0.05, nu=0.0).fit(X, y).coef_, lasso.coef_, atol=1e-12)


@parametrize_with_checks([RelaxedLasso(alpha=0.1), AdaptiveLasso(alpha=0.1)])
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    ("cls", "params", "name"),
    [
        (RelaxedLasso, {"alpha": -1.0}, "alpha"),
        (RelaxedLasso, {"alpha": 0.0}, "alpha"),
        (RelaxedLasso, {"gamma": 2.0}, "gamma"),
        (RelaxedLasso, {"solver": "cd"}, "solver"),
        (AdaptiveLasso, {"nu": -1.0}, "nu"),
        (AdaptiveLasso, {"init": "lasso"}, "init"),
        (AdaptiveLasso, {"init_alpha": 0.0}, "init_alpha"),
    ],
)
def test_bad_parameters_one_clear_error(cls, params, name):
    X, y = correlated()
    with pytest.raises(ValueError, match=f"The '{name}' parameter of {cls.__name__} must be"):
        cls(**params).fit(X, y)
