"""Validation and cross-validation selection (select=validation|cv): the rules against a curve
computed by hand, the folds against scikit-learn's KFold, the selected lasso against LassoCV on
the same folds and grid, subset sizes against brute force, and the selected table of a run."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from omegaconf import OmegaConf
from sklearn.linear_model import LassoCV
from sklearn.model_selection import KFold

from sparsity_lab import datasets as ds
from sparsity_lab import metrics, schema, selection
from sparsity_lab.errors import ConfigError
from sparsity_lab.models import Lasso
from sparsity_lab.models.lasso_variants import RelaxedLasso
from sparsity_lab.runner import run_path_job

# ------------------------------------------------------------------ the rules
# candidates simplest first; errors and standard errors by hand
ERRORS = np.array([5.0, 3.2, 2.6, 2.5, 2.5, 2.9])
SE = np.array([0.5, 0.4, 0.3, 0.2, 0.3, 0.4])


def test_min_takes_the_smallest_error_and_the_simplest_of_ties():
    assert selection.choose(ERRORS, SE, "min") == 3  # 2.5 at 3 and 4: the simpler, 3


def test_1se_takes_the_simplest_within_one_se_of_the_minimum():
    # bound = 2.5 + 0.2 = 2.7: candidates 2 (2.6), 3, 4 qualify; 1 (3.2) does not
    assert selection.choose(ERRORS, SE, "1se") == 2
    # a wider se at the minimum reaches candidate 1
    assert selection.choose(ERRORS, np.where(np.arange(6) == 3, 0.7, 0.1), "1se") == 1


def test_nan_errors_are_never_chosen():
    errors = np.array([np.nan, 4.0, 1.0, np.nan])
    assert selection.choose(errors, np.zeros(4), "min") == 2
    assert selection.choose(errors, np.full(4, 5.0), "1se") == 1


def test_a_path_of_failed_fits_selects_nothing_and_says_so():
    prep = ds.prepare(ds.make_hastie2020(n_samples=40), 0.0, 0, validation_size=0.5)
    broken = selection.Family("sgd", {"alpha": np.array([1.0, 0.5])}, fit=None)
    full = selection.FamilyFit(np.full((2, 10), np.nan), ["diverged", "diverged"])
    rows = selection.selected_rows(broken, full, prep, {"kind": "validation",
                                                        "rules": ["min", "1se"]}, 0)  # fmt: skip
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all(np.isnan(r["n_zero"]) and np.isnan(r["selection_error"]) for r in rows)


def test_validation_curve_by_hand():
    X = np.array([[1.0], [2.0], [0.0]])
    y = np.array([1.0, 1.0, 1.0])
    coefs = np.array([[0.0], [1.0]])
    err, se = selection.validation_curve(coefs, np.array([1.0, 0.0]), X, y)
    # candidate 0 predicts 1 everywhere: errors 0; candidate 1 predicts x: (0, 1, 1)
    np.testing.assert_allclose(err, [0.0, 2.0 / 3.0])
    np.testing.assert_allclose(se, [0.0, np.std([0, 1, 1], ddof=1) / np.sqrt(3)])


# ------------------------------------------------------------------ folds
@pytest.mark.parametrize(("n", "k"), [(10, 3), (23, 5), (7, 7)])
def test_cv_folds_partition_the_rows_with_kfold_sizes(n, k):
    folds = selection.cv_folds(n, k, seed=4)
    assert sorted(np.concatenate(folds).tolist()) == list(range(n))
    kfold_sizes = [len(test) for _, test in KFold(k).split(np.zeros(n))]
    assert [len(f) for f in folds] == kfold_sizes
    assert [f.tolist() for f in folds] != [f.tolist() for f in selection.cv_folds(n, k, seed=5)]


@pytest.mark.parametrize("bad", [1, 0, 2.5, True])
def test_fewer_than_two_folds_is_refused(bad):
    with pytest.raises(ConfigError, match=r"select.n_folds=.*integers >= 2"):
        selection.cv_folds(10, bad, 0)


# ------------------------------------------------------------------ against LassoCV
def test_cv_lasso_matches_lassocv_on_the_same_folds_and_grid():
    data = ds.make_synthetic(n_samples=120, n_features=30, n_informative=5, rho=0.5,
                             noise=1.5, random_state=1)  # fmt: skip
    prep = ds.prepare(data, test_size=0.0, seed=0)
    X, y = prep.X_train, prep.y_train
    amax = np.max(np.abs(X.T @ y)) / len(y)
    ratios = np.geomspace(1.0, 1e-3, 25)
    alphas = ratios * amax
    folds = selection.cv_folds(len(y), 5, seed=3)
    family = selection.alpha_family("lasso", Lasso(), alphas, ratios)
    err, se, per_fold = selection.cv_curve(family, X, y, folds)
    splits = [(np.setdiff1d(np.arange(len(y)), f), f) for f in folds]
    ref = LassoCV(alphas=alphas, cv=splits, tol=1e-14, max_iter=1_000_000).fit(X, y)
    # LassoCV sorts its alphas largest first as ours are
    np.testing.assert_allclose(ref.alphas_, alphas, rtol=1e-15)
    np.testing.assert_allclose(per_fold.T, ref.mse_path_, rtol=1e-7)
    assert alphas[selection.choose(err, se, "min")] == ref.alpha_


def test_subset_cv_matches_brute_force():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    y = X[:, 0] - 2 * X[:, 3] + rng.standard_normal(30)
    X, y = X - X.mean(axis=0), y - y.mean()
    folds = selection.cv_folds(30, 3, seed=0)
    family = selection.subset_family("best_subset", 3)
    err, _, _ = selection.cv_curve(family, X, y, folds)
    for k in range(4):
        fold_mse = []
        for held in folds:
            keep = np.setdiff1d(np.arange(30), held)
            xm, ym = X[keep].mean(axis=0), y[keep].mean()
            best = np.inf
            for S in itertools.combinations(range(5), k):
                S = list(S)
                w = np.zeros(5)
                if S:
                    w[S] = np.linalg.lstsq(X[keep][:, S] - xm[S], y[keep] - ym, rcond=None)[0]
                rss = np.sum((y[keep] - ym - (X[keep] - xm) @ w) ** 2)
                if rss < best:
                    best, w_best = rss, w
            pred = ym + (X[held] - xm) @ w_best
            fold_mse.append(np.mean((y[held] - pred) ** 2))
        assert err[k] == pytest.approx(np.mean(fold_mse), rel=1e-9)


def test_relaxed_family_orders_gamma_from_the_lasso_down():
    family = selection.relaxed_lasso_family(np.array([0.5, 0.1]), np.array([1.0, 0.2]), [0, 1, 0.5])
    assert family.params["gamma"].tolist() == [1.0, 0.5, 0.0, 1.0, 0.5, 0.0]
    assert family.params["alpha"].tolist() == [0.5, 0.5, 0.5, 0.1, 0.1, 0.1]
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 6))
    y = X[:, 0] + rng.standard_normal(40)
    X, y = X - X.mean(axis=0), y - y.mean()
    fit = family.fit(X, y)
    ref = RelaxedLasso(alpha=0.1, gamma=0.5, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(fit.coefs[4], ref.coef_, rtol=1e-12, atol=1e-14)


def test_choose_reads_simplicity_from_the_order_given():
    # rows alpha-major with gammas 0, 1 (an unsorted relaxation): simplest is (a0, g=1) = row 1
    errors = np.array([2.0, 2.0, 1.0, 3.0])
    order = np.array([1, 0, 3, 2])
    assert selection.choose(errors, np.zeros(4), "min", order) == 2
    assert selection.choose(errors, np.full(4, 1.0), "1se", order) == 1  # first within 2.0


def test_path_family_of_a_k_path_orders_sizes_and_pads_short_folds():
    from types import SimpleNamespace

    from sparsity_lab.models import Ridge

    # a path over k as a route gives it (rows k = 3, 0, 2, 1: order by k, alphas NaN)
    path = SimpleNamespace(coefs=np.zeros((4, 2)), alphas=np.full(4, np.nan),
                           k=np.array([3.0, 0.0, 2.0, 1.0]), gamma=None,
                           grid_index=np.full(4, -1))  # fmt: skip
    family = selection.path_family("fs", Ridge(), np.array([1.0]), np.array([1.0]), path)
    assert family.order.tolist() == [1, 3, 2, 0]
    assert np.isnan(family.params["alpha_ratio"]).all()
    # a fold path with fewer rows (one alpha here) leaves the other candidates NaN
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10, 2)), rng.standard_normal(10)
    fitted = family.fit(X - X.mean(axis=0), y - y.mean())
    assert np.isfinite(fitted.coefs[0]).all() and np.isnan(fitted.coefs[1:]).all()
    assert fitted.status == ["ok", "failed", "failed", "failed"]
    # a relaxation over (alpha, gamma), alpha-major: grid ratios map through grid_index, or
    # per-row ratios are taken as they are; simplest first is alpha down, then gamma down
    relaxed = SimpleNamespace(coefs=np.zeros((4, 2)), alphas=np.array([2.0, 2.0, 1.0, 1.0]),
                              k=None, gamma=np.array([0.0, 1.0, 0.0, 1.0]),
                              grid_index=np.array([0, 0, 1, 1]))  # fmt: skip
    grid = np.array([1.0, 0.5])
    family = selection.path_family("rl", Ridge(), grid * 2, grid, relaxed)
    assert family.params["alpha_ratio"].tolist() == [1.0, 1.0, 0.5, 0.5]
    assert family.order.tolist() == [1, 0, 3, 2]
    per_row = np.array([1.0, 1.0, 0.5, 0.5])
    family = selection.path_family("rl", Ridge(), grid * 2, per_row, relaxed)
    assert family.params["alpha_ratio"].tolist() == per_row.tolist()


# ------------------------------------------------------------------ the runner's table
def _cfg(select: dict, dataset: dict, **top) -> OmegaConf:
    return OmegaConf.create({
        "study": "adhoc", "seed": 0, "zero_tol": 1e-8, "task": "path",
        "dataset": dataset, "model": {"_target_": "sparsity_lab.models.Lasso"},
        "grid": {"kind": "log", "num": 20, "min_ratio": 1e-3}, "select": select, **top,
    })  # fmt: skip


HASTIE = {"_target_": "sparsity_lab.datasets.make_hastie2020", "n_samples": 200,
          "n_features": 10, "n_nonzero": 5, "beta_type": 2, "rho": 0.35, "snr": 2.0,
          "random_state": 0, "test_size": 0.0}  # fmt: skip


def test_validation_selection_fits_on_the_rest_and_reports_exact_risk():
    select = {"kind": "validation", "validation_size": 0.5, "rules": ["min", "1se"]}
    tables = run_path_job(_cfg(select, HASTIE), "lasso")
    fits, chosen = tables["fits"], tables["selected"]
    assert list(chosen.columns) == list(schema.SELECTED.names)
    assert (fits["n_samples"] == 100).all() and (chosen["n_validation"] == 100).all()
    assert chosen["rule"].tolist() == ["min", "1se"]
    # the selected model is a grid point of the job's own path, with its zero count
    for row in chosen.itertuples():
        grid_row = fits[fits["alpha"] == row.alpha]
        assert len(grid_row) == 1 and grid_row["n_zero"].item() == row.n_zero
    assert chosen["alpha"].iloc[1] >= chosen["alpha"].iloc[0]  # 1se: at least as sparse
    # exact risk vs a Monte Carlo estimate on fresh rows of the same law (raw units)
    params = {k: v for k, v in HASTIE.items() if k not in ("_target_", "test_size")}
    data = ds.make_hastie2020(**params)
    prep = ds.prepare(data, test_size=0.0, seed=0, validation_size=0.5)
    coefs = tables["coefs"]
    w = coefs[coefs["alpha"] == chosen["alpha"].iloc[0]]["coef"].to_numpy()
    fresh = ds.make_hastie2020(**{**params, "n_samples": 400_000, "random_state": 9})
    pred = prep.y_offset + ((fresh.X - prep.x_mean) / prep.x_scale) @ w
    mc_risk = np.mean((pred - fresh.X @ fresh.true_coef) ** 2)
    assert chosen["risk"].iloc[0] == pytest.approx(mc_risk, rel=0.02)
    signal = data.true_coef @ data.cov @ data.true_coef
    assert chosen["pve"].iloc[0] == pytest.approx(
        1 - (mc_risk + data.noise_sd**2) / (signal + data.noise_sd**2), rel=0.01
    )
    np.testing.assert_allclose(
        chosen["support_f1"].iloc[0],
        metrics.support_scores(w[None, :], prep.true_coef)[2][0],
    )


def test_cv_selection_of_a_run_matches_lassocv():
    data = {"_target_": "sparsity_lab.datasets.make_synthetic", "n_samples": 100,
            "n_features": 20, "n_informative": 4, "rho": 0.3, "noise": 1.0,
            "random_state": 0, "test_size": 0.2}  # fmt: skip
    select = {"kind": "cv", "n_folds": 4, "rules": ["min"]}
    tables = run_path_job(_cfg(select, data), "lasso")
    chosen = tables["selected"]
    prep = ds.prepare(ds.make_synthetic(n_samples=100, n_features=20, n_informative=4,
                                        rho=0.3, noise=1.0, random_state=0), 0.2, 0)  # fmt: skip
    folds = selection.cv_folds(prep.n_samples, 4, 0)
    splits = [(np.setdiff1d(np.arange(prep.n_samples), f), f) for f in folds]
    alphas = tables["fits"]["alpha"].to_numpy()
    ref = LassoCV(alphas=alphas, cv=splits, tol=1e-14, max_iter=1_000_000)
    ref.fit(prep.X_train, prep.y_train)
    assert chosen["alpha"].item() == ref.alpha_
    assert chosen["selection_error"].item() == pytest.approx(ref.mse_path_.mean(axis=1).min())
    assert chosen["n_folds"].item() == 4 and np.isnan(chosen["risk"].item())


def test_validation_set_larger_than_the_data_is_one_line():
    with pytest.raises(ds.DataError) as info:
        ds.prepare(ds.make_hastie2020(n_samples=20), 0.0, 0, validation_size=19)
    assert "select.validation_size=19" in str(info.value) and "1 to 18 rows" in str(info.value)
    with pytest.raises(ds.DataError, match="a fraction 0 < v < 1"):
        ds.prepare(ds.make_hastie2020(n_samples=20), 0.0, 0, validation_size=1.5)


def test_check_select_refuses_unknown_kinds_and_rules():
    with pytest.raises(ConfigError, match=r"select\.kind='loo'"):
        selection.check_select({"kind": "loo", "rules": ["min"]})
    with pytest.raises(ConfigError, match=r"select\.rules=.*min, 1se"):
        selection.check_select({"kind": "cv", "n_folds": 5, "rules": ["2se"]})
    with pytest.raises(ConfigError, match=r"select\.n_folds=1"):
        selection.check_select({"kind": "cv", "n_folds": 1, "rules": ["min"]})


# ------------------------------------------------------------------ summary and figure
def test_summary_and_figure_show_the_selected_zeros_beside_the_grid():
    from sparsity_lab.figures.selection import plot_selected_zeros
    from sparsity_lab.summary import summary_text

    select = {"kind": "cv", "n_folds": 3, "rules": ["min", "1se"]}
    data = {"_target_": "sparsity_lab.datasets.make_synthetic", "n_samples": 60,
            "n_features": 8, "n_informative": 3, "rho": 0.3, "noise": 1.0,
            "random_state": 0, "test_size": 0.25}  # fmt: skip
    tables = run_path_job(_cfg(select, data), "lasso")
    fits, chosen = tables["fits"], tables["selected"]
    text = summary_text({"fits": fits, "selected": chosen})
    assert "selected models (3-fold cross-validation; seed 0)" in text
    grid = f"{int(fits['n_zero'].min())}..{int(fits['n_zero'].max())}"
    for row in chosen.itertuples():
        line = next(li for li in text.splitlines() if f" {row.rule} " in li)
        assert f" {int(row.n_zero)} " in line and line.rstrip().endswith(grid)
    fig = plot_selected_zeros(fits, chosen)
    (ax,) = fig.axes
    points = {(x, y) for line in ax.get_lines() if line.get_linestyle() == "None"
              for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)}  # fmt: skip
    assert points == set(zip(chosen["alpha_ratio"], chosen["n_zero"], strict=True))
