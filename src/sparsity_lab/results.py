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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
    tmp = _temp_beside(path)
    try:
        write(tmp)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(exc.errno, io_cause(exc), str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _install(tmp, path)
    return path


def _temp_beside(path: Path) -> str:
    """A new temp file in ``path``'s folder (created if needed), for :func:`_install`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(exc.errno, io_cause(exc), str(exc.filename or path.parent)) from exc
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise WriteError(exc.errno, io_cause(exc), str(path)) from exc
    return tmp


def _install(tmp: str, path: Path) -> None:
    """Rename the written temp file to ``path`` with the mode a plain ``open`` gives."""
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; colleagues may need to read
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(exc.errno, io_cause(exc), str(path)) from exc


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


#: Tables that ``collect`` streams into the run's file one job at a time, never held whole:
#: one row per coefficient of every fit (2 M rows for a job of 20000 features and 100 alphas).
STREAMED_TABLES: tuple[str, ...] = (schema.COEFS.name,)


class TableFile:
    """A run-level table on disk, read on demand: what :func:`collect` returns for a streamed
    table (``STREAMED_TABLES``) instead of a frame.

    ``len()`` is its row count (from the file's footer), ``columns`` its column names;
    :meth:`to_pandas` reads it whole, as :func:`read_table` does.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __len__(self) -> int:
        return pq.ParquetFile(self.path).metadata.num_rows

    @property
    def columns(self) -> list[str]:
        return list(pq.read_schema(self.path).names)

    def to_pandas(self) -> pd.DataFrame:
        return read_table(self.path, self.path.name)

    def __repr__(self) -> str:
        return f"TableFile({str(self.path)!r})"


class _TableStream:
    """One run-level table written job by job (``pyarrow.parquet.ParquetWriter``): each job's
    rows are one or more row groups of their own, in job order. The file is what the in-memory
    concatenation writes (:func:`_concat_tables` then :func:`write_table`): the same columns,
    Arrow types and pandas metadata, so pandas reads back the same frame. Written to a temp
    file beside its place: ``commit`` renames it into place, ``discard`` keeps the old file."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self._tmp = _temp_beside(path)
        self._writer: pq.ParquetWriter | None = None

    def add(self, part: pa.Table) -> None:
        if not part.num_rows:  # as _concat_tables: a job without rows adds nothing
            return
        try:
            self._write(part)
        except OSError as exc:
            self.discard()
            raise WriteError(exc.errno, io_cause(exc), str(self.path)) from exc

    def _write(self, part: pa.Table) -> None:
        if self._writer is None:
            # the schema (and pandas metadata) the in-memory route writes: that of the frame
            # pandas makes of these rows, with the columns added since they were written
            head = with_variant(part.slice(0, 1024).to_pandas(), self.name)
            self._writer = pq.ParquetWriter(
                self._tmp, pa.Schema.from_pandas(head, preserve_index=False)
            )
        target = self._writer.schema
        variant = part.column("variant") if "variant" in part.column_names else None
        if part.schema.equals(target, check_metadata=False) and not (
            variant is not None and variant.null_count
        ):
            self._writer.write_table(part)
            return
        # an older job (no variant, ...): through pandas, as the in-memory route goes
        frame = with_variant(part.to_pandas(), self.name)
        self._writer.write_table(pa.Table.from_pandas(frame, schema=target, preserve_index=False))

    def commit(self, columns: tuple[str, ...]) -> None:
        try:
            if self._writer is None:  # no rows: the empty table the in-memory route writes
                _concat([], columns).to_parquet(self._tmp, index=False)
            else:
                self._writer.close()
        except OSError as exc:
            self.discard()
            raise WriteError(exc.errno, io_cause(exc), str(self.path)) from exc
        _install(self._tmp, self.path)

    def discard(self) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
        except OSError:
            pass
        Path(self._tmp).unlink(missing_ok=True)


def collect(run_dir: Path) -> dict[str, pd.DataFrame | TableFile]:
    """Concatenate every complete job's tables into the run-level tables (idempotent).

    Returns ``{name: frame}`` with at least ``fits`` and ``coefs``; the tables of
    ``STREAMED_TABLES`` (coefs) are written one job at a time, never held whole, and returned
    as a :class:`TableFile` (``len()``, ``to_pandas()``). Incomplete or unreadable jobs
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
    parts: dict[str, list[pa.Table]] = {"fits": [], "coefs": []}  # coefs: streamed
    info = read_json_or_empty(run_dir / RUN_FILE)
    n_jobs, keys = info.get("n_jobs"), info.get("job_keys")
    jobs = [j for j in job_dirs(run_dir) if n_jobs is None or int(j.name) < n_jobs]
    stale = [j.name for j in job_dirs(run_dir) if j not in jobs]
    streams = {
        name: _TableStream(run_dir / f"{name}.parquet", name)
        for name in STREAMED_TABLES
        if _same_columns([job / f"{name}.parquet" for job in jobs], name)
    }
    incomplete, n_complete = [], 0
    try:
        for job in jobs:
            frames = _read_complete_job_tables(job, expected_job_key(keys, job))
            if frames is None:
                incomplete.append(job.name)
                continue
            n_complete += 1
            for name, frame in frames.items():
                if name in streams:
                    streams[name].add(frame)
                else:
                    parts.setdefault(name, []).append(frame)
            del frames  # one job's tables at a time
    except BaseException:
        for stream in streams.values():
            stream.discard()
        raise
    kept = [] if n_complete else _tables_with_rows(run_dir)
    columns = {table.name: table.names for table in schema.CORE_TABLES}
    if kept:
        for stream in streams.values():
            stream.discard()
        tables = {p.stem: _kept_table(p) for p in kept}
    else:
        tables = {}
        try:
            for name, frames in parts.items():
                if name not in streams:
                    tables[name] = _concat_tables(name, frames, columns.get(name, ()))
                    write_table(tables[name], run_dir / f"{name}.parquet")
        except BaseException:
            for stream in streams.values():
                stream.discard()
            raise
        for name, stream in streams.items():
            stream.commit(columns.get(name, ()))
        for name in STREAMED_TABLES:  # in memory when its jobs' columns differ
            tables[name] = TableFile(run_dir / f"{name}.parquet")
        tables = {name: tables[name] for name in parts}
    update_run_json(
        run_dir,
        incomplete_jobs=incomplete,
        stale_jobs=stale,
        n_fits=len(tables.get("fits", ())),
        kept_tables=[p.stem for p in kept],
    )
    return tables


def _same_columns(files: list[Path], name: str) -> bool:
    """Whether the jobs' ``name`` tables have the same columns (those added since a job was
    written counted in), read from their footers: then ``collect`` streams them; otherwise
    (jobs of different versions adding a column) it concatenates them in memory as pandas
    does, filling the columns a job lacks."""
    seen = set()
    for file in files:
        try:
            schema_ = pq.read_schema(file)
        except (OSError, pa.ArrowException):  # missing or unreadable: not collected anyway
            continue
        seen.add(tuple(with_variant(schema_.empty_table().to_pandas(), name).columns))
    return len(seen) <= 1


def _kept_table(path: Path) -> pd.DataFrame | TableFile:
    return TableFile(path) if path.stem in STREAMED_TABLES else pd.read_parquet(path)


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


#: A filter of the readers: a column's value, or a list of the values kept.
Where = dict[str, object]
#: Rows per batch of :func:`table_batches` (a few tens of MB as a frame).
BATCH_ROWS = 1 << 18


def read_table(
    path: Path,
    table: str = FITS_FILE,
    columns: Sequence[str] | None = None,
    where: Where | None = None,
) -> pd.DataFrame:
    """Read a fits/coefs table from a run dir or a .parquet/.csv file.

    Tables written before the ``variant`` column existed (or a CSV, where an empty variant
    reads back as NaN) get ``variant == ""`` beside ``model``: the model's config defaults.

    ``columns`` reads only those columns (in that order; those the table lacks are left out),
    ``where`` only the rows whose column holds the value (or one of the list of values) given
    per column (``{"dataset": "diabetes", "seed": [0, 1]}``): from parquet, only the row groups
    whose statistics allow a match are read, so a filtered read of a large table holds only
    the rows it returns.
    """
    file = resolve_table(path, table)
    name = Path(table).name.removesuffix(".parquet")
    try:
        if file.suffix == ".csv":
            df = pd.read_csv(file)
        elif columns is None and not where:
            df = pd.read_parquet(file)
        else:
            df = _read_parquet_part(file, name, columns, where or {})
    except ResultsError:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for non-parquet files
        raise ResultsError(
            f"{file}: not a readable results table ({exc.__class__.__name__})"
        ) from exc
    if file.suffix == ".csv" or (columns is None and not where):
        df = _finish(df, name, columns, where or {})
    return df


def table_columns(path: Path | str, table: str = FITS_FILE) -> list[str]:
    """The columns of a table (those :func:`read_table` gives, the legacy ones included),
    read from the file's schema without a row (a CSV file: its header)."""
    file = resolve_table(path, table)
    name = Path(table).name.removesuffix(".parquet")
    try:
        if file.suffix == ".csv":
            empty = pd.read_csv(file, nrows=0)
        else:
            empty = pq.read_schema(file).empty_table().to_pandas()
    except Exception as exc:  # pyarrow raises several unrelated types for non-parquet files
        raise ResultsError(
            f"{file}: not a readable results table ({exc.__class__.__name__})"
        ) from exc
    return list(with_variant(empty, name).columns)


def _values(value) -> list:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _rows_where(df: pd.DataFrame, where: Where) -> pd.DataFrame:
    keep = np.ones(len(df), dtype=bool)
    for column, value in where.items():
        if column not in df.columns:
            raise ResultsError(f"no column {column!r} to filter on (columns: {', '.join(df)})")
        keep &= df[column].isin(_values(value)).to_numpy()
    return df[keep]


def _read_columns(names: Sequence[str], columns, where: Where) -> list[str] | None:
    """The file's columns to read for ``columns`` and ``where``, with those :func:`with_variant`
    derives the missing ones from."""
    if columns is None:
        return None
    wanted = [*columns, *where]
    for column, _, after in reversed(schema.LEGACY_DEFAULTS):  # a later one may follow another
        if column in wanted and column not in names:
            wanted.append(after)  # a legacy column is inserted right after it
    if "zero_set_is_optimum" in wanted:
        wanted += ["n_false_zero", "n_missed_zero"]
    return [c for c in dict.fromkeys(wanted) if c in names]


def _read_parquet_part(file: Path, name: str, columns, where: Where) -> pd.DataFrame:
    """Rows of a parquet table matching ``where`` on the file's own columns, row group by row
    group (those whose statistics rule a match out are not read)."""
    frames = list(_parquet_batches(file, name, columns, where, batch_rows=None))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _parquet_batches(file: Path, name: str, columns, where: Where, batch_rows: int | None):
    """Frames of a parquet table's rows matching ``where``, ``columns`` only (every column
    when None; the legacy ones derived by :func:`with_variant`), one per row group (or per
    ``batch_rows`` rows), in order. Row groups whose statistics rule a match out are not read,
    and a filter column whose statistics show it holds only a wanted value in a row group is
    neither read nor tested there. Yields at least one frame (empty when nothing matches)."""
    handle = pq.ParquetFile(file)
    names = handle.schema_arrow.names
    read = _read_columns(names, columns, where)
    pushed = {c: _values(v) for c, v in where.items() if c in names}
    derived = {c: v for c, v in where.items() if c not in names}
    groups = [i for i in range(handle.num_row_groups) if _group_may_match(handle, i, pushed)]
    yielded = False
    for i in groups:
        settled = set()
        for column, values in pushed.items():
            known = _constant_columns(handle, i, [column])
            if known is not None and known.column(0)[0].as_py() in values:
                settled.add(column)
        tested = {c: v for c, v in pushed.items() if c not in settled}
        needed = read
        if read is not None:
            needed = [c for c in read if c not in settled or c in columns]
        if batch_rows is None:
            parts = [handle.read_row_group(i, columns=needed)]
        else:
            parts = (
                pa.Table.from_batches([batch])
                for batch in handle.iter_batches(batch_rows, row_groups=[i], columns=needed)
            )
        for part in parts:
            for column, values in tested.items():
                part = part.filter(pc.is_in(part.column(column), pa.array(values)))
            frame = _finish(part.to_pandas(), name, columns, derived) if part.num_rows else None
            if frame is not None and len(frame):
                yielded = True
                yield frame
    if not yielded:
        empty = handle.schema_arrow.empty_table().select(read or names).to_pandas()
        yield _finish(empty, name, columns, derived)


def _finish(frame: pd.DataFrame, name: str, columns, where: Where) -> pd.DataFrame:
    """A frame read from a table: the legacy columns added, filtered on ``where``, the
    ``columns`` asked for (those there)."""
    frame = with_variant(frame, name)
    if where:
        frame = _rows_where(frame, where).reset_index(drop=True)
    return frame if columns is None else frame[[c for c in columns if c in frame.columns]]


def _group_may_match(handle: pq.ParquetFile, index: int, pushed: dict[str, list]) -> bool:
    """Whether row group ``index`` may hold a row matching ``pushed`` (its min/max say)."""
    group = handle.metadata.row_group(index)
    names = handle.schema_arrow.names
    for column, values in pushed.items():
        stats = group.column(names.index(column)).statistics
        if stats is None or not stats.has_min_max:
            continue
        try:
            if not any(stats.min <= v <= stats.max for v in values):
                return False
        except TypeError:  # a value of another type than the column's: let the filter say
            continue
    return True


def table_batches(
    path: Path | str,
    table: str = COEFS_FILE,
    columns: Sequence[str] | None = None,
    where: Where | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pd.DataFrame]:
    """A run's table (or a table file) as frames of at most ``batch_rows`` rows, in order:
    what the readers of a large table (figures, ``compare --check``) iterate over to hold one
    batch at a time. ``columns`` and ``where`` as :func:`read_table`; every frame has the
    columns asked for (the legacy ``variant`` included). A CSV file is read whole."""
    file = resolve_table(path, table)
    name = Path(table).name.removesuffix(".parquet")
    where = where or {}
    if file.suffix == ".csv":
        yield read_table(file, table, columns, where)
        return
    yield from _parquet_batches(file, name, columns, where, batch_rows)


def distinct_rows(
    path: Path | str, table: str = COEFS_FILE, columns: Sequence[str] = ("dataset",)
) -> pd.DataFrame:
    """The distinct combinations of ``columns`` in a table, in order of first appearance.

    From parquet, a row group whose statistics say it holds one value in each of the columns
    (a job's rows: one dataset, model, variant and seed) is not read; the others are read
    batch by batch. A CSV file is read whole."""
    file = resolve_table(path, table)
    name = Path(table).name.removesuffix(".parquet")
    columns = list(columns)
    if file.suffix == ".csv":
        return read_table(file, table, columns).drop_duplicates().reset_index(drop=True)
    handle = pq.ParquetFile(file)
    seen: list[pd.DataFrame] = []
    for i in range(handle.num_row_groups):
        known = _constant_columns(handle, i, columns)
        if known is not None:
            seen.append(known.to_pandas())
            continue
        read = _read_columns(handle.schema_arrow.names, columns, {})
        for batch in handle.iter_batches(BATCH_ROWS, row_groups=[i], columns=read):
            frame = with_variant(batch.to_pandas(), name)
            seen.append(frame[[c for c in columns if c in frame.columns]].drop_duplicates())
    if not seen:
        empty = handle.schema_arrow.empty_table().to_pandas()
        empty = with_variant(empty, name)
        return empty[[c for c in columns if c in empty.columns]]
    return pd.concat(seen, ignore_index=True).drop_duplicates().reset_index(drop=True)


def _constant_columns(handle: pq.ParquetFile, index: int, columns: list[str]) -> pa.Table | None:
    """Row group ``index``'s one value of each of ``columns`` as a one-row table, when its
    statistics show one (min == max, no nulls, every column in the file); else None."""
    names = handle.schema_arrow.names
    group = handle.metadata.row_group(index)
    values = {}
    for column in columns:
        if column not in names:
            return None
        stats = group.column(names.index(column)).statistics
        if stats is None or not (stats.has_min_max and stats.has_null_count):
            return None
        if stats.null_count or stats.min != stats.max:
            return None
        values[column] = pa.array([stats.min], type=handle.schema_arrow.field(column).type)
    return pa.table(values)


def with_variant(df: pd.DataFrame, table: str | None = None) -> pd.DataFrame:
    """``df`` with the columns added since its table was written (``schema.LEGACY_DEFAULTS``:
    ``variant == ""`` right after ``model``; the path point of issue 22, ``path_param ==
    "alpha"``, ``k`` and ``gamma`` NaN after ``alpha_ratio``, ``optimality == ""``; in fits,
    ``zero_set_is_optimum`` from ``n_false_zero`` and ``n_missed_zero``, ``stationarity`` =
    ``kkt_violation`` and ``objective_convex`` true where that is known), and a string
    ``variant`` (CSV reads "" as NaN).

    ``table`` names the table when known: only the core tables that declare the column get it
    added; a ``variant`` column that is there (a study's table too, e.g. a frozen CSV) is made
    strings.
    """
    for column, value, after in schema.LEGACY_DEFAULTS:
        if column in df.columns:
            text = isinstance(value, str)  # a CSV reads "" as NaN
            if text and (df[column].isna().any() or df[column].dtype != object):
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


def read_coefs(
    path: Path | str,
    *,
    dataset=None,
    model=None,
    variant=None,
    seed=None,
    columns: Sequence[str] | None = None,
    where: Where | None = None,
) -> pd.DataFrame:
    """The coefs table of a run dir (or ``results/<study>/latest``) or a table file: one row
    per coefficient of every fit, checked against the contract.

    A run of many jobs holds hundreds of millions of rows: ``dataset``, ``model``,
    ``variant`` and ``seed`` (a value or a list of values) keep only those fits' rows, and
    ``columns`` only those columns, read row group by row group from the parquet file (each
    job's rows are row groups of their own), so memory follows what is returned. ``where``
    filters on any other column the same way (``{"alpha_ratio": 1.0}``). Without them the
    whole table is read.
    """
    picked = {"dataset": dataset, "model": model, "variant": variant, "seed": seed}
    where = {**{c: v for c, v in picked.items() if v is not None}, **(where or {})}
    df = read_table(path, COEFS_FILE, columns, where)
    required = COEFS_COLUMNS if columns is None else [c for c in columns if c in COEFS_COLUMNS]
    check_columns(df, "coefs", required, str(path))
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
