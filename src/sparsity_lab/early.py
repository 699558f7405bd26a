"""A run's figures drawn in a process that has the figure code loaded, and, while the jobs
still run, on a core they leave idle.

A sweep on the default launcher runs its jobs one after another in the `run` process, so on a
machine with two or more cores one core waits until the report, which then draws every figure.
The console script starts one drawer process (:class:`EarlyFigures`) before its own imports:
it imports the figure code (matplotlib, seaborn) beside `run`'s imports and learns the run dir
once the sweep starts. A child of it, at the lowest priority (``nice`` 19: only a core `run`
leaves idle), then draws the coefficient figures of each dataset whose jobs are done (those
of the complete jobs in front of the first one not done, except the last one's dataset, which
may have jobs still to come) from the jobs' own tables, at the report's resolution, into a
scratch folder of the run's figures folder. At the report, `run` asks the drawer for all the
figures: it kills that child and draws them as ``sparsity-lab report`` would (its forked
workers, at normal priority), so `run` itself never loads matplotlib.

Nothing drawn early is trusted: each PNG is named by the :func:`~sparsity_lab.figures.make.
figure_key` of the inputs it was drawn from, and the report, reading the run's collected
table, copies a PNG only where its own inputs give the same key (a dataset with a job the
drawer did not see, a resumed run's other jobs, another ``zero_tol``: the key differs and the
report draws it). The drawer exits when `run` closes its stdin (at its end, or when it is
killed), and the scratch folder is removed after the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

#: Name of a drawer's scratch folder in the run's figures folder: ``.early-<drawer pid>``.
SCRATCH_PREFIX = ".early-"
#: Seconds between two looks at the jobs' records.
POLL = 0.1
#: ``SPARSITY_LAB_EARLY_FIGURES=0`` turns the drawer off (figures drawn at the report only).
ENV = "SPARSITY_LAB_EARLY_FIGURES"


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def wanted(overrides: list[str]) -> bool:
    """Whether `run` with these overrides starts a drawer: a sweep (``-m`` or an experiment)
    with its report, on a launcher that leaves a core idle (the default, one job at a time,
    or ``hydra.launcher.n_jobs`` below the usable cores), on a machine with two or more cores;
    not for Hydra's flags that launch nothing (``--cfg``, ``--help``, ...) nor with
    ``SPARSITY_LAB_EARLY_FIGURES=0`` or ``SPARSITY_LAB_REPORT`` false."""
    from sparsity_lab.paths import yaml_bool

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
            except Exception:  # the pre-launch check says what is wrong with it
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
    """`run`'s side of the drawer: :meth:`start` it, :meth:`watch` for the run dir,
    :meth:`render` the report's figures in it, :meth:`close` at the end (it exits, its folder
    goes).

    The console script starts it before its own imports, so that both import side by side.
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
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
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
            if self._send_run_dir_once():
                return

    def _send_run_dir_once(self) -> bool:
        """Send the run dir if there is one yet; whether there was."""
        run_dir = self.run_dir()
        if run_dir is None:
            return False
        if self._send({"run_dir": str(Path(run_dir).resolve())}):
            self._sent = Path(run_dir)
        return True

    def _send(self, command: dict) -> bool:
        try:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):  # the drawer is gone: the report draws everything
            return False
        return True

    def _stop_watching(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def folder(self) -> Path | None:
        """The folder of what the drawer drew, if any."""
        if self.proc is None or self._sent is None:
            return None
        folder = scratch_dir(self._sent, self.proc.pid)
        return folder if folder.is_dir() else None

    def render(self, out: Path) -> tuple[list[Path], list[tuple[str, str]], int] | None:
        """The report's figures drawn by the drawer into ``out``, as
        :func:`sparsity_lab.report.figure_files` gives them, or None when it cannot (not
        started, no run dir, gone, or a bug: its traceback shown, and `run` draws them)."""
        self._stop_watching()
        if self.proc is None or self.proc.poll() is not None:
            return None
        if self._sent is None:  # the thread had not seen it yet
            self._send_run_dir_once()
        if self._sent is None:
            return None
        if not self._send({"render": str(Path(out).resolve())}):
            return None
        try:
            line = self.proc.stdout.readline()
        except (OSError, ValueError):
            return None
        if not line:
            return None
        reply = json.loads(line)
        if "error" in reply:
            print(reply["error"].rstrip(), file=sys.stderr, flush=True)
            return None
        skipped = [(stem, reason) for stem, reason in reply["skipped"]]
        return [Path(p) for p in reply["written"]], skipped, reply["n_early"]

    def close(self) -> None:
        """Let the drawer go (its stdin closes: it stops drawing and exits) and remove its
        folder."""
        self._stop_watching()
        if self.proc is None:
            return
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:  # idle at stdin, it goes at once; drawing still (`run` interrupted), it is killed
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()
        if self._sent is not None:
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


def _draw_while_jobs_run(run_dir: Path, folder: Path) -> int:
    """The forked child of the drawer that draws while the jobs run, at the lowest priority
    (``nice`` 19: it takes only a core `run` leaves idle, never one its jobs or their BLAS
    threads want), until the drawer kills it or is gone. Returns its pid (in the drawer)."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        with contextlib.suppress(OSError):
            os.nice(19)
        from sparsity_lab.report import report_enabled

        drawer, owner, enabled = Drawer(run_dir, folder), os.getppid(), None
        while os.getppid() == owner:
            time.sleep(POLL)
            if enabled is None:
                if not drawer.leading_jobs():
                    continue  # report_enabled reads a job's config
                enabled = report_enabled(run_dir)
                if not enabled:
                    break
                folder.mkdir(parents=True, exist_ok=True)
            drawer.step()
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: `run` says it
        code = 130
    except BaseException:  # a bug shows; the report draws what this did not
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)  # never back into the drawer's own code


def _stop(pid: int | None) -> None:
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _render(run_dir: Path, out: Path, folder: Path) -> dict:
    """The reply to a render command: :func:`sparsity_lab.report.figure_files` as JSON."""
    import traceback

    from sparsity_lab.report import figure_files

    try:
        drawn = folder if folder.is_dir() else None
        written, skipped, n_early = figure_files(run_dir, out, None, drawn)
    except Exception:
        return {"error": traceback.format_exc()}
    return {"written": [str(p) for p in written], "skipped": skipped, "n_early": n_early}


def main() -> int:
    """The drawer process: import the figure code; on ``{"run_dir": ...}`` start drawing while
    the jobs run (a forked child, :func:`_draw_while_jobs_run`); on ``{"render": out}`` stop
    that and draw the report's figures into ``out`` (one JSON line back); exit when stdin
    closes (`run` is done, or gone)."""
    import sparsity_lab.figures.make
    import sparsity_lab.report  # noqa: F401

    run_dir = folder = child = None
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if "run_dir" in command:
                run_dir = Path(command["run_dir"])
                folder = scratch_dir(run_dir, os.getpid())
                child = _draw_while_jobs_run(run_dir, folder)
            elif "render" in command and run_dir is not None:
                _stop(child)
                child = None
                reply = _render(run_dir, Path(command["render"]), folder)
                print(json.dumps(reply), flush=True)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: `run` says it
        return 130
    finally:
        _stop(child)
    return 0


if __name__ == "__main__":
    sys.exit(main())
