"""What a `sparsity-lab` process pays to start and to end, kept small.

A command imports NumPy, SciPy, pandas, pyarrow, scikit-learn and Hydra (about 2.5 s on a
2-core machine, the "import floor"), then does little (a tiny job: 0.1 s). Two costs of
CPython 3.11 around that floor are the suite's to avoid:

- Its cyclic garbage collector runs over and over during a burst of imports (each collection
  of the oldest generation walks every object imported so far): 0.4 to 0.6 s of the imports.
  :func:`gc_paused` pauses it for the imports, then freezes what was imported
  (``gc.freeze``: never scanned again, so each later full collection, 0.1 to 0.2 s once
  scikit-learn is loaded, no longer walks it).
- At exit it tears the modules down one by one: 0.5 to 0.7 s. :func:`exit_quickly` ends the
  process the way Python's exit does, without that.

A module the entry point defers (:func:`defer_imports`, `run`'s path job and estimators) is
imported by :func:`import_deferred` when the run first needs it, in the same way: a sweep on
two processes imports it in the parent while its forked composers compose the jobs' configs
(about 0.5 s of scikit-learn, SciPy and numba no longer before the sweep starts). Only the
entry point defers: for in-process callers (tests, notebooks) :func:`import_deferred` does
nothing and the modules import as any other.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

#: Modules the console entry point left for :func:`import_deferred` (empty elsewhere).
_DEFERRED: list[str] = []


@contextmanager
def gc_paused() -> Iterator[None]:
    """Within this block (imports), no cyclic garbage collection; after it, the objects alive
    are frozen (moved to the permanent generation, as ``gc.freeze`` documents for a process
    that has finished loading). Garbage cycles made inside the block are frozen too: keep it
    to imports, whose objects live as long as the process anyway."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def defer_imports(modules: Iterable[str]) -> None:
    """The console entry point's modules to import later, by :func:`import_deferred`."""
    _DEFERRED[:] = list(modules)


def import_deferred() -> None:
    """Import what the entry point deferred (:func:`defer_imports`) with the GC paused, then
    frozen (:func:`gc_paused`), in a thread of its own; the first call does it, any later call,
    and any call in a process whose entry point deferred nothing, does nothing.

    The thread starts with an empty Python stack: CPython 3.11 keeps its frames in 16 KiB
    chunks that it maps and unmaps as the stack crosses a chunk's edge, and called deep in
    Hydra's stack (a single run's check) the imports crossed one back and forth (``strace``:
    60000 mmap/munmap pairs of 16 KiB, scipy.stats' import 0.30 -> 0.53 s, one tiny job
    0.25 s slower than with the imports at the start)."""
    if not _DEFERRED:
        return
    modules = list(_DEFERRED)
    _DEFERRED.clear()
    failed: list[BaseException] = []

    def imports() -> None:
        try:
            with gc_paused():
                for module in modules:
                    importlib.import_module(module)
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)

    import threading

    worker = threading.Thread(target=imports, name="sparsity-lab-imports", daemon=True)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]


def exit_quickly(code: int) -> None:
    """End the process with ``code`` the way Python's own exit does, without tearing down its
    modules one by one.

    After a command has imported scikit-learn, SciPy, pandas and numba, that teardown alone
    takes 0.5 to 0.7 s on this kind of machine, a tenth of a short run and more than the
    ``models`` verb's own work. Everything an exit does that anyone can observe still
    happens, in Python's order (``Py_FinalizeEx``): the other threads are joined and
    ``threading``'s exit hooks run (``threading._shutdown``), then the ``atexit`` handlers
    (logging flushes and closes its files, multiprocessing joins its children, coverage saves),
    then stdout and stderr are flushed (exit status 120 when that fails, as Python's). Where
    that private hook is missing (another Python), this is ``sys.exit(code)``.
    """
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None or threading.current_thread() is not threading.main_thread():
        sys.exit(code)
    shutdown()
    atexit._run_exitfuncs()
    status = code
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # e.g. a closed pipe (`sparsity-lab models | head -1`)
            status = status or 120
    os._exit(status)
