"""Start-up and per-job costs of `sparsity-lab`, and when a parallel launcher pays (issue 15).

Every command runs in a fresh process, the way a user runs it, and is timed against the import
floor of what a tiny job needs, measured in the same run (the machine is shared: wall times move
with its load, so each measurement is repeated with the commands interleaved and the spread is
printed next to the median).

``SPARSITY_LAB_BENCH_PYTHON=<venv>/bin/python python -m benchmarks startup`` times another
install (e.g. main's) with the same script; ``BEFORE`` holds main's numbers measured that way.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._timing import met, verdict

PYTHON = os.environ.get("SPARSITY_LAB_BENCH_PYTHON", sys.executable)
CLI = str(Path(PYTHON).parent / "sparsity-lab")
FLOOR = "import numpy, pandas, pyarrow.parquet, hydra; from sklearn.linear_model import enet_path"
TINY = ["dataset=diabetes", "model=lasso", "grid.num=5"]
SEEDS = "seed=" + ",".join(map(str, range(20)))
#: every job's config composed in the parent process (no forked composers: sweeper.py)
ONE = {"SPARSITY_LAB_PARALLEL_COMPOSE": "0"}
# user's environment: bytecode caches are written (this sandbox sets PYTHONDONTWRITEBYTECODE)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV |= {"SPARSITY_LAB_PROGRESS": "0", "PYTHONWARNINGS": "ignore"}
# main at f076370 (before issues 11 to 15) measured by this script (SPARSITY_LAB_BENCH_PYTHON)
# on 2026-12-01 on an idle 2-core machine: (median wall, median CPU) seconds. It had no
# end-of-run report and no exact solver, so its l1_vs_l2 jobs did less work than today's.
BEFORE: dict[str, tuple[float, float]] = {
    "import floor (numpy pandas pyarrow hydra sklearn)": (3.07, 3.28),
    "run one tiny job": (3.82, 4.04),
    "--help": (0.95, 1.06),
    "models": (2.41, 2.63),
    "datasets": (3.24, 3.55),
    "20 tiny jobs, sequential": (9.87, 10.09),
    "20 tiny jobs, joblib 2": (13.39, 18.83),
    "l1_vs_l2 (33 jobs), sequential": (29.39, 32.03),
    "l1_vs_l2 (33 jobs), joblib 2": (27.36, 37.98),
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one command in a fresh process and an empty working directory
    (``env``: variables set on top of ENV); CPU counts its worker processes too and moves less
    with the machine's load."""
    with tempfile.TemporaryDirectory() as tmp:
        cpu, start = _cpu(), time.perf_counter()
        subprocess.run(argv, cwd=tmp, env={**ENV, **(env or {})}, check=True, capture_output=True)
        return time.perf_counter() - start, _cpu() - cpu


#: a command: its argv, or (argv, environment variables it runs with)
Command = list[str] | tuple[list[str], dict[str, str]]


def measure(commands: dict[str, Command], repeat: int) -> dict[str, list[tuple[float, float]]]:
    """Each command ``repeat`` times, interleaved so that load drifts hit all alike."""
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            argv, env = command if isinstance(command, tuple) else (command, None)
            times[name].append(wall(argv, env))
    return times


def _config_dir() -> Path:
    code = "from sparsity_lab.paths import config_dir; print(config_dir())"
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=ENV, check=True)
    return Path(out.stdout.strip())


def launchers(configs: Path) -> dict[str, list[str]]:
    """The parallel launchers the measured install (config tree ``configs``) has: Hydra's
    joblib, and the suite's own."""
    found = {"joblib 2": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}
    # a preset file before issue 21, the launcher plugin's ConfigStore entry since
    plugin = configs.parent / "src" / "hydra_plugins" / "sparsity_lab_launcher"
    if (configs / "hydra" / "launcher" / "local.yaml").is_file() or plugin.is_dir():
        found["local 2"] = ["hydra/launcher=local", "hydra.launcher.n_jobs=2"]
    return found


def _row(name: str, times: list[tuple[float, float]]) -> tuple[str, float, float]:
    walls = [w for w, _ in times]
    med, cpu = statistics.median(walls), statistics.median(c for _, c in times)
    spread = (max(walls) - min(walls)) / med if med else 0.0
    before = BEFORE.get(name)
    was = f"{before[0]:6.2f} s | {before[1]:6.2f} s" if before else "     - |      -"
    print(
        f"| {name:<34} | {was} | {med:6.2f} s | {min(walls):6.2f} s | {cpu:6.2f} s "
        f"| {100 * spread:3.0f}% |"
    )
    return name, min(walls), cpu


def main() -> bool:
    run = [CLI, "run"]
    wall([CLI, "run", *TINY])  # warm the disk cache and the bytecode caches
    configs = _config_dir()
    par = launchers(configs)
    # an install older than the end-of-run report has no `report` key
    no_report = ["report=false"] if "\nreport:" in (configs / "config.yaml").read_text() else []
    startup = measure(
        {
            "import floor (numpy pandas pyarrow hydra sklearn)": [PYTHON, "-c", FLOOR],
            "run one tiny job": [*run, *TINY],
            **({"run one tiny job, report=false": [*run, *TINY, *no_report]} if no_report else {}),
            "--help": [CLI, "--help"],
            "models": [CLI, "models"],
            "datasets": [CLI, "datasets"],
        },
        repeat=5,
    )
    # the suite's default launcher runs a sweep in the process with the configs the check
    # composed (Hydra's basic launcher, the default before, composes each job again)
    basic = "override hydra/launcher: local" in (configs / "config.yaml").read_text()
    # without the end-of-run figures, like the one-job row the per-job overhead subtracts: the
    # drawing time of 20 jobs' figures against one job's would swing that difference
    tiny = [*run, "-m", *TINY, SEEDS, *no_report]
    sweeps = measure(
        {
            "20 tiny jobs, sequential": tiny,
            **(
                {"20 tiny jobs, Hydra's basic launcher": [*tiny, "hydra/launcher=basic"]}
                if basic
                else {}
            ),
            **{f"20 tiny jobs, {k}": [*tiny, *v] for k, v in par.items()},
            **(
                {"20 tiny jobs, local 2, composed in the parent": ([*tiny, *par["local 2"]], ONE)}
                if "local 2" in par
                else {}
            ),
        },
        repeat=3,
    )
    # the launchers' share: the study's jobs without the end-of-run figures and report, which
    # every launcher draws the same way (on every core); one row shows what they add
    study = [*run, "experiment=l1_vs_l2", *no_report]
    studies = measure(
        {
            "l1_vs_l2 (33 jobs), sequential": study,
            **{f"l1_vs_l2 (33 jobs), {k}": [*study, *v] for k, v in par.items()},
            **(
                {
                    "l1_vs_l2 (33 jobs), local 2, composed in the parent": (
                        [*study, *par["local 2"]],
                        ONE,
                    )
                }
                if "local 2" in par
                else {}
            ),
            **(
                {
                    "l1_vs_l2 (33 jobs), local 2, with report": [
                        *run,
                        "experiment=l1_vs_l2",
                        *par["local 2"],
                    ]
                }
                if no_report and "local 2" in par
                else {}
            ),
        },
        repeat=2,
    )
    print(
        f"\n{PYTHON}; wall: median and min, CPU: median (user+sys, workers included); spread ="
        " (max - min) / median of the walls\n| command | before wall | before CPU | wall | min "
        "wall | CPU | spread |\n|---|---|---|---|---|---|---|"
    )
    rows = [_row(k, v) for k, v in {**startup, **sweeps, **studies}.items()]
    # verdicts on the least disturbed wall (the minimum), and the same sums on CPU seconds
    med = {name: wall for name, wall, _ in rows}
    cpu = {name: c for name, _, c in rows}

    # The target is the suite's start-up: the job without the figures and report that `run`
    # draws at its end (work the user asked for, shown on its own row and in the note below).
    floor, one = med["import floor (numpy pandas pyarrow hydra sklearn)"], med["run one tiny job"]
    bare = med.get("run one tiny job, report=false", one)
    above = bare - floor
    per_job = (med["20 tiny jobs, sequential"] - bare) / 19
    verbs = max(med["--help"], med["models"], med["datasets"])
    cpu_bare = cpu.get("run one tiny job, report=false", cpu["run one tiny job"])
    cpu_above = cpu_bare - cpu["import floor (numpy pandas pyarrow hydra sklearn)"]
    cpu_per_job = (cpu["20 tiny jobs, sequential"] - cpu_bare) / 19
    print(
        f"\none tiny job: {above:.2f} s above the import floor {verdict(above, 0.5)} "
        f"(+{one - bare:.2f} s for its figures and report); "
        f"--help {med['--help']:.2f} s {verdict(med['--help'], 0.3)}; "
        f"--help/models/datasets: slowest {verbs:.2f} s {verdict(verbs, 1.0)}; sequential "
        f"per-job overhead {per_job:.3f} s {verdict(per_job, 0.1)}\nin CPU seconds: one job "
        f"{cpu_above:.2f} above the floor, per job {cpu_per_job:.3f}, verbs "
        f"{max(cpu['--help'], cpu['models'], cpu['datasets']):.2f}"
    )
    ok = met(above, 0.5) and met(med["--help"], 0.3) and met(verbs, 1.0) and met(per_job, 0.1)
    for name in par:
        tiny = med[f"20 tiny jobs, {name}"] / med["20 tiny jobs, sequential"]
        study = med["l1_vs_l2 (33 jobs), sequential"] / med[f"l1_vs_l2 (33 jobs), {name}"]
        print(
            f"{name}: 20 tiny jobs at {tiny:.2f}x the sequential wall {verdict(tiny, 1.0)}; "
            f"l1_vs_l2 speedup {study:.2f}x {verdict(study, 1.5, lower_is_better=False)}"
        )
        if name.startswith(
            "local"
        ):  # the suite's recipe; Hydra's launchers are shown for reference
            ok = ok and met(tiny, 1.0) and met(study, 1.5, lower_is_better=False)
    # issue 21's rule: the forked composers stay only if they save >= 20% of a sweep's wall
    saved = {
        sweep: 1 - med[f"{sweep}, local 2"] / med[f"{sweep}, local 2, composed in the parent"]
        for sweep in ("20 tiny jobs", "l1_vs_l2 (33 jobs)")
        if f"{sweep}, local 2, composed in the parent" in med
    }
    if saved:
        print(
            "local 2, forked composers against every job composed in the parent: they save "
            + ", ".join(f"{100 * v:.0f}% of the {k} wall" for k, v in saved.items())
            + f" (they stay while one is >= 20%: {max(saved.values()) >= 0.2})"
        )
    return ok
