"""Run tables at cluster scale (issue 28): collect streams the coefs table job by job, and the
readers read parts of it; every result equals the in-memory route on a real run."""

from __future__ import annotations

import shutil
from pathlib import Path

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
