"""The results contract: columns, atomic writes, job completeness, collection."""

import json

import numpy as np
import pandas as pd
import pytest

from sparsity_lab import results
from sparsity_lab.datasets import make_synthetic, prepare
from sparsity_lab.models import Ridge
from sparsity_lab.regularization import TrainingData, fit_path, log_grid_ratios
from sparsity_lab.runner import path_coefs_table, path_fits_table


def _tables(model="ridge", seed=0):
    prep = prepare(make_synthetic(80, 12, 3, random_state=seed), test_size=0.25, seed=seed)
    data = TrainingData(prep.X_train, prep.y_train)
    alphas = log_grid_ratios(4, 0.01)
    path = fit_path(Ridge(), data, alphas)
    ident = {"study": "t", "dataset": "synthetic", "model": model, "seed": seed}
    fits = path_fits_table(path, alphas, data, prep, 0.0, 1e-8, ident)
    return fits, path_coefs_table(path, alphas, prep, ident)


def test_tables_have_exactly_the_contract_columns():
    fits, coefs = _tables()
    assert tuple(fits.columns) == results.FITS_COLUMNS
    assert tuple(coefs.columns) == results.COEFS_COLUMNS
    assert len(coefs) == len(fits) * 12
    assert set(fits["status"]) <= set(results.STATUSES)


def test_tables_round_trip_through_parquet(tmp_path):
    fits, coefs = _tables()
    results.write_table(fits, tmp_path / "f.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f.parquet"), fits)
    results.write_table(coefs, tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "c.parquet"), coefs)


def test_atomic_write_leaves_the_old_file_and_no_temp_on_failure(tmp_path):
    target = tmp_path / "t.parquet"
    results.write_table(pd.DataFrame({"a": [1]}), target)

    class Unwritable(pd.DataFrame):
        def to_parquet(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError):
        results.write_table(Unwritable({"a": [2]}), target)
    assert pd.read_parquet(target)["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_job_dirs_sort_numerically(tmp_path):
    for name in ("10", "2", "0001", "notajob"):
        (tmp_path / "jobs" / name).mkdir(parents=True)
    assert [d.name for d in results.job_dirs(tmp_path)] == ["0001", "2", "10"]


def test_collect_takes_complete_jobs_only_and_is_idempotent(tmp_path):
    for i, seed in enumerate([0, 1, 2]):
        fits, coefs = _tables(seed=seed)
        tables = {"fits": fits, "coefs": coefs}
        if seed == 1:  # an extra table in one job only: collected as its own run-level table
            tables["trajectories"] = pd.DataFrame({"rule": ["l1"], "step": [0], "w": [5.0]})
        results.write_job(tmp_path / "jobs" / f"{i:04d}", tables, {"key": str(i)})
    # job 2: truncated coefs file -> incomplete, never collected
    (tmp_path / "jobs" / "0002" / results.COEFS_FILE).write_bytes(b"PAR1 truncated")
    first = results.collect(tmp_path)
    second = results.collect(tmp_path)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])
    fits1, coefs1 = first["fits"], first["coefs"]
    assert len(first["trajectories"]) == 1
    assert sorted(fits1["seed"].unique()) == [0, 1]
    assert len(coefs1) == 2 * 4 * 12
    info = json.loads((tmp_path / results.RUN_FILE).read_text())
    assert info["incomplete_jobs"] == ["0002"] and info["n_fits"] == 8


def test_job_completeness_checks_the_key(tmp_path):
    fits, coefs = _tables()
    results.write_job(tmp_path, {"fits": fits, "coefs": coefs}, {"key": "abc"})
    assert results.job_is_complete(tmp_path, "abc")
    assert not results.job_is_complete(tmp_path, "other")
    (tmp_path / results.FITS_FILE).unlink()
    assert not results.job_is_complete(tmp_path, "abc")


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "missing", "no such file"),
        (lambda p: p, "not a run dir"),
        (lambda p: _write(p / "x.parquet", "hello"), "not a readable"),
    ],
)
def test_reading_bad_paths_gives_one_clear_error(tmp_path, make, match):
    with pytest.raises(results.ResultsError, match=match):
        results.read_fits(make(tmp_path))


def test_read_fits_checks_columns(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "f.parquet")
    with pytest.raises(results.ResultsError, match="missing columns"):
        results.read_fits(tmp_path / "f.parquet")


def test_metrics_columns_are_consistent():
    fits, coefs = _tables()
    assert (fits["n_zero"] + fits["n_nonzero"] == fits["n_features"]).all()
    zeros = coefs.groupby("alpha", sort=False)["coef"].apply(lambda c: int((c == 0).sum()))
    assert np.array_equal(zeros.to_numpy(), fits["n_zero"].to_numpy())


def test_list_runs_and_latest(tmp_path):
    import sparsity_lab

    root = tmp_path / "results"
    assert sparsity_lab.list_runs("quickstart", root) == []
    with pytest.raises(results.ResultsError, match="no runs of study 'quickstart'"):
        sparsity_lab.read_fits(root / "quickstart" / "latest")
    fits = pd.DataFrame({c: [0] for c in results.FITS_COLUMNS})
    for run_id, start, n in (("b", "2026-01-02T00:00:00", 2), ("a", "2026-01-01T00:00:00", 1)):
        run = root / "quickstart" / run_id
        results.write_json({"start": start}, run / results.RUN_FILE)
        results.write_table(pd.concat([fits] * n, ignore_index=True), run / results.FITS_FILE)
    (root / "quickstart" / "not_a_run").mkdir()
    runs = sparsity_lab.list_runs("quickstart", root)
    assert [r.name for r in runs] == ["a", "b"]  # oldest first, by start time
    assert len(sparsity_lab.read_fits(root / "quickstart" / "latest")) == 2  # run b
    assert sparsity_lab.resolve_run(root / "quickstart" / "a") == root / "quickstart" / "a"
