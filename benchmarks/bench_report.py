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
REPEAT = 2


#: CPU seconds (user + system, the run and its figure workers) of the last `run_seconds` call
LAST_CPU: dict[tuple[str, bool], list[float]] = {}


def run_seconds(study: str, report: bool) -> float:
    """Wall time of `sparsity-lab run experiment=<study>` in a fresh process and folder; its CPU
    time goes to ``LAST_CPU`` (on a loaded machine the wall ratio follows the share of the
    cores the run gets, the CPU ratio does not)."""
    args = [f"experiment={study}", *([] if report else ["report=false"])]
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sparsity_lab.cli", "run", *args],
            cwd=tmp, check=True, capture_output=True,
            env={**os.environ, "SPARSITY_LAB_PROGRESS": "0"},
        )  # fmt: skip
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    LAST_CPU.setdefault((study, report), []).append(cpu)
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
            },
            repeat=REPEAT,
        )
        ratio = times["with"] / times["without"]
        cpu = {report: statistics.median(LAST_CPU[study, report]) for report in (False, True)}
        print(
            f"run experiment={study}: report=false {times['without']:.1f} s, with the report "
            f"{times['with']:.1f} s (median of {REPEAT}, interleaved): ratio {ratio:.2f} "
            f"{verdict(ratio, target)}; CPU {cpu[False]:.1f} s and {cpu[True]:.1f} s "
            f"(ratio {cpu[True] / cpu[False]:.2f}; the figures run on every core)"
        )
        ok = ok and met(ratio, target)
    return ok
