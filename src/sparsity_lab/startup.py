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
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


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
