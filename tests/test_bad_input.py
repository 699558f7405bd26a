"""Bad input, one table: each case stops before any work with one line naming the field and the
allowed values and exit code 2 -- except a diverging SGD step size, which is a recorded row."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import results_line, run_cli
from sparsity_lab import cli, sweep

SMALL = ["dataset=diabetes", "grid.num=2"]
TABLE = ["dataset=table", "dataset.target=t"]
SEEDS = "integers 0 <= seed < 2**32"
FOLDER = "one folder name of letters, digits, '.', '_' and '-'"

# (id, arguments after `run`, words the error line must contain); {nan_csv} is a user table
# with a missing value. Expectation "row:<status>" means: exit 0, every fit has that status.
CASES = [
    ("unknown dataset", ["dataset=nope"], ["dataset=nope", "allowed", "synthetic", "diabetes"]),
    ("unknown model", ["model=nope"], ["model=nope", "allowed", "lasso", "sgd_prox"]),
    ("unknown experiment", ["experiment=nope"], ["experiment=nope", "allowed", "quickstart"]),
    ("unknown model in a sweep", ["-m", "model=lasso,nope"], ["model=nope", "lasso"]),
    ("unknown top-level key", ["foo=1"], ["foo", "allowed top-level keys", "seed"]),
    ("unknown dataset key", ["dataset.nope=1"], ["dataset.nope", "n_samples"]),
    ("alpha < 0", ["grid=values", "grid.values=[0.1,-1]"], ["grid.values", ">= 0"]),
    ("non-numeric alphas", ["grid=values", "grid.values=[abc,1]"], ["grid.values", "numbers"]),
    ("grid.num < 1", ["grid.num=0"], ["grid.num=0", "integers >= 1"]),
    ("MCP gamma <= 1", ["model=mcp", "model.gamma=0.5"], ["model.gamma=0.5", "(1.0, inf)"]),
    ("SCAD gamma <= 2", ["model=scad", "model.gamma=2"], ["model.gamma=2", "(2.0, inf)"]),
    ("grid.num not a number", ["grid.num=ten"], ["grid.num", "integers >= 1"]),
    ("min_ratio = 0", ["grid.min_ratio=0"], ["grid.min_ratio", "0 < min_ratio < 1"]),
    ("min_ratio >= 1", ["grid.min_ratio=1.5"], ["grid.min_ratio", "0 < min_ratio < 1"]),
    ("test_size = 1", ["dataset.test_size=1"], ["dataset.test_size", "0 <= test_size < 1"]),
    ("test_size < 0", ["dataset.test_size=-0.1"], ["dataset.test_size", "0 <= test_size < 1"]),
    (
        "NaN in user data",
        ["dataset=table", "dataset.path={nan_csv}", "dataset.target=t"],
        ["column 'a'", "missing", "allowed: error, drop_rows"],
    ),
    ("table without a path", ["dataset=table"], ["dataset.path", "missing"]),
    ("negative seed in one job of a sweep", ["-m", "seed=0,-1"], ["seed=-1", SEEDS]),
    ("seed = 2**32", ["seed=4294967296"], ["seed=4294967296", SEEDS]),
    ("seed >= 2**63 in a sweep", ["-m", "seed=0,9223372036854775808"], ["seed=92233", SEEDS]),
    ("run_id escapes results_dir", ["run_id=../../escape"], ["run_id='../../escape'", FOLDER]),
    ("run_id an absolute path", ["run_id={tmp}/abs"], ["run_id=", "/abs'", FOLDER]),
    ("run_id empty", ["run_id="], ["run_id=''", FOLDER]),
    ("run_id '..'", ["run_id=.."], ["run_id='..'", FOLDER]),
    ("run_id with a space", ["run_id='a b'"], ["run_id='a b'", FOLDER]),
    ("study escapes results_dir", ["study=../x"], ["study='../x'", FOLDER]),
    (
        "hydra.sweep.dir set",
        ["-m", "hydra.sweep.dir={tmp}/x", "seed=0,1"],
        ["hydra.sweep.dir: not settable", "results_dir=", "run_id="],
    ),
    ("hydra.run.dir set", ["+hydra.run.dir={tmp}/x"], ["hydra.run.dir: not settable"]),
    (
        "p = 10**7: more memory than the machine has",
        ["dataset.n_samples=200", "dataset.n_features=10000000"],
        ["dataset.n_features=10000000", "needs about", "GB", "available", "max_memory_gb="],
    ),
    ("n = 10**9", ["dataset.n_samples=1000000000"], ["dataset.n_samples=1000000000", "GB"]),
    ("too little max_memory_gb", ["max_memory_gb=0.0001"], ["more than max_memory_gb=0.0001"]),
    ("max_memory_gb <= 0", ["max_memory_gb=0"], ["max_memory_gb=0", "numbers > 0"]),
    (
        "joblib n_jobs = 0",
        ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=0", *SMALL],
        ["hydra.launcher.n_jobs=0", "integers >= 1", "-1 = every core"],
    ),
    ("zero_tol = nan", ["zero_tol=nan"], ["zero_tol=nan", "finite numbers >= 0"]),
    ("scikit-learn parameter", ["model.tol=-1"], ["model.tol=-1: allowed values are a float"]),
    ("empty CSV", [*TABLE, "dataset.path={empty_csv}"], ["empty.csv", "the file is empty"]),
    ("header-only CSV", [*TABLE, "dataset.path={header_csv}"], ["header.csv", "no rows"]),
    ("a folder as table path", [*TABLE, "dataset.path={tmp}"], ["dataset.path=", "a folder"]),
    (
        "unquoted path with a space",
        [*TABLE, "dataset.path={tmp}/my", "data.csv"],
        ["Error parsing override 'data.csv'", "quote", "'dataset.path=my data.csv'"],
    ),
    (
        "constant target (alpha_max = 0)",
        [*TABLE, "dataset.path={constant_csv}"],
        ["dataset table: alpha_max = 0", "constant", "grid=values"],
    ),
    (
        "bad value inside an experiment's sweep",
        ["experiment=quickstart", "grid.num=0"],
        ["grid.num=0"],
    ),
    ("unknown solver", ["model=lasso", "model.solver=xyz"], ["model.solver='xyz'", "cd_exact"]),
    (
        "homotopy on an elastic net",
        ["model=elasticnet", "model.solver=homotopy"],
        ["model.solver='homotopy'", "l1_ratio=1", "cd_exact"],
    ),
    ("SGD step size <= 0", ["model=sgd_l2", "model.eta0=-1"], ["model.eta0", "> 0"]),
    ("too many informative features", ["dataset.n_informative=500"], ["n_informative"]),
    (
        "unknown beta type",
        ["dataset=hastie2020", "dataset.beta_type=4"],
        ["dataset.beta_type=4", "1, 2, 3, 5"],
    ),
    ("rho = 1 (hastie2020)", ["dataset=hastie2020", "dataset.rho=1.0"], ["0 <= rho < 1"]),
    ("snr <= 0", ["dataset=hastie2020", "dataset.snr=0"], ["dataset.snr=0", "snr > 0"]),
    ("s > p", ["dataset=hastie2020", "dataset.n_nonzero=11"], ["n_nonzero=11", "n_features=10"]),
    ("K < 2 folds", ["select=cv", "select.n_folds=1"], ["select.n_folds=1", "integers >= 2"]),
    (
        "more folds than training rows",
        ["select=cv", "select.n_folds=400"],
        ["select.n_folds=400", "375 training rows"],
    ),
    (
        "validation set larger than the data",
        ["select=validation", "select.validation_size=500"],
        ["select.validation_size=500", "375 training rows", "1 to 373 rows"],
    ),
    ("unknown selection rule", ["select=cv", "select.rules=[max]"], ["select.rules", "1se"]),
    ("unknown selection", ["select=loo"], ["select=loo", "cv", "validation"]),
    (
        "diverging SGD step size",
        [
            "model=sgd_prox",
            "model.eta0=100",
            "model.learning_rate=constant",
            "model.max_epochs=5",
            *SMALL,
        ],
        "row:diverged",
    ),
]


#: Cases CI runs and `make test` (under 5 minutes from a fresh clone) leaves out: 5 s each.
SLOW_CASES = {"diverging SGD step size"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(*c[1:], id=c[0], marks=[pytest.mark.slow] if c[0] in SLOW_CASES else [])
        for c in CASES
    ],
)
def test_bad_input(tmp_path, monkeypatch, capsys, args, expected):
    inputs = {name: tmp_path / f"{name}.csv" for name in ("nan", "empty", "header", "constant")}
    pd.DataFrame({"a": [1.0, None, 3.0, 4.0], "b": [1.0, 2.0, 0.0, 1.0], "t": [1, 2, 3, 4]}).to_csv(
        inputs["nan"], index=False
    )
    inputs["empty"].write_text("")
    inputs["header"].write_text("a,b,t\n")
    pd.DataFrame({"a": range(20), "b": [i * i % 7 for i in range(20)], "t": 3.7}).to_csv(
        inputs["constant"], index=False
    )
    paths = {f"{name}_csv": path for name, path in inputs.items()}
    args = [a.format(**paths, tmp=tmp_path) for a in args]
    if isinstance(expected, str):  # a recorded row, not an exit: run the real command
        status = expected.removeprefix("row:")
        proc = run_cli(["run", *args], cwd=tmp_path)
        fits = pd.read_parquet(tmp_path / results_line(proc.stdout) / "fits.parquet")
        assert len(fits) == 2 and (fits["status"] == status).all()
        assert fits["message"].str.contains(status).all()
        return
    monkeypatch.chdir(tmp_path)
    # the memory cases must not depend on (or, refused too late, exhaust) this machine
    monkeypatch.setattr(sweep, "available_memory_bytes", lambda: 8 * 2**30)
    code = cli.main(["run", *args])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err + out
    for word in expected:
        assert word in lines[0], lines[0]
    written = [p.name for p in tmp_path.iterdir() if p not in inputs.values()]
    assert not written, f"work started before the input was checked: {written}"


# ------------------------------------------------------------------ user errors against bugs
def _user_error_classes():
    from sparsity_lab.compare import CompareError
    from sparsity_lab.datasets import DataError
    from sparsity_lab.errors import ConfigError, UserError
    from sparsity_lab.regularization import GridError
    from sparsity_lab.results import ResultsError
    from sparsity_lab.sweep import SweepConfigError

    return [UserError, ConfigError, DataError, GridError, ResultsError, SweepConfigError,
            CompareError]  # fmt: skip


@pytest.mark.parametrize("error", _user_error_classes(), ids=lambda c: c.__name__)
def test_each_user_error_class_is_one_line_and_exit_2(monkeypatch, capsys, error):
    def verb(argv):
        raise error("thing=3: allowed values are 1, 2")

    monkeypatch.setitem(cli.VERBS, "models", ("list models", verb))
    assert issubclass(error, ValueError)  # callers that catch ValueError keep working
    assert cli.main(["models"]) == 2
    err = capsys.readouterr().err
    assert err == "error: thing=3: allowed values are 1, 2\n"


@pytest.mark.parametrize("error", [KeyError, ValueError, IndexError], ids=lambda c: c.__name__)
def test_a_bug_in_a_verb_is_not_reported_as_bad_input(monkeypatch, error):
    def verb(argv):
        raise error("n_zero")

    monkeypatch.setitem(cli.VERBS, "models", ("list models", verb))
    with pytest.raises(error):  # the interpreter prints its traceback and exits 1
        cli.main(["models"])


def test_a_bug_deep_inside_a_job_shows_its_traceback_and_exit_1(tmp_path, monkeypatch, capsys):
    from sparsity_lab import metrics, results

    def broken(W):
        return {}["n_zero"]  # a pandas-style KeyError deep inside the job

    monkeypatch.setattr(metrics, "count_exact_zeros", broken)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", *SMALL, "run_id=bug"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" in err and "count_exact_zeros" not in err.splitlines()[-1]
    assert "KeyError: 'n_zero'" in err and "in broken" in err
    job = results.read_json(tmp_path / "results" / "adhoc" / "bug" / "jobs" / "0000" / "job.json")
    assert job["status"] == "failed" and job["user_error"] is False
    assert job["error"] == "KeyError: 'n_zero'" and "in broken" in job["traceback"]


def test_a_user_error_inside_a_job_is_one_line_exit_2_and_recorded(tmp_path, monkeypatch, capsys):
    from sparsity_lab import results, runner
    from sparsity_lab.datasets import DataError

    def bad_data(*args, **kwargs):  # what the pre-launch check cannot see (a large dataset)
        raise DataError("dataset.path=x.csv: no such file")

    monkeypatch.setattr(runner, "fit_path", bad_data)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", *SMALL, "run_id=user"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "error: dataset.path=x.csv: no such file" in err.splitlines()
    job = results.read_json(tmp_path / "results" / "adhoc" / "user" / "jobs" / "0000" / "job.json")
    assert job["status"] == "failed" and job["user_error"] is True


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compare", "nope_a", "nope_b"], "nope_a: no such file"),
        (["collect", "nope"], "not a run dir"),
        (["figures", ".", "--formats", "nope"], "--formats: nope"),
    ],
)
def test_verbs_bad_input_one_line_exit_2(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fits.parquet").write_bytes(b"")
    code = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
