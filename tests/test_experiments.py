"""The catalog: each study reproduces from its command and matches its frozen summary.

Every row of the seed_toy, lars_diabetes, esl_prostate and phase_transition summaries is also
checked against an independent reference: exact rational arithmetic rounded as IEEE 754 does
(seed_toy), the paper's order, scikit-learn's exact LARS-lasso homotopy and scikit-learn's
feature names (lars_diabetes), the published ESL Table 3.3 (esl_prostate: the frozen file is the
book's table), integer rounding and Donoho-Maleki-Montanari's formula maximised by brute force
(phase_transition). l1_vs_l2 and sgd_exact_zeros: see their READMEs for which rows are checked.
"""

import re
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import lars_path

from conftest import REPO, results_line, run_cli
from sparsity_lab.compare import compared_metrics
from sparsity_lab.datasets import load_diabetes, prepare

EXPERIMENTS = REPO / "experiments"
STUDIES = ("seed_toy", "l1_vs_l2", "sgd_exact_zeros", "lars_diabetes", "esl_prostate",
           "solver_zeros", "best_subset_vs_lasso", "beyond_lasso")  # fmt: skip


def run_study(tmp_path, study, *overrides):
    proc = run_cli(["run", f"experiment={study}", *overrides], cwd=tmp_path)
    return tmp_path / results_line(proc.stdout)


def check(tmp_path, expected, run_dir, *args):
    proc = run_cli(["compare", str(expected), str(run_dir), *args, "--check"], tmp_path, False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check: OK" in proc.stdout


# ---------------------------------------------------------------------------- the index
@pytest.mark.parametrize("study", [*STUDIES, "phase_transition"])
def test_index_lists_every_study_with_its_command(study):
    index = (EXPERIMENTS / "README.md").read_text()
    assert f"[{study}]({study}/)" in index


@pytest.mark.parametrize("study", STUDIES)
def test_each_study_has_a_readme_config_and_frozen_summary(study):
    readme = (EXPERIMENTS / study / "README.md").read_text()
    assert f"sparsity-lab run experiment={study}" in readme
    assert "sparsity-lab compare" in readme and "--check" in readme
    assert (REPO / "configs" / "experiment" / f"{study}.yaml").is_file()
    assert list((EXPERIMENTS / study).glob("expected_*.csv"))
    for figure in re.findall(r"\(([\w.]+\.png)\)", readme):
        path = EXPERIMENTS / study / figure
        assert path.is_file() and path.stat().st_size < 150_000, figure


# ---------------------------------------------------------------------------- seed_toy
#: (significand bits, smallest normal exponent) of the IEEE 754 binary formats
IEEE = {"float64": (53, -1022), "float32": (24, -126)}


def _ieee_round(x: Fraction, dtype: str) -> Fraction:
    """``x`` rounded to the nearest ``dtype`` number, ties to even (no overflow here)."""
    if x == 0:
        return Fraction(0)
    bits, emin = IEEE[dtype]
    sign, x = (1, x) if x > 0 else (-1, -x)
    e = x.numerator.bit_length() - x.denominator.bit_length()  # 2^e <= x < 2^(e+2)
    if Fraction(2) ** e > x:
        e -= 1
    quantum = Fraction(2) ** (max(e, emin) - (bits - 1))  # subnormals share the last quantum
    return sign * round(x / quantum) * quantum  # Fraction.__round__ rounds half to even


def _ieee_first_zero(rule: str, dtype: str, w0=5, eta=Fraction(1, 2), n_steps=1100):
    """(first step at exactly 0 or -1, last iterate): every operation in exact rational
    arithmetic, rounded as the dtype does; independent of numpy and of the machine."""
    w, first = Fraction(w0), -1
    for step in range(1, n_steps + 1):
        if rule == "l1":
            sign = (w > 0) - (w < 0)
            w = _ieee_round(w - _ieee_round(eta * sign, dtype), dtype)
        elif rule == "l2":
            w = _ieee_round(w - _ieee_round(eta * w, dtype), dtype)
        else:  # l2_factored: w * (1 - eta)
            w = _ieee_round(w * _ieee_round(1 - eta, dtype), dtype)
        if w == 0 and first < 0:
            first = step
    return first, float(w)


def test_seed_toy_every_frozen_row_is_ieee_arithmetic():
    frozen = pd.read_csv(EXPERIMENTS / "seed_toy" / "expected_first_zero.csv")
    assert len(frozen) == 6
    for row in frozen.itertuples():
        assert (row.first_zero_step, row.final_w) == _ieee_first_zero(row.rule, row.dtype), row
    # the arithmetic behind them: 5 - 10 * 1/2 = 0; the smallest subnormals stick under w - w/2
    assert _ieee_first_zero("l2", "float64")[1] == np.nextafter(0.0, 1.0)
    assert _ieee_first_zero("l2", "float32")[1] == np.nextafter(np.float32(0), np.float32(1))


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_seed_toy_first_zeros(tmp_path):
    expected = EXPERIMENTS / "seed_toy" / "expected_first_zero.csv"
    run_dir = run_study(tmp_path, "seed_toy")
    check(tmp_path, expected, run_dir, "--table", "first_zero", "--on", "dtype,rule",
          "--metrics", "first_zero_step,final_w")  # fmt: skip


# ---------------------------------------------------------------------------- lars_diabetes
@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_lars_diabetes_entry_order_matches_the_paper_and_lars(tmp_path):
    expected = EXPERIMENTS / "lars_diabetes" / "expected_entry_order.csv"
    frozen = pd.read_csv(expected).sort_values("entry_rank")
    # the paper's order (Efron et al. 2004): 3, 9, 4, 7, 2, 10, 5, 8, 6, 1
    assert frozen["feature_index"].tolist() == [3, 9, 4, 7, 2, 10, 5, 8, 6, 1]
    assert sorted(frozen["entry_rank"]) == list(range(1, 11))  # no ties
    # each feature's name is scikit-learn's name of that column
    names = load_diabetes().feature_names
    assert [names[i - 1] for i in frozen["feature_index"]] == frozen["feature"].tolist()
    # independent solver: scikit-learn's exact LARS-lasso homotopy on the same standardisation
    prep = prepare(load_diabetes(), test_size=0.0)
    _, _, coefs = lars_path(prep.X_train, prep.y_train, method="lasso")
    first = [int(np.flatnonzero(row)[0]) for row in coefs != 0]
    assert (np.argsort(first) + 1).tolist() == frozen["feature_index"].tolist()
    run_dir = run_study(tmp_path, "lars_diabetes")
    check(tmp_path, expected, run_dir, "--table", "entry_order", "--on", "dataset,feature",
          "--metrics", "entry_rank")  # fmt: skip
    order = pd.read_parquet(run_dir / "entry_order.parquet").set_index("feature")
    assert order.loc["s3", "n_exits"] == 1  # hdl leaves the lasso path once (LARS drops it too)


# ---------------------------------------------------------------------------- esl_prostate
@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_esl_prostate_table_3_3(tmp_path):
    expected = EXPERIMENTS / "esl_prostate" / "expected_table_3_3.csv"
    run_dir = run_study(tmp_path, "esl_prostate")
    args = ["--table", "esl_table_3_3", "--on", "method,term", "--metrics", "value", "--rtol", "0"]
    # the least-squares column to its three printed decimals: the data, split and scaling
    frozen = pd.read_csv(expected)
    ours = pd.read_parquet(run_dir / "esl_table_3_3.parquet")
    ls_a, ls_b = tmp_path / "ls_book.csv", tmp_path / "ls_ours.csv"
    frozen[frozen["method"] == "ls"].to_csv(ls_a, index=False)
    ours[ours["method"] == "ls"].to_csv(ls_b, index=False)
    check(tmp_path, ls_a, ls_b, *args, "--atol", "0.0006")
    # the whole table, lasso included, within 0.015 (the README says where it differs)
    check(tmp_path, expected, run_dir, *args, "--atol", "0.015")
    lasso = ours[ours["method"] == "lasso"].set_index("term")["value"]
    assert (lasso[["age", "lcp", "gleason"]] == 0.0).all()  # zeros in the book's row too
    cv = pd.read_parquet(run_dir / "esl_lasso_cv.parquet")
    assert set(cv["method"]) == {"lasso_cv_min", "lasso_cv_1se"}


# ---------------------------------------------------------------------------- phase_transition
def _dmm_rho(delta: float) -> float:
    """Donoho, Maleki & Montanari (2009, PNAS, eq. 5), maximised by brute force over z:
    another derivation and another numerical route than the suite's rho_dt."""
    from scipy import stats

    z = np.linspace(1e-6, 12, 400_001)
    m = (1 + z**2) * stats.norm.cdf(-z) - z * stats.norm.pdf(z)
    return float(np.max((1 - 2 / delta * m) / (1 + z**2 - 2 * m)))


def test_phase_transition_every_frozen_row_against_integer_rounding_and_the_dmm_curve():
    frozen = pd.read_csv(EXPERIMENTS / "phase_transition" / "expected_summary.csv")
    for row in frozen.itertuples():
        n = round(row.delta_target * row.p)  # the cell's size, from the grid alone
        assert (row.n, row.k) == (n, round(row.rho_target * n)), row
        assert abs(row.rho - row.k / row.n) < 5e-7  # stored to 6 decimals
        curve = _dmm_rho(row.n / row.p)
        assert abs(row.rho_theory - curve) < 5e-6, row
        # the cells sit far from the curve (|rho - rho_DT| > 0.15): theory says all succeed
        # below it and all fail above it, which the frozen rate must say within its atol
        assert abs(row.rho - curve) > 0.15, row
        assert abs(row.success_rate - float(row.rho < curve)) <= row.atol, row


# ---------------------------------------------------------------------------- sgd_exact_zeros
@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_sgd_exact_zeros_summary(tmp_path):
    expected = EXPERIMENTS / "sgd_exact_zeros" / "expected_summary.csv"
    frozen = pd.read_csv(expected)
    # the seed note's claims, independent of any run: the subgradient and L2 rules never
    # give an exact zero
    assert (frozen.loc[frozen["model"].isin(["sgd_subgradient", "sgd_l2"]), "n_zero"] == 0).all()
    # each SGD row is compared with the Lasso optimum at its alpha (tests/test_frozen_optima.py
    # checks the lasso rows against LARS): the optimum's zeros are the lasso row's
    lasso = frozen[frozen["model"] == "lasso"].set_index("alpha_ratio")["n_zero"]
    l1_rows = frozen[frozen["model"] != "sgd_l2"]
    assert (l1_rows["n_zero_optimum"].to_numpy() == lasso[l1_rows["alpha_ratio"]].to_numpy()).all()
    assert frozen.loc[frozen["model"] == "sgd_l2", "n_zero_optimum"].isna().all()
    run_dir = run_study(tmp_path, "sgd_exact_zeros")
    check(tmp_path, expected, run_dir, "--table", "summary", "--metrics", OPTIMUM_METRICS)


# ---------------------------------------------------------------------------- l1_vs_l2
SMALL_DATASETS = ("synthetic", "orthogonal", "diabetes", "prostate")


def _alpha_max_ratio_counts(X, y, ratios):
    """Exact Lasso zero counts at alpha = ratio * alpha_max from the LARS-lasso knots."""
    alphas, _, coefs = lars_path(X, y, method="lasso")
    counts = []
    for r in ratios:
        a = r * alphas[0]
        k = np.searchsorted(-alphas, -a)  # knots decrease; the path is linear between them
        if k == 0:
            w = coefs[:, 0]
        else:
            t = (alphas[k - 1] - a) / (alphas[k - 1] - alphas[k])
            w = coefs[:, k - 1] + t * (coefs[:, k] - coefs[:, k - 1])
        counts.append(int(np.sum(np.abs(w) < 1e-12)))
    return counts


def test_l1_vs_l2_frozen_counts_match_independent_references():
    frozen = pd.read_csv(EXPERIMENTS / "l1_vs_l2" / "expected_summary.csv")
    assert (frozen.loc[frozen["model"] == "ridge", "n_zero"] == 0).all()
    lasso = frozen[(frozen["model"] == "lasso") & (frozen["dataset"] == "diabetes")]
    lasso = lasso.sort_values("alpha_ratio", ascending=False)
    prep = prepare(load_diabetes(), test_size=0.25, seed=0)
    ratios = lasso["alpha_ratio"].tolist()
    assert lasso["n_zero"].tolist() == _alpha_max_ratio_counts(prep.X_train, prep.y_train, ratios)


# ---------------------------------------------------------------------------- beyond_lasso
def test_beyond_lasso_frozen_rows_match_enumeration_and_the_lars_path():
    """Diabetes rows of the frozen table against references computed here: best subset by
    enumerating all 1024 subsets (its test error at each m), the Lasso's m-nonzero fit by the
    LARS-lasso path (m nonzeros at the frozen alpha, another count one grid point above), and
    the relaxed lasso at gamma = 0 as least squares on that support."""
    import itertools

    frozen = pd.read_csv(EXPERIMENTS / "beyond_lasso" / "expected_matched.csv")
    rows = frozen[frozen["dataset"] == "diabetes"]
    prep = prepare(load_diabetes(), test_size=0.25, seed=0)
    X, y = prep.X_train - prep.X_train.mean(0), prep.y_train - prep.y_train.mean()

    def test_mse(S):
        w = np.zeros(X.shape[1])
        if len(S):
            w[list(S)] = np.linalg.lstsq(X[:, list(S)], y, rcond=None)[0]
        return float(np.mean((prep.y_test - prep.X_test @ w - prep.y_offset) ** 2))

    def rss(S):
        S = list(S)
        return float(y @ y) if not S else float(np.linalg.lstsq(X[:, S], y, rcond=None)[1][0])

    subset = rows[rows["model"] == "best_subset"]
    assert (subset["optimality"] == "proven").all() and len(subset) == 4  # m = 1, 2, 5, 10
    for m, mse in zip(subset["m"], subset["test_mse"], strict=True):
        best = min(itertools.combinations(range(10), m), key=rss)
        assert mse == pytest.approx(test_mse(best), rel=1e-9)
    knots, _, path = lars_path(X, y, method="lasso")
    grid = np.logspace(0, -3, 100)  # the study's grid (grid.num=100, min_ratio=1e-3)

    def support(ratio):
        a = ratio * knots[0]
        k = int(np.searchsorted(-knots, -a))
        t = 0.0 if k == 0 else (knots[k - 1] - a) / (knots[k - 1] - knots[k])
        w = path[:, 0] if k == 0 else path[:, k - 1] + t * (path[:, k] - path[:, k - 1])
        return np.flatnonzero(np.abs(w) > 1e-12)

    lasso = rows[rows["model"] == "lasso"]
    assert len(lasso) >= 3
    for m, ratio in zip(lasso["m"], lasso["alpha_ratio"], strict=True):
        i = int(np.argmin(np.abs(grid - ratio)))
        assert len(support(grid[i])) == m and len(support(grid[i - 1])) != m
        relaxed = rows[(rows["model"] == "relaxed_lasso") & (rows["gamma"] == 0) & (rows["m"] == m)]
        assert relaxed["test_mse"].iloc[0] == pytest.approx(test_mse(support(grid[i])), rel=1e-9)


@pytest.mark.slow  # the whole study: about 2 minutes on 2 loaded cores
def test_beyond_lasso_full(tmp_path):
    expected = EXPERIMENTS / "beyond_lasso" / "expected_matched.csv"
    check(tmp_path, expected, run_study(tmp_path, "beyond_lasso"), "--table", "matched")


#: The certificate and optimum columns of the frozen summaries (issue 11).
OPTIMUM_METRICS = "n_zero_certified,n_zero_boundary,n_zero_optimum,n_false_zero,n_missed_zero"


def test_l1_vs_l2_orthogonal_rows_are_the_soft_threshold_counts(compose_cfg):
    from sparsity_lab.runner import load_prepared

    _, prep = load_prepared(compose_cfg(["dataset=orthogonal"]))
    b = np.abs(prep.X_train.T @ prep.y_train) / prep.n_samples
    frozen = pd.read_csv(EXPERIMENTS / "l1_vs_l2" / "expected_summary.csv")
    rows = frozen[(frozen["dataset"] == "orthogonal") & (frozen["model"] == "lasso")]
    columns = ["alpha_ratio", "n_zero", "n_zero_certified", "n_zero_boundary"]
    for ratio, n_zero, certified, boundary in rows[columns].values:
        assert n_zero == np.sum(b <= ratio * b.max())
        # at alpha_max the top coordinate sits on the boundary |b_j| = alpha: a tie, not proved
        assert certified == np.sum(b < ratio * b.max() * (1 - 1e-9))
        assert boundary == np.sum(np.abs(b - ratio * b.max()) <= 1e-9 * ratio * b.max())


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_l1_vs_l2_small_scale(tmp_path):
    frozen = pd.read_csv(EXPERIMENTS / "l1_vs_l2" / "expected_summary.csv")
    subset = tmp_path / "expected_subset.csv"
    frozen[frozen["dataset"].isin(SMALL_DATASETS)].to_csv(subset, index=False)
    sweep = f"dataset={','.join(SMALL_DATASETS)}"  # the command line wins over the sweep
    run_dir = run_study(tmp_path, "l1_vs_l2", sweep, "grid.num=4")  # the decades only
    # every fit is the optimum, whatever the grid: its zeros and their certificates match (the
    # duality gap itself is rounding, and moves with the warm-start path)
    check(tmp_path, subset, run_dir, "--table", "summary", "--ignore", "duality_gap")


@pytest.mark.slow
def test_l1_vs_l2_full(tmp_path):
    expected = EXPERIMENTS / "l1_vs_l2" / "expected_summary.csv"
    run_dir = run_study(tmp_path, "l1_vs_l2")
    check(tmp_path, expected, run_dir, "--table", "summary", "--metrics", OPTIMUM_METRICS)


# ---------------------------------------------------------------------------- compare
def test_compare_needs_a_metric_on_summary_tables():
    a = pd.DataFrame({"k": [1], "v": [1.0]})
    with pytest.raises(ValueError, match="--metrics"):
        compared_metrics(a, a, [])
    assert compared_metrics(a.assign(n_zero=0), a.assign(n_zero=0), ["v"]) == ["n_zero", "v"]


# ---------------------------------------------------------------------------- quickstart
def test_quickstart_sweeps_the_seed_contrast_of_l1_gradient_rules(compose_cfg):
    params = compose_cfg(["experiment=quickstart"]).hydra.sweeper.params
    models = params.model.split(",")
    assert {"lasso", "ridge", "elasticnet", "sgd_subgradient", "sgd_rda"} == set(models)


def test_quickstart_summary_counts_false_and_missed_zeros_from_the_coefficients(compose_cfg):
    from sparsity_lab.runner import run_path_job
    from sparsity_lab.studies.quickstart import STUDY, zero_set_errors

    grid = ["experiment=quickstart", "dataset=diabetes", "grid=values", "grid.values=[0.2,0.02]"]
    tables = {
        model: run_path_job(compose_cfg([*grid, f"model={model}"]), model)
        for model in ("lasso", "sgd_subgradient", "sgd_rda")
    }
    optimum = tables["lasso"]["coefs"].set_index(["alpha", "feature"])["coef"]
    fits = pd.concat([t["fits"] for t in tables.values()], ignore_index=True)
    ratios = sorted(set(fits["alpha_ratio"]), reverse=True)  # the two grid points (absolute)
    assert len(ratios) == 2
    table = zero_set_errors(fits, ratios=ratios).set_index("model")
    assert len(table.columns) == 3  # dataset and one column per grid point
    assert set(table.index) == {"sgd_subgradient", "sgd_rda"}  # the exact route has none
    for model in ("sgd_subgradient", "sgd_rda"):
        coefs = tables[model]["coefs"].set_index(["alpha", "feature"])["coef"]
        alphas = sorted(coefs.index.levels[0])[::-1]
        for column, alpha in zip(table.columns[1:], alphas, strict=True):
            fit, opt = coefs.xs(alpha), optimum.xs(alpha)
            false = int(((fit == 0) & (opt != 0)).sum())  # from the coefficients themselves
            missed = int(((fit != 0) & (opt == 0)).sum())
            assert table.loc[model, column] == f"{false}/{missed}", (model, alpha)
    assert table.loc["sgd_subgradient"].iloc[1:].str.startswith("0/").all()  # no exact zero
    lines = STUDY.summary({"fits": fits})
    assert "false / missed" in lines[1] and "sgd_rda" in "\n".join(lines)


# ---------------------------------------------------------------------------- solver_zeros
SOLVER_ZEROS_METRICS = "n_wrong_zero_sets,n_false_zero,n_missed_zero,n_tied_alphas,n_not_ok"


def test_solver_zeros_frozen_rows_are_consistent():
    frozen = pd.read_csv(EXPERIMENTS / "solver_zeros" / "expected_summary.csv")
    # the reference is its own optimum; a path is never wrong at more alphas than it has
    assert (frozen.loc[frozen["solver"] == "exact", "n_wrong_zero_sets"] == 0).all()
    assert (frozen["n_wrong_zero_sets"] <= frozen["n_compared"]).all()
    # a wrong zero set has a false or a missed zero, and no zero set is wrong without one
    no_errors = (frozen["n_false_zero"] + frozen["n_missed_zero"]) == 0
    assert (frozen.loc[no_errors, "n_wrong_zero_sets"] == 0).all()
    assert (frozen.loc[~no_errors, "n_wrong_zero_sets"] > 0).all()
    # each solver with a tolerance runs the whole ladder on every data set
    ladders = frozen[frozen["tol"].notna()].groupby(["dataset", "solver"])["tol"].nunique()
    assert (ladders == 5).all()


@pytest.mark.slow  # a minute or more: CI runs it, with the extra that installs the peers
def test_solver_zeros_summary(tmp_path):
    pytest.importorskip("celer", reason="celer needs the extra sparsity-lab[peers]")
    pytest.importorskip("skglm", reason="skglm needs the extra sparsity-lab[peers]")
    expected = EXPERIMENTS / "solver_zeros" / "expected_summary.csv"
    run_dir = run_study(tmp_path, "solver_zeros", "report=false")
    check(tmp_path, expected, run_dir, "--table", "solver_zeros", "--on",
          "dataset,model,variant,seed", "--metrics", SOLVER_ZEROS_METRICS)  # fmt: skip
