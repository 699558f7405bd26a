"""Metrics on hand-made coefficient vectors and on optima known from scikit-learn."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import ElasticNet, Lasso

from sparsity_lab import metrics
from sparsity_lab.datasets import make_synthetic, prepare
from sparsity_lab.regularization import TrainingData


def test_exact_zeros_count_negative_zero_but_not_nan_or_tiny():
    W = np.array([[0.0, -0.0, 1e-300, np.nan, 2.0]])
    assert_array_equal(metrics.count_exact_zeros(W), [2])
    assert_array_equal(metrics.count_nonzero(W), [3])
    assert_array_equal(metrics.count_tiny(W, 1e-8), [1])
    assert_array_equal(metrics.count_tiny(W, 0.0), [0])


def test_tiny_bound_is_inclusive():
    assert_array_equal(metrics.count_tiny(np.array([1e-8, -1e-8, 1.1e-8]), 1e-8), [2])


def test_support_scores_by_hand():
    truth = np.array([1.0, 0.0, -2.0, 0.0])
    W = np.array([[1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 1.0, 0.0]])
    precision, recall, f1 = metrics.support_scores(W, truth)
    assert_allclose(precision, [0.5, 1.0, 1.0])
    assert_allclose(recall, [0.5, 0.0, 1.0])
    assert_allclose(f1, [0.5, 0.0, 1.0])


def test_support_scores_are_nan_without_truth():
    out = metrics.support_scores(np.ones((2, 3)), None)
    assert all(np.isnan(v).all() and v.shape == (2,) for v in out)  # one value per row


def test_mse_r2_and_empty_test_set():
    y = np.array([1.0, 2.0, 3.0])
    Y = np.column_stack([y, np.full(3, 2.0)])
    assert_allclose(metrics.mse(y, Y), [0.0, 2 / 3])
    assert_allclose(metrics.r2(y, Y), [1.0, 0.0])
    assert np.isnan(metrics.mse(np.empty(0), np.empty((0, 2)))).all()


@pytest.fixture(scope="module")
def data():
    prep = prepare(make_synthetic(150, 40, 5, random_state=3), test_size=0.0)
    return TrainingData(prep.X_train, prep.y_train)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_certificates_vanish_at_the_optimum_and_not_elsewhere(data, l1_ratio):
    alpha = 0.05
    est = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100_000)
    w = est.fit(data.X, data.y).coef_
    W = np.vstack([w, w * 0.5])
    XtR, rss = data.residual_products(W)
    alphas = np.full(2, alpha)
    n = data.n_samples
    gap = metrics.duality_gap(W, XtR, rss, data.Xty, data.yty, alphas, l1_ratio, n)
    kkt = metrics.kkt_violation(W, XtR, alphas, l1_ratio, n)
    assert gap[0] < 1e-9 and kkt[0] < 1e-6
    assert gap[1] > 1e-3 and kkt[1] > 1e-3
    obj = metrics.objective(rss, W, alphas, l1_ratio, n)
    assert obj[0] < obj[1]
    # the gap bounds the suboptimality: P(w) - P(w*) <= gap
    assert obj[1] - obj[0] <= gap[1] + 1e-12


def test_lasso_objective_matches_the_formula(data):
    w = Lasso(alpha=0.1).fit(data.X, data.y).coef_
    _, rss = data.residual_products(w[None, :])
    direct = np.sum((data.y - data.X @ w) ** 2) / (2 * data.n_samples) + 0.1 * np.abs(w).sum()
    assert_allclose(metrics.objective(rss, w[None, :], [0.1], 1.0, data.n_samples), [direct])


def test_ridge_gap_is_zero_at_the_closed_form_and_positive_elsewhere(data):
    n, p, alpha = data.n_samples, data.n_features, 0.2
    w = np.linalg.solve(data.X.T @ data.X / n + alpha * np.eye(p), data.Xty / n)
    W = np.vstack([w, 1.1 * w])
    XtR, rss = data.residual_products(W)
    gap = metrics.duality_gap(W, XtR, rss, data.Xty, data.yty, [alpha, alpha], 0.0, n)
    assert gap[0] < 1e-12 and gap[1] > 1e-6
    kkt = metrics.kkt_violation(W, XtR, np.array([alpha, alpha]), 0.0, n)
    assert kkt[0] < 1e-10 and kkt[1] > 1e-4


def test_first_exact_zero_by_hand():
    steps = np.array([0, 5, 10, 15])
    assert metrics.first_exact_zero(steps, np.array([2.0, 1e-300, -0.0, 0.0])) == 10
    assert metrics.first_exact_zero(steps, np.array([0.0, 1.0, 0.0, 1.0])) == 0
    assert metrics.first_exact_zero(steps, np.array([3.0, 2.0, 1.0, 1e-12])) is None


def test_entry_alphas_ranks_and_exits_by_hand():
    alphas = np.array([4.0, 2.0, 1.0, 0.5])
    W = np.array(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0, 0.0],
            [2.0, -1.0, 0.0, 3.0, 0.0],
            [0.0, -2.0, 0.0, 0.0, 1.0],
        ]
    )
    first = metrics.entry_alphas(W, alphas)
    assert_array_equal(first, [2.0, 1.0, np.nan, 1.0, 0.5])
    # a coefficient that leaves and comes back still entered at its largest alpha
    assert_array_equal(
        metrics.entry_alphas(np.array([[1.0], [0.0], [1.0]]), [3.0, 2.0, 1.0]), [3.0]
    )
    # 1 for the first to enter, ties share the smaller rank, never-entering coefficients 0
    ranks = metrics.entry_ranks(first)
    assert_array_equal(ranks, [1, 2, 0, 2, 4])
    assert ranks.dtype.kind == "i"
    assert_array_equal(metrics.count_exits(W), [1, 0, 0, 1, 0])
    assert_array_equal(metrics.count_exits(np.array([[1.0], [0.0], [2.0], [0.0]])), [2])


def test_optimum_zero_counts_by_hand():
    W = np.array([[0.0, 1.0, 0.0, np.nan], [0.0, 0.0, 2.0, 1.0]])
    W_opt = np.array([[0.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    counts = metrics.optimum_zero_counts(W, W_opt)
    assert_array_equal(counts["n_zero_optimum"], [3, 4])
    assert_array_equal(counts["n_false_zero"], [1, 0])  # 0.0 in W where the optimum is not
    assert_array_equal(counts["n_missed_zero"], [2, 2])  # NaN counts as nonzero


def test_mse_r2_edge_sizes_and_constant_targets():
    one = metrics.mse(np.array([2.0]), np.array([[1.0, 2.0]]))
    assert_allclose(one, [1.0, 0.0])  # a single row has an error ...
    assert np.isnan(metrics.r2(np.array([2.0]), np.array([[1.0, 2.0]]))).all()  # ... no R^2
    two = metrics.r2(np.array([1.0, 3.0]), np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]).T)
    assert_allclose(two, [1.0, 0.0, -3.0])  # two rows are enough; shape (K,)
    flat = metrics.r2(np.full(4, 5.0), np.ones((4, 3)))  # no variance to explain
    assert flat.shape == (3,) and np.isnan(flat).all()
    small = metrics.r2(np.array([0.0, 0.1]), np.array([[0.0, 0.1]]).T)  # ss_tot 0.005 < 1
    assert_allclose(small, [1.0])


def test_count_tiny_per_row():
    W = np.array([[1e-9, 0.0, 1.0], [1e-9, -1e-9, 0.0]])
    assert_array_equal(metrics.count_tiny(W, 1e-8), [1, 2])


def test_support_scores_at_the_edges():
    truth = np.array([1.0, 0.0, 0.0, 2.0, 1.0, 0.0, 0.0, 1.0])
    W = np.array(
        [
            [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # one selected, wrong: precision 0
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # one selected, right: precision 1
            [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # precision 1/2, recall 1/4
        ]
    )
    precision, recall, f1 = metrics.support_scores(W, truth)
    assert_allclose(precision, [0.0, 1.0, 0.5])
    assert_allclose(recall, [0.0, 0.25, 0.25])
    assert_allclose(f1, [0.0, 0.4, 1 / 3])  # F1 0 when precision + recall is 0
    # a truth with no support: recall and F1 undefined, precision still per row
    precision, recall, f1 = metrics.support_scores(W, np.zeros(8))
    assert_allclose(precision, [0.0, 0.0, 0.0])
    assert recall.shape == f1.shape == (3,) and np.isnan(recall).all() and np.isnan(f1).all()
    one = metrics.support_scores(np.array([[1.0, 0.0]]), np.array([1.0, 0.0]))
    assert_allclose(np.ravel(one), [1.0, 1.0, 1.0])  # a single true feature found


def test_kkt_violation_on_a_nonzero_with_the_wrong_sign():
    """w_j > 0 with X_j^T r / n = -lam: violated by 2 lam (the zero formula would say 0)."""
    W = np.array([[1.0, 0.0]])
    XtR = np.array([[-0.5, 0.25]]) * 10  # n = 10, lam = 0.5
    assert_allclose(metrics.kkt_violation(W, XtR, [0.5], 1.0, 10), [1.0])
    assert_allclose(metrics.kkt_violation(W, XtR, [1], 0.5, 10), [1.5])  # EN, an integer alpha
