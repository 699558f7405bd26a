"""`sparsity-lab compare`: alignment, seed summaries, --check, formats and errors."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sparsity_lab import compare
from sparsity_lab.results import FITS_COLUMNS, TIMING_COLUMNS, write_table

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
                            "study": "test", "dataset": dataset, "model": model, "variant": "",
                            "alpha": ratio * 3.0, "alpha_ratio": ratio, "seed": seed,
                            "n_samples": 100, "n_features": n_features, "n_zero": n_zero,
                            "n_zero_certified": n_zero, "n_zero_boundary": 0,
                            "n_zero_optimum": n_zero, "n_false_zero": 0, "n_missed_zero": 0,
                            "zero_set_is_optimum": True,
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
    # only what differs follows the verdict: the rows on one side only, one line per side
    assert f"fits: {n_changed} row(s) only A" in out and f"fits: {n_changed} row(s) only B" in out
    assert "test_mse" not in out  # the shared rows agree
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
    differences = compare.check_tables(a, b)
    assert len(differences) == 1
    row = differences.iloc[0]
    assert row["column"] == "n_zero" and row["B"] - row["A"] == 1
    assert "dataset=diabetes model=lasso" in row["key"] and row["key"].endswith("seed=1")


def test_tolerances_counts_exact_floats_within_rtol_nan_equal():
    a = make_fits(seeds=(0,))
    b = a.copy()
    b["test_mse"] *= 1 + 1e-9  # within the default rtol
    b["support_precision"] = a["support_precision"]  # NaN on diabetes on both sides
    assert compare.check_tables(a, b).empty
    assert len(compare.check_tables(a, b, rtol=1e-12, atol=0)) == len(a)
    b.loc[0, "support_precision"] = np.nan  # number vs NaN differs
    assert list(compare.check_tables(a, b)["column"]) == ["support_precision"]
    b = a.copy()
    b.loc[0, "n_zero"] += 1  # a count differs whatever the tolerance
    assert list(compare.check_tables(a, b, rtol=1.0, atol=1.0)["column"]) == ["n_zero"]


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
        "check: OK (every column but the timings; counts, integers and strings exact, other "
        "numbers within rtol=1e-06, atol=1e-12)"
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


# ---------------------------------------------------------------------------- model variants
def test_a_sweep_over_a_model_parameter_gives_distinct_keys_that_compare_keeps_apart(
    tmp_path, monkeypatch, capsys
):
    from sparsity_lab import cli
    from sparsity_lab.results import FIT_KEY

    monkeypatch.chdir(tmp_path)
    args = ["-m", "model.tol=1e-4,1e-6", "dataset=diabetes", "grid.num=3", "run_id=tol"]
    assert cli.main(["run", *args]) == 0
    run_dir = tmp_path / "results" / "adhoc" / "tol"
    fits = pd.read_parquet(run_dir / "fits.parquet")
    assert sorted(fits["variant"].unique()) == ["", "tol=0.0001"]  # lasso.yaml has tol 1e-6
    assert len(fits) == 6 and not fits.duplicated(list(FIT_KEY)).any()
    assert fits.duplicated(["dataset", "model", "alpha", "seed"]).sum() == 3  # the old key
    coefs = pd.read_parquet(run_dir / "coefs.parquet")
    assert set(coefs["variant"]) == set(fits["variant"])
    capsys.readouterr()
    code, out, err = run_cli([run_dir, run_dir, "--check", "--format", "csv"], capsys)
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert len(table) == 6 and sorted(set(table["variant"])) == ["", "tol=0.0001"]


def test_model_variant_names_the_parameters_that_differ_from_the_config_file(compose_cfg):
    from sparsity_lab.runner import model_variant

    assert model_variant(compose_cfg(["model=lasso"]).model, "lasso") == ""
    cfg = compose_cfg(["model=sgd_prox", "model.eta0=0.05", "model.batch_size=full"])
    assert model_variant(cfg.model, "sgd_prox") == "batch_size=full,eta0=0.05"
    assert model_variant(compose_cfg(["model.tol=1e-6"]).model, "lasso") == ""  # the default
    assert model_variant(compose_cfg(["model.tol=1e-7"]).model, "lasso") == "tol=1e-07"
    assert model_variant(cfg.model, "not_a_config_file") == ""


def test_tables_without_variant_still_compare(tmp_path, capsys):
    new = make_fits()
    old = new.drop(columns="variant")  # a run written before the column existed
    a = write_table(old, tmp_path / "old" / "fits.parquet")
    b = write_table(new, tmp_path / "new" / "fits.parquet")
    code, out, err = run_cli([a, b, "--check"], capsys)
    assert code == 0 and "check: OK" in out, err
    csv = tmp_path / "old.csv"
    new.to_csv(csv, index=False)  # "" reads back as NaN from CSV
    code, out, err = run_cli([csv, b, "--check"], capsys)
    assert code == 0 and "check: OK" in out, err


# ---------------------------------------------------------------------------- --check, a real run
#: A small real run with three tables: fits, coefs and a study's summary.
REAL_RUN = [
    "run", "-m", "model=lasso,ridge", "dataset.n_samples=60", "dataset.n_features=5",
    "dataset.n_informative=2", "grid.num=2", "grid.min_ratio=0.1", "+summary_ratios=[1.0,0.1]",
    "run_id=base",
]  # fmt: skip
REAL_KEYS = {"fits": compare.DEFAULT_KEYS, "summary": compare.DEFAULT_KEYS}
REAL_KEYS["coefs"] = (*compare.DEFAULT_KEYS, "feature")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    from conftest import results_line
    from conftest import run_cli as run_command

    cwd = tmp_path_factory.mktemp("real")
    return cwd / results_line(run_command(REAL_RUN, cwd=cwd).stdout)


def _copy_tables(run_dir, dest):
    dest.mkdir()
    for table in run_dir.glob("*.parquet"):
        (dest / table.name).write_bytes(table.read_bytes())
    return dest


def _mutate(values: pd.Series) -> pd.Series:
    """Every value changed, whatever the column's type."""
    if pd.api.types.is_bool_dtype(values):  # a missing boolean (<NA>) becomes True
        return (~values).fillna(True)
    if pd.api.types.is_integer_dtype(values):
        return values + 1
    if pd.api.types.is_float_dtype(values):
        return values.fillna(1.0) * 3 + 1
    return values.astype(str) + "x"


def _real_columns():
    from sparsity_lab.results import COEFS_COLUMNS
    from sparsity_lab.runner import SUMMARY_COLUMNS

    columns = {"fits": FITS_COLUMNS, "coefs": COEFS_COLUMNS, "summary": SUMMARY_COLUMNS}
    return [
        (table, column)
        for table, names in columns.items()
        for column in names
        if column not in REAL_KEYS[table] and column not in TIMING_COLUMNS
    ]


def test_check_passes_a_copy_of_a_real_run_and_ignores_timings(real_run, tmp_path, capsys):
    copy = _copy_tables(real_run, tmp_path / "b")
    fits = pd.read_parquet(copy / "fits.parquet")
    assert len(fits) == 4 and {"fits", "coefs", "summary"} <= set(compare.run_tables(copy))
    fits["fit_seconds"] *= 10
    write_table(fits, copy / "fits.parquet")
    code, out, _ = run_cli([real_run, copy, "--check"], capsys)
    assert code == 0, out
    assert "check: OK" in out


@pytest.mark.parametrize(
    ("table", "column"), _real_columns(), ids=[".".join(c) for c in _real_columns()]
)
def test_check_fails_on_each_mutated_column(real_run, tmp_path, capsys, table, column):
    copy = _copy_tables(real_run, tmp_path / "b")
    frame = pd.read_parquet(copy / f"{table}.parquet")
    frame[column] = _mutate(frame[column])
    write_table(frame, copy / f"{table}.parquet")
    code, out, _ = run_cli([real_run, copy, "--check"], capsys)
    assert code == 1, out
    assert f"{table}.{column}: {len(frame)} row(s) differ" in out


def test_check_leaves_out_the_ignored_columns(real_run, tmp_path, capsys):
    copy = _copy_tables(real_run, tmp_path / "b")
    fits = pd.read_parquet(copy / "fits.parquet")
    for column in ("status", "objective", "n_iter", "converged"):
        fits[column] = _mutate(fits[column])
    write_table(fits, copy / "fits.parquet")
    code, out, _ = run_cli([real_run, copy, "--check", "--ignore", "status,objective"], capsys)
    assert code == 1
    assert "fits.n_iter" in out and "fits.converged" in out and "fits.status" not in out
    ignored = "status,objective,n_iter,converged"
    code, out, _ = run_cli([real_run, copy, "--check", "--ignore", ignored], capsys)
    assert code == 0, out


def test_check_fails_on_a_changed_key_and_a_missing_table(real_run, tmp_path, capsys):
    copy = _copy_tables(real_run, tmp_path / "b")
    coefs = pd.read_parquet(copy / "coefs.parquet")
    coefs["feature"] = coefs["feature"] + "x"
    write_table(coefs, copy / "coefs.parquet")
    (copy / "summary.parquet").unlink()
    code, out, _ = run_cli([real_run, copy, "--check"], capsys)
    assert code == 1
    assert f"coefs: {len(coefs)} row(s) only A" in out
    assert "summary: table only A" in out


def test_check_with_no_shared_rows_is_a_failed_check(tmp_path, capsys):
    a = make_fits(datasets=("synthetic",))
    b = make_fits(datasets=("diabetes",))
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    code, out, err = run_cli([pa, pb, "--check"], capsys)
    assert (code, err) == (1, "")
    assert "share no rows" in out and f"fits: {len(a)} row(s) only A" in out
    code, _, err = run_cli([pa, pa, "--check", "--ignore", "nope"], capsys)
    assert code == 2
    assert "--ignore: nope not a column" in _one_error_line(err)


def test_table_fits_the_terminal_width(fits_file, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    code, out, _ = run_cli([fits_file, fits_file, "--per-seed"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(map(len, lines)) <= 90
    headers = [line for line in lines if line.startswith("dataset")]
    assert len(headers) >= 2  # cut into column blocks, each led by the keys
    keys = ["dataset", "model", "variant", "alpha_ratio", "seed"]
    assert all(h.split()[:5] == keys for h in headers)
    assert any("test_mse diff" in h for h in headers)
