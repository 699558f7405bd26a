"""The best_subset_vs_lasso study (Hastie, Tibshirani and Tibshirani 2020): its selected models
against independent computations (scikit-learn's lasso, enumeration of every subset), the
paper's bounds on the exact test-error measures, its bad input, its figures and its frozen run."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from sklearn.linear_model import Lasso as SkLasso

from conftest import REPO, results_line, run_cli
from sparsity_lab import datasets as ds
from sparsity_lab.errors import ConfigError
from sparsity_lab.studies import best_subset_vs_lasso as bsl

EXPECTED = REPO / "experiments" / "best_subset_vs_lasso" / "expected_summary.csv"


@pytest.fixture(scope="module")
def cell() -> pd.DataFrame:
    return bsl.run_cell("low", 0.35, 9, 2, 2, list(bsl.METHODS), ["min", "1se"], 0, 10.0)


def _rep_data(rep: int, snr_index: int = 9):
    n, p, s = bsl.SETTINGS["low"]
    seed = bsl.rep_seed(0, "low", 0.35, snr_index, rep)
    snr = float(bsl.SNRS[snr_index])
    data = ds.make_hastie2020(n_samples=2 * n, n_features=p, n_nonzero=s, beta_type=2,
                              rho=0.35, snr=snr, random_state=seed)  # fmt: skip
    return data, ds.prepare(data, test_size=0.0, seed=seed, validation_size=n)


def test_the_table_is_declared_and_the_measures_within_the_paper_s_bounds(cell):
    assert list(cell.columns) == [c for c in bsl.BSL.names if c != "study"]
    assert len(cell) == 2 * 4 * 2  # repetitions x methods x rules
    snr = bsl.SNRS[9]
    assert snr == pytest.approx(6.0) and bsl.SNRS[0] == pytest.approx(0.05)
    assert (cell["relative_test_error"] >= 1.0).all()
    assert (cell["pve"] <= snr / (1 + snr) + 1e-12).all()
    assert (cell["n_nonzero"] + cell["n_zero"] == 10).all()
    best = cell[cell["method"] == "best_subset"]
    assert (best["status"] == "ok").all()  # p = 10: the branch and bound proves every size
    one_se = cell[cell["rule"] == "1se"].set_index(["rep", "method"])["n_nonzero"]
    at_min = cell[cell["rule"] == "min"].set_index(["rep", "method"])["n_nonzero"]
    subset = [i for i in one_se.index if i[1] in ("best_subset", "forward_stepwise")]
    assert (one_se[subset] <= at_min[subset]).all()  # 1se: a size no larger


def test_the_selected_lasso_is_scikit_learn_s_best_on_the_validation_rows(cell):
    _, prep = _rep_data(rep=1)
    X, y = prep.X_train, prep.y_train
    ratios = np.geomspace(1.0, 1e-4, bsl.N_ALPHAS)
    alphas = ratios * np.max(np.abs(X.T @ y)) / len(y)
    errors = []
    for alpha in alphas:
        w = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=10**6).fit(X, y).coef_
        errors.append(np.mean((prep.y_val - prep.y_offset - prep.X_val @ w) ** 2))
    row = cell[(cell["rep"] == 1) & (cell["method"] == "lasso") & (cell["rule"] == "min")]
    assert row["alpha"].item() == pytest.approx(alphas[int(np.argmin(errors))], rel=1e-12)
    assert row["selection_error"].item() == pytest.approx(min(errors), rel=1e-8)


def test_the_selected_best_subset_is_the_enumeration_s_best_on_the_validation_rows(cell):
    data, prep = _rep_data(rep=0)
    X, y = prep.X_train, prep.y_train
    errors, risks = [], []
    for k in range(11):
        best_rss, best_w = np.inf, None
        for S in itertools.combinations(range(10), k):
            w = np.zeros(10)
            if S:
                w[list(S)] = np.linalg.lstsq(X[:, list(S)], y, rcond=None)[0]
            rss = np.sum((y - X @ w) ** 2)
            if rss < best_rss:
                best_rss, best_w = rss, w
        errors.append(np.mean((prep.y_val - prep.y_offset - prep.X_val @ best_w) ** 2))
        raw = best_w / prep.x_scale
        delta = raw - data.true_coef
        intercept = prep.y_offset - prep.x_mean @ raw
        risks.append(delta @ data.cov @ delta + intercept**2)
    k = int(np.argmin(errors))
    row = cell[(cell["rep"] == 0) & (cell["method"] == "best_subset") & (cell["rule"] == "min")]
    assert row["k"].item() == k
    assert row["risk"].item() == pytest.approx(risks[k], rel=1e-9)
    sigma2 = data.noise_sd**2
    assert row["relative_test_error"].item() == pytest.approx((risks[k] + sigma2) / sigma2)


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("setting", "huge", "bsl.setting='huge': allowed values are low, medium, high5, high10"),
        ("rho", 1.0, "bsl.rho=1.0: allowed values are 0 <= rho < 1"),
        ("snr_index", 10, "bsl.snr_index=10: allowed values are 0..9"),
        ("beta_type", 4, "bsl.beta_type=4: allowed values are 1, 2, 3, 5"),
        ("n_reps", 0, "bsl.n_reps=0"),
        ("methods", ["lasso", "no_such_model"], "bsl.methods: 'no_such_model'"),
        ("rules", ["2se"], "select.rules"),
    ],
)
def test_bad_parameters_one_line(key, value, needle):
    params = {"setting": "low", "rho": 0.35, "snr_index": 0, "beta_type": 2, "n_reps": 1,
              "methods": ["lasso"], "rules": ["min"], "best_subset_time_limit": 10}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        bsl.check_params(OmegaConf.create({**params, key: value}))
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_figures_draw_a_panel_per_setting_and_rho(cell):
    from sparsity_lab.figures.best_subset import plot_metric_vs_snr

    two = pd.concat([cell, cell.assign(rho=0.7), cell.assign(setting="medium")])
    fig = plot_metric_vs_snr(two, "n_nonzero")
    assert len(fig.axes) == 2 * 2
    lasso = next(line for line in fig.axes[0].get_lines() if line.get_label() == "lasso")
    mine = cell[(cell["method"] == "lasso") & (cell["rule"] == "min")]["n_nonzero"].mean()
    assert lasso.get_ydata()[0] == pytest.approx(mine)
    assert fig.axes[3].get_title() == "medium, rho=0.7: not run"


@pytest.mark.slow  # the default slice, about a minute: CI runs it
def test_default_slice_against_the_frozen_run(tmp_path):
    proc = run_cli(["run", "experiment=best_subset_vs_lasso"], cwd=tmp_path, timeout=600)
    run_dir = tmp_path / results_line(proc.stdout)
    check = run_cli(["compare", str(EXPECTED), str(run_dir), "--table", "best_subset_vs_lasso",
                     "--on", "setting,rho,snr_index,rep,method,rule", "--check"],
                    tmp_path, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_model_config_is_a_method_along_the_same_relative_grid():
    from sklearn.linear_model import ElasticNet as SkElasticNet

    table = bsl.run_cell("low", 0.35, 9, 2, 1, ["elasticnet"], ["min"], 0, 10.0)
    _, prep = _rep_data(rep=0)
    X, y = prep.X_train, prep.y_train
    l1_ratio = 0.5  # configs/model/elasticnet.yaml
    ratios = np.geomspace(1.0, 1e-4, bsl.N_ALPHAS)
    alphas = ratios * np.max(np.abs(X.T @ y)) / (len(y) * l1_ratio)
    errors = []
    for alpha in alphas:
        est = SkElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-14,
                           max_iter=10**6).fit(X, y)  # fmt: skip
        errors.append(np.mean((prep.y_val - prep.y_offset - prep.X_val @ est.coef_) ** 2))
    assert table["alpha"].item() == pytest.approx(alphas[int(np.argmin(errors))], rel=1e-12)
    assert table["selection_error"].item() == pytest.approx(min(errors), rel=1e-7)
