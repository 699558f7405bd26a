"""Optimality certificates against closed forms (orthogonal design) and the gap-safe proof.

On the orthogonal design (X^T X = n I after standardisation, test_size 0) the shared objective
separates per coordinate: with b = X^T y / n (least squares), the Lasso is the soft-threshold
S(b, alpha), Ridge is b / (1 + alpha) and the elastic net S(b, alpha l1_ratio) / (1 + alpha
(1 - l1_ratio)). These are the independent references here.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import Lasso

from sparsity_lab import metrics
from sparsity_lab.datasets import make_sparse_regression, make_synthetic, prepare
from sparsity_lab.regularization import TrainingData
from sparsity_lab.runner import load_prepared, run_path_job


@pytest.fixture(scope="module")
def ortho():
    ds = make_sparse_regression(
        n_samples=200, n_features=50, n_informative=10, design="orthogonal", random_state=0
    )
    prep = prepare(ds, test_size=0.0)
    return TrainingData(prep.X_train, prep.y_train)


def soft_threshold(b, t):
    return np.sign(b) * np.maximum(np.abs(b) - t, 0.0)


def closed_form(data, alpha, l1_ratio):
    b = data.Xty / data.n_samples
    return soft_threshold(b, alpha * l1_ratio) / (1.0 + alpha * (1.0 - l1_ratio))


def certificates(data, W, alphas, l1_ratio):
    """(gap, kkt, certified mask) of the rows of W, computed as the runner does."""
    W = np.atleast_2d(W)
    alphas = np.broadcast_to(np.asarray(alphas, dtype=float), (W.shape[0],))
    n = data.n_samples
    XtR, rss = data.residual_products(W)
    gap = metrics.duality_gap(W, XtR, rss, data.Xty, data.yty, alphas, l1_ratio, n)
    kkt = metrics.kkt_violation(W, XtR, alphas, l1_ratio, n)
    col = np.einsum("ij,ij->j", data.X, data.X)
    safe = metrics.gap_safe_zeros(W, XtR, gap, col, alphas, l1_ratio, n)
    return gap, kkt, safe


def test_design_is_orthogonal(ortho):
    assert_allclose(ortho.X.T @ ortho.X, ortho.n_samples * np.eye(ortho.n_features), atol=1e-9)


@pytest.mark.parametrize("ratio", [0.9, 0.3, 0.05])
def test_lasso_is_soft_thresholding_and_every_zero_is_certified(ortho, ratio):
    amax = np.max(np.abs(ortho.Xty)) / ortho.n_samples
    alpha = ratio * amax
    w_star = closed_form(ortho, alpha, 1.0)
    w_cd = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=10_000)
    w_cd = w_cd.fit(ortho.X, ortho.y).coef_
    assert_allclose(w_cd, w_star, atol=1e-10)
    assert_array_equal(w_cd == 0.0, w_star == 0.0)
    gap, kkt, safe = certificates(ortho, w_star, alpha, 1.0)
    assert gap[0] < 1e-12 and kkt[0] < 1e-12
    n_zero = metrics.count_exact_zeros(w_star)
    assert n_zero[0] > 0
    assert_array_equal(metrics.count_certified_zeros(w_star, safe), n_zero)


@pytest.mark.parametrize("alpha", [0.01, 1.0, 30.0])
def test_ridge_is_shrinkage_by_one_plus_alpha(ortho, alpha):
    w_star = closed_form(ortho, alpha, 0.0)
    assert_allclose(w_star, ortho.Xty / ortho.n_samples / (1.0 + alpha))
    W = np.vstack([w_star, 1.05 * w_star])
    gap, kkt, safe = certificates(ortho, W, [alpha, alpha], 0.0)
    assert gap[0] < 1e-12 and kkt[0] < 1e-12
    assert gap[1] > 1e-8 and kkt[1] > 1e-6
    # the Ridge gap is ||X^T r / n - alpha w||^2 / (2 alpha), here (0.05 ||b||)^2 / (2 alpha)
    b = ortho.Xty / ortho.n_samples
    assert_allclose(gap[1], 0.05**2 * (b @ b) / (2 * alpha), rtol=1e-9)
    # kkt for L2 is the largest gradient entry: X^T r / n - alpha w
    grad = ortho.Xty / ortho.n_samples - W[1] * (1.0 + alpha)
    assert_allclose(kkt[1], np.max(np.abs(grad)))
    assert not safe.any()  # L2: no zero can be certified


def test_ridge_of_the_runner_matches_the_closed_form(compose_cfg):
    cfg = compose_cfg(["dataset=orthogonal", "model=ridge", "grid=values", "grid.values=[0.5,2]"])
    fits, coefs = (run_path_job(cfg, "ridge")[k] for k in ("fits", "coefs"))
    _, prep = load_prepared(cfg)
    b = prep.X_train.T @ prep.y_train / prep.n_samples
    for alpha, part in coefs.groupby("alpha"):
        assert_allclose(part["coef"].to_numpy(), b / (1 + alpha), rtol=1e-9, atol=1e-12)
    assert (fits["duality_gap"] < 1e-12).all() and (fits["kkt_violation"] < 1e-10).all()
    assert (fits["n_zero_certified"] == 0).all()


@pytest.mark.parametrize("l1_ratio", [0.5, 0.9])
def test_elastic_net_closed_form_has_zero_certificates(ortho, l1_ratio):
    alpha = 0.3 * np.max(np.abs(ortho.Xty)) / ortho.n_samples / l1_ratio
    w_star = closed_form(ortho, alpha, l1_ratio)
    gap, kkt, safe = certificates(ortho, np.vstack([w_star, 0.8 * w_star]), alpha, l1_ratio)
    assert gap[0] < 1e-12 and kkt[0] < 1e-12
    assert gap[1] > 1e-6 and kkt[1] > 1e-4
    n_zero = metrics.count_exact_zeros(w_star)[0]
    assert 0 < n_zero < ortho.n_features
    assert metrics.count_certified_zeros(w_star, safe[:1])[0] == n_zero


def test_certificates_are_positive_away_from_the_optimum(ortho):
    alpha = 0.2 * np.max(np.abs(ortho.Xty)) / ortho.n_samples
    w_star = closed_form(ortho, alpha, 1.0)
    rng = np.random.default_rng(1)
    W = w_star + rng.normal(scale=1e-3, size=(5, ortho.n_features))
    gap, kkt, _ = certificates(ortho, W, alpha, 1.0)
    assert (gap > 0).all() and (kkt > 1e-4).all()
    # weak duality: gap bounds the suboptimality from above
    _, rss = ortho.residual_products(np.vstack([w_star, W]))
    obj = metrics.objective(rss, np.vstack([w_star, W]), np.full(6, alpha), 1.0, ortho.n_samples)
    assert (obj[1:] - obj[0] <= gap + 1e-14).all() and (obj[1:] > obj[0]).all()


def test_margin_grows_with_the_gap(ortho):
    """A zero whose |X_j^T r|/n is below alpha by less than the sphere radius is not certified
    at a loose fit, but is at the optimum."""
    alpha = 0.3 * np.max(np.abs(ortho.Xty)) / ortho.n_samples
    b = ortho.Xty / ortho.n_samples
    w_star = closed_form(ortho, alpha, 1.0)
    zeros = np.flatnonzero(w_star == 0.0)
    # the zero with the largest |b_j| < alpha: the hardest one to certify
    hardest = zeros[np.argmax(np.abs(b[zeros]))]
    slack = alpha - np.abs(b[hardest])
    assert slack > 0
    loose = w_star.copy()
    active = np.flatnonzero(w_star)
    loose[active] *= 1.0 - 0.5  # shrink the active coefficients: gap of order their size
    gap, _, safe = certificates(ortho, np.vstack([w_star, loose]), alpha, 1.0)
    assert np.sqrt(2 * gap[1]) > slack  # the sphere is wider than the slack ...
    assert safe[0, hardest] and not safe[1, hardest]  # ... so only the tight fit certifies it
    assert metrics.count_certified_zeros(loose, safe[1:])[0] < metrics.count_exact_zeros(loose)[0]


def test_gap_safe_never_certifies_a_coordinate_the_optimum_uses():
    """Rigour on a correlated design: any point with its gap, however loose, certifies only
    coordinates that are zero in a tight reference solution."""
    prep = prepare(make_synthetic(120, 60, 6, rho=0.7, random_state=4), test_size=0.0)
    data = TrainingData(prep.X_train, prep.y_train)
    alpha = 0.1 * np.max(np.abs(data.Xty)) / data.n_samples
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100_000)
    w_ref = ref.fit(data.X, data.y).coef_
    rng = np.random.default_rng(0)
    L = np.linalg.eigvalsh(data.X.T @ data.X / data.n_samples).max()
    w, points = np.zeros(data.n_features), []
    for _ in range(300):  # ISTA iterates from 0, from loose to tight, plus noisy copies
        w = soft_threshold(w + (data.Xty - data.X.T @ (data.X @ w)) / data.n_samples / L, alpha / L)
        points += [w.copy(), w + rng.normal(scale=1e-2, size=w.shape)]
    _, _, safe = certificates(data, np.array(points), alpha, 1.0)
    assert not (safe & (w_ref != 0.0)[None, :]).any()
    assert safe[-2].sum() >= (w_ref == 0).sum() - 2  # the tight end certifies (almost) all


def test_runner_columns_on_orthogonal_design_lasso_and_sgd(compose_cfg):
    grid = ["grid=values", "grid.values=[0.5,0.1]"]
    cfg = compose_cfg(["dataset=orthogonal", "model=lasso", *grid])
    fits = run_path_job(cfg, "lasso")["fits"]
    assert (fits["n_zero"] > 0).all()
    assert_array_equal(fits["n_zero_certified"], fits["n_zero"])  # tight optimum: all certified
    cfg = compose_cfg(["dataset=orthogonal", "model=sgd_subgradient", "model.max_epochs=5", *grid])
    fits = run_path_job(cfg, "sgd_subgradient")["fits"]
    assert fits["duality_gap"].notna().all() and (fits["duality_gap"] > 0).all()
    # a certified zero must be a zero of the optimum: on X^T X = n I the optimum's zeros are
    # the coordinates with |X_j^T y| / n <= alpha (soft-thresholding), in closed form
    _, prep = load_prepared(cfg)
    b = np.abs(prep.X_train.T @ prep.y_train) / prep.n_samples
    optimum_zeros = [int(np.sum(b <= alpha)) for alpha in fits["alpha"]]
    assert (fits["n_zero_certified"].to_numpy() <= optimum_zeros).all()


@pytest.mark.parametrize("l1_ratio", [0.5, 0.9])
def test_elastic_net_gap_bounds_the_suboptimality(ortho, l1_ratio):
    """Weak duality for the elastic net, whose gap has an L2 term: at points near and far
    from the closed-form optimum (far ones with an infeasible dual point, rescaled), the gap
    is at least the objective's excess over the optimum (a gap missing its L2 term is not)."""
    alpha = 0.2 * np.max(np.abs(ortho.Xty)) / ortho.n_samples / l1_ratio
    w_star = closed_form(ortho, alpha, l1_ratio)
    rng = np.random.default_rng(2)
    W = np.vstack([w_star + s * rng.standard_normal(ortho.n_features) for s in (1e-3, 0.1, 1.0)])
    W = np.vstack([w_star, W])
    n = ortho.n_samples
    XtR, rss = ortho.residual_products(W)
    gap = metrics.duality_gap(W, XtR, rss, ortho.Xty, ortho.yty, np.full(4, alpha), l1_ratio, n)
    obj = metrics.objective(rss, W, np.full(4, alpha), l1_ratio, n)
    excess = obj - obj[0]
    assert np.max(np.abs(XtR[3]) / n - alpha * (1 - l1_ratio) * np.abs(W[3])) > alpha * l1_ratio
    assert gap[0] < 1e-12
    assert (gap[1:] >= excess[1:] * (1 - 1e-9)).all() and (excess[1:] > 0).all()
