"""Path fitting against scikit-learn and closed forms, in the shared objective scale."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import ElasticNet, Lasso, lasso_path
from sklearn.linear_model import Ridge as SkRidge

from sparsity_lab.datasets import make_synthetic, prepare
from sparsity_lab.models import Ridge
from sparsity_lab.regularization import (
    GridError,
    TrainingData,
    alpha_max,
    check_alphas,
    fit_path,
    log_grid_ratios,
    objective_l1_ratio,
)


def _data(n=200, p=50, seed=0, rho=0.5):
    prep = prepare(make_synthetic(n, p, 5, rho=rho, random_state=seed), test_size=0.0)
    return TrainingData(prep.X_train, prep.y_train)


@pytest.fixture(params=[(200, 50), (40, 120)], ids=["n>p", "p>n"])
def data(request):
    return _data(*request.param)


def test_alpha_max_zeroes_every_lasso_coefficient_and_just_below_one_enters(data):
    # 1e-3 below alpha_max: closer, the duality gap at w = 0 is already under any sane tol
    amax = alpha_max(data.X, data.y)
    at, below = fit_path(Lasso(tol=1e-12), data, np.array([amax, amax * (1 - 1e-3)])).coefs
    assert np.count_nonzero(at) == 0
    assert np.count_nonzero(below) == 1
    assert np.argmax(np.abs(below)) == np.argmax(np.abs(data.X.T @ data.y))


def test_elasticnet_alpha_max_is_divided_by_l1_ratio(data):
    amax = alpha_max(data.X, data.y, l1_ratio=0.5)
    est = ElasticNet(l1_ratio=0.5, tol=1e-12)
    at, below = fit_path(est, data, np.array([amax, amax * (1 - 1e-3)])).coefs
    assert np.count_nonzero(at) == 0 and np.count_nonzero(below) == 1


def test_lasso_path_matches_scikit_learn_lasso_path(data):
    alphas = log_grid_ratios(20, 1e-3) * alpha_max(data.X, data.y)
    ours = fit_path(Lasso(tol=1e-10, max_iter=100_000), data, alphas)
    _, ref, _ = lasso_path(data.X, data.y, alphas=alphas, tol=1e-10, max_iter=100_000)
    assert_allclose(ours.coefs, ref.T, atol=1e-7)
    assert ours.converged.all() and ours.status == ["ok"] * 20


def test_ridge_path_is_the_closed_form_and_sklearn_ridge_with_n_alpha(data):
    alphas = np.array([10.0, 1.0, 0.01])
    ours = fit_path(Ridge(), data, alphas).coefs
    n, p = data.X.shape
    for k, a in enumerate(alphas):
        closed = np.linalg.solve(data.X.T @ data.X / n + a * np.eye(p), data.X.T @ data.y / n)
        assert_allclose(ours[k], closed, rtol=1e-8, atol=1e-10)
        sk = SkRidge(alpha=a * n, fit_intercept=False).fit(data.X, data.y).coef_
        assert_allclose(ours[k], sk, rtol=1e-6, atol=1e-9)


def test_ridge_has_no_exact_zeros_on_generic_data(data):
    alphas = log_grid_ratios(30, 1e-3) * alpha_max(data.X, data.y)
    assert np.count_nonzero(fit_path(Ridge(), data, alphas).coefs == 0.0) == 0


def test_ridge_adapter_fit_matches_path():
    data = _data()
    est = Ridge(alpha=0.3, fit_intercept=False).fit(data.X, data.y)
    assert_allclose(est.coef_, fit_path(Ridge(), data, np.array([0.3])).coefs[0], rtol=1e-6)


def test_sklearn_ridge_in_another_scale_is_refused():
    with pytest.raises(ValueError, match=r"sparsity_lab\.models\.Ridge"):
        fit_path(SkRidge(), _data(), np.array([1.0]))


def test_generic_route_warm_starts_and_records_failures():
    class Exploding(Lasso):
        def fit(self, X, y, **kw):
            if self.alpha < 0.05:
                raise FloatingPointError("boom")
            return super().fit(X, y, **kw)

    data = _data()
    out = fit_path.dispatch(object)(Exploding(tol=1e-8), data, np.array([0.5, 0.1, 0.01]))
    assert out.status == ["ok", "ok", "failed"]
    assert "boom" in out.message[2] and np.isnan(out.coefs[2]).all()
    ref = fit_path(Lasso(tol=1e-8), data, np.array([0.5, 0.1])).coefs
    assert_allclose(out.coefs[:2], ref, atol=1e-6)


def test_residual_products_agree_with_and_without_gram():
    data = _data(100, 30)
    W = np.random.default_rng(0).standard_normal((4, 30))
    XtR, rss = data.residual_products(W)
    R = data.y[:, None] - data.X @ W.T
    assert_allclose(XtR, (data.X.T @ R).T, rtol=1e-9, atol=1e-9)
    assert_allclose(rss, (R**2).sum(axis=0), rtol=1e-9)


def test_objective_l1_ratio_of_models():
    assert objective_l1_ratio(Lasso()) == 1.0
    assert objective_l1_ratio(ElasticNet(l1_ratio=0.3)) == 0.3
    assert objective_l1_ratio(Ridge()) == 0.0
    assert np.isnan(objective_l1_ratio(object()))


@pytest.mark.parametrize(
    ("num", "min_ratio", "match"),
    [(0, 0.1, "grid.num"), (2.5, 0.1, "grid.num"), (5, 0.0, "min_ratio"), (5, 1.0, "min_ratio")],
)
def test_bad_log_grids(num, min_ratio, match):
    with pytest.raises(GridError, match=match):
        log_grid_ratios(num, min_ratio)


@pytest.mark.parametrize("values", [[], [-1.0], ["a"], [float("nan")]])
def test_bad_explicit_alphas(values):
    with pytest.raises(GridError, match=r"grid\.values"):
        check_alphas(values)


def test_log_grid_spans_one_to_min_ratio():
    r = log_grid_ratios(4, 1e-3)
    assert_allclose(r, [1.0, 0.1, 0.01, 0.001])


@pytest.mark.parametrize("estimator", [Lasso(tol=1e-8), Ridge()], ids=["enet", "ridge"])
def test_every_route_reports_its_progress(estimator):
    calls = []
    fit_path(estimator, _data(), np.array([0.5, 0.1, 0.01]), on_fit=lambda k, K: calls.append(k))
    assert calls[-1] == 3 and calls == sorted(calls)


def test_generic_route_reports_every_fit_even_failed_ones():
    class Failing(Lasso):
        def fit(self, X, y, **kw):
            raise RuntimeError("no")

    calls = []
    fit_path.dispatch(object)(
        Failing(), _data(), np.array([0.5, 0.1]), on_fit=lambda k, K: calls.append((k, K))
    )
    assert calls == [(1, 2), (2, 2)]
