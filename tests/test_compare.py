"""`sparsity-lab compare`: alignment, seed summaries, --check, formats and errors."""

from __future__ import annotations

import io
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sparsity_lab import compare, schema
from sparsity_lab.results import FITS_COLUMNS, TIMING_COLUMNS, with_variant, write_table

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
                            "kkt_violation": 1e-9, "stationarity": 1e-9, "objective_convex": True,
                            "n_iter": 10, "converged": True,
                            "fit_seconds": rng.uniform(0.01, 0.02), "status": "ok", "message": "",
                        }
                    )  # fmt: skip
    df = with_variant(pd.DataFrame(rows), "fits")  # as read from a run before issue 22
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
    assert out.splitlines()[0] == (
        f"verdict: different: 0 of {n_changed} shared rows differ, "
        f"{n_changed} rows only A, {n_changed} only B"
    )
    assert f"rows only A ({n_changed})" in out


@pytest.mark.parametrize("seeds, warned", [((0, 1), True), ((0, 1, 2), False)])
def test_warns_when_intervals_rest_on_fewer_than_three_seeds(tmp_path, capsys, seeds, warned):
    path = write_table(make_fits(seeds=seeds), tmp_path / "a.parquet")
    code, out, err = run_cli([path, path, "--all"], capsys)
    assert code == 0 and "±" in out
    assert ("fewer than 3 seeds" in err) == warned
    code, out, err = run_cli([path, path], capsys)  # no interval shown: nothing to warn about
    assert code == 0 and "±" not in out and err == ""


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
    code, out, _ = run_cli([path, path, "--metrics", "test_r2", "--per-seed", "--all"], capsys)
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
    a = make_fits(seeds=(0, 1))
    b = make_fits(seeds=(2, 3))
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
# the path point's k and gamma are keys as soon as a side holds one (a mutation makes them so)
KEYS = (*compare.DEFAULT_KEYS, *schema.PATH_KEYS)
REAL_KEYS = {"fits": KEYS, "summary": KEYS, "coefs": (*KEYS, "feature")}


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
    a = make_fits(seeds=(0, 1))
    b = make_fits(seeds=(2, 3))
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    code, out, err = run_cli([pa, pb, "--check"], capsys)
    assert (code, err) == (1, "")
    assert "share no rows" in out and f"fits: {len(a)} row(s) only A" in out
    code, _, err = run_cli([pa, pa, "--check", "--ignore", "nope"], capsys)
    assert code == 2
    assert "--ignore: nope not a column" in _one_error_line(err)


def test_table_fits_the_terminal_width(fits_file, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    code, out, _ = run_cli([fits_file, fits_file, "--per-seed", "--all"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(map(len, lines)) <= 90
    headers = [line for line in lines if line.startswith("dataset")]
    assert len(headers) >= 2  # cut into column blocks, each led by the keys
    keys = ["dataset", "model", "variant", "alpha_ratio", "seed"]
    assert all(h.split()[:5] == keys for h in headers)
    assert any("test_mse diff" in h for h in headers)


# ---------------------------------------------------------------------------- bad input (#23)
def test_report_path_is_checked_before_the_comparison_is_printed(fits_file, tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    for report, words in ((folder, "is a directory"), (blocker / "x.html", "is a file")):
        code, out, err = run_cli([fits_file, fits_file, "--report", report], capsys)
        assert code == 2
        assert out == ""  # nothing printed before the bad path is refused
        assert words in _one_error_line(err)
    assert list(folder.iterdir()) == []


def test_check_with_a_table_on_one_side_only_is_a_difference(tmp_path, capsys):
    a = tmp_path / "a"
    write_table(make_fits(), a / "fits.parquet")
    b = tmp_path / "b"
    write_table(make_fits(), b / "fits.parquet")
    write_table(make_fits()[["dataset", "model"]], b / "extra.parquet")
    for argv, side in (([a, b], "only B"), ([b, a], "only A")):
        code, out, err = run_cli([*argv, "--check"], capsys)
        assert (code, err) == (1, "")
        assert out.splitlines()[1] == f"  extra: table {side}"


@pytest.mark.parametrize("option", ["--rtol", "--atol"])
@pytest.mark.parametrize("value", ["nan", "inf", "-0.001"])
def test_non_finite_or_negative_tolerance_is_refused(fits_file, capsys, option, value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "rtol is not valid" warning must not appear
        code, out, err = run_cli([fits_file, fits_file, option, value], capsys)
    assert (code, out) == (2, "")
    assert f"{option}: {float(value)} is not allowed" in _one_error_line(err)


# ---------------------------------------------------------------------------- one alignment
def _verdict_counts(out: str) -> tuple[int, int]:
    """(rows that differ, shared rows) from the verdict's first line."""
    match = re.match(r"verdict: different: (\d+) of (\d+) shared rows differ", out)
    assert match, out
    return int(match.group(1)), int(match.group(2))


def _shown_rows(out: str) -> list[list[str]]:
    """The data rows of the first block of the table headed 'rows that differ'."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rows that differ"))
    block = []
    for line in lines[start + 3 :]:  # title, header, rule
        if not line.strip():
            break
        block.append(line.split())
    return block


def _check_counts(out: str) -> dict[str, int]:
    """``--check``'s rows per differing fits column."""
    found = re.findall(r"^  fits\.(\w+): (\d+) row\(s\) differ", out, flags=re.MULTILINE)
    return {column: int(n) for column, n in found}


def _seeded_pair(seeds=(0,), seed=7):
    """A fits table and a copy with counts and errors changed on random rows."""
    rng = np.random.default_rng(seed)
    a = make_fits(seeds=seeds)
    b = a.copy()
    n_zero_rows = rng.choice(len(b), size=len(b) // 4, replace=False)
    b.loc[n_zero_rows, "n_zero"] += rng.choice([-2, -1, 1, 2], size=len(n_zero_rows))
    mse_rows = rng.choice(len(b), size=len(b) // 3, replace=False)
    b.loc[mse_rows, "test_mse"] *= 1 + rng.uniform(1e-4, 1e-2, size=len(mse_rows))
    tiny = rng.choice(len(b), size=3, replace=False)  # within the default rtol: not different
    b.loc[tiny, "test_r2"] *= 1 + 1e-9
    return a, b, set(n_zero_rows) | set(mse_rows), len(n_zero_rows), len(mse_rows)


def test_verdict_counts_equal_the_rows_shown_and_the_check_on_a_seeded_pair(tmp_path, capsys):
    a, b, changed, n_zero_changed, mse_changed = _seeded_pair()
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    code, out, err = run_cli([pa, pb], capsys)
    assert (code, err) == (0, "")
    assert _verdict_counts(out) == (len(changed), len(a))
    assert f"rows differing in n_zero {n_zero_changed}, n_nonzero 0, test_mse {mse_changed}" in out
    shown = _shown_rows(out)
    assert len(shown) == len(changed)
    # each shown row is one that was changed: its keys, in table order
    changed_keys = a.loc[sorted(changed), ["dataset", "model", "alpha_ratio", "seed"]]
    expected = sorted(
        (d, m, f"{r:.6g}", str(s)) for d, m, r, s in changed_keys.itertuples(index=False)
    )
    assert sorted((row[0], row[1], row[2], row[3]) for row in shown) == expected
    # per dataset and model: the rows that differ add up to the verdict's count
    summary = compare.group_summary(compare.align(a, b))
    assert summary["differ"].sum() == len(changed)
    code, out, _ = run_cli([pa, pb, "--check"], capsys)
    assert code == 1
    assert _check_counts(out) == {"n_zero": n_zero_changed, "test_mse": mse_changed}


def test_verdict_counts_seeds_that_differ_when_the_table_shows_means(tmp_path, capsys):
    a, b, changed, _, _ = _seeded_pair(seeds=(0, 1, 2), seed=3)
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    code, out, _ = run_cli([pa, pb, "--metrics", "test_r2"], capsys)
    assert code == 0 and "±" in out
    assert _verdict_counts(out) == (len(changed), len(a))
    lines = out.splitlines()
    header = lines[next(i for i, x in enumerate(lines) if x.startswith("rows that")) + 1].split()
    differ = header.index("differ") - 1  # the empty variant is no word of a row
    shown = _shown_rows(out)
    assert sum(int(row[differ]) for row in shown) == len(changed)  # seeds per shown mean
    groups = a.loc[sorted(changed), ["dataset", "model", "alpha_ratio"]].drop_duplicates()
    assert len(shown) == len(groups)


@pytest.mark.parametrize(
    "on", [None, "dataset,model,alpha_ratio,seed", "dataset,model,variant,alpha_ratio,seed"]
)
def test_check_and_verdict_agree_under_every_on(tmp_path, capsys, on):
    a, b, changed, _, _ = _seeded_pair(seed=11)
    b = b[b["model"] != "ridge"]  # rows on one side only as well
    changed = {i for i in changed if i in b.index}
    b = b.assign(variant="tol=0.01")  # one value per run: it names the run
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    extra = [] if on is None else ["--on", on]
    code, out, _ = run_cli([pa, pb, *extra], capsys)
    code_check, out_check, _ = run_cli([pa, pb, "--check", *extra], capsys)
    assert code_check == 1
    n_only_a = int((a["model"] == "ridge").sum())
    if on is not None and "variant" in on:  # named by --on: a key, so no row is shared
        assert code == 2 and out == ""
        assert "share no rows" in out_check
        assert f"fits: {len(a)} row(s) only A" in out_check
        return
    assert code == 0
    line = "aligned ignoring variant: A '', B 'tol=0.01'"
    assert line in out.splitlines() and out_check.splitlines()[1] == line
    n_differ, n_shared = _verdict_counts(out)
    assert (n_differ, n_shared) == (len(changed), len(b))
    assert f"{n_only_a} rows only A, 0 only B" in out.splitlines()[0]
    assert f"fits: {n_only_a} row(s) only A" in out_check
    counts = _check_counts(out_check)
    assert "variant" not in counts  # the run column is not a compared value
    verdict = re.search(r"rows differing in n_zero (\d+), n_nonzero (\d+), test_mse (\d+)", out)
    assert counts.get("n_zero", 0) == int(verdict.group(1))
    assert counts.get("test_mse", 0) == int(verdict.group(3))
    assert len(_shown_rows(out)) == n_differ


def test_identical_runs_print_a_few_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    path = write_table(make_fits(seeds=(0, 1, 2)), tmp_path / "a.parquet")
    code, out, err = run_cli([path, path], capsys)
    assert code == 0
    lines = (out + err).splitlines()
    assert len(lines) <= 10, lines
    assert lines[0].startswith("verdict: same: the 48 shared rows agree on every column")
    assert "--all shows them" in out


def test_a_run_column_differing_is_named_and_left_out(tmp_path, capsys):
    a = make_fits(datasets=("synthetic",))
    b = make_fits(datasets=("diabetes",))  # one dataset per side: it names the run
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    code, out, _ = run_cli([pa, pb], capsys)
    assert code == 0
    assert "aligned ignoring dataset: A 'synthetic', B 'diabetes'" in out.splitlines()
    alignment = compare.choose_alignment(a, b)
    assert alignment.keys == ("model", "variant", "alpha_ratio", "seed")
    # named by --on, a column is always a key
    code, _, err = run_cli([pa, pb, "--on", "dataset,model,variant,alpha_ratio,seed"], capsys)
    assert code == 2 and "share no rows" in err
    # a constant column with the same value on both sides stays a key
    assert compare.choose_alignment(a, a).keys == compare.DEFAULT_KEYS


# ---------------------------------------------------------------------------- exact vs cd
#: The sweep of issue 27: the exact Lasso (A) against scikit-learn's coordinate descent at a
#: loose tolerance (B), whose variant names the run.
EXACT_VS_CD = ["run", "-m", "dataset=diabetes,synthetic", "model=lasso", "grid.num=10"]


@pytest.fixture(scope="module")
def exact_vs_cd(tmp_path_factory):
    from conftest import results_line
    from conftest import run_cli as run_command

    cwd = tmp_path_factory.mktemp("exact_vs_cd")
    a = results_line(run_command([*EXACT_VS_CD, "run_id=A"], cwd=cwd).stdout)
    b = run_command([*EXACT_VS_CD, "model.solver=cd", "model.tol=1e-2", "run_id=B"], cwd=cwd)
    return cwd / a, cwd / results_line(b.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("on", [None, "dataset,model,alpha_ratio,seed"])
def test_exact_vs_cd_verdict_table_and_check_agree(exact_vs_cd, capsys, monkeypatch, on):
    monkeypatch.setenv("COLUMNS", "200")  # one column block
    a, b = exact_vs_cd
    extra = [] if on is None else ["--on", on]
    code, out, _ = run_cli([a, b, *extra], capsys)
    assert code == 0
    assert "aligned ignoring variant: A '', B 'solver=cd,tol=0.01'" in out.splitlines()
    n_differ, n_shared = _verdict_counts(out)
    assert n_shared == 20 and "none on one side only" in out.splitlines()[0]
    shown = _shown_rows(out)
    assert len(shown) == n_differ
    fits_a = pd.read_parquet(a / "fits.parquet").sort_values(["dataset", "alpha_ratio"])
    fits_b = pd.read_parquet(b / "fits.parquet").sort_values(["dataset", "alpha_ratio"])
    # an independent count: rows whose zeros differ, or whose test error differs beyond rtol
    zeros = fits_a["n_zero"].to_numpy() != fits_b["n_zero"].to_numpy()
    mse = ~np.isclose(fits_b["test_mse"], fits_a["test_mse"], rtol=1e-6, atol=1e-12)
    assert n_differ == int((zeros | mse).sum())
    assert zeros.any()  # the loose tolerance miscounts some zeros
    assert f"rows differing in n_zero {int(zeros.sum())}," in out
    code, out_check, _ = run_cli([a, b, "--check", *extra], capsys)
    assert code == 1
    assert out_check.splitlines()[1] == "aligned ignoring variant: A '', B 'solver=cd,tol=0.01'"
    assert "only A" not in out_check and "only B" not in out_check
    counts = _check_counts(out_check)
    assert counts["n_zero"] == int(zeros.sum()) and counts["test_mse"] == int(mse.sum())
    assert "variant" not in counts


# ---------------------------------------------------------------------------- A and B in one figure
def test_figure_data_is_the_mean_and_t_interval_of_each_side():
    a, b, _, _, _ = _seeded_pair(seeds=(0, 1, 2), seed=5)
    b = b[~((b["dataset"] == "diabetes") & (b["model"] == "ridge") & (b["seed"] == 2))]
    comparison = compare.align(a, b, metrics=["n_zero", "test_mse"])
    data = compare.figure_data(comparison, "test_mse")
    assert set(data["panel"]) == {f"{d} / {m}" for d in ("diabetes", "synthetic") for m in MODELS}
    for _, point in data.sample(12, random_state=0).iterrows():
        dataset, model = point["panel"].split(" / ")
        rows = (a["dataset"] == dataset) & (a["model"] == model)
        rows &= np.isclose(a["alpha_ratio"], point["alpha_ratio"])
        rows_b = (b["dataset"] == dataset) & (b["model"] == model)
        rows_b &= np.isclose(b["alpha_ratio"], point["alpha_ratio"])
        side_a = a.loc[rows].set_index("seed")["test_mse"]
        side_b = b.loc[rows_b].set_index("seed")["test_mse"]
        values = {"A": side_a, "B": side_b, "B - A": (side_b - side_a).dropna()}[point["side"]]
        assert point["n_seeds"] == len(values)
        assert point["mean"] == pytest.approx(values.mean())
        lo, hi = stats.t.interval(
            0.95, df=len(values) - 1, loc=values.mean(), scale=stats.sem(values)
        )
        if np.isfinite(lo):
            assert (point["low"], point["high"]) == pytest.approx((lo, hi))
        else:  # all seeds equal: no spread
            assert point["low"] == point["high"] == pytest.approx(values.mean())
    # B - A is filled where some seed's row differs beyond the tolerances
    diffs = data[data["side"] == "B - A"]
    changed_mse = compare.align(a, b, metrics=["test_mse"]).differs["test_mse"]
    assert diffs["differs"].sum() == len(
        comparison.rows[changed_mse][["dataset", "model", "alpha_ratio"]].drop_duplicates()
    )
    # the row on one side only is in A's line, not in B - A
    lone = data[(data["panel"] == "diabetes / ridge") & (data["side"] == "A")]
    assert (lone["n_seeds"] == 3).all()
    assert (
        data[(data["panel"] == "diabetes / ridge") & (data["side"] == "B - A")]["n_seeds"] == 2
    ).all()


def test_a_vs_b_figure_draws_both_sides_and_the_difference():
    from matplotlib.figure import Figure

    from sparsity_lab.figures.compare import plot_a_vs_b

    a, b, _, _, _ = _seeded_pair(seeds=(0, 1), seed=2)
    comparison = compare.align(a, b)
    data = compare.figure_data(comparison, "n_zero")
    fig = plot_a_vs_b(data, "n_zero", ("run_a", "run_b"), integer=True, note="mean over 2 seeds")
    assert isinstance(fig, Figure)
    n_panels = data["panel"].nunique()
    assert len(fig.axes) == 2 * n_panels
    top = fig.axes[0]
    panel = top.get_title()
    for line, side in zip(top.get_lines()[:2], ("A", "B"), strict=True):
        expected = data[(data["panel"] == panel) & (data["side"] == side)].sort_values(
            "alpha_ratio"
        )
        assert np.allclose(line.get_ydata(), expected["mean"])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == ["A: run_a", "B: run_b"] and "95% t-interval over seeds" in legend
    assert fig.axes[1].get_ylabel() == "B - A"
    assert "log scale" in fig.axes[-1].get_xlabel()  # under the lowest panel of its column
    assert fig.axes[1].get_xlabel() == ""  # a panel below it says it
    fig.savefig(io.BytesIO(), format="png")  # renders
    same = compare.align(make_fits(seeds=(0,)), make_fits(seeds=(0,)))
    fig = plot_a_vs_b(compare.figure_data(same, "n_zero"), "n_zero", integer=True)
    for ax in fig.axes:  # counts get whole ticks, also where a count is constant (ridge: 0)
        low, high = ax.get_ylim()
        ticks = [t for t in ax.get_yticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), (ax.get_title(), ticks)


def test_figures_option_writes_the_a_vs_b_figures(tmp_path, capsys):
    a, b, _, _, _ = _seeded_pair()
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    out = tmp_path / "figs"
    code, printed, _ = run_cli(
        [pa, pb, "--figures", out, "--figure-metrics", "n_zero,test_r2"], capsys
    )
    assert code == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["a_vs_b_n_zero_vs_alpha.png", "a_vs_b_test_r2_vs_alpha.png"]
    assert f"figure: {out / files[0]}" in printed.splitlines()
    assert (out / files[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "test_r2 diff" in run_cli([pa, pb, "--figure-metrics", "test_r2", "--all"], capsys)[1]


def test_figures_option_bad_input_is_refused_before_any_output(tmp_path, capsys):
    a = make_fits()
    pa = write_table(a, tmp_path / "a.parquet")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (["--figures", blocker], "is a file, not a folder"),
        (["--figures", tmp_path / "f", "--on", "dataset,model,variant,seed,n_iter"], "alpha_ratio"),
        (["--figures", tmp_path / "f", "--figure-metrics", "nope"], "nope not a column"),
    ]
    for extra, words in cases:
        code, out, err = run_cli([pa, pa, *extra], capsys)
        assert (code, out) == (2, ""), err
        assert words in _one_error_line(err)
    assert not (tmp_path / "f").exists()


@pytest.mark.slow
def test_exact_vs_cd_page_shows_the_differences_and_both_runs(exact_vs_cd, tmp_path, capsys):
    a, b = exact_vs_cd
    page = tmp_path / "cmp.html"
    code, out, _ = run_cli([a, b, "--report", page], capsys)
    assert code == 0 and out.splitlines()[-1] == f"report: {page}"
    text = page.read_text()
    n_differ, n_shared = _verdict_counts(out)
    assert f"verdict: different: {n_differ} of {n_shared} shared rows differ" in text
    assert "aligned ignoring variant: A &#x27;&#x27;, B &#x27;solver=cd,tol=0.01&#x27;" in text
    assert text.count("data:image/png;base64,") == 1  # the A-vs-B figure of n_zero
    assert f"Rows that differ ({n_differ} of {n_shared}" in text
    assert text.index("A and B") < text.index("What differs") < text.index("Run A")


def test_all_and_file_formats_keep_every_row(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one column block
    a, b, changed, _, _ = _seeded_pair()
    pa, pb = write_table(a, tmp_path / "a.parquet"), write_table(b, tmp_path / "b.parquet")
    code, out, _ = run_cli([pa, pb, "--all"], capsys)
    assert code == 0
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rows in both"))
    rows = lines[start + 3 : start + 3 + len(a)]
    assert len(rows) == len(a) and sum(" yes " in f"{r} " for r in rows) == len(changed)
    code, out, _ = run_cli([pa, pb, "--format", "markdown"], capsys)
    assert code == 0 and out.startswith("verdict: different")
    assert len([line for line in out.splitlines() if line.startswith("| ")]) == len(a) + 2
    code, out, err = run_cli([pa, pb, "--format", "csv"], capsys)
    assert len(pd.read_csv(io.StringIO(out))) == len(a) and err.startswith("verdict: different")


def test_page_of_a_table_without_a_grid_says_why_it_has_no_figure(tmp_path, capsys):
    table = pd.DataFrame(
        {"dataset": "diabetes", "feature": ["bmi", "s5", "bp"], "n_zero": [0, 1, 2]}
    )
    path = write_table(table, tmp_path / "entry.parquet")
    page = tmp_path / "cmp.html"
    code, out, _ = run_cli([path, path, "--on", "dataset,feature", "--report", page], capsys)
    assert code == 0 and out.startswith("verdict: same")
    text = page.read_text()
    assert "data:image/png" not in text
    assert "the rows are not aligned on alpha_ratio (keys: dataset, feature)" in text


def test_rows_on_a_path_over_k_align_on_k_and_gamma():
    """Best subset rows (alpha NaN, one per k) and relaxed lasso rows (one per gamma) align on
    the path point; a changed count is found at its k."""
    base = make_fits(seeds=(0,), datasets=("diabetes",))
    sized = base[base["model"] == "lasso"].assign(
        model="best_subset", alpha=np.nan, alpha_ratio=np.nan, path_param="k",
        k=np.arange((base["model"] == "lasso").sum(), dtype=float),
    )  # fmt: skip
    a = pd.concat([base, sized], ignore_index=True)
    assert compare.choose_alignment(a, a).keys[-3:] == ("alpha_ratio", "k", "seed")
    b = a.copy()
    b.loc[(b["model"] == "best_subset") & (b["k"] == 2), "n_zero"] += 1
    comparison = compare.align(a, b)
    assert comparison.only_a.empty and comparison.only_b.empty
    differing = comparison.common[comparison.common["n_zero_B"] != comparison.common["n_zero_A"]]
    assert list(differing["k"]) == [2.0] and list(differing["model"]) == ["best_subset"]
    # the A-vs-B figure has an alpha axis: rows of a path over k are left out of it, and a
    # relaxed lasso's gamma names its panel
    relaxed = base[base["model"] == "lasso"].assign(model="relaxed_lasso", gamma=0.5)
    both = pd.concat([a, relaxed], ignore_index=True)
    panels = set(compare.figure_data(compare.align(both, both), "n_zero")["panel"])
    assert "diabetes / relaxed_lasso / gamma=0.5" in panels and "diabetes / lasso" in panels
    assert not any("best_subset" in p for p in panels)
