"""Result tables: schema, atomic writes, collecting job outputs into a run, reading runs.

Layout of a run (DESIGN.md)::

    <results_dir>/<study>/<run id>/
        run.json                 provenance
        jobs/<nnnn>/             one Hydra job: .hydra/, log, fits.parquet, coefs.parquet, job.json
        fits.parquet             every job's fits, one row per (dataset, model, alpha, seed)
        coefs.parquet            long form, one row per coefficient of every fit
        figures/
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sparsity_lab import schema
from sparsity_lab.errors import UserError

# The schema lives in sparsity_lab.schema; these names stay importable from here.
FITS_COLUMNS: tuple[str, ...] = schema.FITS.names
COEFS_COLUMNS: tuple[str, ...] = schema.COEFS.names
NOTES_COLUMNS: tuple[str, ...] = schema.NOTES.names
#: Columns that identify a fit; the rest are measurements.
FIT_KEY: tuple[str, ...] = schema.FIT_KEY
TIMING_COLUMNS: tuple[str, ...] = schema.TIMING_COLUMNS
STATUSES: tuple[str, ...] = schema.STATUSES

FITS_FILE = schema.FITS.file
COEFS_FILE = schema.COEFS.file
RUN_FILE = schema.RUN_FILE
JOB_FILE = schema.JOB_FILE
JOBS_DIR = schema.JOBS_DIR
#: The lock a job's process holds while it runs (``job_lock``).
LOCK_FILE = ".job.lock"


class ResultsError(UserError):
    """A path that is not a run dir or results table."""


class WriteError(OSError):
    """A result file or folder that could not be written; ``filename`` is its path."""


def io_cause(exc: OSError) -> str:
    """The cause of an I/O error in words (``No space left on device``)."""
    if exc.strerror:
        return exc.strerror
    if exc.errno:
        return os.strerror(exc.errno)
    # pyarrow's OSErrors carry the cause in the message only: "... [errno 28] No space ..."
    text = str(exc).strip()
    number = re.search(r"\[errno (\d+)\]", text, flags=re.IGNORECASE)
    if number:
        return os.strerror(int(number.group(1)))
    return (text.splitlines() or [exc.__class__.__name__])[0]


def io_error_line(exc: OSError, where: Path | str | None = None) -> str:
    """One line naming the path (``exc.filename``, else ``where``) and the cause of an I/O
    error, e.g. ``results/x/fits.parquet: No space left on device``."""
    path = exc.filename or where
    return f"{path}: {io_cause(exc)}" if path else io_cause(exc)


def empty_fit_tables() -> dict[str, pd.DataFrame]:
    """Empty fits and coefs tables with the contract's columns, for jobs that fit no path."""
    return {
        "fits": pd.DataFrame({c: [] for c in FITS_COLUMNS}),
        "coefs": pd.DataFrame({c: [] for c in COEFS_COLUMNS}),
    }


# ---------------------------------------------------------------------------- atomic writes
def _umask() -> int:
    mask = os.umask(0o077)  # reading the umask means setting it; restored at once
    os.umask(mask)
    return mask


def _atomic(path: Path, write) -> Path:
    """Write ``path`` through a temp file in its folder and a rename, with the mode a plain
    ``open`` would give (0666 less the umask); an I/O failure raises :class:`WriteError` naming
    the path, and leaves the old file (if any) and no temp file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(exc.errno, io_cause(exc), str(exc.filename or path.parent)) from exc
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise WriteError(exc.errno, io_cause(exc), str(path)) from exc
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; colleagues may need to read
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(exc.errno, io_cause(exc), str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_writable_dir(folder: Path) -> None:
    """Raise :class:`ResultsError` unless ``folder`` can be created and written: its nearest
    existing ancestor is a folder (not a file) in which a file can be created. Creates nothing
    that stays."""
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ResultsError(f"cannot create {folder}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ResultsError(f"cannot write in {existing}: {io_cause(exc)}") from None


def write_table(df: pd.DataFrame, path: Path) -> Path:
    """Write a parquet table atomically (temp file in the same folder + rename)."""
    return _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_json(obj: dict, path: Path) -> Path:
    """Write JSON atomically."""

    def _write(tmp):
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=2, sort_keys=True, default=str)
            fh.write("\n")

    return _atomic(path, _write)


def read_json(path: Path) -> dict:
    with open(path) as fh:
        return json.load(fh)


def read_json_or_empty(path: Path) -> dict:
    """A JSON record, or {} when it is missing or unreadable (a truncated record)."""
    try:
        info = read_json(path)
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


# ---------------------------------------------------------------------------- schema
def check_fits_columns(df: pd.DataFrame, where: str = "table") -> None:
    check_columns(df, "fits", FITS_COLUMNS, where)


def check_columns(df: pd.DataFrame, table: str, columns: Iterable[str], where: str) -> None:
    """:class:`ResultsError` unless ``df`` has every one of ``columns`` (it is ``table``)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ResultsError(f"{where} is not a {table} table: missing columns {', '.join(missing)}")


# ---------------------------------------------------------------------------- jobs and runs
def job_dirs(run_dir: Path) -> list[Path]:
    """The job dirs of a run in job order (numeric, so 10 comes after 2)."""
    root = Path(run_dir) / JOBS_DIR
    if not root.is_dir():
        return []
    dirs = [d for d in root.iterdir() if d.is_dir() and d.name.isdigit()]
    return sorted(dirs, key=lambda d: int(d.name))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def job_is_complete(job_dir: Path, key: str | None = None) -> bool:
    """True when the job's record says complete, (if given) its key matches, and every table it
    lists reads back with the recorded number of rows (and checksum, when recorded)."""
    job_dir = Path(job_dir)
    listed = _complete_record(read_json_or_empty(job_dir / JOB_FILE), key)
    if listed is None:
        return False
    tables, checksums = listed
    for name, n_rows in tables.items():
        file = job_dir / f"{name}.parquet"
        try:
            if pq.ParquetFile(file).metadata.num_rows != n_rows:
                return False
            # a damaged page keeps the footer (and the row count) intact: the checksum sees it
            if name in checksums and file_sha256(file) != checksums[name]:
                return False
        except (OSError, pa.ArrowException):  # missing, unreadable or not parquet
            return False
    return True


def _complete_record(meta: dict, key: str | None = None) -> tuple[dict, dict] | None:
    """(tables and their row counts, checksums) of a job record that says complete, lists
    at least fits and coefs and (if given) has ``key``; else None."""
    tables, checksums = meta.get("tables"), meta.get("sha256") or {}
    if meta.get("status") != "complete" or (key is not None and meta.get("key") != key):
        return None
    if not isinstance(tables, dict) or not isinstance(checksums, dict):
        return None
    return (tables, checksums) if {"fits", "coefs"} <= set(tables) else None


def job_status(job_dir: Path, key: str | None = None) -> str:
    """What a job's record says: complete | outdated | running | abandoned | failed | missing
    | corrupt.

    ``complete`` only when :func:`job_is_complete` agrees (tables present and intact);
    ``outdated`` for a complete record whose key is not ``key`` (when given): an earlier
    sweep's job of another config, which the sweep expecting ``key`` did not replace;
    ``abandoned`` for a record that says running when no process holds the job's lock (its
    sweep was killed).
    """
    job_dir = Path(job_dir)
    if not (job_dir / JOB_FILE).exists():
        return "missing"
    info = read_json_or_empty(job_dir / JOB_FILE)
    status = info.get("status")
    if status == "complete":
        if not job_is_complete(job_dir):
            return "corrupt"
        return "outdated" if key is not None and info.get("key") != key else "complete"
    if status == "running" and _owner_gone(job_dir, info):
        return "abandoned"
    return status if status in ("running", "failed") else "corrupt"


def expected_job_key(keys: list | None, job: Path) -> str | None:
    """The key run.json's ``job_keys`` (the latest sweep's, in job order) expects of ``job``;
    None when the run records none (written before they were recorded)."""
    index = int(Path(job).name)
    return keys[index] if isinstance(keys, list) and index < len(keys) else None


def job_statuses(run_dir: Path) -> dict[str, str]:
    """:func:`job_status` of every job dir of a run, by name, against the keys run.json
    expects (``job_keys``)."""
    keys = read_json_or_empty(Path(run_dir) / RUN_FILE).get("job_keys")
    return {job.name: job_status(job, expected_job_key(keys, job)) for job in job_dirs(run_dir)}


# ---------------------------------------------------------------------------- job locks
def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def job_is_locked(job_dir: Path) -> bool | None:
    """Whether a process holds the job's lock (None: no lock file, or no flock here)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    try:
        fh = open(Path(job_dir) / LOCK_FILE, "rb")
    except OSError:
        return None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return None
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def _owner_gone(job_dir: Path, info: dict) -> bool:
    """A running record whose owner is gone: nobody holds the job's lock or, without a lock
    file, the recorded process of this host no longer exists."""
    locked = job_is_locked(job_dir)
    if locked is not None:
        return not locked
    pid = info.get("pid")
    here = info.get("host") in (None, socket.gethostname())
    return isinstance(pid, int) and here and not pid_alive(pid)


@contextmanager
def job_lock(job_dir: Path, on_wait=None):
    """Hold the job's exclusive lock (``fcntl.flock`` on ``<job>/.job.lock``) while it runs.

    When another process holds it (another sweep into the same run id runs this job),
    ``on_wait(record)`` is called with the job's current record, then this waits for the lock.
    The lock goes with the process (also when it is killed). Without flock (not POSIX): no lock.
    """
    job_dir = Path(job_dir)
    wait = None if on_wait is None else lambda: on_wait(read_json_or_empty(job_dir / JOB_FILE))
    with _locked(job_dir / LOCK_FILE, on_wait=wait):
        yield


def write_job(job_dir: Path, tables: dict[str, pd.DataFrame], meta: dict) -> None:
    """Write a job's tables (``{name: frame}``, at least fits and coefs), then the completion
    record: the job counts as complete only once ``job.json`` lists them."""
    job_dir = Path(job_dir)
    for name, frame in tables.items():
        write_table(frame, job_dir / f"{name}.parquet")
    record = {
        **meta,
        "status": "complete",
        "tables": {k: len(v) for k, v in tables.items()},
        "sha256": {k: file_sha256(job_dir / f"{k}.parquet") for k in tables},
    }
    write_json(record, job_dir / JOB_FILE)


def job_owner() -> dict:
    """Who runs a job: this process's pid and host (recorded in job.json)."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def mark_job_running(job_dir: Path, meta: dict) -> None:
    """Replace the job's record by a ``running`` one before it (re)computes: a collect running
    meanwhile must not pair an old record with tables being rewritten."""
    write_json({**meta, "status": "running", **job_owner()}, Path(job_dir) / JOB_FILE)


def mark_job_failed(job_dir: Path, meta: dict, error: str, detail: str = "") -> None:
    """Record a failed job (never collected, rerun on resume) with its one-line error.

    When the atomic write fails (a full disk), the record is rewritten in place without the
    traceback: truncating the old record frees the room the short one needs.
    """
    path = Path(job_dir) / JOB_FILE
    record = {**meta, "status": "failed", "error": error}
    try:
        write_json({**record, "traceback": detail}, path)
    except OSError:
        with open(path, "w") as fh:
            json.dump(record, fh, default=str)


def discard_job_tables(job_dir: Path) -> None:
    """Remove a job's table files (after a failed write: incomplete, and their room is needed
    for the failed record)."""
    for file in Path(job_dir).glob("*.parquet"):
        file.unlink(missing_ok=True)


def collect(run_dir: Path) -> dict[str, pd.DataFrame]:
    """Concatenate every complete job's tables into the run-level tables (idempotent).

    Returns ``{name: frame}`` with at least ``fits`` and ``coefs``. Incomplete or unreadable jobs
    are skipped and listed in ``run.json`` under ``incomplete_jobs``. When ``run.json`` records
    the number of jobs of the last launch (``n_jobs``), job dirs beyond it, left by an earlier,
    larger sweep into the same run id, are not collected (``stale_jobs``): their fits would
    repeat the keys of the jobs that replaced them.

    When ``run.json`` records the key of each job of the last launch (``job_keys``), a job
    whose record has another key is not collected either (``incomplete_jobs``): it holds the
    fits of another config, left by an earlier sweep into the same run id that the last one
    could not replace (a job dir it could not write).

    When no job is complete, run-level tables that hold rows are kept as they are (never
    replaced by empty ones they cannot be rebuilt from), listed in ``run.json`` under
    ``kept_tables`` and returned as read.
    """
    run_dir = Path(run_dir)
    parts: dict[str, list[pa.Table]] = {"fits": [], "coefs": []}
    incomplete, stale, n_complete = [], [], 0
    info = read_json_or_empty(run_dir / RUN_FILE)
    n_jobs, keys = info.get("n_jobs"), info.get("job_keys")
    for job in job_dirs(run_dir):
        if n_jobs is not None and int(job.name) >= n_jobs:
            stale.append(job.name)
            continue
        frames = _read_complete_job_tables(job, expected_job_key(keys, job))
        if frames is None:
            incomplete.append(job.name)
            continue
        n_complete += 1
        for name, frame in frames.items():
            parts.setdefault(name, []).append(frame)
    kept = [] if n_complete else _tables_with_rows(run_dir)
    if kept:
        tables = {p.stem: pd.read_parquet(p) for p in kept}
    else:
        columns = {table.name: table.names for table in schema.CORE_TABLES}
        tables = {
            name: _concat_tables(name, frames, columns.get(name, ()))
            for name, frames in parts.items()
        }
        for name, frame in tables.items():
            write_table(frame, run_dir / f"{name}.parquet")
    update_run_json(
        run_dir,
        incomplete_jobs=incomplete,
        stale_jobs=stale,
        n_fits=len(tables.get("fits", ())),
        kept_tables=[p.stem for p in kept],
    )
    return tables


def _tables_with_rows(run_dir: Path) -> list[Path]:
    """The run-level tables (``*.parquet`` beside run.json) that hold rows and read back."""
    found = []
    for path in sorted(Path(run_dir).glob("*.parquet")):
        try:
            if pq.ParquetFile(path).metadata.num_rows:
                found.append(path)
        except (OSError, pa.ArrowException):
            continue
    return found


def _read_complete_job_tables(job: Path, key: str | None = None) -> dict[str, pa.Table] | None:
    """A complete job's tables as Arrow tables, or None (incomplete, of another key than
    ``key`` when given, or unreadable although its record says complete: a job rewriting its
    tables while we read). What :func:`job_is_complete` checks, with each file read once for
    its checksum, row count and table (a pandas frame per job and table cost 3 ms)."""
    listed = _complete_record(read_json_or_empty(job / JOB_FILE), key)
    if listed is None:
        return None
    tables, checksums = listed
    read = {}
    try:
        for name, n_rows in tables.items():
            data = (job / f"{name}.parquet").read_bytes()
            if name in checksums and hashlib.sha256(data).hexdigest() != checksums[name]:
                return None
            # the file's own reader: a third of read_table's time on a job's small tables
            read[name] = pq.ParquetFile(pa.BufferReader(data)).read(use_threads=False)
            if read[name].num_rows != n_rows:
                return None
    except (OSError, pa.ArrowException):  # missing, unreadable or not parquet
        return None
    return read


def _concat_tables(name: str, parts: list[pa.Table], columns: tuple[str, ...]) -> pd.DataFrame:
    """The jobs' ``name`` tables as one frame: one Arrow concatenation and one conversion when
    they share a schema (a run written by one version); else job by job, each given the
    columns added since it was written (:func:`with_variant`), as pandas concatenates them."""
    parts = [p for p in parts if p.num_rows]
    if parts and all(p.schema.equals(parts[0].schema) for p in parts):
        return with_variant(pa.concat_tables(parts).to_pandas(), name)
    return _concat((with_variant(p.to_pandas(), name) for p in parts), columns)


def _concat(parts: Iterable[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: [] for c in columns})
    return pd.concat(parts, ignore_index=True)


@contextmanager
def _locked(path: Path, on_wait: Callable[[], object] | None = None):
    """An exclusive advisory lock (``fcntl.flock``) on the file ``path`` while the block runs:
    the one lock helper (a job's lock, run.json's). When another process holds it,
    ``on_wait()`` is called, then this waits. POSIX; elsewhere no lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def update_run_json(run_dir: Path, change=None, **fields) -> dict:
    """Read-modify-write ``run.json`` under a lock: a sweep and a `collect` may both write it.

    ``fields`` replace top-level keys; ``change(info)``, if given, edits the record in place
    first (for nested keys such as ``sweeps``).
    """
    path = Path(run_dir) / RUN_FILE
    with _locked(Path(run_dir) / f".{RUN_FILE}.lock"):
        info = read_json(path) if path.exists() else {}
        if change is not None:
            change(info)
        info.update(fields)
        write_json(info, path)
    return info


# ---------------------------------------------------------------------------- reading
#: ``results/<study>/latest`` names the study's newest run (a name, not a directory).
LATEST = "latest"


def list_runs(study: str, results_dir: Path | str = "results") -> list[Path]:
    """The run dirs of a study, oldest first (run ids start with their start time).

    Parameters
    ----------
    study : str
        The study's name (``quickstart``, ``adhoc``, ...).
    results_dir : path
        The results root (the config's ``results_dir``).

    Returns
    -------
    list of Path
        Every ``<results_dir>/<study>/<run id>`` holding a ``run.json``.
    """
    root = Path(results_dir) / study
    if not root.is_dir():
        return []
    runs = [d for d in root.iterdir() if d.is_dir() and (d / RUN_FILE).is_file()]
    return sorted(runs, key=lambda d: (_run_start(d / RUN_FILE), d.name))


def _run_start(record: Path) -> str:
    """A run record's ``start`` ("" when it has none); :class:`ResultsError` naming the file
    when it is unreadable or its start is not a time stamp: an unreadable run is reported,
    never skipped (it may be the newest)."""
    try:
        info = read_json(record)
    except (OSError, ValueError) as exc:
        cause = io_cause(exc) if isinstance(exc, OSError) else str(exc).splitlines()[0]
        raise ResultsError(
            f"{record}: not a readable run record ({cause}); repair or move away that run"
        ) from None
    start = info.get("start", "") if isinstance(info, dict) else None
    if not isinstance(start, str):
        raise ResultsError(
            f"{record}: 'start' is {start!r}, not a time stamp; repair or move away that run"
        )
    return start


def resolve_run(path: Path | str) -> Path:
    """``<results_dir>/<study>/latest`` -> that study's newest run dir; any other path as is.

    Raises
    ------
    ResultsError
        ``latest`` of a study without runs.
    """
    path = Path(path)
    if path.name != LATEST:  # also beside a run named latest (run_id is refused since 0.1)
        return path
    runs = list_runs(path.parent.name, path.parent.parent)
    if not runs:
        raise ResultsError(f"{path}: no runs of study {path.parent.name!r} in {path.parent.parent}")
    return runs[-1]


def resolve_table(path: Path, table: str = FITS_FILE) -> Path:
    """A run dir (``.../latest`` included) or a table file -> the table file; a clear error
    for anything else."""
    path = resolve_run(path)
    if not path.exists():
        raise ResultsError(f"{path}: no such file or directory")
    if path.is_dir():
        candidate = path / table
        if candidate.is_file():
            return candidate
        if job_dirs(path):
            raise ResultsError(
                f"{path}: run dir without {table}; rebuild it with `sparsity-lab collect {path}`"
            )
        raise ResultsError(f"{path}: not a run dir (no {table} inside)")
    return path


def read_table(path: Path, table: str = FITS_FILE) -> pd.DataFrame:
    """Read a fits/coefs table from a run dir or a .parquet/.csv file.

    Tables written before the ``variant`` column existed (or a CSV, where an empty variant
    reads back as NaN) get ``variant == ""`` beside ``model``: the model's config defaults.
    """
    file = resolve_table(path, table)
    try:
        if file.suffix == ".csv":
            df = pd.read_csv(file)
        else:
            df = pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises several unrelated types for non-parquet files
        raise ResultsError(
            f"{file}: not a readable results table ({exc.__class__.__name__})"
        ) from exc
    return with_variant(df, Path(table).name.removesuffix(".parquet"))


def with_variant(df: pd.DataFrame, table: str | None = None) -> pd.DataFrame:
    """``df`` with the columns added since its table was written (``schema.LEGACY_DEFAULTS``:
    ``variant == ""`` right after ``model``; in fits, ``zero_set_is_optimum`` from
    ``n_false_zero`` and ``n_missed_zero``, ``stationarity`` = ``kkt_violation`` and
    ``objective_convex`` true where that is known), and a string ``variant`` (CSV reads "" as
    NaN).

    ``table`` names the table when known: only the core tables that declare the column get it
    added; a ``variant`` column that is there (a study's table too, e.g. a frozen CSV) is made
    strings.
    """
    for column, value, after in schema.LEGACY_DEFAULTS:
        if column in df.columns:
            if df[column].isna().any() or df[column].dtype != object:
                df = df.assign(**{column: df[column].astype(object).fillna(value).astype(str)})
            continue
        declares = {t.name for t in schema.CORE_TABLES if column in t.names}
        if after not in df.columns or (table is not None and table not in declares):
            continue
        df = df.copy()
        df.insert(df.columns.get_loc(after) + 1, column, value)
    if table == "fits" and "stationarity" not in df.columns and "kkt_violation" in df.columns:
        # fits before issue 22 hold the elastic-net family only: its stationarity is the KKT
        # violation (the same formula), its objective convex wherever the penalty was known
        df = df.copy()
        at = df.columns.get_loc("kkt_violation") + 1
        kkt = df["kkt_violation"].astype(float)
        df.insert(at, "stationarity", kkt)
        convex = pd.array([True] * len(df), dtype="boolean")
        convex[kkt.isna().to_numpy()] = pd.NA
        df.insert(at + 1, "objective_convex", convex)
    derived = "zero_set_is_optimum"  # fits before issue 26: from the counts it summarises
    if table == "fits" and derived not in df.columns and "n_missed_zero" in df.columns:
        false, missed = df["n_false_zero"].astype(float), df["n_missed_zero"].astype(float)
        same = ((false == 0) & (missed == 0)).astype("boolean").mask(false.isna() | missed.isna())
        df = df.copy()
        df.insert(df.columns.get_loc("n_missed_zero") + 1, derived, same)
    return df


def read_fits(path: Path | str) -> pd.DataFrame:
    """The fits table of a run dir (or ``results/<study>/latest``) or a table file, checked
    against the contract: one row per (dataset, model, alpha, seed)."""
    df = read_table(path, FITS_FILE)
    check_fits_columns(df, str(path))
    return df


def read_coefs(path: Path | str) -> pd.DataFrame:
    """The coefs table of a run dir (or ``results/<study>/latest``) or a table file: one row
    per coefficient of every fit, checked against the contract."""
    df = read_table(path, COEFS_FILE)
    check_columns(df, "coefs", COEFS_COLUMNS, str(path))
    return df


def check_output_file(path: Path | str, flag: str) -> None:
    """A file a verb will write (``report --out``, default ``RUN/report.html``), checked
    before any work: not a folder, and its folder can be created and written. Raises
    :class:`~sparsity_lab.ResultsError` (one line, exit 2)."""
    path = Path(path)
    if path.is_dir():
        raise ResultsError(
            f"{flag} {path}: is a folder; allowed: a file path (e.g. {path / 'report.html'})"
        )
    try:
        check_writable_dir(path.parent)
    except ResultsError as exc:
        raise ResultsError(f"{flag} {path}: {exc}") from None
