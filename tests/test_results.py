"""The results contract: columns, atomic writes, job completeness, collection."""

import json
import os
import stat

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
    ident = {"study": "t", "dataset": "synthetic", "model": model, "variant": "", "seed": seed}
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


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_written_files_respect_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        table = results.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
        record = results.write_json({"a": 1}, tmp_path / "r.json")
    finally:
        os.umask(old)
    for path in (table, record):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


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
    first["coefs"] = first["coefs"].to_pandas()  # streamed to its file, read on demand
    second = results.collect(tmp_path)
    second["coefs"] = second["coefs"].to_pandas()
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])
    fits1, coefs1 = first["fits"], first["coefs"]
    assert len(first["trajectories"]) == 1
    assert sorted(fits1["seed"].unique()) == [0, 1]
    assert len(coefs1) == 2 * 4 * 12
    info = json.loads((tmp_path / results.RUN_FILE).read_text())
    assert info["incomplete_jobs"] == ["0002"] and info["n_fits"] == 8


def test_collect_keeps_the_last_good_tables_when_every_job_is_corrupt(tmp_path, capsys):
    from sparsity_lab import cli

    for i in range(2):
        fits, coefs = _tables(seed=i)
        results.write_job(tmp_path / "jobs" / f"{i:04d}", {"fits": fits, "coefs": coefs}, {})
    assert cli.main(["collect", str(tmp_path)]) == 0
    good = {name: (tmp_path / name).read_bytes() for name in ("fits.parquet", "coefs.parquet")}
    for job in results.job_dirs(tmp_path):
        (job / results.FITS_FILE).write_bytes(b"PAR1 damaged")
    capsys.readouterr()
    assert cli.main(["collect", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "fits: 8 rows" in out and "2 corrupt" in out
    assert "no job" in err and "kept its last run-level tables (coefs, fits)" in err
    for name, content in good.items():
        assert (tmp_path / name).read_bytes() == content
    # once a job is complete again, the tables are rebuilt from it
    fits, coefs = _tables(seed=5)
    results.write_job(tmp_path / "jobs" / "0000", {"fits": fits, "coefs": coefs}, {})
    assert cli.main(["collect", str(tmp_path)]) == 1  # job 0001 is still damaged
    assert sorted(pd.read_parquet(tmp_path / "fits.parquet")["seed"].unique()) == [5]


def test_a_running_record_without_its_owner_is_abandoned(tmp_path):
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer exists
    job = tmp_path / "jobs" / "0000"
    results.write_json(
        {"status": "running", "pid": gone.pid, "host": "elsewhere"}, job / "job.json"
    )
    # no lock file (a record of an older version): the pid tells, on the recorded host only
    assert results.job_status(job) == "running"
    results.write_json({"status": "running", "pid": gone.pid}, job / "job.json")
    assert results.job_status(job) == "abandoned"
    results.write_json({"status": "running", "pid": os.getpid()}, job / "job.json")
    assert results.job_status(job) == "running"
    # with a lock file, the lock tells: held -> running, free -> abandoned
    with results.job_lock(job):
        assert results.job_is_locked(job) is True
        assert results.job_status(job) == "running"
    assert results.job_is_locked(job) is False
    assert results.job_status(job) == "abandoned"


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


def test_fits_counts_are_the_coefs_table_s():
    fits, coefs = _tables()
    by_alpha = coefs.groupby("alpha", sort=False)["coef"]
    zeros = by_alpha.apply(lambda c: int((c == 0).sum()))
    nonzeros = by_alpha.apply(lambda c: int((c != 0).sum()))
    assert np.array_equal(zeros.to_numpy(), fits["n_zero"].to_numpy())
    assert np.array_equal(nonzeros.to_numpy(), fits["n_nonzero"].to_numpy())


# ---------------------------------------------------------------------------- the schema
def _dtype_problems(df: pd.DataFrame, table) -> list[str]:
    """Where ``df`` differs from the declared columns and dtypes of ``table``."""
    problems = [] if tuple(df.columns) == table.names else [f"columns {list(df.columns)}"]
    for name, dtype in table.columns:
        if name not in df.columns or df.empty:
            continue
        values = df[name]
        ok = {
            "str": lambda v: v.map(lambda x: isinstance(x, str)).all(),
            "float": pd.api.types.is_float_dtype,
            "bool": pd.api.types.is_bool_dtype,
            "int": pd.api.types.is_integer_dtype,
            "count": lambda v: (
                pd.api.types.is_numeric_dtype(v)
                and not pd.api.types.is_bool_dtype(v)
                and bool((v.dropna() == v.dropna().round()).all())
            ),
        }[dtype](values)
        if not ok:
            problems.append(f"{name}: declared {dtype}, got {values.dtype}")
    return problems


STUDY_RUNS = {
    "path": ["dataset=diabetes", "grid.num=4", "+summary_ratios=[1.0]", "select=cv"],
    "seed_toy": ["experiment=seed_toy", "toy.n_steps=20"],
    "lars_diabetes": ["experiment=lars_diabetes", "grid.num=40"],
    "solver_zeros": [
        "experiment=solver_zeros",
        "solver_zeros.data=diabetes",
        "model=lasso",
        "solver_zeros.grid_num.default=4",
        "solver_zeros.tols=[0.01]",
    ],
    "esl_prostate": ["experiment=esl_prostate", "grid.num=3"],
    "beyond_lasso": ["experiment=beyond_lasso", "dataset=diabetes", "model=best_subset"],
    "beyond_lasso ": ["experiment=beyond_lasso", "dataset=prostate", "model=relaxed_lasso"],
    "phase_transition": [
        "experiment=phase_transition",
        "phase.n_features=10",
        "phase.deltas=[0.5]",
        "phase.rhos=[0.2]",
        "phase.n_trials=1",
    ],
    "best_subset_vs_lasso": [
        "experiment=best_subset_vs_lasso",
        "bsl.n_reps=1",
        "bsl.methods=[lasso,best_subset]",
        "bsl.rules=[min,1se]",
    ],
}


@pytest.mark.parametrize("task", STUDY_RUNS)
def test_every_table_a_job_writes_has_its_declared_columns_and_dtypes(compose_cfg, task):
    from sparsity_lab.studies import all_tables, run_job

    cfg = compose_cfg(STUDY_RUNS[task])
    assert cfg.get("task", "path") == task.strip()
    tables = run_job(cfg, model_name=cfg.hydra.runtime.choices.model)
    declared = all_tables()
    assert {"fits", "coefs"} <= set(tables) <= set(declared)
    if task == "path":
        assert len(tables["selected"]) == 2  # select=cv: the min and 1se rows
    for name, frame in tables.items():
        assert not _dtype_problems(frame, declared[name]), (
            name,
            _dtype_problems(frame, declared[name]),
        )


def test_old_tables_without_variant_read_back_with_the_default(tmp_path):
    fits, _ = _tables()
    results.write_table(fits.drop(columns="variant"), tmp_path / "fits.parquet")
    back = results.read_fits(tmp_path)
    assert tuple(back.columns) == results.FITS_COLUMNS and (back["variant"] == "").all()


def test_old_fits_derive_zero_set_is_optimum_from_the_counts(tmp_path):
    fits, _ = _tables()  # Ridge: no L1 part, the counts are NaN
    fits = fits.assign(
        n_false_zero=[0.0, 2.0, 0.0, np.nan], n_missed_zero=[0.0, 0.0, 1.0, np.nan]
    ).drop(columns="zero_set_is_optimum")  # a run written before issue 26
    results.write_table(fits, tmp_path / "fits.parquet")
    back = results.read_fits(tmp_path)
    assert tuple(back.columns) == results.FITS_COLUMNS
    assert back["zero_set_is_optimum"].tolist()[:3] == [True, False, False]
    assert back["zero_set_is_optimum"].isna().tolist() == [False, False, False, True]


def test_old_fits_read_back_without_the_nonconvex_certificate(tmp_path):
    fits, _ = _tables()
    old = fits.drop(columns=["stationarity", "objective_convex"])  # a run before issue 22
    old.loc[old.index[-1], "kkt_violation"] = np.nan  # a penalty the suite did not know
    results.write_table(old, tmp_path / "fits.parquet")
    back = results.read_fits(tmp_path)
    assert tuple(back.columns) == results.FITS_COLUMNS
    # the elastic-net family's stationarity is its KKT violation: as a new run writes it
    expected = [*fits["stationarity"].iloc[:-1].tolist(), np.nan]
    np.testing.assert_array_equal(back["stationarity"], expected)
    assert back["objective_convex"].iloc[:-1].all() and back["objective_convex"].isna().iloc[-1]


def test_a_study_tables_empty_variant_reads_back_from_csv(tmp_path):
    table = pd.DataFrame({"dataset": ["d", "d"], "model": ["m", "m"], "variant": ["", "tol=0.1"]})
    table.to_csv(tmp_path / "expected.csv", index=False)
    back = results.read_table(tmp_path / "expected.csv", "solver_zeros")  # compare --table
    assert back["variant"].tolist() == ["", "tol=0.1"]


def test_collect_gives_old_jobs_the_default_variant(tmp_path):
    old_fits, old_coefs = _tables(seed=0)
    new_fits, new_coefs = _tables(seed=1)
    old = {"fits": old_fits.drop(columns="variant"), "coefs": old_coefs.drop(columns="variant")}
    results.write_job(tmp_path / "jobs" / "0000", old, {"key": "old"})  # before the column
    results.write_job(tmp_path / "jobs" / "0001", {"fits": new_fits, "coefs": new_coefs}, {})
    fits = results.collect(tmp_path)["fits"]
    assert len(fits) == 8 and (fits["variant"] == "").all()
    assert not fits.duplicated(list(results.FIT_KEY)).any()


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


def test_collect_equals_pandas_reading_each_job(tmp_path):
    """The Arrow fast path (one concatenation per table) against pandas' own reader job by
    job; a job whose page is damaged (checksum) is left out, as job_is_complete says."""
    for i in range(4):
        fits, coefs = _tables(seed=i)
        notes = pd.DataFrame({"model": ["lasso"] * i, "note": ["n"] * i, "n": list(range(i))})
        tables = {"fits": fits, "coefs": coefs, "notes": notes}
        results.write_job(tmp_path / "jobs" / f"{i:04d}", tables, {"key": str(i)})
    damaged = tmp_path / "jobs" / "0003" / results.COEFS_FILE
    data = bytearray(damaged.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the data pages: footer and row count intact
    damaged.write_bytes(bytes(data))
    assert not results.job_is_complete(damaged.parent)
    got = results.collect(tmp_path)
    assert isinstance(got["coefs"], results.TableFile) and len(got["coefs"]) == 3 * 4 * 12
    got["coefs"] = got["coefs"].to_pandas()
    for name in ("fits", "coefs", "notes"):
        frames = [
            pd.read_parquet(tmp_path / "jobs" / f"{i:04d}" / f"{name}.parquet") for i in range(3)
        ]
        expected = pd.concat([f for f in frames if len(f)], ignore_index=True)
        pd.testing.assert_frame_equal(got[name], expected, check_exact=True)
