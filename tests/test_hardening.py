"""Issue 23, hardening round two: a table that is never silently stale, a results folder
nothing escapes, bad input as one line and exit 2. Each test reproduces one item of the issue
with real files (and real processes where the item is about them)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from conftest import results_line, run_cli
from sparsity_lab import cli, results, sweep

SMALL = ["dataset=diabetes", "grid.num=2"]
LINK = "symbolic link"


def _tree(tmp_path: Path) -> dict[str, Path]:
    """Files and folders the cases point at: an `elsewhere` folder outside results_dir, a run
    whose `jobs` is a file, runs holding links, a symlink loop, a user table."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    adhoc = tmp_path / "results" / "adhoc"
    adhoc.mkdir(parents=True)
    (adhoc / "link").symlink_to(elsewhere)
    (adhoc / "jobslink").mkdir()
    (adhoc / "jobslink" / "jobs").symlink_to(elsewhere)
    (adhoc / "planted" / "jobs" / "0000").mkdir(parents=True)
    (adhoc / "planted" / "jobs" / "0000" / "job.log").symlink_to(elsewhere / "job.log")
    (tmp_path / "results" / "outside").symlink_to(elsewhere)
    (adhoc / "jobsfile").mkdir()
    (adhoc / "jobsfile" / "jobs").write_text("not a folder\n")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    pd.DataFrame({"a": range(8), "b": [3, 1, 4, 1, 5, 9, 2, 6], "y": range(8, 0, -1)}).to_csv(
        tmp_path / "t.csv", index=False
    )
    return {"elsewhere": elsewhere}


# (id, arguments after `run`, words the one error line must contain)
CASES = [
    # item 2: an empty results_dir is the file system's root for Hydra's job dirs
    ("results_dir empty", ["results_dir=", *SMALL], ["results_dir=''", "folder path"]),
    # item 4: duplicate fit keys
    (
        "the same model twice in a sweep",
        ["-m", "model=lasso,lasso", *SMALL],
        ["jobs 0000 (model=lasso", "0001 (model=lasso", "same job"],
    ),
    (
        "the same alpha twice",
        ["grid=values", "grid.values=[1,1]", "dataset=diabetes"],
        ["grid.values", "1 appears 2 times", "distinct"],
    ),
    # item 5: an existing run whose jobs is a file
    ("jobs is a file", ["run_id=jobsfile", *SMALL], ["jobsfile/jobs is a file", "folder"]),
    # item 7: links inside the results tree
    ("run dir a link", ["run_id=link", *SMALL], ["adhoc/link is a " + LINK]),
    ("study folder a link", ["study=outside", *SMALL], ["results/outside is a " + LINK]),
    ("jobs a link", ["run_id=jobslink", *SMALL], ["jobslink/jobs is a " + LINK]),
    ("planted job.log link", ["run_id=planted", *SMALL], ["0000/job.log is a " + LINK]),
    # item 8: Hydra's own output files
    (
        "output_subdir escapes",
        ["hydra.output_subdir=../../../../outsub", *SMALL],
        ["hydra.output_subdir='../../../../outsub'", "not settable"],
    ),
    ("output_subdir null", ["hydra.output_subdir=null", *SMALL], ["hydra.output_subdir=None"]),
    (
        "job log elsewhere",
        ["hydra.job_logging.handlers.file.filename={tmp}/elsewhere/x.log", *SMALL],
        ["hydra.job_logging.handlers.file.filename=", "not settable", "job.log"],
    ),
    ("job name escapes", ["hydra.job.name=../../x", *SMALL], ["hydra.job.name='../../x'"]),
    # item 10: run_id too long, results_dir a symlink loop, drop_columns on the target
    ("run_id of 300 characters", ["run_id=" + "a" * 300, *SMALL], ["run_id: 300 characters"]),
    ("results_dir a symlink loop", ["results_dir=loop1", *SMALL], ["results_dir=loop1", "loop1"]),
    (
        "drop_columns on the target",
        [
            "dataset=table",
            "dataset.path={tmp}/t.csv",
            "dataset.target=y",
            "dataset.drop_columns=[y]",
        ],
        ["dataset.drop_columns", "'y' is the target"],
    ),
    # item 11: booleans
    ("report=maybe", ["report=maybe", *SMALL], ["report='maybe'", "true or false"]),
    ("verbose=maybe", ["verbose=maybe", *SMALL], ["verbose='maybe'", "true or false"]),
    # item 12: the memory guard on real data
    (
        "a billion alphas on diabetes",
        ["dataset=diabetes", "grid.num=1000000000"],
        ["1000000000 alphas", "a job needs", "max_memory_gb="],
    ),
    ("max_memory_gb=-1 on real data", ["max_memory_gb=-1", *SMALL], ["max_memory_gb=-1", "> 0"]),
    ("max_memory_gb=0 on real data", ["max_memory_gb=0", *SMALL], ["max_memory_gb=0", "> 0"]),
    (
        "max_memory_gb=-1 in a study that fits no path",
        ["experiment=seed_toy", "max_memory_gb=-1"],
        ["max_memory_gb=-1", "> 0"],
    ),
    ("max_memory_gb=abc on real data", ["max_memory_gb=abc", *SMALL], ["max_memory_gb='abc'"]),
    ("max_memory_gb=nan on real data", ["max_memory_gb=nan", *SMALL], ["max_memory_gb=nan"]),
    (
        "max_memory_gb too small for real data",
        ["max_memory_gb=0.000001", *SMALL],
        ["dataset diabetes (442 x 10)", "more than max_memory_gb=1e-06"],
    ),
    (
        "a grid too large for real data, in the second job of a sweep",
        ["-m", "dataset=diabetes", "grid.num=2,20000000"],
        ["dataset diabetes (442 x 10), 20000000 alphas", "needs about"],
    ),
    # item 13: latest is the readers' alias
    ("run_id=latest", ["run_id=latest", *SMALL], ["run_id='latest'", "reserved"]),
]


@pytest.mark.parametrize(("args", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, monkeypatch, capsys, args, expected):
    tree = _tree(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    args = [a.format(tmp=tmp_path) for a in args]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweep, "available_memory_bytes", lambda: 8 * 2**30)
    code = cli.main(["run", *args])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err + out
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err + out
    for word in expected:
        assert word in lines[0], lines[0]
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before, "something was written"
    assert not any(tree["elsewhere"].iterdir())


def test_a_link_within_the_run_is_allowed(tmp_path, monkeypatch, capsys):
    """What submitit leaves in a SLURM run (.submitit/.submission_file_*.sh -> a file of the
    run) does not stop the run's resume."""
    submitit = tmp_path / "results" / "adhoc" / "slurm" / ".submitit"
    (submitit / "7").mkdir(parents=True)
    (submitit / "7" / "7_submission.sh").write_text("#!/bin/sh\n")
    (submitit / ".submission_file_x.sh").symlink_to(submitit / "7" / "7_submission.sh")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", *SMALL, "run_id=slurm"]) == 0, capsys.readouterr().err


def test_report_environment_variable_is_a_boolean(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPARSITY_LAB_REPORT", "maybe")
    assert cli.main(["run", *SMALL]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: SPARSITY_LAB_REPORT='maybe': allowed values are true or false "
        "(also yes/no, on/off, 1/0)"
    ]
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("word", "expected"), [("no", False), ("off", False), ("yes", True)])
def test_report_enabled_reads_the_job_config_as_a_yaml_boolean(tmp_path, monkeypatch, word,
                                                               expected):  # fmt: skip
    from sparsity_lab import report

    monkeypatch.delenv("SPARSITY_LAB_REPORT")
    config = tmp_path / "jobs" / "0000" / ".hydra" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(f"report: {word!r}\n")  # as Hydra writes report=no: a string
    assert report.report_enabled(tmp_path) is expected


@pytest.mark.slow  # a real run, 5 s
def test_report_no_and_verbose_off_are_false(tmp_path):
    """`report=no` wrote the report (any non-empty word counted as true) and `verbose=off` put
    the job's INFO lines on the terminal."""
    env = {"SPARSITY_LAB_REPORT": ""}  # unset: the config decides
    proc = run_cli(["run", *SMALL, "report=no", "verbose=off"], cwd=tmp_path, env=env)
    run_dir = tmp_path / results_line(proc.stdout)
    assert not (run_dir / "report.html").exists()
    assert "INFO" not in proc.stdout + proc.stderr
    assert "INFO" in (run_dir / "jobs" / "0000" / "job.log").read_text()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("no", False), ("OFF", False), ("0", False), (0, False), ("n", False), (False, False),
     ("yes", True), ("On", True), ("1", True), (1, True), ("TRUE", True), (True, True)],
)  # fmt: skip
def test_yaml_bool_words(value, expected):
    from sparsity_lab.paths import yaml_bool

    assert yaml_bool(value, "report") is expected


@pytest.mark.parametrize("value", ["maybe", "", 2, 0.5, None])
def test_yaml_bool_refuses_the_rest(value):
    from sparsity_lab.errors import ConfigError
    from sparsity_lab.paths import yaml_bool

    with pytest.raises(ConfigError, match="allowed values are true or false"):
        yaml_bool(value, "report")


# ------------------------------------------------------------------ item 1: stale job records
def _job_tables(seed: int):
    fits = pd.DataFrame({c: [0] for c in results.FITS_COLUMNS}).assign(seed=seed, model="lasso")
    coefs = pd.DataFrame({c: [0] for c in results.COEFS_COLUMNS}).assign(seed=seed)
    return {"fits": fits, "coefs": coefs}


def test_collect_takes_no_record_of_another_config(tmp_path):
    """run.json names the key of each job of the sweep being collected: a complete record of
    another key (an earlier sweep's, which the new one could not replace) is not collected."""
    for i in range(2):
        results.write_job(tmp_path / "jobs" / f"{i:04d}", _job_tables(i), {"key": f"old{i}"})
    results.write_json({"n_jobs": 2, "job_keys": ["new0", "old1"]}, tmp_path / "run.json")
    fits = results.collect(tmp_path)["fits"]
    assert fits["seed"].tolist() == [1]
    assert results.read_json(tmp_path / "run.json")["incomplete_jobs"] == ["0000"]
    assert results.job_statuses(tmp_path) == {"0000": "outdated", "0001": "complete"}
    assert results.job_status(tmp_path / "jobs" / "0000", key="new0") == "outdated"
    assert results.job_status(tmp_path / "jobs" / "0000") == "complete"  # no key: as before


def _make_unwritable(folder: Path) -> bool:
    """Make ``folder`` refuse new entries, also for root (chattr +i); False when impossible."""
    import subprocess

    if os.geteuid() != 0:
        folder.chmod(0o555)
        return True
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    return done.returncode == 0


def _make_writable(folder: Path) -> None:
    import subprocess

    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


@pytest.mark.slow  # two real sweeps, 8 s
@pytest.mark.parametrize("models", ["lasso,ridge", "ridge,lasso"])
def test_a_rerun_with_a_changed_config_never_collects_the_old_record(tmp_path, models):
    """Issue 23 item 1: rerun into the same run_id with grid.num 5 -> 6 while job 0000's dir
    is unwritable. The old lasso (or ridge) record must not be collected beside the new rows."""
    args = ["run", "-m", "dataset=diabetes", f"model={models}", "run_id=r"]
    run_cli([*args, "grid.num=5"], cwd=tmp_path)
    run_dir = tmp_path / "results" / "adhoc" / "r"
    job = run_dir / "jobs" / "0000"
    if not _make_unwritable(job):
        pytest.skip("cannot make a folder unwritable as root here (no chattr +i)")
    try:
        proc = run_cli([*args, "grid.num=6"], cwd=tmp_path, check=False)
    finally:
        _make_writable(job)
    assert proc.returncode == 1, proc.stderr
    assert "job 0000" in proc.stderr and "not complete" in proc.stderr
    fits = pd.read_parquet(run_dir / "fits.parquet")
    assert fits["model"].tolist() == [models.split(",")[1]] * 6
    info = results.read_json(run_dir / "run.json")
    assert info["incomplete_jobs"] == ["0000"]


@pytest.mark.slow  # a real sweep, 5 s (every run that exits 0 depends on it too)
def test_job_keys_of_the_check_are_the_jobs_own(tmp_path):
    """The keys the pre-launch check records in run.json are those the jobs write."""
    run_cli(["run", "-m", *SMALL, "model=lasso,ridge", "run_id=k"], cwd=tmp_path)
    run_dir = tmp_path / "results" / "adhoc" / "k"
    keys = results.read_json(run_dir / "run.json")["job_keys"]
    assert keys == [results.read_json(j / "job.json")["key"] for j in results.job_dirs(run_dir)]
    assert len(set(keys)) == 2


# ------------------------------------------------------------------ item 3: collect's exit
def test_collect_names_damaged_jobs_and_exits_1(tmp_path, capsys):
    for i in range(4):
        results.write_job(tmp_path / "jobs" / f"{i:04d}", _job_tables(i), {"key": str(i)})
    results.write_json({"n_jobs": 4}, tmp_path / "run.json")
    assert cli.main(["collect", str(tmp_path)]) == 0
    for i in (1, 3):
        (tmp_path / "jobs" / f"{i:04d}" / "fits.parquet").write_bytes(b"PAR1 damaged")
    capsys.readouterr()
    assert cli.main(["collect", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "fits: 2 rows" in out and out.strip().splitlines()[-1] == f"results: {tmp_path}"
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: 2 of 4 job(s) not collected: 0001 corrupt, 0003 corrupt; rerun the sweep with "
        f"run_id={tmp_path.name} to recompute them"
    ]


# ------------------------------------------------------------------ items 13, 14: the readers
def _run(root: Path, run_id: str, start, n_rows: int) -> Path:
    run = root / "adhoc" / run_id
    results.write_json({"start": start}, run / "run.json")
    fits = pd.DataFrame({c: [0] * n_rows for c in results.FITS_COLUMNS})
    results.write_table(fits, run / "fits.parquet")
    return run


def test_latest_is_the_newest_run_even_beside_a_run_named_latest(tmp_path):
    import sparsity_lab

    _run(tmp_path, "latest", "2026-01-01T00:00:00", 1)  # made before the name was reserved
    _run(tmp_path, "b", "2026-01-02T00:00:00", 2)
    assert len(sparsity_lab.read_fits(tmp_path / "adhoc" / "latest")) == 2


@pytest.mark.parametrize(
    ("record", "words"),
    [(b"{not json", "not a readable run record"), (b'{"start": 12}', "'start' is 12")],
)
def test_an_unreadable_run_is_reported_not_skipped(tmp_path, record, words):
    import sparsity_lab

    _run(tmp_path, "a", "2026-01-01T00:00:00", 1)
    newest = _run(tmp_path, "b", "2026-01-02T00:00:00", 2)
    (newest / "run.json").write_bytes(record)
    for call in (
        lambda: sparsity_lab.list_runs("adhoc", tmp_path),
        lambda: sparsity_lab.read_fits(tmp_path / "adhoc" / "latest"),
    ):
        with pytest.raises(results.ResultsError, match=words) as caught:
            call()
        assert str(newest / "run.json") in str(caught.value)


def test_each_reader_checks_it_read_the_table_it_names(tmp_path):
    import sparsity_lab

    run = _run(tmp_path, "a", "2026-01-01T00:00:00", 1)
    with pytest.raises(results.ResultsError, match="is not a coefs table: missing columns"):
        sparsity_lab.read_coefs(run / "fits.parquet")
    coefs = pd.DataFrame({c: [0] for c in results.COEFS_COLUMNS})
    results.write_table(coefs, run / "coefs.parquet")
    with pytest.raises(results.ResultsError, match="is not a fits table: missing columns"):
        sparsity_lab.read_fits(run / "coefs.parquet")
    assert len(sparsity_lab.read_coefs(run)) == 1
    assert len(sparsity_lab.read_coefs(run / "coefs.parquet")) == 1


# ------------------------------------------------------------------ item 10: Hydra's flags
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--cfg", "job", "-m", "model=lasso,ridge"], ["--multirun", "--cfg", "one of"]),
        (["--info", "-m", "seed=1"], ["--multirun", "--info", "one of"]),
        (
            ["--cfg", "job", "--resolve", "run_id=${oc.env:NOPE}"],
            ["run_id", "Environment variable 'NOPE' not found"],
        ),
        (["--cfg", "job", "model=nope"], ["model=nope: unknown", "lasso"]),
    ],
)
def test_hydra_flags_bad_input_one_line_exit_2(tmp_path, monkeypatch, capsys, args, words):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", *args])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err + out
    for word in words:
        assert word in lines[0], lines[0]
    assert not list(tmp_path.iterdir())


def test_cfg_job_still_prints_the_config(tmp_path):
    proc = run_cli(["run", "--cfg", "job", "--resolve", "dataset=diabetes"], cwd=tmp_path)
    assert "_target_: sparsity_lab.datasets.load_diabetes" in proc.stdout


# ------------------------------------------------------------------ item 10: report --out
@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("small_run")
    run_cli(["run", *SMALL, "run_id=s"], cwd=where)
    return where / "results" / "adhoc" / "s"


@pytest.mark.parametrize(
    ("out", "words"),
    [
        ("{run}", ["--out", "is a folder", "a file path"]),
        ("{run}/run.json/report.html", ["run.json is a file, not a folder"]),
    ],
)
def test_report_out_checked_before_drawing(small_run, capsys, out, words):
    out = out.format(run=small_run)
    code = cli.main(["report", str(small_run), "--out", out, "--jobs", "1"])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, captured.err
    for word in words:
        assert word in lines[0], lines[0]
    assert "report:" not in captured.out
    assert not (small_run / "report.html").exists() and not (small_run / "figures").exists()


def test_report_into_an_unwritable_run_is_exit_2(small_run, capsys):
    if not _make_unwritable(small_run):
        pytest.skip("cannot make a folder unwritable as root here (no chattr +i)")
    try:
        code = cli.main(["report", str(small_run), "--jobs", "1"])
    finally:
        _make_writable(small_run)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot write in" in err[0], err


@pytest.mark.slow  # two real sweeps, one killed: 12 s
def test_collect_during_or_after_a_killed_rerun_takes_the_new_sweeps_jobs_only(tmp_path):
    """run.json gets the keys of a sweep when it starts: a rerun of another config into the
    same run_id, killed midway, is collected as itself (its complete jobs), never mixed with
    (nor replaced by) the earlier config's records."""
    import signal
    import subprocess
    import sys
    import time

    sweep_args = ["run", "-m", "model=lasso", "seed=0,1,2,3", "run_id=ch"]
    run_cli([*sweep_args, "dataset.n_samples=150", "dataset.n_features=12", "grid.num=4"],
            cwd=tmp_path)  # fmt: skip
    run_dir = tmp_path / "results" / "adhoc" / "ch"
    old = pd.read_parquet(run_dir / "fits.parquet")["n_samples"].unique().tolist()
    old_keys = results.read_json(run_dir / "run.json")["job_keys"]
    slow = ["dataset.n_samples=10000", "dataset.n_features=500", "grid.num=50"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sparsity_lab.cli", *sweep_args, *slow], cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "ignore"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    keys = None
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        keys = results.read_json_or_empty(run_dir / "run.json").get("job_keys")
        if keys != old_keys:  # the new sweep has started: count its complete jobs
            done = list(results.job_statuses(run_dir).values()).count("complete")
            if done >= 2:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before the kill"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    fits = results.collect(run_dir)["fits"]
    new = fits["n_samples"].unique().tolist()
    assert len(fits) >= 2 * 50 and len(new) == 1 and new != old
    statuses = results.job_statuses(run_dir)
    assert "outdated" in statuses.values() and list(statuses.values()).count("complete") >= 2
