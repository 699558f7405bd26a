"""Other libraries' Lasso solvers as models: LassoLars (scikit-learn) and the peers celer and
skglm (extra ``peers``; their tests skip with the reason when it is absent, CI installs it)."""

import sys

import numpy as np
import pytest
from sklearn.linear_model import LassoLars as SkLassoLars
from sklearn.linear_model import lars_path

from sparsity_lab import cli, metrics
from sparsity_lab.errors import ConfigError
from sparsity_lab.models import CelerLasso, Lasso, LassoLars, SkglmLasso
from sparsity_lab.models.peers import require
from sparsity_lab.regularization import (
    TrainingData,
    alpha_max,
    fit_path,
    interpolate_path,
    objective_l1_ratio,
)


def _toeplitz(n, p, rho=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    beta = np.zeros(p)
    beta[rng.choice(p, 5, replace=False)] = rng.choice([-1.0, 1.0], 5)
    y = X @ beta + rng.standard_normal(n)
    return (X - X.mean(0)) / X.std(0), y - y.mean()


@pytest.fixture(scope="module", params=[(40, 200), (200, 30)], ids=["p>n", "n>p"])
def problem(request):
    X, y = _toeplitz(*request.param)
    data = TrainingData(X, y)
    alphas = alpha_max(X, y, centred=True) * np.logspace(0, -2, 12)
    return data, alphas, fit_path(Lasso(), data, alphas)


def _same_zero_sets(W, W_opt) -> bool:
    counts = metrics.optimum_zero_counts(W, W_opt)
    return not (counts["n_false_zero"].any() or counts["n_missed_zero"].any())


def test_every_solver_declares_the_lasso_penalty():
    for est in (LassoLars(), CelerLasso(), SkglmLasso()):
        assert objective_l1_ratio(est) == 1.0


def test_interpolate_path_reads_knots_and_keeps_zeros_exact():
    knots = np.array([3.0, 2.0, 1.0])
    path = np.array([[0.0, 1.0, 3.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])  # (p, knots)
    got = interpolate_path(knots, path, np.array([4.0, 3.0, 2.5, 2.0, 1.5, 0.5]))
    expected = [[0, 0, 0], [0, 0, 0], [0.5, 0, 0], [1, 0, 0], [2, 1, 0], [3, 2, 0]]
    np.testing.assert_array_equal(got, expected)


def test_lasso_lars_path_is_scikit_learns_lassolars_and_the_optimum(problem):
    data, alphas, exact = problem
    path = fit_path(LassoLars(), data, alphas)
    assert path.status == ["ok"] * len(alphas)
    # independent reference: scikit-learn's LassoLars refitted at each alpha
    for k in (0, 3, 7, len(alphas) - 1):
        ref = SkLassoLars(alpha=alphas[k], fit_intercept=False).fit(data.X, data.y).coef_
        np.testing.assert_allclose(path.coefs[k], ref, atol=1e-10)
        np.testing.assert_array_equal(path.coefs[k] == 0.0, ref == 0.0)
    np.testing.assert_allclose(path.coefs, exact.coefs, atol=1e-8)
    # at alpha_max every coefficient of the optimum is 0 (|X^T y| / n <= alpha); the suite's
    # homotopy leaves one at 2e-16 on the p > n problem (a KKT tie), so the zero sets are
    # compared from the second alpha on
    assert (path.coefs[0] == 0.0).all()
    assert _same_zero_sets(path.coefs[1:], exact.coefs[1:])


def test_lasso_lars_path_that_stops_early_says_so(problem):
    data, alphas, _ = problem
    path = fit_path(LassoLars(max_iter=2), data, alphas)
    knots, _, coefs = lars_path(data.X, data.y, max_iter=2, method="lasso")
    below = alphas < knots[-1]
    assert below.any() and not below.all()
    assert all(path.status[k] == "not_converged" for k in np.flatnonzero(below))
    assert all(path.status[k] == "ok" for k in np.flatnonzero(~below))
    np.testing.assert_allclose(path.coefs[below], np.tile(coefs[:, -1], (below.sum(), 1)))


def test_lasso_lars_single_fit_is_scikit_learns(problem):
    data, alphas, _ = problem
    est = LassoLars(alpha=alphas[5]).fit(data.X, data.y)
    ref = SkLassoLars(alpha=alphas[5]).fit(data.X, data.y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-12)
    np.testing.assert_allclose(est.predict(data.X), ref.predict(data.X), atol=1e-10)


def test_a_missing_peer_library_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "celer", None)  # import celer now raises ImportError
    with pytest.raises(ConfigError, match=r"celer is not installed.*sparsity-lab\[peers\]"):
        require("celer")
    with pytest.raises(ConfigError, match=r"sparsity-lab\[peers\]"):
        CelerLasso().fit(np.eye(3), np.arange(3.0))


def test_a_missing_peer_stops_the_run_before_launch(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "skglm", None)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "model=skglm", "dataset=diabetes", "grid.num=3"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "skglm is not installed" in lines[0] and "pip install 'sparsity-lab[peers]'" in lines[0]
    assert not list(tmp_path.iterdir()), "work started before the check"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["model=celer", "model.tol=0"], "model.tol=0"),
        (["model=skglm", "model.ws_strategy=bogus"], "model.ws_strategy='bogus'"),
        (["model=lasso_lars", "model.max_iter=0"], "model.max_iter=0"),
    ],
)
def test_bad_peer_parameters_are_one_line(tmp_path, monkeypatch, capsys, args, needle):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "dataset=diabetes", *args])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


#: skglm compiles its numba kernels on first use: 11 s per process, so its tests run in CI only
PEERS = [
    pytest.param(CelerLasso, id="celer"),
    pytest.param(SkglmLasso, id="skglm", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("cls", PEERS)
def test_peer_at_tight_tolerance_reports_the_optimums_zeros(problem, cls):
    pytest.importorskip(cls._module, reason=f"{cls._module} needs the extra sparsity-lab[peers]")
    data, alphas, exact = problem
    path = fit_path(cls(tol=1e-12, warm_start=True), data, alphas)
    assert set(path.status) == {"ok"}
    np.testing.assert_allclose(path.coefs, exact.coefs, atol=1e-5)
    assert (path.coefs[0] == 0.0).all()  # the optimum at alpha_max (see above)
    assert _same_zero_sets(path.coefs[1:], exact.coefs[1:])
    # a loose tolerance leaves a coarser fit: its objective is above the optimum's
    loose = fit_path(cls(tol=1e-1, warm_start=True), data, alphas)
    n = data.n_samples
    objective = [
        metrics.objective(data.residual_products(W)[1], W, alphas, 1.0, n)
        for W in (loose.coefs, exact.coefs)
    ]
    assert (objective[0] >= objective[1] - 1e-12).all() and (objective[0] > objective[1]).any()


@pytest.mark.parametrize("cls", PEERS)
def test_peer_warm_start_keeps_the_librarys_estimator(cls):
    pytest.importorskip(cls._module, reason=f"{cls._module} needs the extra sparsity-lab[peers]")
    X, y = _toeplitz(30, 10)
    est = cls(alpha=0.1, warm_start=True).fit(X, y)
    inner = est.estimator_
    est.set_params(alpha=0.05).fit(X, y)
    assert est.estimator_ is inner and inner.alpha == 0.05
    cold = cls(alpha=0.05, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(est.coef_, cold.coef_, atol=1e-3)
    np.testing.assert_allclose(est.predict(X), X @ est.coef_ + est.intercept_)


# ---------------------------------------------------------------------------- runner columns
def test_every_non_exact_l1_model_is_compared_with_the_optimum(compose_cfg):
    from sparsity_lab.runner import run_path_job

    grid_ = ["dataset=highdim", "dataset.n_samples=60", "dataset.n_features=150", "grid.num=8"]
    lasso = run_path_job(compose_cfg(["model=lasso", *grid_]), "lasso")["fits"]
    assert lasso["zero_set_is_optimum"].all()
    cases = {"lasso_lars": ["model=lasso_lars"], "cd": ["model=lasso", "model.solver=cd",
             "model.tol=0.1"]}  # fmt: skip
    for name, args in cases.items():
        fits = run_path_job(compose_cfg([*args, *grid_]), name)["fits"]
        # the optimum's zeros are the exact path's, fit by fit (same rows, same alphas)
        np.testing.assert_array_equal(fits["n_zero_optimum"], lasso["n_zero"])
        np.testing.assert_array_equal(
            fits["n_zero"], fits["n_zero_optimum"] - fits["n_missed_zero"] + fits["n_false_zero"]
        )
        same = (fits["n_false_zero"] == 0) & (fits["n_missed_zero"] == 0)
        assert (fits["zero_set_is_optimum"] == same).all()
        if name == "lasso_lars":  # an exact homotopy: the optimum's zero sets after alpha_max
            assert fits["zero_set_is_optimum"].iloc[1:].all()
        else:  # tol 0.1 stops early: some zero set is wrong
            assert not fits["zero_set_is_optimum"].all()


def test_a_peer_through_the_runner_is_compared_with_the_optimum(compose_cfg):
    pytest.importorskip("celer", reason="celer needs the extra sparsity-lab[peers]")
    from sparsity_lab.runner import run_path_job

    grid_ = ["dataset=highdim", "dataset.n_samples=60", "dataset.n_features=150", "grid.num=8"]
    lasso = run_path_job(compose_cfg(["model=lasso", *grid_]), "lasso")["fits"]
    loose = run_path_job(compose_cfg(["model=celer", "model.tol=0.1", *grid_]), "celer")["fits"]
    tight = run_path_job(compose_cfg(["model=celer", "model.tol=1e-12", *grid_]), "celer")["fits"]
    for fits in (loose, tight):
        np.testing.assert_array_equal(fits["n_zero_optimum"], lasso["n_zero"])
    assert loose["variant"].iloc[0] == "tol=0.1" and not loose["zero_set_is_optimum"].all()
    assert tight["zero_set_is_optimum"].iloc[1:].all()
