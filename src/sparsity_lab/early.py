"""A run's coefficient figures drawn while its jobs still run, on a core the jobs leave idle.

A sweep on the default launcher runs its jobs one after another in the `run` process, so on a
machine with two or more cores one core waits until the report, which then draws every figure.
The console script starts one drawer process (:class:`EarlyFigures`) before its own imports
(an in-process `run` starts it itself): it imports the figure code while the sweep is
planned, learns the run dir once the sweep starts, and draws the
figures of each dataset whose jobs are done (those of the complete jobs in front of the first
one not done, except the last one's dataset, which may have jobs still to come) from the jobs'
own tables, at the report's resolution, into a scratch folder of the run's figures folder.

Nothing drawn early is trusted: each PNG is named by the :func:`~sparsity_lab.figures.make.
figure_key` of the inputs it was drawn from, and the report, reading the run's collected
table, copies a PNG only where its own inputs give the same key (a dataset with a job the
drawer did not see, a resumed run's other jobs, another ``zero_tol``: the key differs and the
report draws it). The drawer runs at the lowest priority (``nice`` 19), so it takes only a
core `run` leaves idle (measured: l1_vs_l2 0.3 s faster, a sweep with longer jobs 1 s, the
quickstart within 0.1 s; the report then draws the figures itself, in `run`'s own
processes, at normal priority). When the report starts, the
drawer is killed (what it was drawing is lost, so it takes no core from the report's
workers), and the scratch folder is removed after the report. The drawer exits by itself
when `run` is gone (its stdin closes).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

#: Name of a drawer's scratch folder in the run's figures folder: ``.early-<drawer pid>``.
SCRATCH_PREFIX = ".early-"
#: Seconds between two looks at the jobs' records.
POLL = 0.1
#: ``SPARSITY_LAB_EARLY_FIGURES=0`` turns the drawer off (figures drawn at the report only).
ENV = "SPARSITY_LAB_EARLY_FIGURES"


def wanted(overrides: list[str]) -> bool:
    """Whether `run` with these overrides starts a drawer: a sweep (``-m`` or an experiment)
    with its report, on a launcher that leaves a core idle (the default, one job at a time,
    or ``hydra.launcher.n_jobs`` below the usable cores), on a machine with two or more cores;
    not for Hydra's flags that launch nothing (``--cfg``, ``--help``, ...) nor with
    ``SPARSITY_LAB_EARLY_FIGURES=0`` or ``SPARSITY_LAB_REPORT`` false."""
    from sparsity_lab.errors import UserError
    from sparsity_lab.paths import yaml_bool
    from sparsity_lab.threads import usable_cores

    if not yaml_bool(os.environ.get(ENV) or "1", ENV):
        return False
    forced = os.environ.get("SPARSITY_LAB_REPORT")
    if forced and not yaml_bool(forced, "SPARSITY_LAB_REPORT"):
        return False
    if usable_cores() < 2:
        return False
    sweep = False
    for token in overrides:
        if token in ("-m", "--multirun"):
            sweep = True
        elif token.startswith("-"):
            return False  # --cfg, --help, --info, -c ...: nothing is launched
        key, _, value = token.partition("=")
        key = key.lstrip("+~")
        if key == "experiment":
            sweep = True
        elif key == "report":
            try:
                if not yaml_bool(value, "report"):
                    return False
            except UserError:  # the pre-launch check says what is wrong with it
                return False
        elif key == "hydra/launcher" and value != "local":
            return False
        elif key == "hydra.launcher.n_jobs":
            try:
                if int(value) >= usable_cores() or int(value) < 1:
                    return False
            except ValueError:
                return False
    return sweep


class EarlyFigures:
    """`run`'s side of the drawer: :meth:`start` it, :meth:`stop` it before the report (the
    folder of what it drew, or None), :meth:`close` at the end (stops it, removes its folder).

    The console script starts it before its own imports, so that both import side by side;
    :meth:`watch` then gives it the run dir once the sweep has started.
    """

    def __init__(self) -> None:
        self.run_dir: Callable[[], Path | None] = lambda: None
        self.proc: subprocess.Popen | None = None
        self._sent: Path | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the drawer process (it imports the figure code, then waits for a run dir)."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sparsity_lab.early"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip

    def watch(self, run_dir: Callable[[], Path | None]) -> None:
        """Tell the drawer (if started) the run dir once ``run_dir()`` gives one (the sweep's
        start names it), from a thread."""
        if self.proc is None:
            return
        self.run_dir = run_dir
        self._thread = threading.Thread(target=self._send_run_dir, daemon=True)
        self._thread.start()

    def _send_run_dir(self) -> None:
        while not self._done.wait(POLL / 2):
            run_dir = self.run_dir()
            if run_dir is None:
                continue
            try:
                self.proc.stdin.write(json.dumps(str(Path(run_dir).resolve())) + "\n")
                self.proc.stdin.flush()
                self._sent = Path(run_dir)
            except (OSError, ValueError):  # the drawer is gone: the report draws everything
                pass
            return

    def stop(self) -> Path | None:
        """Stop the drawer now (SIGKILL: it draws nothing more) and return its folder of
        figures, or None when it drew none. Not waiting for it to go (at the lowest priority,
        on a busy machine, that takes a while): a PNG it renames into its folder after this
        is whole, and as good as any under its key."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        if self._sent is None:
            return None
        folder = scratch_dir(self._sent, self.proc.pid)
        return folder if folder.is_dir() else None

    def close(self) -> None:
        """Stop the drawer if it runs, wait for it to go, and remove its folder."""
        self.stop()
        if self.proc is not None:  # killed: gone in a moment, then its folder can go
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
        if self._sent is not None and self.proc is not None:
            folder = scratch_dir(self._sent, self.proc.pid)
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):
                folder.parent.rmdir()  # the figures folder, when the report wrote none


def scratch_dir(run_dir: Path, pid: int) -> Path:
    """The drawer ``pid``'s folder of figures in ``run_dir``."""
    from sparsity_lab import schema

    return Path(run_dir) / schema.FIGURES_DIR / f"{SCRATCH_PREFIX}{pid}"


class Drawer:
    """The drawer's work on one run dir: :meth:`step` draws the figures of the datasets whose
    jobs are done and not drawn yet (at the report's resolution, under their keys)."""

    def __init__(self, run_dir: Path, folder: Path) -> None:
        self.run_dir = run_dir
        self.folder = folder
        self.datasets: dict[str, list[str]] = {}  # complete job -> its datasets
        self.drawn: set[str] = set()

    def leading_jobs(self) -> list[Path]:
        """The complete jobs in front of the first one that is not (in job order)."""
        from sparsity_lab import results

        leading = []
        for job in results.job_dirs(self.run_dir):
            if job.name not in self.datasets:
                if not results.job_is_complete(job):
                    break
                seen = results.distinct_rows(job, results.COEFS_FILE, ["dataset"])
                self.datasets[job.name] = [str(d) for d in seen["dataset"]]
            leading.append(job)
        return leading

    def step(self) -> int:
        """Draw what is ready; how many figures were drawn."""
        from sparsity_lab import results
        from sparsity_lab.figures._common import NotSupported
        from sparsity_lab.figures.coefficients import CoefRows
        from sparsity_lab.figures.make import dataset_figures, figure_key, first_zero_tol
        from sparsity_lab.figures.save import save_figure
        from sparsity_lab.report import REPORT_DPI

        leading = self.leading_jobs()
        if len(leading) < 2:
            return 0
        open_ = set(self.datasets[leading[-1].name])  # its dataset may have jobs to come
        ready = [
            d
            for job in leading[:-1]
            for d in self.datasets[job.name]
            if d not in open_ and d not in self.drawn
        ]
        if not ready:
            return 0
        fits = results.read_table(leading[0], results.FITS_FILE, columns=["zero_tol"])
        zero_tol = first_zero_tol(fits)
        n = 0
        for dataset in dict.fromkeys(ready):
            self.drawn.add(dataset)
            # the dataset's jobs only: each file read costs its opening (33 files: 0.2 s a
            # figure); what other datasets' rows could change (a relaxed lasso's least gamma,
            # a figure's only cross-dataset input) the report's key check catches
            rows = CoefRows([job for job in leading if dataset in self.datasets[job.name]])
            for stem, figure in dataset_figures(rows, dataset, zero_tol):
                try:
                    inputs = figure.read()
                    fig = figure.draw(inputs)
                except NotSupported:
                    continue
                path = self.folder / f"{stem}.{figure_key(stem, inputs, REPORT_DPI)}.png"
                part = path.with_name(f"{path.name}.part")
                save_figure(fig, part, "png", dpi=REPORT_DPI)
                os.replace(part, path)  # whole or absent
                n += 1
        return n


def _parent_gone(stdin) -> bool:
    """Whether `run` closed our stdin (it stopped us, or exited)."""
    readable, _, _ = select.select([stdin], [], [], POLL)
    return bool(readable) and not stdin.readline()


def main() -> int:
    """The drawer process: import, wait for the run dir on stdin, draw until stdin closes."""
    # the lowest priority: it takes a core only when `run` (its imports, its jobs, their BLAS
    # threads) leaves one idle, so that it never slows the run it draws for
    with contextlib.suppress(OSError):
        os.nice(19)
    # the figure code, imported while `run` plans the sweep
    import sparsity_lab.figures.make
    import sparsity_lab.report  # noqa: F401
    from sparsity_lab.report import report_enabled

    try:
        line = sys.stdin.readline()
        if not line:
            return 0
        run_dir = Path(json.loads(line))
        folder = scratch_dir(run_dir, os.getpid())
        drawer = Drawer(run_dir, folder)
        enabled = None
        while not _parent_gone(sys.stdin):
            if enabled is None:
                if not drawer.leading_jobs():
                    continue  # report_enabled reads a job's config
                enabled = report_enabled(run_dir)
                if not enabled:
                    return 0
                folder.mkdir(parents=True, exist_ok=True)
            drawer.step()
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: `run` says it
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
