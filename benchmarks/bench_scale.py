"""Run-level steps at cluster scale: peak memory and wall of collect, report, compare --check
and read_fits on runs of many large jobs (issue 28).

The run's shape is the issue's: `run -m dataset=synthetic dataset.n_samples=400
dataset.n_features=20000 dataset.n_informative=40 model=lasso grid.num=100`, 2 M coefficient
rows per job. One job is fitted for real (about 6 s); the other jobs of a run are its tables
copied with their seed changed (each job a distinct fit key, as a sweep over seeds gives), with
a complete job record each: fitting 100 such jobs would take 10 minutes and measure the fits.

Each step runs as a user runs it, in a fresh process (``sparsity-lab collect RUN``, ``report
RUN``, ``compare RUN RUN --check``, and a Python ``read_fits(RUN)``); its peak RSS is the
process's (and its figure workers') ``ru_maxrss`` from ``wait4``. Targets: peak RSS <= 2 GB
each, and the wall linear in the rows (the largest run <= 30x the 4-job time per 25x the jobs,
i.e. the ratio of walls at most 1.2x the ratio of jobs).

``make bench ARGS=scale`` runs 4 and 16 jobs; ``SPARSITY_LAB_BENCH_SCALE_JOBS=4,16,100`` (the
issue's full size: 200 M rows, 440 MB of parquet; check ``df -h`` first) sets the sizes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._timing import met, verdict

SHAPE = [
    "dataset=synthetic",
    "dataset.n_samples=400",
    "dataset.n_features=20000",
    "dataset.n_informative=40",
    "model=lasso",
    "grid.num=100",
]
DEFAULT_JOBS = (4, 16)
RSS_TARGET_GB = 2.0
#: the wall of the largest run per job, at most this multiple of the 4-job run's per job
LINEAR_SLACK = 1.2
STEPS = ("collect", "report", "compare --check", "read_fits")
TIME = "/usr/bin/time"


def fit_template(root: Path) -> Path:
    """One job of the issue's shape, fitted for real; its job dir."""
    env = {**os.environ, "SPARSITY_LAB_PROGRESS": "0"}
    subprocess.run(
        [sys.executable, "-m", "sparsity_lab.cli", "run", "-m", *SHAPE, "seed=0",
         f"results_dir={root}", "run_id=template", "report=false"],
        cwd=root, check=True, capture_output=True, env=env,
    )  # fmt: skip
    return root / "adhoc" / "template" / "jobs" / "0000"


def copy_run(template: Path, run_dir: Path, n_jobs: int) -> None:
    """A run dir of ``n_jobs`` jobs, each the template job's tables with ``seed`` = its number,
    and a complete record (row counts, checksums); run.json names the number of jobs."""
    from sparsity_lab import results

    tables = {p.stem: pq.read_table(p) for p in sorted(template.glob("*.parquet"))}
    record = results.read_json(template / "job.json")
    for i in range(n_jobs):
        job = run_dir / "jobs" / f"{i:04d}"
        job.mkdir(parents=True)
        shutil.copytree(template / ".hydra", job / ".hydra")
        for name, table in tables.items():
            if "seed" in table.column_names:
                index = table.column_names.index("seed")
                seed = pa.array([i] * table.num_rows, type=table.schema.field(index).type)
                table = table.set_column(index, "seed", seed)
            pq.write_table(table, job / f"{name}.parquet")
        sha = {name: results.file_sha256(job / f"{name}.parquet") for name in tables}
        (job / "job.json").write_text(json.dumps({**record, "sha256": sha, "key": f"copy{i}"}))
    info = results.read_json(template.parent.parent / "run.json")
    info.update(n_jobs=n_jobs, job_keys=[f"copy{i}" for i in range(n_jobs)], study="adhoc")
    (run_dir / "run.json").write_text(json.dumps(info))


def measure(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in GB, exit code) of one fresh process and its children, by
    GNU time (``/usr/bin/time -f``) as the issue measured: ``wait4`` on a child forked from
    this process would count the pages it shares with it at the fork."""
    env = {**os.environ, "SPARSITY_LAB_PROGRESS": "0"}
    with tempfile.NamedTemporaryFile("r") as out:
        timer = [TIME, "-o", out.name, "-f", "%e %M"]
        start = time.perf_counter()
        proc = subprocess.run(
            [*timer, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wall = time.perf_counter() - start
        fields = out.read().split()
    code = proc.returncode
    if code != 0:
        print(f"  exit {code}: {proc.stderr.decode().strip()[-300:]}")
    return wall, int(fields[-1]) / 1024**2, code


def step_commands(run_dir: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "sparsity_lab.cli"]
    read = f"import sparsity_lab; print(len(sparsity_lab.read_fits({str(run_dir)!r})))"
    return {
        "collect": [*cli, "collect", str(run_dir)],
        "report": [*cli, "report", str(run_dir)],
        "compare --check": [*cli, "compare", str(run_dir), str(run_dir), "--check"],
        "read_fits": [sys.executable, "-c", read],
    }


def job_sizes() -> list[int]:
    text = os.environ.get("SPARSITY_LAB_BENCH_SCALE_JOBS", "")
    sizes = [int(x) for x in text.split(",") if x.strip()] or list(DEFAULT_JOBS)
    return sorted(set(sizes))


def main() -> bool:
    if not Path(TIME).is_file():
        print(f"skipped: needs GNU time ({TIME}) for the peak RSS of each step")
        return True
    sizes = job_sizes()
    print(
        f"load average {os.getloadavg()[0]:.2f}; runs of {', '.join(map(str, sizes))} jobs of "
        "2 M coefficient rows (one job fitted, the others its tables copied, seed changed)"
    )
    measured: dict[tuple[int, str], tuple[float, float]] = {}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = fit_template(root)
        for n_jobs in sizes:
            run_dir = root / "adhoc" / f"run{n_jobs}"
            copy_run(template, run_dir, n_jobs)
            for step, args in step_commands(run_dir).items():
                wall, rss, code = measure(args, root)
                measured[n_jobs, step] = (wall, rss)
                fine = code == 0 and rss <= RSS_TARGET_GB
                ok = ok and fine
                print(f"{n_jobs:4d} jobs ({2 * n_jobs} M rows) {step:16s} {wall:7.1f} s "
                      f"{rss:6.2f} GB peak RSS {verdict(rss, RSS_TARGET_GB)}"
                      + ("" if code == 0 else f" exit {code}"), flush=True)  # fmt: skip
            shutil.rmtree(run_dir)
    small, large = sizes[0], sizes[-1]
    if large > small:
        for step in STEPS:
            ratio = measured[large, step][0] / measured[small, step][0]
            target = LINEAR_SLACK * large / small
            print(f"{step}: {large} jobs / {small} jobs wall {ratio:.1f}x {verdict(ratio, target)}")
            ok = ok and met(ratio, target)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return ok
