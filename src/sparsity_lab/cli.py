"""The `sparsity-lab` command: run, collect, compare, figures, datasets, models."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from sparsity_lab.errors import UserError
from sparsity_lab.paths import config_dir, register_resolvers

if TYPE_CHECKING:
    import pandas as pd

    from sparsity_lab import sweep

# pandas, pyarrow (through results and sweep) and the estimators are imported by the verbs that
# use them, so that `--help`, `models` and `datasets` start in well under a second.

log = logging.getLogger("sparsity_lab")

#: Environment variable naming the `run` process (host:pid) that launched the jobs.
SWEEP_OWNER_VAR = "SPARSITY_LAB_SWEEP_OWNER"


# ------------------------------------------------------------------ provenance
def job_key(cfg: DictConfig) -> str:
    """What makes a job's result reusable (:func:`sparsity_lab.provenance.job_key`)."""
    from sparsity_lab.provenance import job_key

    return job_key(cfg)


def run_dir_of(config: DictConfig) -> Path:
    from sparsity_lab.provenance import run_dir_of

    return run_dir_of(config)


# ------------------------------------------------------------------ the Hydra side
def __getattr__(name: str):
    # Run dirs written before the callback moved name it ``sparsity_lab.cli.CollectCallback``;
    # importing it on demand keeps Hydra's callback module out of `--help`, `models`, `datasets`.
    if name == "CollectCallback":
        from sparsity_lab.callbacks import CollectCallback

        return CollectCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def hydra_task(cfg: DictConfig) -> str:
    """One Hydra job: fit, then write the job's tables into its Hydra output dir.

    A job that raises is recorded as failed in its job.json (one-line error and traceback) and
    returns normally, so the other jobs of the sweep go on; `run_hydra` reports it. Returns the
    job's status: complete | skipped | failed | abandoned (queued by a sweep that was killed).

    The job holds its lock (`results.job_lock`) while it runs: another sweep into the same
    run id waits for it, then finds it complete and skips it.
    """
    from hydra.core.hydra_config import HydraConfig

    from sparsity_lab import results

    hc = HydraConfig.get()
    job_dir = Path(hc.runtime.output_dir)
    logging.raiseExceptions = False  # a job log on a full disk must not print tracebacks
    if sweep_is_gone():
        log.error("job %s not started: the sweep that queued it was killed", job_dir.name)
        return "abandoned"
    end_with_the_sweep()

    def waiting(record: dict) -> None:
        log.info(
            "job %s is running in another sweep (pid %s on %s): waiting for it",
            job_dir.name, record.get("pid", "?"), record.get("host", "?"),
        )  # fmt: skip

    try:
        with results.job_lock(job_dir, on_wait=waiting):
            return run_locked_job(cfg, hc, job_dir)
    except OSError as exc:  # the lock file itself cannot be written
        return job_write_failed(job_dir, {"key": job_key(cfg), **results.job_owner()}, exc)


def sweep_is_gone() -> bool:
    """In a worker process on the sweep's host: whether the `run` process that launched it has
    died (after ``kill -9`` loky workers live on and would run the queued jobs)."""
    from sparsity_lab import results

    host, _, pid = os.environ.get(SWEEP_OWNER_VAR, "").rpartition(":")
    if not pid.isdigit() or host != socket.gethostname() or int(pid) == os.getpid():
        return False
    return not results.pid_alive(int(pid))


#: The watchdog thread of this worker process (one per process), see `end_with_the_sweep`.
_WATCHDOG: list[threading.Thread] = []


def end_with_the_sweep(poll_seconds: float = 0.5) -> None:
    """In a worker process of another launcher (joblib's loky workers): end this process within
    ``poll_seconds`` of the death of the `run` that launched it (``kill -9``), instead of living
    on until loky's idle timeout. A job it was running reads ``abandoned`` (its lock dies with
    it) and a rerun recomputes it. Nothing happens in the `run` process itself, on another host
    (SLURM) or without a sweep owner."""
    host, _, pid = os.environ.get(SWEEP_OWNER_VAR, "").rpartition(":")
    if _WATCHDOG or not pid.isdigit() or host != socket.gethostname() or int(pid) == os.getpid():
        return

    def watch() -> None:
        while not sweep_is_gone():
            time.sleep(poll_seconds)
        os._exit(1)

    _WATCHDOG.append(threading.Thread(target=watch, name="sparsity-lab-watchdog", daemon=True))
    _WATCHDOG[0].start()


def reap_workers_after(parent: int, poll_seconds: float = 0.2) -> None:
    """Fork a reaper that outlives ``parent`` (this `run`) by at most ``poll_seconds``, then
    ends every process that inherited this sweep's owner variable: joblib's loky workers,
    which otherwise idle on for loky's timeout, also those that never got a job (so never
    started :func:`end_with_the_sweep`). Linux only (it reads ``/proc/<pid>/environ``)."""
    if not sys.platform.startswith("linux"):
        return
    needle = f"{SWEEP_OWNER_VAR}={os.environ.get(SWEEP_OWNER_VAR, '')}".encode()
    if os.fork():
        return
    try:  # the reaper: no terminal, no inherited pipe held open, its own session
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 65536)
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if needle not in environ.read().split(b"\0"):
                        continue
                os.kill(int(entry), signal.SIGKILL)
            except OSError:  # gone meanwhile, or not ours to read
                continue
    finally:
        os._exit(0)


def run_locked_job(cfg: DictConfig, hc, job_dir: Path) -> str:
    """The body of :func:`hydra_task`, run while holding the job's lock."""
    from sparsity_lab import results, sweep

    key = job_key(cfg)
    if results.job_is_complete(job_dir, key):
        log.info("job %s complete already, skipped", job_dir.name)
        return "skipped"
    meta = {"key": key, "overrides": list(hc.overrides.task), **results.job_owner()}
    try:
        results.mark_job_running(job_dir, meta)
    except OSError as exc:
        return job_write_failed(job_dir, meta, exc)
    # heavy imports only in jobs, after the record says running (so progress counts the job)
    from sparsity_lab.startup import import_deferred

    import_deferred()
    from sparsity_lab.studies import run_job

    start = time.perf_counter()
    try:
        with sweep.limited_threads():
            meta["blas_threads"] = sweep.threads_in_use()
            tables = run_job(
                cfg,
                model_name=hc.runtime.choices.get("model", "model"),
                on_fit=sweep.FitReporter(job_dir, meta),
            )
    except Exception as exc:
        line = one_line(exc)
        results.mark_job_failed(
            job_dir,
            {**meta, "user_error": isinstance(exc, UserError)},
            line,
            traceback.format_exc(),
        )
        log.error("job %s failed: %s", job_dir.name, line)
        return "failed"
    if "notes" in tables:
        meta["notes"] = list(dict.fromkeys(tables["notes"]["note"]))
    try:
        results.write_job(
            job_dir, tables, {**meta, "seconds": round(time.perf_counter() - start, 3)}
        )
    except OSError as exc:
        return job_write_failed(job_dir, meta, exc)
    return "complete"


def job_write_failed(job_dir: Path, meta: dict, exc: OSError) -> str:
    """A job whose files could not be written: its tables are removed (incomplete; on a full
    disk the record needs their room) and its record says ``failed`` with the path and cause."""
    from sparsity_lab import results

    line = f"cannot write {results.io_error_line(exc, job_dir)}"
    try:
        results.discard_job_tables(job_dir)
        results.mark_job_failed(
            job_dir, {**meta, "user_error": False}, line, traceback.format_exc()
        )
    except OSError:  # not even a short record fits: the job reads as corrupt, never running
        pass
    log.error("job %s failed: %s", job_dir.name, line)
    return "failed"


def one_line(exc: BaseException) -> str:
    """A user error's message; for any other exception (a bug) its class and first line."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return first if isinstance(exc, UserError) and first else f"{exc.__class__.__name__}: {first}"


def print_summary(tables: dict[str, pd.DataFrame]) -> None:
    """What a user wants to see first (:func:`sparsity_lab.summary.summary_text`)."""
    from sparsity_lab.summary import summary_text

    print(summary_text(tables))


#: Override keys that say where the results go and how the jobs run, not what runs: alone on
#: the command line they leave the default study (the quickstart) in place.
SETTING_KEYS = ("results_dir", "run_id", "report", "verbose", "max_memory_gb")
#: Hydra's config groups and keys of the same kind (the launcher and its settings, logging).
SETTING_PREFIXES = ("hydra/launcher", "hydra.launcher.", "hydra/job_logging", "hydra/hydra_logging")


def runs_default_study(overrides: list[str]) -> bool:
    """Whether `run` with these arguments runs the default study (the quickstart).

    Only what the command line says about the work decides it: any ``key=value`` on dataset,
    model, grid, seed, experiment, ... makes an ad-hoc run; the settings of where results go
    and how jobs run (``SETTING_KEYS``, the launcher and logging groups) and Hydra's flags
    (``-m``, ``--cfg job``) do not.
    """
    for token in overrides:
        if token.startswith("-") or ("=" not in token and not token.startswith("~")):
            continue  # a flag, or a flag's value (`--cfg job`); `~key` deletes a key
        key = token.split("=", 1)[0].lstrip("+~")
        if key not in SETTING_KEYS and not key.startswith(SETTING_PREFIXES):
            return False
    return True


def run_overrides(overrides: list[str]) -> list[str]:
    """The overrides `run` hands Hydra: the quickstart study where the command line says
    nothing about the work (:func:`runs_default_study`), and ``-v`` as ``verbose=true``."""
    # `run -v` is the short form of verbose=true (per-job log lines on the terminal)
    verbose = [o for o in overrides if o in ("-v", "--verbose")]
    overrides = [o for o in overrides if o not in verbose]
    if runs_default_study(overrides):
        # nothing said about the work: the quickstart study, also under Hydra's flags (`run
        # --cfg job` prints the config a bare `run` launches) and with where the results go
        # (beside the other overrides: Hydra's parser takes them as one run of positionals)
        at = next((i for i, o in enumerate(overrides) if "=" in o and o[0] != "-"), 0)
        overrides = [*overrides[:at], "experiment=quickstart", *overrides[at:]]
    return overrides + (["verbose=true"] if verbose else [])


#: The drawer the console script started before its imports (:func:`entry`), for `run`.
_STARTED_DRAWER: list = []


def run_hydra(overrides: list[str]) -> int:
    """`sparsity-lab run ...`: Hydra's command line, with the quickstart study as default.

    Every job's config is checked before Hydra launches anything (bad input: one line, exit 2):
    a sweep's by the suite's sweeper, a single run's by the run's callback. The run-level
    tables are collected after Hydra returns or raises; the exit code is 1 when a job failed or
    never finished (rerun with the same run_id to retry only those).
    """
    import hydra

    from sparsity_lab import provenance, sweep

    overrides = run_overrides(overrides)
    register_resolvers()
    sweep.check_run_dir_overrides(overrides)
    sweep.check_hydra_flags(overrides, config_dir())
    main = hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")(
        hydra_task
    )
    provenance.STARTED_RUNS.clear()
    # workers (loky processes) inherit it: a job queued by a sweep that was killed is not run
    os.environ[SWEEP_OWNER_VAR] = f"{socket.gethostname()}:{os.getpid()}"
    if "hydra/launcher=joblib" in overrides:
        reap_workers_after(os.getpid())

    def started() -> tuple | None:
        return provenance.STARTED_RUNS[-1] if provenance.STARTED_RUNS else None

    progress = sweep.Progress(
        lambda: started()[1].n_jobs if started() else 1,
        lambda: started()[0] if started() else None,
    )
    from sparsity_lab import early

    # the coefficient figures drawn on the core the jobs leave idle (early.py)
    drawer = _STARTED_DRAWER.pop() if _STARTED_DRAWER else early.EarlyFigures()
    if drawer.proc is None and early.wanted(overrides):
        drawer.start()
    drawer.watch(lambda: started()[0] if started() else None)
    try:
        return _run_and_finish(main, overrides, progress, started, drawer)
    finally:
        drawer.close()


def _run_and_finish(main, overrides, progress, started, drawer) -> int:
    from sparsity_lab import results, sweep
    from sparsity_lab.callbacks import StartRefused

    saved = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = ["sparsity-lab run", *overrides]
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra's errors reach the handlers below
    code = 0
    try:
        with progress:
            main()
    except SystemExit as exc:  # Hydra's own report (--help, ...), or a callback's exit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    except StartRefused as exc:  # the single run's check: the run dir was not made
        raise exc.error from None
    except Exception as exc:
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        # Hydra's composition of the primary config: one line (Hydra's missing config file is
        # an OSError too)
        if isinstance(exc, HydraException):
            raise sweep.SweepConfigError(
                sweep.hydra_error_line(exc, _allowed_keys(overrides))
            ) from None
        if isinstance(exc, OmegaConfBaseException):
            raise sweep.SweepConfigError(sweep.omegaconf_line(exc)) from None
        if not isinstance(exc, OSError):
            raise
        # Hydra writing a job's config or log (a full disk, ...)
        where = started()[0] if started() else None
        print(f"error: {results.io_error_line(exc, where)}", file=sys.stderr, flush=True)
        code = 1
    finally:
        sys.argv = saved[0]
        if saved[1] is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved[1]
    if started() is None:
        return code
    run_dir, plan = started()
    return finish_run(run_dir, plan, code, drawer)


def _allowed_keys(overrides: list[str]):
    """For an unknown key's error line: the keys of its parent in the config composed with the
    command line's config-group choices only (a courtesy; [] when that fails too)."""

    def allowed_keys(parent: str) -> list[str]:
        from hydra import compose, initialize_config_dir

        tree = config_dir()
        kept = [
            o
            for o in overrides
            if "=" in o and "." not in o.split("=")[0] and (tree / o.split("=")[0]).is_dir()
        ]
        try:
            with initialize_config_dir(config_dir=str(tree), version_base="1.3"):
                cfg = compose("config", overrides=kept)
            node = OmegaConf.select(cfg, parent) if parent else cfg
            return sorted(node) if OmegaConf.is_dict(node) else []
        except Exception:  # the listing is a courtesy; the error line stands without it
            return []

    return allowed_keys


def finish_run(run_dir: Path, plan: sweep.RunPlan, code: int, drawer=None) -> int:
    """Collect the run, print the summary and the `results:` line; the run's exit code.
    ``drawer``: the :class:`~sparsity_lab.early.EarlyFigures` of the run, stopped
    before the report, which uses what it drew.

    When the run's tables or record cannot be written (a full disk, ...), one line says which
    path and why, the jobs' own tables stay usable, and the `results:` line is still printed.
    """

    from sparsity_lab import results

    try:
        keys = plan.job_keys if len(plan.job_keys) == plan.n_jobs else None
        results.update_run_json(run_dir, n_jobs=plan.n_jobs, job_keys=keys)
        tables = results.collect(run_dir)
        end = datetime.now().isoformat(timespec="seconds")
        results.update_run_json(run_dir, lambda info: end_sweep(info, end, plan.n_jobs), end=end)
    except OSError as exc:
        print(f"error: {results.io_error_line(exc, run_dir)}", file=sys.stderr, flush=True)
        tables, code = None, code or 1
    statuses = results.job_statuses(run_dir)
    expected = [f"{i:04d}" for i in range(plan.n_jobs)]
    not_done = [name for name in expected if statuses.get(name, "missing") != "complete"]
    if tables is not None:
        print_summary(tables)
    kept = kept_tables_line(run_dir)
    if kept:
        print(f"note: {kept}", file=sys.stderr, flush=True)
    if not_done:
        first = results.read_json_or_empty(run_dir / results.JOBS_DIR / not_done[0] / "job.json")
        if not plan.multirun and first.get("user_error"):
            print(f"error: {first.get('error')}", file=sys.stderr, flush=True)
            code = 2
        else:
            if not plan.multirun and first.get("traceback"):  # a bug: show where it happened
                print(first["traceback"].rstrip(), file=sys.stderr, flush=True)
            reason = first.get("error") or statuses.get(not_done[0], "missing")
            print(
                f"error: {len(not_done)} of {plan.n_jobs} job(s) not complete "
                f"({', '.join(not_done[:10])}{', ...' if len(not_done) > 10 else ''}); "
                f"job {not_done[0]}: {reason}; rerun with run_id={run_dir.name} to retry them",
                file=sys.stderr,
                flush=True,
            )
            code = code or 1
    from sparsity_lab import report

    drawn = drawer.stop() if drawer is not None else None
    if tables is not None and report.report_enabled(run_dir):  # no report without the tables
        try:
            page, n_figures, n_early = report.write_run_figures_and_report(run_dir, drawn)
            early = f" ({n_early} drawn while the jobs ran)" if n_early else ""
            print(f"figures: {n_figures} in {page.parent / 'figures'}{early}", flush=True)
            print(f"report: {page}", flush=True)
        except OSError as exc:  # a full disk: one line; the tables and the last line stand
            print(f"error: {results.io_error_line(exc, run_dir)}", file=sys.stderr, flush=True)
            code = code or 1
        except Exception:  # a suite bug: show it, but the run's tables and last line stand
            traceback.print_exc()
            code = code or 1
    print(f"results: {run_dir}", flush=True)
    return code


def end_sweep(info: dict, end: str, n_jobs: int) -> None:
    """Close this process's entry of run.json's ``sweeps``: its end and number of jobs."""
    here = (socket.gethostname(), os.getpid())
    for entry in reversed(info.get("sweeps", [])):
        if (entry.get("host"), entry.get("pid")) == here and "end" not in entry:
            entry.update(end=end, n_jobs=n_jobs)
            return


# ------------------------------------------------------------------ other verbs
def collect_main(argv: list[str]) -> int:
    import pandas as pd

    from sparsity_lab import results

    parser = argparse.ArgumentParser(
        prog="sparsity-lab collect",
        description="Rebuild a run's fits.parquet and coefs.parquet from its job dirs.",
    )
    parser.add_argument("run", type=Path, help="run dir (results/<study>/<run id>)")
    args = parser.parse_args(argv)
    if not results.job_dirs(args.run):
        raise results.ResultsError(f"{args.run}: not a run dir (no jobs/ inside)")
    tables = results.collect(args.run)
    print(", ".join(f"{name}: {len(frame)} rows" for name, frame in tables.items()))
    by_job = results.job_statuses(args.run)
    counts = pd.Series(list(by_job.values())).value_counts()
    print("jobs: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    kept = kept_tables_line(args.run)
    if kept:
        print(f"error: {kept}", file=sys.stderr)
    missed = not_collected_line(args.run, by_job)
    if missed:
        print(f"error: {missed}", file=sys.stderr)
    print(f"results: {args.run}")
    return 1 if kept or missed else 0


def not_collected_line(run_dir: Path, by_job: dict[str, str]) -> str:
    """The jobs of the run's last sweep (run.json ``n_jobs``; every job dir without it) whose
    tables `collect` left out, with their state ('' when it took them all)."""
    from sparsity_lab import results

    n_jobs = results.read_json_or_empty(Path(run_dir) / results.RUN_FILE).get("n_jobs")
    names = [f"{i:04d}" for i in range(n_jobs)] if isinstance(n_jobs, int) else list(by_job)
    missed = [(n, by_job.get(n, "missing")) for n in names if by_job.get(n) != "complete"]
    if not missed:
        return ""
    listed = ", ".join(f"{name} {status}" for name, status in missed[:10])
    return (
        f"{len(missed)} of {len(names)} job(s) not collected: {listed}"
        f"{', ...' if len(missed) > 10 else ''}; rerun the sweep with "
        f"run_id={Path(run_dir).name} to recompute them"
    )


def kept_tables_line(run_dir: Path) -> str:
    """What `results.collect` kept because no job is complete ('' when it kept nothing)."""
    from sparsity_lab import results

    kept = results.read_json_or_empty(Path(run_dir) / results.RUN_FILE).get("kept_tables")
    if not kept:
        return ""
    return (
        f"no job of {run_dir} is complete: kept its last run-level tables "
        f"({', '.join(kept)}) rather than replace them by empty ones"
    )


def models_main(argv: list[str]) -> int:
    import pandas as pd

    from sparsity_lab.datasets.catalog import format_catalog

    parser = argparse.ArgumentParser(
        prog="sparsity-lab models", description="Models that can be named as model=<name>."
    )
    parser.parse_args(argv)
    rows = []
    for file in sorted((config_dir() / "model").glob("*.yaml")):
        node = OmegaConf.to_container(OmegaConf.load(file), resolve=False)
        comment = next(
            (ln.lstrip("# ").strip() for ln in file.read_text().splitlines() if ln.startswith("#")),
            "",
        )
        rows.append(
            {
                "name": file.stem,
                "class": str(node.pop("_target_", "")).rsplit(".", 1)[-1],
                "what": comment,
            }
        )
    print(format_catalog(pd.DataFrame(rows)))
    print("\nparameters: sparsity-lab run model=<name> --cfg job (or configs/model/<name>.yaml)")
    return 0


def datasets_main(argv: list[str]) -> int:
    from sparsity_lab.datasets.catalog import cli_main

    return cli_main(argv)


def compare_main(argv: list[str]) -> int:
    from sparsity_lab.compare import cli_main

    return cli_main(argv)


def figures_main(argv: list[str]) -> int:
    from sparsity_lab.figures.cli import cli_main

    return cli_main(argv)


def report_main(argv: list[str]) -> int:
    from sparsity_lab.report import cli_main

    return cli_main(argv)


VERBS = {
    "run": ("run a job or a Hydra multirun (default: the quickstart study)", run_hydra),
    "collect": ("rebuild a run's tables from its job dirs", collect_main),
    "compare": ("compare two result tables", compare_main),
    "figures": ("regenerate the figures a run supports", figures_main),
    "report": ("write a run's self-contained report.html", report_main),
    "datasets": ("list the datasets a config can name", datasets_main),
    "models": ("list the models a config can name", models_main),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        width = max(map(len, VERBS))
        print("usage: sparsity-lab <verb> [args...]\n\nverbs:")
        for verb, (text, _) in VERBS.items():
            print(f"  {verb:<{width}}  {text}")
        print("\n`sparsity-lab <verb> --help` for one verb; `sparsity-lab run --help` is Hydra's.")
        return 0 if argv else 2
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        print(f"error: unknown verb {verb!r}; allowed: {', '.join(VERBS)}", file=sys.stderr)
        return 2
    try:
        return VERBS[verb][1](rest)
    except UserError as exc:  # anything else is a bug: its traceback shows, exit code 1
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse's own exits (--help: 0, bad arguments: 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except OSError as exc:  # a file that cannot be written or read: its path and the cause
        from sparsity_lab import results

        print(f"error: {results.io_error_line(exc)}", file=sys.stderr)
        return 1


#: What each verb imports, loaded by the console script before the verb runs (see
#: :func:`entry`); a verb imports them itself too, so that in-process callers need nothing.
VERB_MODULES = {
    "run": ("hydra", "pandas", "sparsity_lab.results", "sparsity_lab.sweep"),
    "collect": ("pandas", "sparsity_lab.results"),
    "compare": ("sparsity_lab.compare",),
    "figures": ("sparsity_lab.figures.cli",),
    "report": ("sparsity_lab.report",),
    "datasets": ("sparsity_lab.datasets.catalog",),
    "models": ("pandas", "sparsity_lab.datasets.catalog"),
}


#: What a verb's console script imports when the verb first needs it, the same way
#: (:func:`startup.import_deferred`: a sweep's check, a job): `run` on 2 processes imports the
#: path job's modules (scikit-learn, SciPy, numba: about 0.5 s) while its forked composers
#: compose.
DEFERRED_MODULES = {"run": ("sparsity_lab.runner",)}


def entry() -> None:
    """The ``sparsity-lab`` console script (and ``python -m sparsity_lab.cli``): the verb's
    heavy modules imported with the cyclic GC paused, then frozen (:func:`startup.gc_paused`),
    those of :data:`DEFERRED_MODULES` left for the run to import when it needs them
    (:func:`startup.import_deferred`), :func:`main`, then :func:`startup.exit_quickly` with its
    code. Only here: in-process callers (tests, notebooks) keep their collector and their
    interpreter's exit, and import what they use when they use it."""
    import importlib

    from sparsity_lab.startup import defer_imports, exit_quickly, gc_paused

    verb = sys.argv[1] if len(sys.argv) > 1 else ""
    if verb == "run":  # the figure drawer imports beside this process (early.py)
        from sparsity_lab import early

        if early.wanted(run_overrides(sys.argv[2:])):
            _STARTED_DRAWER.append(early.EarlyFigures())
            _STARTED_DRAWER[0].start()
    with gc_paused():
        for module in VERB_MODULES.get(verb, ()):
            importlib.import_module(module)
    defer_imports(DEFERRED_MODULES.get(verb, ()))
    exit_quickly(main())


if __name__ == "__main__":
    entry()
