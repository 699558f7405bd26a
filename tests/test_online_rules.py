"""The sparse online rules (clip, RDA, FTRL-Proximal) against closed forms and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import ElasticNet, Lasso

from conftest import fit_objective as objective
from sparsity_lab import metrics
from sparsity_lab.datasets import make_synthetic, prepare
from sparsity_lab.models import SGDFTRL, SGDRDA, SGDClip, SGDSubgradient
from sparsity_lab.penalties import L1


def _problem(seed=0, n_samples=200, n_features=30, n_informative=5, rho=0.5, coef_scale=None):
    data = prepare(
        make_synthetic(
            n_samples=n_samples, n_features=n_features, n_informative=n_informative, rho=rho,
            noise=1.0, random_state=seed,
        ),
        test_size=0.0,
        seed=seed,
    )  # fmt: skip
    return data.X_train, data.y_train


def _alpha_max(X, y):
    return float(np.max(np.abs(X.T @ (y - y.mean()))) / X.shape[0])


def _one_coordinate_trajectory(model, w0, n_steps):
    """w after each of ``n_steps`` steps from ``w0`` on one feature with zero data gradient.

    X = 0 and y = 0 make the data gradient 0; each warm fit of one epoch on one row is one step.
    """
    X, y = np.zeros((1, 1)), np.zeros(1)
    model.set_params(
        max_epochs=1, tol=None, warm_start=True, shuffle=False, fit_intercept=False,
        learning_rate="constant",
    )  # fmt: skip
    model.fit(X, y)
    model.coef_ = np.array([w0])
    trajectory = []
    for _ in range(n_steps):
        trajectory.append(float(model.fit(X, y).coef_[0]))
    return np.array(trajectory)


# ---------------------------------------------------------------------------- clip
def test_clip_is_the_seed_notes_l1_trajectory():
    # w = 5, eta = 1/2, alpha = 1: 4.5, 4, ..., 0.5, then exactly 0.0 at step 10 and after.
    trajectory = _one_coordinate_trajectory(SGDClip(alpha=1.0, eta0=0.5), 5.0, 14)
    assert_array_equal(trajectory[:10], 5.0 - 0.5 * np.arange(1, 11))
    assert trajectory[9] == 0.0
    assert (trajectory[10:] == 0.0).all()


def test_clip_stops_at_zero_where_the_subgradient_step_oscillates():
    # eta = 0.3 does not divide 5: the subgradient rule jumps over 0 and oscillates around it;
    # the clip sets the weight to 0 at the step that would cross (17: 5 - 16 * 0.3 = 0.2).
    clip = _one_coordinate_trajectory(SGDClip(alpha=1.0, eta0=0.3), 5.0, 25)
    plain = _one_coordinate_trajectory(SGDSubgradient(alpha=1.0, eta0=0.3), 5.0, 25)
    assert_array_equal(clip[:16], plain[:16])
    assert (clip[16:] == 0.0).all()
    assert (plain[16:] != 0.0).all() and (plain[16:] < 0).any() and (plain[16:] > 0).any()


def test_clip_equals_subgradient_where_no_weight_crosses_zero():
    # Every feature informative with a large coefficient and a small alpha: no weight's penalty
    # step crosses 0, so the two rules take the same steps, bit for bit.
    X, y = _problem(seed=1, n_features=10, n_informative=10, rho=0.0)
    params = dict(alpha=1e-3 * _alpha_max(X, y), max_epochs=5, tol=None, random_state=0)
    clip = SGDClip(**params).fit(X, y)
    plain = SGDSubgradient(**params).fit(X, y)
    assert (plain.coef_ != 0).all()
    assert_array_equal(clip.coef_, plain.coef_)
    assert clip.intercept_ == plain.intercept_
    # Where weights do cross, the clip gives exact zeros and the subgradient rule none.
    X, y = _problem(seed=1, n_features=30, n_informative=5)
    params["alpha"] = 0.3 * _alpha_max(X, y)
    assert (SGDClip(**params).fit(X, y).coef_ == 0.0).sum() > 0
    assert (SGDSubgradient(**params).fit(X, y).coef_ == 0.0).sum() == 0


# ---------------------------------------------------------------------------- RDA
def _certified_lasso_zeros(X, y, alpha):
    """Lasso at tol 1e-12 and which of its zeros the gap-safe test proves zeros of the optimum."""
    lasso = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    n = X.shape[0]
    W = lasso.coef_[None, :]
    R = yc - Xc @ lasso.coef_
    XtR, rss = (Xc.T @ R)[None, :], np.array([R @ R])
    gap = metrics.duality_gap(W, XtR, rss, Xc.T @ yc, yc @ yc, np.array([alpha]), 1.0, n)
    certified = metrics.gap_safe_zeros(W, XtR, gap, (Xc**2).sum(0), np.array([alpha]), 1.0, n)
    return lasso, certified[0] & (lasso.coef_ == 0.0)


@pytest.mark.parametrize("rho", [0.0, 0.01])
def test_rda_identifies_the_lasso_support_and_its_average_approaches_the_optimum(rho):
    # A well-conditioned design (independent features, n = 50 p): dual averaging identifies
    # the optimal support (Lee and Wright, JMLR 2012). Measured: the zero set is the Lasso's
    # from about 20 epochs on; the averaged iterate's objective gap is 0.20, 0.05, 0.018 after
    # 20, 100, 300 epochs (rho = 0, eta0 auto).
    X, y = _problem(seed=0, n_samples=1000, n_features=20, n_informative=5, rho=0.0)
    alpha = 0.05 * _alpha_max(X, y)
    lasso, certified = _certified_lasso_zeros(X, y, alpha)
    zeros = lasso.coef_ == 0.0
    assert 0 < zeros.sum() < X.shape[1]
    assert_array_equal(certified, zeros)  # the reference's zeros are proved, not just counted
    best = objective(X, y, lasso.coef_, lasso.intercept_, alpha, L1())
    gaps = []
    for epochs in (20, 300):
        rda = SGDRDA(alpha=alpha, rho=rho, max_epochs=epochs, tol=None, random_state=0).fit(X, y)
        assert rda.status_ == "ok"
        average = objective(X, y, rda.coef_average_, rda.intercept_average_, alpha, L1())
        gaps.append(average - best)
    assert_array_equal(rda.coef_ == 0.0, zeros)
    assert 0 <= gaps[1] < gaps[0] / 5
    assert gaps[1] < 0.03 * best


def test_rda_weights_are_the_closed_form_of_the_average_gradient():
    # One coordinate, one row, no intercept: after t steps w = -S(gbar, lam_t) / c, with
    # gbar the average of the gradients seen, c = 1 / (t eta_t) and lam_t = alpha + rho c.
    x, target, alpha, eta0, rho = 1.5, 2.0, 1.0, 0.1, 0.25
    X, y = np.array([[x]]), np.array([target])
    w, gradient_sum, expected = 0.0, 0.0, []
    for t in range(1, 41):
        gradient_sum += (w * x - target) * x
        c = 1.0 / (t * eta0 / np.sqrt(t))
        gbar, lam = gradient_sum / t, alpha + rho * c
        w = 0.0 if abs(gbar) <= lam else -(gbar - np.sign(gbar) * lam) / c
        expected.append(w)
    got = [
        SGDRDA(alpha=alpha, eta0=eta0, rho=rho, max_epochs=t, tol=None, fit_intercept=False)
        .fit(X, y)
        .coef_[0]
        for t in range(1, 41)
    ]
    assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert expected[0] == 0.0 and got[0] == 0.0  # the enhanced threshold holds the first step
    assert expected[-1] != 0.0


# ---------------------------------------------------------------------------- FTRL
def test_ftrl_without_l1_is_per_coordinate_adaptive_gradient_descent():
    X, y = _problem(seed=2, n_samples=150, n_features=8)
    y = y + 3.0
    eta0, beta = 0.05, 0.7
    w, b = np.zeros(X.shape[1]), 0.0
    squares, square_b = np.zeros(X.shape[1]), 0.0
    for _ in range(3):
        for xi, yi in zip(X, y, strict=True):
            residual = xi @ w + b - yi
            g = residual * xi
            squares += g * g
            square_b += residual * residual
            w -= eta0 * g / (beta + np.sqrt(squares))
            b -= eta0 * residual / (beta + np.sqrt(square_b))
    model = SGDFTRL(alpha=0.0, eta0=eta0, beta=beta, max_epochs=3, tol=None, shuffle=False)
    model.fit(X, y)
    assert_allclose(model.coef_, w, rtol=1e-10, atol=1e-12)
    assert_allclose(model.intercept_, b, rtol=1e-10)


@pytest.mark.parametrize(("alpha", "l1_ratio"), [(1.0, 1.0), (1.0, 0.5), (4.0, 1.0)])
def test_ftrl_one_coordinate_is_the_papers_closed_form(alpha, l1_ratio):
    # McMahan et al. 2013, Algorithm 1 on one coordinate, with lambda1 = t alpha l1_ratio and
    # lambda2 = t alpha (1 - l1_ratio) after t steps. With alpha = 4 > |x y| the optimum is 0.
    x, target, eta0, beta = 1.5, 2.0, 0.3, 1.0
    X, y = np.array([[x]]), np.array([target])
    w, z, n, expected = 0.0, 0.0, 0.0, []
    for t in range(1, 31):
        g = (w * x - target) * x
        sigma = (np.sqrt(n + g * g) - np.sqrt(n)) / eta0
        z += g - sigma * w
        n += g * g
        lambda1, lambda2 = t * alpha * l1_ratio, t * alpha * (1.0 - l1_ratio)
        if abs(z) <= lambda1:
            w = 0.0
        else:
            w = -(z - np.sign(z) * lambda1) / ((beta + np.sqrt(n)) / eta0 + lambda2)
        expected.append(w)
    got = [
        SGDFTRL(
            alpha=alpha, l1_ratio=l1_ratio, eta0=eta0, beta=beta, max_epochs=t, tol=None,
            fit_intercept=False,
        )
        .fit(X, y)
        .coef_[0]
        for t in range(1, 31)
    ]  # fmt: skip
    assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert_array_equal(np.array(got) == 0.0, np.array(expected) == 0.0)
    if alpha > abs(x * target):
        assert (np.array(got) == 0.0).all()
    else:
        # the fixed point is the minimiser of 1/2 (w x - y)^2 + alpha Omega(w)
        optimum = (x * target - alpha * l1_ratio) / (x * x + alpha * (1 - l1_ratio))
        long = SGDFTRL(
            alpha=alpha, l1_ratio=l1_ratio, eta0=eta0, max_epochs=3000, tol=None,
            fit_intercept=False,
        ).fit(X, y)  # fmt: skip
        assert abs(got[-1] - optimum) > abs(long.coef_[0] - optimum)
        assert abs(long.coef_[0] - optimum) < 0.01 * optimum


def test_ftrl_elastic_net_reaches_the_elastic_net_optimum():
    X, y = _problem(seed=3, n_samples=600, n_features=20, n_informative=5, rho=0.0)
    l1_ratio = 0.5
    alpha = 0.1 * _alpha_max(X, y) / l1_ratio
    reference = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100_000)
    reference.fit(X, y)
    model = SGDFTRL(alpha=alpha, l1_ratio=l1_ratio, max_epochs=200, tol=None, random_state=0)
    model.fit(X, y)
    assert model.penalty_l1_ratio == l1_ratio
    assert 0 < (reference.coef_ == 0.0).sum() < X.shape[1]
    assert_array_equal(model.coef_ == 0.0, reference.coef_ == 0.0)
    assert_allclose(model.coef_, reference.coef_, atol=0.02)


def test_warm_start_centres_the_dual_rules_at_the_previous_fit():
    # RDA and FTRL restart their sums on a warm fit, centred at the previous coef_: the first
    # step from a fitted model moves it little, the first step from zero a lot.
    X, y = _problem(seed=4)
    alpha = 0.1 * _alpha_max(X, y)
    for cls in (SGDRDA, SGDFTRL):
        model = cls(alpha=alpha, max_epochs=100, tol=None, random_state=0).fit(X, y)
        fitted = model.coef_.copy()
        model.set_params(warm_start=True, max_epochs=1).fit(X, y)
        cold = cls(alpha=alpha, max_epochs=1, tol=None, random_state=0).fit(X, y)
        assert np.abs(model.coef_ - fitted).max() < 0.2 * np.abs(cold.coef_ - fitted).max()


@pytest.mark.parametrize(
    ("cls", "param", "value"),
    [
        (SGDClip, "l1_ratio", 1.5),
        (SGDRDA, "l1_ratio", -0.1),
        (SGDRDA, "rho", -1.0),
        (SGDFTRL, "beta", 0.0),
        (SGDFTRL, "l1_ratio", "all"),
    ],
)
def test_bad_rule_parameters_raise_one_clear_line(cls, param, value):
    X, y = _problem()
    with pytest.raises(ValueError, match="allowed values") as info:
        cls(**{param: value}).fit(X, y)
    assert str(info.value).startswith(f"{param}={value!r}") and "\n" not in str(info.value)


def test_ftrl_has_no_schedule_parameters():
    # Its per-coordinate rates replace the schedule: the parameters are not offered at all.
    params = SGDFTRL().get_params()
    assert "learning_rate" not in params and "power_t" not in params
    assert {"beta", "l1_ratio", "eta0"} <= set(params)


@pytest.mark.parametrize("cls", [SGDRDA, SGDFTRL])
def test_full_batch_dual_rules_reach_the_lasso(cls):
    # Deterministic gradients: the average gradient converges to the optimum's, and the
    # threshold test |gbar_j| <= alpha is the Lasso's own optimality condition.
    X, y = _problem(seed=5, n_samples=300, n_features=40, n_informative=6)
    alpha = 0.1 * _alpha_max(X, y)
    lasso = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    schedule = {} if cls is SGDFTRL else {"learning_rate": "constant"}
    model = cls(alpha=alpha, batch_size="full", max_epochs=3000, tol=None, **schedule).fit(X, y)
    assert model.status_ == "ok"
    assert 0 < (lasso.coef_ == 0.0).sum() < X.shape[1]
    assert_array_equal(model.coef_ == 0.0, lasso.coef_ == 0.0)
    assert_allclose(model.coef_, lasso.coef_, atol=1e-8)
    assert_allclose(model.intercept_, lasso.intercept_, atol=1e-8)
