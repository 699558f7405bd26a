"""Run tables at cluster scale (issue 28): collect streams the coefs table job by job, and the
readers read parts of it; every result equals the in-memory route on a real run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sparsity_lab import results

REAL_RUN = [
    "run", "-m", "dataset=synthetic,diabetes", "model=lasso,ridge", "seed=0,1", "grid.num=5",
    "report=false", "run_id=real",
]  # fmt: skip


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    from conftest import results_line, run_cli

    cwd = tmp_path_factory.mktemp("scale")
    return cwd / results_line(run_cli(REAL_RUN, cwd=cwd).stdout)


def in_memory_collect(run_dir: Path, out: Path) -> None:
    """The route collect took before issue 28: every complete job's table read whole, one
    concatenation per table (results._concat_tables), one write (results.write_table)."""
    parts: dict[str, list] = {"fits": [], "coefs": []}
    for job in results.job_dirs(run_dir):
        for name, table in results._read_complete_job_tables(job).items():
            parts.setdefault(name, []).append(table)
    columns = {t.name: t.names for t in results.schema.CORE_TABLES}
    for name, tables in parts.items():
        frame = results._concat_tables(name, tables, columns.get(name, ()))
        results.write_table(frame, out / f"{name}.parquet")


def test_streamed_collect_writes_what_the_in_memory_route_wrote(real_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(real_run, run)
    (run / "coefs.parquet").unlink()
    got = results.collect(run)
    assert isinstance(got["coefs"], results.TableFile) and list(got) == ["fits", "coefs", "notes"]
    expected = tmp_path / "expected"
    in_memory_collect(run, expected)
    for name in ("fits", "coefs", "notes"):
        mine, theirs = run / f"{name}.parquet", expected / f"{name}.parquet"
        # the same Arrow schema, pandas metadata included (the dtypes pandas reads back)
        assert pq.read_schema(mine).equals(pq.read_schema(theirs), check_metadata=True), name
        mine, theirs = pd.read_parquet(mine), pd.read_parquet(theirs)
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
    coefs = pd.read_parquet(run / "coefs.parquet")
    # models x seeds x alphas x (features of synthetic + of diabetes)
    assert len(got["coefs"]) == len(coefs) == 2 * 2 * 5 * (100 + 10)
    # each job's rows are row groups of their own: a reader filtering on a fit reads only its
    handle = pq.ParquetFile(run / "coefs.parquet")
    for i in range(handle.num_row_groups):
        group = handle.read_row_group(i, columns=["dataset", "model", "seed"]).to_pandas()
        assert len(group.drop_duplicates()) == 1


def test_streamed_collect_of_old_and_new_jobs_equals_pandas_concatenation(tmp_path):
    """A job written before ``variant`` existed goes through pandas (with_variant), as the
    in-memory route did; the rows and dtypes are those of pandas concatenating the jobs."""
    frames = []
    for i in range(3):
        ident = {"study": "t", "dataset": "d", "model": "lasso", "variant": ""}
        values = {"alpha": [1.0, 0.5], "alpha_ratio": [1.0, 0.5], "seed": i}
        coefs = pd.DataFrame(
            {**ident, **values, "feature": ["x0", "x1"], "coef": [0.0, 1.5], "true_coef": 1.0}
        )
        if i == 1:
            coefs = coefs.drop(columns="variant")
        fits = pd.DataFrame({"dataset": ["d"], "model": ["lasso"], "seed": [i]})
        results.write_job(tmp_path / "jobs" / f"{i:04d}", {"fits": fits, "coefs": coefs}, {})
        frames.append(results.with_variant(coefs, "coefs"))
    got = results.collect(tmp_path)["coefs"].to_pandas()
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_collect_of_jobs_whose_coefs_columns_differ_is_pandas_concatenation(tmp_path):
    """Jobs of another version adding a column (a column one model's jobs write): the
    columns differ, so collect concatenates them in memory as pandas does (NaN where a job
    lacks the column), as before."""
    frames = []
    for i in range(3):
        coefs = pd.DataFrame({"study": "t", "dataset": "d", "model": "m", "variant": "",
                              "seed": i, "feature": ["x0", "x1"], "coef": [0.0, 1.5]})  # fmt: skip
        if i == 1:
            coefs = coefs.assign(extra=[1, 2])
        fits = pd.DataFrame({"dataset": ["d"], "model": ["m"], "seed": [i]})
        results.write_job(tmp_path / "jobs" / f"{i:04d}", {"fits": fits, "coefs": coefs}, {})
        frames.append(coefs)
    got = results.collect(tmp_path)["coefs"]
    assert isinstance(got, results.TableFile)
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(got.to_pandas(), expected, check_exact=True)


def test_collect_with_no_complete_job_keeps_the_coefs_it_cannot_rebuild(real_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(real_run, run)
    before = (run / "coefs.parquet").read_bytes()
    for job in results.job_dirs(run):
        (job / "coefs.parquet").write_bytes(b"PAR1 damaged")
    got = results.collect(run)
    assert (run / "coefs.parquet").read_bytes() == before
    assert isinstance(got["coefs"], results.TableFile) and len(got["coefs"]) == 2200
    assert not list(run.glob(".coefs.parquet.*"))  # no temp file left


@pytest.mark.parametrize(
    "where",
    [
        {"dataset": "diabetes"},
        {"dataset": "synthetic", "model": "ridge", "seed": 1},
        {"model": ["lasso", "ridge"], "seed": [0]},
        {"dataset": "no such dataset"},
    ],
)
def test_filtered_read_coefs_equals_filtering_the_whole_table(real_run, where):
    whole = results.read_coefs(real_run)
    keep = pd.Series(True, index=whole.index)
    for column, value in where.items():
        keep &= whole[column].isin(value if isinstance(value, list) else [value])
    expected = whole[keep].reset_index(drop=True)
    got = results.read_coefs(real_run, **where)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    columns = ["feature", "coef", "variant"]
    part = results.read_coefs(real_run, **where, columns=columns)
    pd.testing.assert_frame_equal(part, expected[columns], check_exact=True)
    batches = list(results.table_batches(real_run, where=where, columns=columns, batch_rows=7))
    assert all(len(b) <= 7 for b in batches)
    pd.testing.assert_frame_equal(
        pd.concat(batches, ignore_index=True), expected[columns], check_exact=True
    )


def test_distinct_rows_and_a_bad_filter(real_run):
    got = results.distinct_rows(real_run, columns=["dataset", "model", "seed"])
    whole = results.read_coefs(real_run)[["dataset", "model", "seed"]].drop_duplicates()
    assert got.equals(whole.reset_index(drop=True))
    with pytest.raises(results.ResultsError, match="no column 'colour'"):
        results.read_coefs(real_run, where={"colour": "red"})


# ------------------------------------------------------------------ figures from the table file
def test_histogram_counts_read_batch_by_batch_are_numpys_on_the_whole_table(real_run):
    from sparsity_lab.figures.coefficients import CoefRows, coef_histogram_counts

    whole = results.read_coefs(real_run)
    for dataset, part in whole.groupby("dataset"):
        got = coef_histogram_counts(CoefRows(real_run), dataset, zero_tol=1e-8, bins=30)
        values = part["coef"].to_numpy()
        logs = np.log10(np.abs(values[np.isfinite(values) & (values != 0)]))
        lo = np.floor(min(logs.min(), -8.0))
        edges = np.linspace(lo, max(np.ceil(logs.max()), lo + 1), 31)
        np.testing.assert_array_equal(got.edges, edges)
        assert got.models == ["lasso", "ridge"] and got.seeds == [0, 1]
        for model, rows in part.groupby("model"):
            c = rows["coef"].to_numpy()
            expected, _ = np.histogram(np.log10(np.abs(c[c != 0])), bins=edges)
            np.testing.assert_array_equal(got.counts[model], expected)
            assert got.n_zero[model] == (c == 0).sum() and got.n_finite[model] == len(c)


def test_path_rows_are_the_largest_features_of_the_smallest_seed(real_run):
    from sparsity_lab.figures.coefficients import CoefRows, coef_path_rows

    whole = results.read_coefs(real_run)
    part = whole[(whole["dataset"] == "synthetic") & (whole["seed"] == 0)]
    size = part.assign(a=part["coef"].abs()).groupby("feature")["a"].max()
    top = set(size.sort_values(ascending=False, kind="stable").index[:7])
    drawn, n_features = coef_path_rows(CoefRows(real_run), "synthetic", max_features=7)
    assert n_features == 100 and set(drawn["feature"]) == top
    expected = part[part["feature"].isin(top)]
    assert len(drawn) == len(expected) == 7 * 2 * 5
    assert (drawn["coef"].to_numpy() == expected["coef"].to_numpy()).all()


def test_coef_figures_from_the_file_equal_those_from_the_frame(real_run, tmp_path):
    """The figures read from the run's file (in parts) and from the whole table in memory are
    the same PNG, pixel for pixel."""
    from sparsity_lab.figures import make

    fits = results.read_fits(real_run)
    coefs = results.read_coefs(real_run)
    wanted = ("coef_paths_diabetes", "coef_log10abs_histogram_synthetic")
    pngs = []
    for source in (real_run, coefs):
        plan = {stem: draw for stem, draw, _ in make._figures(fits, source, {}, {})}
        for stem in wanted:
            path = tmp_path / f"{stem}_{len(pngs)}.png"
            make.save_figure(plan[stem](), path, "png", dpi=30)
            pngs.append(path.read_bytes())
    assert pngs[:2] == pngs[2:]


def test_report_says_what_the_coefficient_figures_read():
    from sparsity_lab import report

    note = report._esc(report.COEF_FIGURES_NOTE)
    assert note in report.figures_html([("coef_paths_diabetes", b"png", None)])
    assert note not in report.figures_html([("exact_zero_fraction_vs_alpha", b"png", None)])
    assert note not in report.figures_html([("coef_paths_<dataset>", None, "coefs table is empty")])


# ------------------------------------------------------------------ compare --check in parts
def test_check_in_parts_finds_what_the_whole_table_check_finds(real_run, tmp_path):
    from sparsity_lab import compare

    a = tmp_path / "a"
    b = tmp_path / "b"
    for run in (a, b):
        run.mkdir()
        shutil.copy(real_run / "coefs.parquet", run / "coefs.parquet")
    coefs = results.read_coefs(b)
    changed = coefs["feature"].isin(["x003", "x017", "bmi"]) & (coefs["seed"] == 1)
    coefs.loc[changed, "coef"] = coefs.loc[changed, "coef"] * 1.001 + 1e-3
    coefs.loc[coefs["feature"] == "s5", "true_coef"] = 7.0  # NaN in A: differs
    dropped = (coefs["model"] == "ridge") & (coefs["alpha_ratio"] == 1.0)
    coefs = coefs[~dropped].assign(extra=1)  # rows only in A, a column only in B
    results.write_table(coefs, b / "coefs.parquet")
    alignment = compare.Alignment(compare.DEFAULT_KEYS)
    whole = compare.check_tables(
        results.read_coefs(a), results.read_coefs(b), alignment, table="coefs"
    )
    parts, columns = compare.check_table_in_parts(a, b, "coefs", alignment)
    assert set(whole["column"]) == {"coef", "true_coef", "row", "extra"}
    assert columns == {*results.COEFS_COLUMNS, "extra"}
    pd.testing.assert_frame_equal(parts, whole)
    # a run dir pair goes through it under --check
    checked = compare.check_paths(a, b, table="coefs")
    pd.testing.assert_frame_equal(checked.reset_index(drop=True), whole[checked.columns])


def test_coef_figures_skipped_with_the_reason_when_coefs_lack_a_column(real_run, tmp_path):
    from sparsity_lab.figures import make

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(real_run / "fits.parquet", run / "fits.parquet")
    coefs = results.read_coefs(real_run).drop(columns=["coef", "variant"])
    results.write_table(coefs, run / "coefs.parquet")
    columns = results.table_columns(run, "coefs.parquet")  # the legacy variant included
    assert columns[:4] == ["study", "dataset", "model", "variant"]
    lines: list[str] = []
    make.make_figures(run, out=tmp_path / "figures", formats=("png",), log=lines.append, n_jobs=1)
    skipped = [line for line in lines if line.startswith("skipped coef_")]
    assert len(skipped) == 2
    assert all(line.endswith("is not a coefs table: missing columns coef") for line in skipped)
