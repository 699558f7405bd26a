"""I/O failures: a folder that cannot be written, a file where a folder should be, a full disk.
Each is one line naming the path and the cause; a job that could not write is `failed`, never
left `running`; completed jobs stay usable; the `results:` line is printed once the run exists."""

from __future__ import annotations

import errno
import subprocess

import pandas as pd
import pytest

from conftest import results_line, run_cli
from sparsity_lab import cli, results

SMALL = ["model=lasso", "dataset=diabetes", "grid.num=2"]


@pytest.fixture
def mount_tmpfs(tmp_path):
    """mount_tmpfs(name, options) -> a fresh tmpfs folder (root only; skipped elsewhere)."""
    mounted = []

    def _mount(name: str, options: str):
        folder = tmp_path / name
        folder.mkdir()
        cmd = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounted.append(folder)
        return folder

    yield _mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# (id, what results_dir / --out is, verb, words of the one error line); exit 2, before any work
CASES = [
    ("results_dir read-only", "ro", "run", ["results_dir=", "cannot write in", "Read-only"]),
    ("results_dir is a file", "file", "run", ["results_dir=", "is a file, not a folder"]),
    ("results_dir under a file", "file/sub", "run", ["is a file, not a folder"]),
    ("figures --out read-only", "ro/figs", "figures", ["cannot write in", "Read-only"]),
    ("figures --out is a file", "file", "figures", ["is a file, not a folder"]),
]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("small")
    return cwd / results_line(run_cli(["run", *SMALL, "run_id=small"], cwd=cwd).stdout)


@pytest.mark.parametrize(
    ("target", "verb", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_unwritable_output_is_one_line(
    tmp_path, mount_tmpfs, capsys, small_run, target, verb, words
):
    (tmp_path / "file").write_text("x")
    if target.startswith("ro"):
        mount_tmpfs("ro", "ro,size=64k")
    path = tmp_path / target
    if verb == "run":
        code = cli.main(["run", *SMALL, f"results_dir={path}"])
    else:
        code = cli.main(["figures", str(small_run), "--out", str(path), "--formats", "png"])
    _, err = capsys.readouterr()
    line = _one_error_line(err)
    assert code == 2, err
    for word in words:
        assert word in line, line
    assert str(tmp_path) in line  # the path is named
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"file", target.split("/")[0]})


def _records(run_dir):
    return {
        d.name: results.read_json_or_empty(d / results.JOB_FILE) for d in results.job_dirs(run_dir)
    }


def _assert_full_disk_outcome(proc_code, out, err, run_dir):
    assert proc_code == 1, err
    assert "Traceback" not in err + out
    assert all(line.startswith("error: ") for line in err.splitlines() if "error" in line.lower())
    assert results_line(out) == run_dir
    records = _records(run_dir)
    statuses = [r.get("status") for r in records.values()]
    assert "running" not in statuses, records
    failed = [r for r in records.values() if r.get("status") == "failed"]
    assert failed, records
    for record in failed:
        assert "No space left on device" in record["error"] and str(run_dir) in record["error"]
    complete = [d for d in results.job_dirs(run_dir) if results.job_status(d) == "complete"]
    assert complete  # the jobs done before the disk filled stay usable
    for job in complete:
        assert len(pd.read_parquet(job / results.FITS_FILE)) == 20


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_full_disk_for_real(tmp_path, mount_tmpfs):
    """The issue's case: 6 jobs into a 200 KB tmpfs."""
    full = mount_tmpfs("full", "size=200k")
    args = ["run", "-m", "model=lasso,ridge", "seed=0,1,2", "dataset.n_samples=100",
            "dataset.n_features=50", "grid.num=20", f"results_dir={full}", "run_id=r"]  # fmt: skip
    proc = run_cli(args, cwd=tmp_path, check=False)
    _assert_full_disk_outcome(proc.returncode, proc.stdout, proc.stderr, full / "adhoc" / "r")


def _fail_writes(monkeypatch, where: str):
    """Every parquet write whose path contains ``where`` fails with ENOSPC after 1 byte."""
    original = pd.DataFrame.to_parquet

    def to_parquet(self, path, *args, **kwargs):
        if where in str(path):  # the temp file beside the table
            with open(path, "wb") as fh:
                fh.write(b"P")
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)


@pytest.mark.parametrize("where", ["jobs/0001/.coefs", "r/.fits"], ids=["job", "run tables"])
def test_full_disk_simulated(tmp_path, monkeypatch, capsys, where):
    """The same without root: writes fail with ENOSPC (a job's table, or the run's tables)."""
    monkeypatch.chdir(tmp_path)
    _fail_writes(monkeypatch, where)
    args = ["-m", "model=lasso,ridge", "dataset.n_samples=100", "dataset.n_features=50",
            "grid.num=20", "run_id=r"]  # fmt: skip
    code = cli.main(["run", *args])
    out, err = capsys.readouterr()
    run_dir = tmp_path / "results" / "adhoc" / "r"
    if where.startswith("jobs"):
        _assert_full_disk_outcome(code, out, err, run_dir.relative_to(tmp_path))
    else:
        assert code == 1 and "Traceback" not in err
        assert f"error: {run_dir.relative_to(tmp_path)}/fits.parquet: No space left" in err
        assert results_line(out) == run_dir.relative_to(tmp_path)
        assert all(results.job_status(d) == "complete" for d in results.job_dirs(run_dir))
