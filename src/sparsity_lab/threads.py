"""This process's BLAS/OpenMP thread pools, found once.

``threadpoolctl`` finds the pools by scanning every shared library the process has loaded
(about 500 once scikit-learn is imported, 5 to 20 ms); ``threadpool_limits(...)`` scans them
anew at each call. The suite limits threads in every job (``sweep.limited_threads``) and in
every exact path (``solvers.exact_path``), so the pools found are kept until a module is
imported (which may load another library).
"""

from __future__ import annotations

import os
import sys

#: The pools of this process, and the number of modules imported when they were found.
_POOLS: dict = {}


def thread_pools():
    """This process's pools: a ``threadpoolctl.ThreadpoolController``, found again only after
    a module was imported (``.limit(limits=..., user_api=...)`` and ``.info()`` as usual)."""
    from threadpoolctl import ThreadpoolController

    if _POOLS.get("modules") != len(sys.modules):
        _POOLS.update(controller=ThreadpoolController(), modules=len(sys.modules))
    return _POOLS["controller"]


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS has one, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
