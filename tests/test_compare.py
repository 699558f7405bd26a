"""`sparsity-lab compare`: alignment, seed summaries, --check, formats and errors."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sparsity_lab import compare
from sparsity_lab.results import FITS_COLUMNS, write_table

MODELS = ("lasso", "ridge")
RATIOS = tuple(np.logspace(-3, 0, 4))  # 1e-3 .. 1: spans decades, like a real grid


def make_fits(seeds=(0, 1), datasets=("synthetic", "diabetes"), n_features=10) -> pd.DataFrame:
    """A small fits table with every contract column, values chosen by hand."""
    rng = np.random.default_rng(0)
    rows = []
    for dataset in datasets:
        for model in MODELS:
            for i, ratio in enumerate(RATIOS):
                for seed in seeds:
                    n_zero = 0 if model == "ridge" else min(n_features, 2 * i + seed)
                    known = dataset == "synthetic"
                    rows.append(
                        {
                            "study": "test", "dataset": dataset, "model": model,
                            "alpha": ratio * 3.0, "alpha_ratio": ratio, "seed": seed,
                            "n_samples": 100, "n_features": n_features, "n_zero": n_zero,
                            "n_zero_certified": n_zero,
                            "n_nonzero": n_features - n_zero, "n_tiny": 0, "zero_tol": 1e-12,
                            "support_precision": 0.5 + 0.1 * i if known else np.nan,
                            "support_recall": 1.0 - 0.1 * i if known else np.nan,
                            "support_f1": 0.6 if known else np.nan,
                            "train_mse": 1.0 + ratio, "test_mse": 1.2 + ratio + 0.01 * seed,
                            "test_r2": 0.5, "objective": 0.7, "duality_gap": 1e-9,
                            "kkt_violation": 1e-9, "n_iter": 10, "converged": True,
                            "fit_seconds": rng.uniform(0.01, 0.02), "status": "ok", "message": "",
                        }
                    )  # fmt: skip
    df = pd.DataFrame(rows)
    assert tuple(df.columns) == FITS_COLUMNS
    return df


def run_cli(argv, capsys):
    code = compare.cli_main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fits_file(tmp_path):
    return write_table(make_fits(), tmp_path / "a" / "fits.parquet")


# ---------------------------------------------------------------------------- aligning
def test_self_compare_passes_check(fits_file, capsys):
    code, out, _ = run_cli([fits_file.parent, fits_file, "--check"], capsys)
    assert code == 0
    assert "check: OK" in out


def test_float_keys_align_after_recomputation():
    a = make_fits()
    b = a.copy()
    # The same grid computed another way differs in the last bits; it must still match.
    b["alpha_ratio"] = b["alpha_ratio"] * (1 + 4e-16)
    assert not np.array_equal(a["alpha_ratio"].to_numpy(), b["alpha_ratio"].to_numpy())
    comparison = compare.align(a, b)
    assert len(comparison.common) == len(a)
    assert comparison.only_a.empty and comparison.only_b.empty


def test_changed_seed_fails_check_and_lists_rows(tmp_path, capsys):
    a = make_fits(seeds=(0, 1))
    b = make_fits(seeds=(0, 2))
    pa = write_table(a, tmp_path / "a.parquet")
    pb = write_table(b, tmp_path / "b.parquet")
    code, out, _ = run_cli([pa, pb, "--check"], capsys)
    assert code == 1
    n_changed = 2 * len(MODELS) * len(RATIOS)  # datasets x models x ratios with seed 1 vs 2
    assert out.startswith(f"check: FAILED, {2 * n_changed} differences")
    lines = out.strip().splitlines()[3:]  # verdict, header, rule, then only differing rows
    assert len(lines) == 2 * n_changed
    assert sum("only A" in line for line in lines) == n_changed
    assert sum("only B" in line for line in lines) == n_changed
    code, out, _ = run_cli([pa, pb], capsys)
    assert code == 0  # without --check a comparison is not a failure
    assert out.splitlines()[0].startswith("verdict: different: 0 values beyond tolerance")
    assert f"rows only A ({n_changed})" in out


@pytest.mark.parametrize("seeds, warned", [((0, 1), True), ((0, 1, 2), False)])
def test_warns_when_intervals_rest_on_fewer_than_three_seeds(tmp_path, capsys, seeds, warned):
    path = write_table(make_fits(seeds=seeds), tmp_path / "a.parquet")
    code, out, err = run_cli([path, path], capsys)
    assert code == 0 and "±" in out
    assert ("fewer than 3 seeds" in err) == warned


def test_changed_count_is_listed_with_its_key():
    a = make_fits()
    b = a.copy()
    hit = (b["model"] == "lasso") & (b["dataset"] == "diabetes") & (b["seed"] == 1)
    hit &= np.isclose(b["alpha_ratio"], RATIOS[2])
    b.loc[hit, "n_zero"] += 1
    differences = compare.find_differences(compare.align(a, b))
    assert len(differences) == 1
    row = differences.iloc[0]
    assert (row["dataset"], row["model"], row["seed"], row["metric"]) == (
        "diabetes", "lasso", 1, "n_zero"
    )  # fmt: skip
    assert row["diff"] == 1


def test_tolerances_counts_exact_floats_within_rtol_nan_equal():
    a = make_fits(seeds=(0,))
    b = a.copy()
    b["test_mse"] *= 1 + 1e-9  # within the default rtol
    b["support_precision"] = a["support_precision"]  # NaN on diabetes on both sides
    comparison = compare.align(a, b, metrics=[*compare.DEFAULT_METRICS, "support_precision"])
    assert compare.find_differences(comparison).empty
    assert len(compare.find_differences(comparison, rtol=1e-12, atol=0)) == len(a)
    b.loc[0, "support_precision"] = np.nan  # number vs NaN differs
    comparison = compare.align(a, b, metrics=["support_precision"])
    assert len(compare.find_differences(comparison)) == 1


def test_rows_on_one_side_are_listed_not_dropped():
    a = make_fits(seeds=(0,))
    b = a[a["model"] != "ridge"]
    comparison = compare.align(a, b)
    assert len(comparison.only_a) == (a["model"] == "ridge").sum()
    assert comparison.only_b.empty
    text = compare.render(comparison, "table")
    assert f"rows only A ({len(comparison.only_a)})" in text
    assert text.count("ridge") == len(comparison.only_a)


# ---------------------------------------------------------------------------- seeds
def test_seed_summary_is_mean_and_t_interval():
    a = make_fits(seeds=(0, 1, 2))
    b = a.copy()
    b["test_mse"] += 0.5 * b["seed"]
    summary = compare.summarise_over_seeds(compare.align(a, b))
    assert len(summary) == 2 * len(MODELS) * len(RATIOS)
    assert (summary["n_seeds"] == 3).all()
    row = summary.iloc[0]
    group = a[(a["dataset"] == row["dataset"]) & (a["model"] == row["model"])]
    values = group[np.isclose(group["alpha_ratio"], row["alpha_ratio"])]["test_mse"].to_numpy()
    # scipy's own interval as the reference
    lo, hi = stats.t.interval(0.95, df=2, loc=values.mean(), scale=stats.sem(values))
    assert row["test_mse_A"] == pytest.approx(values.mean())
    assert row["test_mse_A_ci95"] == pytest.approx((hi - lo) / 2)
    assert row["test_mse_diff"] == pytest.approx(0.5)  # mean of 0, 0.5, 1.0
    assert math.isnan(compare.t_half_width(np.array([1.0])))


def test_single_seed_is_not_aggregated():
    comparison = compare.align(make_fits(seeds=(0,)), make_fits(seeds=(0,)))
    assert not compare.has_several_seeds(comparison)
    assert "±" not in compare.render(comparison, "table")
    assert "±" in compare.render(compare.align(make_fits(), make_fits()), "table")


# ---------------------------------------------------------------------------- formats
def test_csv_reads_back(fits_file, capsys):
    a = make_fits()
    code, out, _ = run_cli([fits_file, fits_file, "--format", "csv"], capsys)
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert len(table) == len(a) // 2  # two seeds summarised
    assert (table["present"] == "both").all()
    assert {"n_zero_A", "n_zero_B", "n_zero_diff", "test_mse_A_ci95"} <= set(table.columns)
    assert np.allclose(table["n_zero_diff"], 0)


def test_csv_per_seed_includes_one_side_rows(tmp_path, capsys):
    a = make_fits(seeds=(0, 1))
    pa = write_table(a, tmp_path / "a.parquet")
    pb = write_table(a[a["seed"] == 0], tmp_path / "b.parquet")
    code, out, err = run_cli([pa, pb, "--format", "csv", "--per-seed", "--check"], capsys)
    assert code == 1
    table = pd.read_csv(io.StringIO(out))
    assert (table["present"] == "only A").sum() == (a["seed"] == 1).sum()
    assert "FAILED" in err  # the verdict stays out of the csv


def test_markdown_and_latex(fits_file, capsys):
    code, out, _ = run_cli([fits_file, fits_file, "--format", "markdown"], capsys)
    assert code == 0
    table_lines = [line for line in out.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in table_lines}) == 1  # every row has the same cells
    assert table_lines[1].startswith("| ---")
    code, out, _ = run_cli([fits_file, fits_file, "--format", "latex"], capsys)
    assert code == 0
    assert r"\toprule" in out and r"\midrule" in out and r"\bottomrule" in out
    assert r"sgd\_" not in out and r"n\_zero A" in out and r"$\pm$" in out


def test_csv_input_and_extra_metric(tmp_path, capsys):
    a = make_fits()
    path = tmp_path / "a.csv"
    a.to_csv(path, index=False)
    code, out, _ = run_cli([path, path, "--metrics", "test_r2", "--per-seed", "--check"], capsys)
    assert code == 0
    assert out.strip().splitlines() == [  # --check prints the differing rows only: none
        "check: OK (integer counts exact, others within rtol=1e-06, atol=1e-12)"
    ]
    code, out, _ = run_cli([path, path, "--metrics", "test_r2", "--per-seed"], capsys)
    assert out.startswith("verdict: same")
    assert "test_r2 diff" in out


# ---------------------------------------------------------------------------- errors
def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_missing_path_is_one_line_exit_2(fits_file, tmp_path, capsys):
    code, _, err = run_cli([fits_file, tmp_path / "nope"], capsys)
    assert code == 2
    assert "no such file" in _one_error_line(err)


def test_not_a_results_table(tmp_path, capsys):
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    other = write_table(pd.DataFrame({"x": [1]}), tmp_path / "other.parquet")
    for path, words in ((junk, "not a readable results table"), (other, "not a fits table")):
        code, _, err = run_cli([path, path], capsys)
        assert code == 2
        assert words in _one_error_line(err)


def test_no_common_keys_and_bad_keys(tmp_path, capsys):
    a = make_fits(datasets=("synthetic",))
    b = make_fits(datasets=("diabetes",))
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    code, _, err = run_cli([pa, pb], capsys)
    assert code == 2
    assert "share no rows" in _one_error_line(err)
    code, _, err = run_cli([pa, pa, "--on", "dataset,nope"], capsys)
    assert code == 2
    assert "nope not a column of A" in _one_error_line(err)
    code, _, err = run_cli([pa, pa, "--on", "dataset,model"], capsys)
    assert code == 2
    assert "do not identify the rows of A uniquely" in _one_error_line(err)
    code, _, err = run_cli([pa, pa, "--metrics", "status"], capsys)
    assert code == 2
    assert "status is not numeric" in _one_error_line(err)


def test_table_fits_the_terminal_width(fits_file, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    code, out, _ = run_cli([fits_file, fits_file, "--per-seed"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(map(len, lines)) <= 90
    headers = [line for line in lines if line.startswith("dataset")]
    assert len(headers) >= 2  # cut into column blocks, each led by the keys
    assert all(h.split()[:4] == ["dataset", "model", "alpha_ratio", "seed"] for h in headers)
    assert any("test_mse diff" in h for h in headers)
