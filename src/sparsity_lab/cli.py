"""The `sparsity-lab` command: run, collect, compare, figures, datasets, models."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import secrets
import subprocess
import sys
import time
import traceback
from datetime import datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from sparsity_lab import __version__, results, sweep
from sparsity_lab.paths import config_dir

log = logging.getLogger("sparsity_lab")

#: Exceptions that mean "bad input": printed as one line, exit code 2.
USER_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, FileNotFoundError)
SUMMARY_RATIOS = (1.0, 0.1, 0.01, 0.001)
PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "numba",
    "hydra-core",
    "omegaconf",
)


# ------------------------------------------------------------------ config location, resolvers
def new_run_id() -> str:
    """A timestamp plus a random suffix: distinct even for two runs started in the same second."""
    return f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def register_resolvers() -> None:
    # use_cache: a run id is drawn once per config; Hydra copies the cache into each job's config
    OmegaConf.register_new_resolver("sl_run_id", new_run_id, use_cache=True, replace=True)
    OmegaConf.register_new_resolver("sl_pad", lambda num: f"{int(num):04d}", replace=True)


register_resolvers()


# ------------------------------------------------------------------ provenance
def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
            text=True, timeout=5, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str]:
    versions = {"sparsity-lab": __version__, "python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_dir_of(config: DictConfig) -> Path:
    return Path(str(config.results_dir)) / str(config.study) / str(config.run_id)


def job_key(cfg: DictConfig) -> str:
    """What makes a job's result reusable: its resolved config (without where it is written)
    and the package version."""
    content = OmegaConf.to_container(cfg, resolve=True)
    for key in ("run_id", "results_dir", "hydra"):
        content.pop(key, None)
    blob = json.dumps({"config": content, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ------------------------------------------------------------------ the Hydra side
class CollectCallback(Callback):
    """Writes run.json when a run starts. Collecting happens in `run_hydra` once Hydra returns
    or raises, since Hydra 1.3 skips ``on_multirun_end`` when any job failed."""

    def _start(self, config: DictConfig) -> None:
        run_dir = run_dir_of(config)
        run_dir.mkdir(parents=True, exist_ok=True)
        sweep.STARTED_RUNS.append(run_dir)
        path = run_dir / results.RUN_FILE
        now = datetime.now().isoformat(timespec="seconds")
        if path.exists():  # same run_id again: a resume
            info = results.read_json(path)
            results.update_run_json(run_dir, resumed=[*info.get("resumed", []), now])
            return
        results.write_json(
            {
                "study": str(config.study),
                "run_id": str(config.run_id),
                "command": ["sparsity-lab", *sys.argv[1:]],
                "overrides": list(config.hydra.overrides.task),
                "cwd": str(Path.cwd()),
                "git_commit": git_commit(),
                "versions": package_versions(),
                "start": now,
            },
            path,
        )

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        self._start(config)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self._start(config)


def hydra_task(cfg: DictConfig) -> str:
    """One Hydra job: fit, then write the job's tables into its Hydra output dir.

    A job that raises is recorded as failed in its job.json (one-line error and traceback) and
    returns normally, so the other jobs of the sweep go on; `run_hydra` reports it. Returns the
    job's status: complete | skipped | failed.
    """
    from sparsity_lab.runner import run_job  # heavy imports only in jobs

    hc = HydraConfig.get()
    job_dir = Path(hc.runtime.output_dir)
    key = job_key(cfg)
    if results.job_is_complete(job_dir, key):
        log.info("job %s complete already, skipped", job_dir.name)
        return "skipped"
    meta = {"key": key, "overrides": list(hc.overrides.task)}
    results.mark_job_running(job_dir, meta)
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
            {**meta, "user_error": isinstance(exc, USER_ERRORS)},
            line,
            traceback.format_exc(),
        )
        log.error("job %s failed: %s", job_dir.name, line)
        return "failed"
    results.write_job(job_dir, tables, {**meta, "seconds": round(time.perf_counter() - start, 3)})
    return "complete"


def one_line(exc: BaseException) -> str:
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    text = str(message).strip()
    first = text.splitlines()[0] if text else ""
    return first if isinstance(exc, USER_ERRORS) and first else f"{exc.__class__.__name__}: {first}"


def print_summary(tables: dict[str, pd.DataFrame]) -> None:
    """What a user wants to see first: exact zeros per dataset and model at a few alpha ratios
    (nearest grid point), then what the run's study adds (its ``summary``)."""
    fits = tables["fits"]
    if len(fits):
        rows = []
        for (dataset, model), g in fits.groupby(["dataset", "model"], sort=False):
            row = {"dataset": dataset, "model": model, "p": int(g["n_features"].iloc[0])}
            for r in SUMMARY_RATIOS:
                nearest = (g["alpha_ratio"] - r).abs().idxmin()
                row[f"{r:g}"] = int(g.loc[nearest, "n_zero"])
            rows.append(row)
        print("\nexact zeros (coef == 0.0) of p coefficients, at alpha / alpha_max =")
        print(pd.DataFrame(rows).to_string(index=False))
        bad = fits[fits["status"] != "ok"]
        if len(bad):
            counts = bad.groupby("status").size().to_dict()
            print("fits not ok: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    from sparsity_lab import studies

    for study in studies.all_studies():
        if study.owns(tables):
            for line in study.summary(tables):
                print(line)
    if not any(len(t) for t in tables.values()):
        print("no rows were collected")


def run_hydra(overrides: list[str]) -> int:
    """`sparsity-lab run ...`: Hydra's command line, with the quickstart study as default.

    Every job's config is checked before Hydra launches anything (bad input: one line, exit 2).
    The run-level tables are collected after Hydra returns or raises; the exit code is 1 when a
    job failed or never finished (rerun with the same run_id to retry only those).
    """
    import hydra

    if not overrides:
        overrides = ["experiment=quickstart"]
    plan = sweep.plan_run(overrides, config_dir())
    main = hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")(
        hydra_task
    )
    sweep.STARTED_RUNS.clear()
    progress = sweep.Progress(
        plan.n_jobs if plan else 1, lambda: sweep.STARTED_RUNS[-1] if sweep.STARTED_RUNS else None
    )
    saved = sys.argv
    sys.argv = ["sparsity-lab run", *overrides]
    code = 0
    try:
        with progress if plan else contextlib.nullcontext():
            main()
    except SystemExit as exc:  # Hydra's own report of an error: it printed it already
        code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        code = 130
    finally:
        sys.argv = saved
    if not sweep.STARTED_RUNS or plan is None:
        return code
    return finish_run(sweep.STARTED_RUNS[-1], plan, code)


def finish_run(run_dir: Path, plan: sweep.RunPlan, code: int) -> int:
    """Collect the run, print the summary and the `results:` line; the run's exit code."""
    results.update_run_json(run_dir, n_jobs=plan.n_jobs)
    tables = results.collect(run_dir)
    results.update_run_json(run_dir, end=datetime.now().isoformat(timespec="seconds"))
    statuses = {d.name: results.job_status(d) for d in results.job_dirs(run_dir)}
    expected = [f"{i:04d}" for i in range(plan.n_jobs)]
    not_done = [name for name in expected if statuses.get(name, "missing") != "complete"]
    print_summary(tables)
    if not_done:
        first = results.read_json_or_empty(run_dir / results.JOBS_DIR / not_done[0] / "job.json")
        if not plan.multirun and first.get("user_error"):
            print(f"error: {first.get('error')}", file=sys.stderr, flush=True)
            code = 2
        else:
            reason = first.get("error") or statuses.get(not_done[0], "missing")
            print(
                f"error: {len(not_done)} of {plan.n_jobs} job(s) not complete "
                f"({', '.join(not_done[:10])}{', ...' if len(not_done) > 10 else ''}); "
                f"job {not_done[0]}: {reason}; rerun with run_id={run_dir.name} to retry them",
                file=sys.stderr,
                flush=True,
            )
            code = code or 1
    print(f"results: {run_dir}", flush=True)
    return code


# ------------------------------------------------------------------ other verbs
def collect_main(argv: list[str]) -> int:
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
    statuses = pd.Series([results.job_status(d) for d in results.job_dirs(args.run)])
    counts = statuses.value_counts()
    print("jobs: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    print(f"results: {args.run}")
    return 0


def models_main(argv: list[str]) -> int:
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
    from sparsity_lab.figures import cli_main

    return cli_main(argv)


VERBS = {
    "run": ("run a job or a Hydra multirun (default: the quickstart study)", run_hydra),
    "collect": ("rebuild a run's tables from its job dirs", collect_main),
    "compare": ("compare two result tables", compare_main),
    "figures": ("regenerate the figures a run supports", figures_main),
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
    except USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
