"""The end of a run: figures and report against the same run without them (``report=false``).

Each study runs as a user runs it, ``sparsity-lab run experiment=<study>`` in a fresh process
and folder, with and without its report, the two interleaved in the same minutes so that the
load of a shared machine hits both alike. The ratio is what the report costs on top of the fits.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks._timing import interleaved, met, verdict

#: study -> the most its run with the report may take, as a multiple of the run without it
TARGETS = {"quickstart": 1.6, "l1_vs_l2": 1.4}
REPEAT = 3


#: CPU seconds (user + system, the run and its figure workers) of the last `run_seconds` call
LAST_CPU: dict[tuple[str, bool], list[float]] = {}


def run_seconds(study: str, report: bool, drawer: bool = True) -> float:
    """Wall time of `sparsity-lab run experiment=<study>` in a fresh process and folder; its CPU
    time goes to ``LAST_CPU`` (on a loaded machine the wall ratio follows the share of the
    cores the run gets, the CPU ratio does not). ``drawer=False``: without the figure drawer
    (``SPARSITY_LAB_EARLY_FIGURES=0``: `run` draws every figure at its end)."""
    args = [f"experiment={study}", *([] if report else ["report=false"])]
    env = {**os.environ, "SPARSITY_LAB_PROGRESS": "0", "SPARSITY_LAB_EARLY_FIGURES": str(+drawer)}
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sparsity_lab.cli", "run", *args],
            cwd=tmp, check=True, capture_output=True, env=env,
        )  # fmt: skip
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    LAST_CPU.setdefault((study, report, drawer), []).append(cpu)
    return wall


def main() -> bool:
    ok = True
    for study, target in TARGETS.items():
        # one run first, not counted: a fresh venv compiles numba's caches on its first runs
        run_seconds(study, report=True)
        LAST_CPU.clear()
        times = interleaved(
            {
                "without": lambda study=study: run_seconds(study, report=False),
                "with": lambda study=study: run_seconds(study, report=True),
                "no drawer": lambda study=study: run_seconds(study, report=True, drawer=False),
            },
            repeat=REPEAT,
        )
        ratio = times["with"] / times["without"]
        cpu = {
            key: statistics.median(LAST_CPU[(study, *key)])
            for key in ((False, True), (True, True), (True, False))
        }
        base = cpu[False, True]
        print(
            f"run experiment={study}: report=false {times['without']:.1f} s, with the report "
            f"{times['with']:.1f} s (median of {REPEAT}, interleaved): ratio {ratio:.2f} "
            f"{verdict(ratio, target)}; CPU {base:.1f} s and {cpu[True, True]:.1f} s "
            f"(ratio {cpu[True, True] / base:.2f}; the figures run on every core); without "
            f"the figure drawer (SPARSITY_LAB_EARLY_FIGURES=0) {times['no drawer']:.1f} s, "
            f"ratio {times['no drawer'] / times['without']:.2f}, CPU {cpu[True, False]:.1f} s"
        )
        ok = ok and met(ratio, target)
    return ok
