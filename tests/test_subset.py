"""Best subset and forward stepwise against independent references: exhaustive enumeration,
naive refits of every candidate, and closed forms on orthogonal designs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils.estimator_checks import parametrize_with_checks

from sparsity_lab.models.subset import (
    BestSubset,
    ForwardStepwise,
    best_subset_path,
    forward_stepwise_path,
    swap_search,
)


def toeplitz(n, p, rho, seed=0, n_true=5):
    """Centred Gaussian design with corr(x_i, x_j) = rho^|i-j| and a sparse +-1 truth."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    beta = np.zeros(p)
    beta[rng.choice(p, min(p, n_true), replace=False)] = rng.choice([-1.0, 1.0], min(p, n_true))
    y = X @ beta + rng.standard_normal(n)
    return X - X.mean(0), y - y.mean()


def rss_of(X, y, S):
    S = list(S)
    if not S:
        return float(y @ y)
    w = np.linalg.lstsq(X[:, S], y, rcond=None)[0]
    r = y - X[:, S] @ w
    return float(r @ r)


def enumerate_best(X, y, k_max):
    """Every subset of every size: (best RSS, best subset, second best RSS) per size."""
    p = X.shape[1]
    best, sets, second = [], [], []
    for k in range(k_max + 1):
        scores = sorted((rss_of(X, y, S), S) for S in itertools.combinations(range(p), k))
        best.append(scores[0][0])
        sets.append(np.array(scores[0][1], dtype=np.int64))
        second.append(scores[1][0] if len(scores) > 1 else np.inf)
    return np.array(best), sets, np.array(second)


DESIGNS = [  # (n, p, rho, seed)
    (40, 10, 0.0, 0),
    (40, 10, 0.9, 1),
    (30, 12, 0.95, 2),
    (15, 12, 0.6, 3),  # n barely above p
    (60, 11, -0.8, 4),
]


@pytest.mark.parametrize(("n", "p", "rho", "seed"), DESIGNS)
def test_best_subset_equals_enumeration(n, p, rho, seed):
    X, y = toeplitz(n, p, rho, seed)
    best, sets, second = enumerate_best(X, y, p)
    path = best_subset_path(X, y, p)
    assert path.proven.all() and path.message == ""
    assert_allclose(path.rss, best, rtol=1e-10, atol=1e-12 * best[0])
    for k in range(p + 1):
        assert np.count_nonzero(path.coefs[k]) <= k
        assert_allclose(rss_of(X, y, path.supports[k]), path.rss[k], rtol=1e-10)
        if second[k] - best[k] > 1e-8 * best[0]:  # a unique optimum: the same features
            assert_array_equal(path.supports[k], sets[k])
            assert_allclose(path.coefs[k, sets[k]], np.linalg.lstsq(X[:, sets[k]], y)[0])


def test_best_subset_random_small_problems_equal_enumeration():
    """25 random problems: p 1..8, n just above p, mixed column scales, no centring, any
    k_max: every size proven and equal to enumeration."""
    for seed in range(25):
        rng = np.random.default_rng(100 + seed)
        p = int(rng.integers(1, 9))
        n = int(rng.integers(p + 1, p + 20))
        X, _ = toeplitz(n, p, rng.uniform(-0.95, 0.95), seed)
        X = (X + rng.standard_normal(p)) * rng.uniform(0.01, 100, p)
        y = X @ (rng.standard_normal(p) * (rng.random(p) < 0.5)) + rng.standard_normal(n)
        k_max = int(rng.integers(0, p + 1))
        best, _, _ = enumerate_best(X, y, k_max)
        path = best_subset_path(X, y, k_max)
        assert path.proven.all(), seed
        assert_allclose(path.rss, best, rtol=1e-9, atol=1e-12 * float(y @ y))


def test_best_subset_near_collinear_design_equals_enumeration():
    # x5 = x4 + 1e-4 noise (cond(X) ~ 1e4): the cuts' rounding margin keeps the proof honest
    X, y = toeplitz(40, 10, 0.5, seed=6)
    X[:, 5] = X[:, 4] + 1e-4 * np.random.default_rng(0).standard_normal(40)
    X -= X.mean(0)
    y = y + 3.0 * (X[:, 5] - X[:, 4]) * 1e4
    best, _, _ = enumerate_best(X, y, 10)
    path = best_subset_path(X, y, 10)
    assert np.linalg.cond(X) > 1e3 and path.proven.all()
    assert_allclose(path.rss, best, rtol=1e-9, atol=1e-12 * best[0])


@pytest.mark.slow
def test_best_subset_equals_enumeration_p16_correlated():
    X, y = toeplitz(50, 16, 0.9, seed=7, n_true=8)
    best, _, _ = enumerate_best(X, y, 16)
    path = best_subset_path(X, y, 16)
    assert path.proven.all()
    assert_allclose(path.rss, best, rtol=1e-10)


def test_best_subset_k_max_below_p():
    X, y = toeplitz(40, 12, 0.7, seed=5)
    best, _, _ = enumerate_best(X, y, 4)
    path = best_subset_path(X, y, 4)
    assert path.coefs.shape == (5, 12) and path.proven.all()
    assert_allclose(path.rss, best, rtol=1e-10)


def test_best_subset_beats_forward_stepwise_where_it_fails():
    # x3 = x1 + x2 + small noise: stepwise takes x3 first; the best pair is {x1, x2}
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, 100))
    x3 = x1 + x2 + 0.3 * rng.standard_normal(100)
    X = np.column_stack([x1, x2, x3, rng.standard_normal(100)])
    y = x1 + x2 + 0.01 * rng.standard_normal(100)
    X, y = X - X.mean(0), y - y.mean()
    fs = forward_stepwise_path(X, y, 2)
    bs = best_subset_path(X, y, 2)
    assert fs.supports[1][0] == 2 and 2 in fs.supports[2]
    assert_array_equal(bs.supports[2], [0, 1])
    assert bs.rss[2] < 0.01 * fs.rss[2]


def test_time_limit_keeps_honest_flags():
    X, y = toeplitz(60, 24, 0.5, seed=3, n_true=10)
    path = best_subset_path(X, y, 24, time_limit=0.0)
    assert path.proven[0] and path.proven[24]
    assert not path.proven[1:24].all()
    assert "time_limit" in path.message
    full = best_subset_path(X, y, 24)
    assert full.proven.all()
    assert np.all(path.rss >= full.rss * (1 - 1e-10))
    # what the stopped search still calls proven is optimal
    assert_allclose(path.rss[path.proven], full.rss[path.proven], rtol=1e-10)


def test_sliced_search_proves_sizes_early_and_agrees(monkeypatch):
    """Stop the search after each slice of a few nodes: every size flagged proven on the
    stack's bounds is already the optimum (enumeration)."""
    import sparsity_lab.models.subset as subset

    X, y = toeplitz(40, 12, 0.8, seed=11, n_true=6)
    best, _, _ = enumerate_best(X, y, 12)
    monkeypatch.setattr(subset, "_NODE_SLICE", 3)
    seen_partial = False
    for limit in (1e-4, 3e-3, 1e-2):
        path = subset.best_subset_path(X, y, 12, time_limit=limit)
        seen_partial |= 0 < path.proven.sum() < 13
        assert_allclose(path.rss[path.proven], best[path.proven], rtol=1e-10)
        assert np.all(path.rss >= best * (1 - 1e-10))
    assert seen_partial


def test_too_many_features_or_rank_deficient_is_heuristic():
    X, y = toeplitz(60, 14, 0.5, seed=2)
    path = best_subset_path(X, y, 5, max_exact_features=10)
    assert path.proven[0] and not path.proven[1:].any()
    assert "max_exact_features" in path.message
    Xd = np.column_stack([X, X[:, 0]])  # a duplicate column: rank 14 < 15
    path = best_subset_path(Xd, y, 4)
    assert not path.proven[1:].any() and "rank" in path.message
    best, _, _ = enumerate_best(X, y, 4)  # duplicates add no subset with a lower RSS
    assert np.all(path.rss >= best * (1 - 1e-10))


def test_swap_search_reaches_a_swap_local_optimum():
    X, y = toeplitz(50, 15, 0.9, seed=4, n_true=7)
    p = X.shape[1]
    S, swaps = swap_search(X, y, np.arange(5))
    assert swaps >= 1
    here = rss_of(X, y, S)
    assert here < rss_of(X, y, range(5))
    for i in S:
        for j in set(range(p)) - set(S):
            T = sorted((set(S) - {i}) | {j})
            assert rss_of(X, y, T) >= here * (1 - 1e-9)


def naive_forward_stepwise(X, y, steps):
    """Refit least squares with every candidate added; keep the lowest RSS."""
    chosen: list[int] = []
    coefs = [np.zeros(X.shape[1])]
    for _ in range(steps):
        cands = [j for j in range(X.shape[1]) if j not in chosen]
        j = min(cands, key=lambda j: rss_of(X, y, [*chosen, j]))
        chosen.append(j)
        w = np.zeros(X.shape[1])
        w[chosen] = np.linalg.lstsq(X[:, chosen], y, rcond=None)[0]
        coefs.append(w)
    return chosen, np.array(coefs)


@pytest.mark.parametrize(("n", "p", "rho", "seed"), [(50, 20, 0.5, 0), (30, 60, 0.9, 1)])
def test_forward_stepwise_matches_naive_refits(n, p, rho, seed):
    X, y = toeplitz(n, p, rho, seed, n_true=8)
    steps = min(15, n - 1)
    order, coefs = naive_forward_stepwise(X, y, steps)
    path = forward_stepwise_path(X, y, steps)
    assert_array_equal(path.supports[steps], order)
    assert_allclose(path.coefs, coefs, atol=1e-10)
    assert_allclose(path.rss, [rss_of(X, y, order[:k]) for k in range(steps + 1)], rtol=1e-10)


def test_forward_stepwise_orthogonal_design_by_hand():
    # orthogonal columns: enter by |x_j^T y| / ||x_j||, coefficients x_j^T y / ||x_j||^2
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((20, 4)))
    X = Q * np.array([1.0, 2.0, 3.0, 4.0])
    y = Q @ np.array([3.0, -1.0, 0.5, 2.0]) + 0.0
    path = forward_stepwise_path(X, y, 4)
    assert_array_equal(path.supports[4], [0, 3, 1, 2])  # |x_j^T y| / ||x_j|| = 3, 1, 0.5, 2
    assert_allclose(path.coefs[2], [3.0, 0.0, 0.0, 0.5], atol=1e-12)
    assert_allclose(path.coefs[4], [3.0, -0.5, 0.5 / 3, 0.5], atol=1e-12)


def test_forward_stepwise_stops_at_the_rank():
    X, y = toeplitz(30, 6, 0.3, seed=0)
    X = np.column_stack([X, X[:, :2] @ [1.0, -1.0]])  # rank 6 with 7 columns
    path = forward_stepwise_path(X, y, 7)
    assert "rank" in path.message
    assert len(path.supports[7]) == 6
    assert_allclose(path.coefs[7], path.coefs[6])


@parametrize_with_checks([BestSubset(), ForwardStepwise()])
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cls", [BestSubset, ForwardStepwise])
def test_estimator_path_intercept_and_predict(cls):
    X, y = toeplitz(50, 8, 0.5, seed=9)
    X = X + np.arange(8)  # uncentred features and target: the intercept absorbs the means
    y = y + 5.0
    est = cls(k=3).fit(X, y)
    ref = (best_subset_path if cls is BestSubset else forward_stepwise_path)(
        X - X.mean(0), y - y.mean(), 3
    )
    assert est.coef_path_.shape == (4, 8)
    assert_allclose(est.coef_path_, ref.coefs, atol=1e-12)
    assert_allclose(est.coef_, ref.coefs[3], atol=1e-12)
    assert_allclose(est.intercept_, y.mean() - X.mean(0) @ est.coef_)
    assert_allclose(est.predict(X), X @ est.coef_ + est.intercept_)
    assert_allclose(est.rss_path_, ref.rss, rtol=1e-12)
    assert est.proven_ == (cls is BestSubset)


def test_size_zero_and_no_intercept():
    X, y = toeplitz(30, 6, 0.5, seed=1)
    est = BestSubset(k=0).fit(X + 1.0, y + 2.0)
    assert_array_equal(est.coef_, np.zeros(6))
    assert_allclose(est.intercept_, np.mean(y + 2.0))
    assert est.proven_ and list(est.status_path_) == ["proven"]
    raw = np.random.default_rng(0).standard_normal((30, 6)) + 3.0  # not centred
    yr = raw @ [1.0, 0, 0, -2.0, 0, 0] + 0.1 * np.random.default_rng(1).standard_normal(30)
    best, sets, _ = enumerate_best(raw, yr, 6)  # no centring: the intercept is not fitted
    est = BestSubset(k=6, fit_intercept=False).fit(raw, yr)
    assert est.intercept_ == 0.0 and est.proven_path_.all()
    assert_allclose(est.rss_path_, best, rtol=1e-10)
    assert_array_equal(est.support_path_[2], sets[2])
    assert_array_equal(sets[2], [0, 3])


def test_status_path_says_heuristic_where_not_proven():
    X, y = toeplitz(60, 14, 0.5, seed=2)
    est = BestSubset(k=5, max_exact_features=10).fit(X, y)
    assert list(est.status_path_) == ["proven"] + ["heuristic"] * 5
    assert not est.proven_ and "max_exact_features" in est.message_
    est = BestSubset(k=14, time_limit=0.0).fit(X, y)  # no time for swaps or the search
    assert "no swaps" in est.message_ and "time_limit" in est.message_
    assert est.status_path_[0] == est.status_path_[14] == "proven"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"k": -1}, "'k' parameter"),
        ({"k": 1.5}, "'k' parameter"),
        ({"k": 9}, r"k=9 is too large .* = 7"),
        ({"fit_intercept": "yes"}, "'fit_intercept' parameter"),
        ({"time_limit": -1.0}, "'time_limit' parameter"),
        ({"max_exact_features": -2}, "'max_exact_features' parameter"),
    ],
)
def test_bad_parameters_one_clear_error(params, match):
    X, y = toeplitz(8, 10, 0.5)
    with pytest.raises(ValueError, match=match):
        BestSubset(**params).fit(X, y)
