"""Best subset, forward stepwise, the relaxed and the adaptive lasso as path jobs: their rows
in the one fits table (path point columns path_param, k, gamma), checked against independent
references on the prepared data (exhaustive enumeration, naive stepwise refits, least squares
on the lasso's support, scikit-learn's Lasso on rescaled columns), and old run dirs without
those columns still read."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import Lasso as SkLasso

from conftest import results_line, run_cli
from sparsity_lab import results, schema
from sparsity_lab.runner import load_prepared, run_path_job
from sparsity_lab.summary import summary_text

DIABETES = ["dataset=diabetes", "grid.num=12"]


def prepared(compose_cfg, overrides=DIABETES):
    """The centred, standardised training rows a job fits (X, y) and its test rows."""
    _, prep = load_prepared(compose_cfg(list(overrides)))
    X = prep.X_train - prep.X_train.mean(0)
    return X, prep.y_train - prep.y_train.mean(), prep


def coef_matrix(coefs: pd.DataFrame, p: int) -> np.ndarray:
    return coefs["coef"].to_numpy().reshape(-1, p)


def rss_of(X, y, S) -> float:
    S = list(S)
    if not S:
        return float(y @ y)
    r = y - X[:, S] @ np.linalg.lstsq(X[:, S], y, rcond=None)[0]
    return float(r @ r)


@pytest.fixture(scope="module")
def diabetes_jobs():
    """One job of each new model on diabetes (p = 10), plus the lasso, on a 12-point grid."""
    from hydra import compose, initialize_config_dir

    from sparsity_lab.paths import config_dir, register_resolvers

    register_resolvers()
    out = {}
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        for model in ("lasso", "best_subset", "forward_stepwise", "relaxed_lasso",
                      "adaptive_lasso"):  # fmt: skip
            cfg = compose("config", overrides=[*DIABETES, f"model={model}"])
            out[model] = run_path_job(cfg, model)
    return out


def test_best_subset_rows_equal_exhaustive_enumeration(compose_cfg, diabetes_jobs):
    X, y, _ = prepared(compose_cfg)
    fits, coefs = diabetes_jobs["best_subset"]["fits"], diabetes_jobs["best_subset"]["coefs"]
    p = X.shape[1]
    assert list(fits["k"]) == list(range(p + 1))  # k: 20 in the config, capped at p = 10
    assert (fits["path_param"] == "k").all() and fits["alpha"].isna().all()
    assert fits["alpha_ratio"].isna().all() and fits["gamma"].isna().all()
    assert (fits["optimality"] == "proven").all() and (fits["status"] == "ok").all()
    best = [min(rss_of(X, y, S) for S in itertools.combinations(range(p), k)) for k in range(p + 1)]
    n = len(y)
    assert_allclose(fits["train_mse"] * n, best, rtol=1e-10)
    assert_array_equal(fits["n_nonzero"], fits["k"])
    W = coef_matrix(coefs, p)
    assert_allclose([rss_of(X, y, np.flatnonzero(w)) for w in W], best, rtol=1e-10)
    # the certificates of a penalty do not apply: NaN, not 0
    assert fits[["n_zero_certified", "duality_gap", "n_zero_optimum"]].isna().all().all()


def test_forward_stepwise_rows_equal_naive_refits(compose_cfg, diabetes_jobs):
    X, y, prep = prepared(compose_cfg)
    fits, coefs = (
        diabetes_jobs["forward_stepwise"]["fits"],
        diabetes_jobs["forward_stepwise"]["coefs"],
    )
    p = X.shape[1]
    chosen: list[int] = []
    W = coef_matrix(coefs, p)
    for k in range(1, p + 1):  # add the feature whose refit lowers the RSS most
        j = min((j for j in range(p) if j not in chosen), key=lambda j: rss_of(X, y, [*chosen, j]))
        chosen.append(j)
        assert_array_equal(np.flatnonzero(W[k]), sorted(chosen))
        ref = np.linalg.lstsq(X[:, chosen], y, rcond=None)[0]
        assert_allclose(W[k, chosen], ref, rtol=1e-9, atol=1e-9)
    assert list(fits["optimality"]) == ["proven"] + ["heuristic"] * p
    test_pred = prep.X_test @ W[3] + prep.y_offset
    assert fits["test_mse"].iloc[3] == pytest.approx(np.mean((prep.y_test - test_pred) ** 2))


def test_relaxed_lasso_rows_gamma_one_is_the_lasso_gamma_zero_least_squares(
    compose_cfg, diabetes_jobs
):
    X, y, _ = prepared(compose_cfg)
    p = X.shape[1]
    lasso_fits = diabetes_jobs["lasso"]["fits"]
    lasso_W = coef_matrix(diabetes_jobs["lasso"]["coefs"], p)
    fits, coefs = diabetes_jobs["relaxed_lasso"]["fits"], diabetes_jobs["relaxed_lasso"]["coefs"]
    W = coef_matrix(coefs, p)
    gammas = [0.0, 0.25, 0.5, 0.75, 1.0]
    assert len(fits) == 12 * 5 and (fits["path_param"] == "alpha,gamma").all()
    assert list(fits["gamma"][:5]) == gammas and fits["k"].isna().all()
    assert_allclose(fits["alpha"].to_numpy()[::5], lasso_fits["alpha"], rtol=0)
    for i, g in enumerate(gammas):
        rows = slice(i, None, 5)
        assert_array_equal(fits["n_zero"].to_numpy()[rows], lasso_fits["n_zero"])
        # the zeros are the lasso's, and so are their certificates
        for column in ("n_zero_certified", "n_zero_boundary", "duality_gap", "objective"):
            assert_allclose(fits[column].to_numpy()[rows], lasso_fits[column], rtol=1e-12)
        if g == 1.0:
            assert_allclose(W[rows], lasso_W, atol=1e-12)
            assert_allclose(fits["test_mse"].to_numpy()[rows], lasso_fits["test_mse"], rtol=1e-12)
        if g == 0.0:
            for w, lw in zip(W[rows], lasso_W, strict=True):
                S = np.flatnonzero(lw)
                ls = np.linalg.lstsq(X[:, S], y, rcond=None)[0] if S.size else []
                assert_allclose(w[S], ls, rtol=1e-9, atol=1e-9)
                assert np.all(w[lw == 0.0] == 0.0)


def test_adaptive_lasso_rows_equal_scikit_learn_on_rescaled_columns(compose_cfg, diabetes_jobs):
    X, y, _ = prepared(compose_cfg)
    p = X.shape[1]
    fits, coefs = diabetes_jobs["adaptive_lasso"]["fits"], diabetes_jobs["adaptive_lasso"]["coefs"]
    W = coef_matrix(coefs, p)
    scale = np.abs(np.linalg.lstsq(X, y, rcond=None)[0])  # nu = 1, init = ols
    for alpha, w in zip(fits["alpha"], W, strict=True):
        ref = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=1_000_000)
        ref.fit(X * scale, y)
        assert_allclose(w, ref.coef_ * scale, atol=1e-6 * np.abs(w).max())
        assert_array_equal(w == 0.0, np.abs(ref.coef_) < 1e-10)
    # every zero proven on the rescaled lasso, the gap is the exact solver's
    assert (fits["status"] == "ok").all()
    assert (fits["n_zero_certified"] + fits["n_zero_boundary"] == fits["n_zero"]).all()
    assert (fits["duality_gap"] <= 1e-10 * fits["objective"]).all()
    assert (fits["optimality"] == "").all() and (fits["path_param"] == "alpha").all()


def test_best_subset_beyond_max_exact_features_is_heuristic(compose_cfg):
    cfg = compose_cfg(["dataset=diabetes", "model=best_subset", "model.max_exact_features=8"])
    fits = run_path_job(cfg, "best_subset")["fits"]
    assert list(fits["optimality"]) == ["proven"] + ["heuristic"] * 9 + ["proven"]
    assert fits["message"].str.contains("max_exact_features=8").all()


def test_one_table_one_summary_for_every_method(diabetes_jobs):
    fits = pd.concat([t["fits"] for t in diabetes_jobs.values()], ignore_index=True)
    assert list(fits.columns) == list(schema.FITS.names)
    assert not fits.duplicated(list(schema.FIT_KEY)).any()
    text = summary_text({"fits": fits})
    assert "relaxed_lasso" in text and "adaptive_lasso" in text
    sizes = text.split("paths over k")[1]
    assert "best_subset 10  11/11" in sizes and "forward_stepwise 10   1/11" in sizes
    summary = diabetes_jobs["relaxed_lasso"].get("summary")
    assert summary is None  # no summary_ratios in an ad-hoc job


def test_old_run_dirs_without_the_path_columns_still_read(tmp_path, diabetes_jobs):
    fits, coefs = diabetes_jobs["lasso"]["fits"], diabetes_jobs["lasso"]["coefs"]
    new = ["path_param", "k", "gamma", "optimality"]
    fits.drop(columns=new).to_parquet(tmp_path / "fits.parquet")
    coefs.drop(columns=new[:3]).to_parquet(tmp_path / "coefs.parquet")
    back = results.read_fits(tmp_path)
    assert list(back.columns) == list(fits.columns)
    pd.testing.assert_frame_equal(back, fits, check_dtype=False)
    pd.testing.assert_frame_equal(results.read_coefs(tmp_path), coefs, check_dtype=False)


@pytest.mark.slow  # a whole run with figures: 20 to 30 s
def test_run_of_every_method_writes_one_table_and_figures(tmp_path):
    proc = run_cli(
        ["run", "-m", "dataset=diabetes", "grid.num=8",
         "model=best_subset,forward_stepwise,relaxed_lasso,adaptive_lasso,lasso"],
        cwd=tmp_path, env={"SPARSITY_LAB_REPORT": "1"},
    )  # fmt: skip
    run = tmp_path / results_line(proc.stdout)
    fits = results.read_fits(run)
    assert set(fits["path_param"]) == {"alpha", "k", "alpha,gamma"}
    assert "paths over k" in proc.stdout
    figures = {f.name for f in (run / "figures").glob("*.png")}
    assert {"coef_paths_over_k_diabetes.png", "test_error_vs_nonzero_count.png"} <= figures


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["model=best_subset", "model.k=-1"], "model.k=-1: allowed values are"),
        (["model=best_subset", "model.time_limit=-2"], "model.time_limit=-2"),
        (["model=forward_stepwise", "model.k=1.5"], "model.k=1.5"),
        (["model=adaptive_lasso", "model.nu=-1"], "model.nu=-1"),
        (["model=relaxed_lasso", "model.path_gammas=[0.5,2]"], "model.path_gammas=[0.5, 2]"),
        (["model=relaxed_lasso", "model.gamma=1.5"], "model.gamma=1.5"),
    ],
)
def test_bad_parameters_stop_before_launch_with_one_line(compose_cfg, overrides, words):
    from sparsity_lab.errors import ConfigError
    from sparsity_lab.sweep import _check_model

    with pytest.raises(ConfigError) as info:
        _check_model(compose_cfg(overrides))
    assert words in str(info.value) and "\n" not in str(info.value)


def test_bad_relaxation_list_exits_2(tmp_path):
    proc = run_cli(
        ["run", "model=relaxed_lasso", "model.path_gammas=[0.5,2]"], cwd=tmp_path, check=False
    )
    assert proc.returncode == 2
    assert "model.path_gammas" in proc.stderr and "[0, 1]" in proc.stderr


# ------------------------------------------------------------------ the beyond_lasso study
def test_matched_rows_pick_the_first_fit_with_exactly_m_nonzeros():
    from sparsity_lab.studies.beyond_lasso import matched_rows, relative_errors

    base = {"study": "beyond_lasso", "dataset": "d", "variant": "", "seed": 0, "n_features": 6,
            "status": "ok", "support_precision": np.nan, "support_recall": np.nan,
            "support_f1": np.nan, "n_zero_boundary": 0.0}  # fmt: skip
    rows = []
    # lasso: nonzeros 0, 1, 1, 3 along alpha / alpha_max = 1, .5, .25, .1 (no 2)
    for ratio, nnz, mse in ((1.0, 0, 9.0), (0.5, 1, 5.0), (0.25, 1, 4.0), (0.1, 3, 2.0)):
        rows.append(base | {"model": "lasso", "alpha_ratio": ratio, "k": np.nan, "gamma": np.nan,
                            "n_nonzero": nnz, "n_zero": 6 - nnz, "n_zero_certified": 6.0 - nnz,
                            "optimality": "", "test_mse": mse})  # fmt: skip
    # relaxed lasso at gamma 0 and 1 on the same alphas; best subset over k (k = 1 heuristic)
    for ratio, nnz, mse in ((1.0, 0, 9.0), (0.5, 1, 3.0), (0.1, 3, 1.0)):
        for g in (0.0, 1.0):
            rows.append(base | {"model": "relaxed_lasso", "alpha_ratio": ratio, "k": np.nan,
                                "gamma": g, "n_nonzero": nnz, "n_zero": 6 - nnz,
                                "n_zero_certified": 6.0 - nnz, "optimality": "",
                                "test_mse": mse if g == 0 else mse * 2})  # fmt: skip
    for k, proof in ((0, "proven"), (1, "heuristic"), (2, "proven"), (3, "proven")):
        rows.append(base | {"model": "best_subset", "alpha_ratio": np.nan, "k": float(k),
                            "gamma": np.nan, "n_nonzero": k, "n_zero": 6 - k,
                            "n_zero_certified": np.nan, "optimality": proof,
                            "test_mse": 10.0 - k})  # fmt: skip
    fits = pd.DataFrame(rows)
    matched = matched_rows(fits, [1, 2, 3])
    lasso = matched[matched["model"] == "lasso"]
    assert list(lasso["m"]) == [1, 3] and list(lasso["alpha_ratio"]) == [0.5, 0.1]
    assert list(lasso["test_mse"]) == [5.0, 2.0]  # the largest alpha, not the best error
    subset = matched[matched["model"] == "best_subset"].set_index("m")
    assert list(subset.index) == [1, 2, 3]
    # proven zeros: none of a heuristic row, every zero of a proven one
    assert list(subset["n_zero_proven"]) == [0.0, 4.0, 3.0]
    assert list(matched.loc[matched["model"] == "lasso", "n_zero_proven"]) == [5.0, 3.0]
    rel = relative_errors(matched).set_index(["method", "m"])["mse_vs_lasso"]
    assert rel[("relaxed_lasso [gamma=0]", 1)] == pytest.approx(3.0 / 5.0)
    assert rel[("best_subset", 3)] == pytest.approx(7.0 / 2.0)
    assert np.isnan(rel[("best_subset", 2)])  # the lasso has no fit with 2 nonzeros
    assert not any("gamma=1" in m for m, _ in rel.index)  # that is the lasso itself


def test_beyond_lasso_sizes_are_checked(compose_cfg):
    from sparsity_lab.errors import ConfigError
    from sparsity_lab.studies import get

    study = get("beyond_lasso")
    study.check(compose_cfg(["experiment=beyond_lasso"]))
    with pytest.raises(ConfigError, match=r"beyond_lasso.sizes=\[0\]"):
        study.check(compose_cfg(["experiment=beyond_lasso", "beyond_lasso.sizes=[0]"]))


def test_nonzero_figures_draw_paths_over_k_beside_the_alpha_grid():
    from sparsity_lab.figures import make as make_module
    from sparsity_lab.figures.sweeps import plot_support_f1_vs_nonzeros
    from test_figures import make_tables

    fits, _ = make_tables()
    lasso = fits[(fits["model"] == "lasso") & (fits["seed"] == 0)]
    lasso = lasso.drop_duplicates(["dataset", "n_nonzero"])  # one row per size, as a k path
    sized = lasso.assign(model="best_subset", alpha=np.nan, alpha_ratio=np.nan, path_param="k",
                         k=lasso["n_nonzero"].astype(float), support_f1=0.5)  # fmt: skip
    both = pd.concat([fits, sized], ignore_index=True)
    stems = [stem for stem, *_ in make_module._figures(both, None, {}, {})]
    assert "support_f1_vs_nonzero_count" in stems
    assert "support_f1_vs_nonzero_count" not in [
        s for s, *_ in make_module._figures(fits, None, {}, {})
    ]
    fig = plot_support_f1_vs_nonzeros(both)
    ax = fig.axes[0]  # diabetes has no truth: the synthetic panel only
    line = next(l for l in ax.get_lines() if l.get_label() == "best_subset")
    synthetic = sized[sized["dataset"] == "synthetic"].sort_values("k")
    assert list(line.get_xdata()) == list(synthetic["n_nonzero"])
    assert list(line.get_ydata()) == [0.5] * len(synthetic)
