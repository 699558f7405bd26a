"""The end of a run: figures and report against the same run without them (``report=false``).

Each study runs as a user runs it, ``sparsity-lab run experiment=<study>`` in a fresh process
and folder, with and without its report, the two interleaved in the same minutes so that the
load of a shared machine hits both alike. The ratio is what the report costs on top of the fits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from benchmarks._timing import interleaved, met, verdict

#: study -> the most its run with the report may take, as a multiple of the run without it
TARGETS = {"quickstart": 1.6, "l1_vs_l2": 1.4}
REPEAT = 2


def run_seconds(study: str, report: bool) -> float:
    """Wall time of `sparsity-lab run experiment=<study>` in a fresh process and folder."""
    args = [f"experiment={study}", *([] if report else ["report=false"])]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sparsity_lab.cli", "run", *args],
            cwd=tmp, check=True, capture_output=True,
            env={**os.environ, "SPARSITY_LAB_PROGRESS": "0"},
        )  # fmt: skip
        return time.perf_counter() - start


def main() -> bool:
    ok = True
    for study, target in TARGETS.items():
        times = interleaved(
            {
                "without": lambda study=study: run_seconds(study, report=False),
                "with": lambda study=study: run_seconds(study, report=True),
            },
            repeat=REPEAT,
        )
        ratio = times["with"] / times["without"]
        print(
            f"run experiment={study}: report=false {times['without']:.1f} s, with the report "
            f"{times['with']:.1f} s (median of {REPEAT}, interleaved): ratio {ratio:.2f} "
            f"{verdict(ratio, target)}"
        )
        ok = ok and met(ratio, target)
    return ok
