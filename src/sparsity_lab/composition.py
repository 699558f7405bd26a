"""Compose each distinct config once per `sparsity-lab run`.

One command composes the same configs many times over: the pre-launch check (:mod:`sweep`)
composes the primary config and every job's, then Hydra composes the primary again to learn the
mode and to run, and every job's config twice (``BasicSweeper`` validates the batch, then the
launcher composes each job before running it). A composition costs 0.1 to 0.4 s on this kind of
machine (the defaults tree, YAML, merges), which made the sequential per-job overhead and half
of a one-job run's start.

Hydra has no hook for reusing compositions, so :func:`reuse_compositions` wraps
``ConfigLoaderImpl.load_configuration`` for the duration of one command:

- a call with the same arguments as an earlier one (config name, overrides, mode, flags, search
  path, working directory) returns a copy of the earlier result;
- a job config (run mode) whose overrides differ from a composed config only by plain value
  overrides (``key=value`` on a non-group key, no sweep, no ``+``/``~``, no package; Hydra's own
  ``hydra.mode=RUN`` is one) is that config's copy with the values applied and Hydra's
  bookkeeping (``hydra.overrides``, ``hydra.job.override_dirname``) redone; this is what
  Hydra's own composition does after merging the defaults, so one composition serves every job
  with the same config-group choices;
- a single run's config is the primary config composed to learn the mode (Hydra's multirun
  mode without sweep checks composes the same config when no override sweeps and no config
  group is left missing), so a one-job run composes once;
- a job's config (run mode) is made once: what the check composes (:func:`handing_over`) is
  kept and handed, not copied, to the next caller with the same arguments (Hydra's launcher),
  and Hydra's ``Sweeper.validate_batch_is_legal``, which composes every job of a batch only to
  see that it composes, skips the jobs whose config is waiting to be handed over. The check
  reads a job's config and never changes it; Hydra's ``load_sweep_config`` then replaces its
  resolver cache with the primary config's, as it does for a config it composed itself;
- a copy of a kept composition is unpickled, not deep-copied (2 against 10 ms);
- a composition itself costs about half of Hydra's: each config file is parsed once per command
  (its ConfigResult kept pickled, keyed by the file's modification time and size), and
  Hydra's per-composition copy of the config repository shares the ConfigStore singleton
  instead of deep-copying it (l1_vs_l2's 33 compositions: 169 -> 94 ms each).

With ``hydra/launcher=local`` and several processes, :func:`compose_in_parallel` composes the
distinct job configs of a sweep in forked workers, which start while the parent imports what
the check needs, and in the parent once it has: a sweep over datasets and models has one
composition per (dataset, model), 0.1 to 0.3 s each, which would otherwise run one after
another in the parent before any job starts.

``tests/test_composition.py`` checks all of it against Hydra's own composition.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from omegaconf import DictConfig, open_dict

#: Full compositions kept, least recently used dropped first (one per config-group choice).
MAX_KEPT = 256

#: Job configs (run mode) waiting to be handed to the launcher; beyond this many, the later
#: jobs of a sweep are composed again from the kept compositions when they launch (about
#: 0.1 MB each).
MAX_HANDED = 1000

_state: dict = {"depth": 0, "originals": [], "handing": False}
# None: kept as its pickle only (a worker's composition, unpickled on its first read)
_kept: OrderedDict[tuple, DictConfig | None] = OrderedDict()
_pickled: dict[tuple, bytes] = {}  # a kept composition's pickle, made on its first copy
_handed: OrderedDict[tuple, DictConfig] = OrderedDict()  # the check's job configs


def _copy(key: tuple) -> DictConfig:
    """A copy of the kept composition ``key``: unpickled, which takes a fifth of the time of a
    deep copy (2 against 10 ms for this tree; Hydra's joblib and submitit launchers send
    configs to their workers the same way)."""
    if key not in _pickled:
        _pickled[key] = pickle.dumps(_kept[key], protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.loads(_pickled[key])


def _kept_config(key: tuple) -> DictConfig:
    """The kept composition ``key`` itself (read only: callers get :func:`_copy`)."""
    if _kept[key] is None:
        _kept[key] = pickle.loads(_pickled[key])
    return _kept[key]


def _drop_oldest() -> None:
    while len(_kept) > MAX_KEPT:
        key, _ = _kept.popitem(last=False)
        _pickled.pop(key, None)


#: Keys whose values Hydra's composition reads or sets after applying the overrides: an
#: override of one of them is composed, never applied to a copy.
_COMPOSED_KEYS = (
    "hydra.searchpath", "hydra.job.env_copy", "hydra.job.config_name", "hydra.job.name",
    "hydra.job.override_dirname", "hydra.runtime", "hydra.overrides",
)  # fmt: skip


def _plain_value(override, loader) -> bool:
    """``key=value`` that Hydra applies after composing the defaults, the same way whatever the
    group choices: no group choice, sweep, ``+``/``++``/``~`` or package, and no key that the
    composition itself reads or sets afterwards."""
    if override.is_sweep_override() or override.package is not None:
        return False
    if override.is_add() or override.is_force_add() or override.is_delete():
        return False
    key = override.key_or_group
    if key == "hydra" or any(key == k or key.startswith(f"{k}.") for k in _COMPOSED_KEYS):
        return False
    return isinstance(override.value(), dict) or not loader.repository.group_exists(key)


def _group_choices(parsed: list, loader) -> list[str]:
    """The overrides a job's composition depends on (all but the plain values)."""
    return [o.input_line for o in parsed if not _plain_value(o, loader)]


def _key(loader, config_name, overrides, run_mode, from_shell, validate) -> tuple:
    path = tuple((e.provider, e.path) for e in loader.config_search_path.get_path())
    return (path, os.getcwd(), config_name, tuple(overrides), run_mode, from_shell, validate)


def _composed(original, loader, config_name, overrides, run_mode, from_shell, validate):
    """Hydra's composition of these arguments, composed once per command."""
    key = _key(loader, config_name, overrides, run_mode, from_shell, validate)
    if _WORK.get("parent") == os.getpid() and key not in _kept:  # a worker may make it
        _await_or_claim(key, tuple(overrides))
    if key in _kept:
        _kept.move_to_end(key)
    else:
        _kept[key] = original(loader, config_name, list(overrides), run_mode, from_shell, validate)
        _drop_oldest()
    return _copy(key)


def _load_configuration(original):
    from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode

    def load_configuration(
        self,
        config_name,
        overrides,
        run_mode,
        from_shell: bool = True,
        validate_sweep_overrides: bool = True,
    ) -> DictConfig:
        args = (config_name, list(overrides), run_mode, from_shell, validate_sweep_overrides)
        if run_mode != RunMode.RUN:
            return _composed(original, self, *args)
        key = _key(self, *args)
        if key in _handed:  # the check's composition of this job
            # (the check reads a job it has composed already: a sweep may repeat a job)
            return _handed[key] if _state["handing"] else _handed.pop(key)
        cfg = job_config(self, *args)
        if _state["handing"]:
            _handed[key] = cfg
            while len(_handed) > MAX_HANDED:
                _handed.popitem(last=False)
        return cfg

    def job_config(self, config_name, overrides, run_mode, from_shell, validate_sweep_overrides):
        """A job's config (run mode), from the kept compositions when it can be."""
        args = (config_name, overrides, run_mode, from_shell, validate_sweep_overrides)
        parsed = OverridesParser.create().parse_overrides(overrides=list(overrides))
        if any(o.is_sweep_override() for o in parsed):
            return _composed(original, self, *args)
        # a single run: the primary config the check (or Hydra, for the mode) composed already
        # is the job's, when no config group was left missing ('???': skipped in multirun mode)
        # (Hydra adds hydra.mode=RUN to what it composed for the mode)
        hydra_values = [o for o in parsed if o.is_hydra_override() and _plain_value(o, self)]
        mode = [o for o in hydra_values if o.key_or_group == "hydra.mode"]
        for extra in ([], mode, hydra_values):
            primary = [o.input_line for o in parsed if o not in extra]
            key = _key(self, config_name, primary, RunMode.MULTIRUN, from_shell, False)
            if key in _kept and "???" not in _kept_config(key).hydra.runtime.choices.values():
                return _finish(_copy(key), parsed, extra)
        values = [o for o in parsed if _plain_value(o, self)]
        if not values:
            return _composed(original, self, *args)
        rest = _group_choices(parsed, self)
        cfg = _composed(original, self, config_name, rest, run_mode, from_shell, False)
        return _finish(cfg, parsed, values)

    def _finish(cfg: DictConfig, parsed: list, values: list) -> DictConfig:
        """Apply plain value overrides to a composed copy and redo Hydra's bookkeeping."""
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        app = [o for o in parsed if not o.is_hydra_override()]
        naming = cfg.hydra.job.config.override_dirname
        with open_dict(cfg.hydra):
            cfg.hydra.overrides.hydra = [o.input_line for o in parsed if o.is_hydra_override()]
            cfg.hydra.overrides.task = [o.input_line for o in app]
            cfg.hydra.job.override_dirname = get_overrides_dirname(
                overrides=app,
                kv_sep=naming.kv_sep,
                item_sep=naming.item_sep,
                exclude_keys=naming.exclude_keys,
            )
        return cfg

    return load_configuration


def _validate_batch_is_legal(original):
    from hydra.types import RunMode

    def validate_batch_is_legal(self, batch) -> None:
        """Hydra's check that every job of ``batch`` composes, for the jobs whose config is
        not composed already (waiting to be handed to the launcher)."""
        loader = getattr(self, "hydra_context", None)
        loader = loader.config_loader if loader is not None else self.config_loader
        master = self.config
        hydra_overrides = list(master.hydra.overrides.hydra)
        name = master.hydra.job.config_name
        left = [
            job
            for job in batch
            if _key(loader, name, hydra_overrides + list(job), RunMode.RUN, True, True)
            not in _handed
        ]
        original(self, left)

    return validate_batch_is_legal


def _caching_repository_init(original):
    def __init__(self, delegate) -> None:
        """Hydra's copy of the config repository for one composition, sharing the ConfigStore
        singleton instead of deep-copying every structured config in it (9 ms a composition):
        the copy only protects the repository's list of sources, and the store hands out
        copies of its configs itself (``ConfigStore.load``)."""
        memo = {
            id(s.store): s.store for s in getattr(delegate, "sources", ()) if hasattr(s, "store")
        }
        self.delegate = copy.deepcopy(delegate, memo)
        self.cache = {}

    return __init__


#: Config files as loaded by Hydra's sources (YAML parsed into a ConfigResult), pickled: a
#: composition reads every file of its defaults tree, and a sweep's compositions read the same
#: files again (the hydra/* files, config.yaml, the model and dataset files).
_loaded: dict[tuple, bytes] = {}


def _source_load_config(original):
    def load_config(self, config_path: str):
        """The source's ConfigResult for ``config_path``, parsed once per command (a fresh copy
        each call); a file's key holds its modification time and size."""
        key = (type(self).__name__, self.provider, self.path, config_path)
        if type(self).__name__ == "FileConfigSource":
            full = os.path.join(self.path, self._normalize_file_name(config_path))
            try:
                stat = os.stat(full)
            except OSError:  # Hydra's own error
                return original(self, config_path)
            key += (stat.st_mtime_ns, stat.st_size)
        if key not in _loaded:
            _loaded[key] = pickle.dumps(original(self, config_path), pickle.HIGHEST_PROTOCOL)
        return pickle.loads(_loaded[key])

    return load_config


def _patches() -> list[tuple[object, str, Callable]]:
    """(owner, attribute, wrapper factory) of every Hydra function wrapped by
    :func:`reuse_compositions`."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.config_repository import CachingConfigRepository
    from hydra._internal.sources_registry import SourcesRegistry
    from hydra.core.plugins import Plugins
    from hydra.plugins.sweeper import Sweeper

    # Hydra's first plugin scan executes its core plugin modules again: the config source
    # classes are the ones registered by then
    Plugins.instance()
    sources = SourcesRegistry.instance()
    return [
        (ConfigLoaderImpl, "load_configuration", _load_configuration),
        (Sweeper, "validate_batch_is_legal", _validate_batch_is_legal),
        (CachingConfigRepository, "__init__", _caching_repository_init),
        (sources.resolve("file"), "load_config", _source_load_config),
        (sources.resolve("pkg"), "load_config", _source_load_config),
    ]


@contextmanager
def reuse_compositions() -> Iterator[None]:
    """Within this block, Hydra composes each distinct config once (re-entrant)."""
    if _state["depth"] == 0:
        _state["originals"] = []
        for owner, name, wrapper in _patches():
            original = owner.__dict__[name]
            _state["originals"].append((owner, name, original))
            setattr(owner, name, wrapper(original))
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if _state["depth"] == 0:
            for owner, name, original in _state["originals"]:
                setattr(owner, name, original)
            _kept.clear()
            _pickled.clear()
            _handed.clear()
            _loaded.clear()


@contextmanager
def handing_over() -> Iterator[None]:
    """The job configs (run mode) composed in this block are kept for the launcher: the next
    request for the same job after the block gets the same object, once. For the pre-launch
    check, which reads the configs it composes and changes none."""
    saved = _state["handing"]
    _state["handing"] = bool(_state["depth"])
    try:
        yield
    finally:
        _state["handing"] = saved


# The sweep being composed in parallel: what forked workers read (primary, loader, todo,
# claimed) and what this process reads while they work (index, results, workers).
_WORK: dict = {}


def _claim(i: int) -> bool:
    """Take composition ``i`` of the sweep (True), unless a process has taken it already."""
    claimed = _WORK["claimed"]
    with claimed.get_lock():
        if claimed[i]:
            return False
        claimed[i] = 1
        return True


def _worker() -> None:
    """A forked worker: the sweep's compositions in the order the check reads them, each sent
    to the parent as soon as it is made (pickled), skipping what the parent took. A job that
    does not compose is sent as such: the parent composes it again and reports its error."""
    todo, results = _WORK["todo"], _WORK["results"]
    for i in range(len(todo)):
        if not _claim(i):
            continue
        before = set(_kept)
        try:
            _WORK["loader"].load_sweep_config(_WORK["primary"], todo[i])
        except Exception:
            results.put((i, {}))
            continue
        made = {
            key: pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
            for key, cfg in _kept.items()
            if key not in before
        }  # the parent keeps the pickles as they come: its copies are unpickled from them
        results.put((i, made))


def _compose_last_here() -> bool:
    """While a worker makes the composition the check waits for: take the last one nobody has
    taken and compose it here (False when none is left). One that does not compose is left to
    the check, which composes it again when it reaches its job and reports the error."""
    for j in reversed(range(len(_WORK["todo"]))):
        if _claim(j):
            break
    else:
        return False
    _WORK["busy"] = True
    try:
        _WORK["loader"].load_sweep_config(_WORK["primary"], _WORK["todo"][j])
    except Exception:
        pass
    finally:
        _WORK["busy"] = False
        _WORK["arrived"].add(j)
        _WORK["here"] += 1
    return True


def _receive(block: bool) -> bool:
    """One composition sent by a worker, kept here; False when none came."""
    import queue

    from sparsity_lab.launcher import POLL_SECONDS

    try:
        i, made = (
            _WORK["results"].get(timeout=POLL_SECONDS) if block else _WORK["results"].get_nowait()
        )
    except queue.Empty:
        return False
    _WORK["arrived"].add(i)
    for key, data in made.items():
        if key not in _kept:
            _kept[key], _pickled[key] = None, data
            _WORK["received"] += 1
    return True


def _await_or_claim(key: tuple, choices: tuple) -> None:
    """Before composing ``key`` here: take what the workers sent; if a worker is making it,
    compose the last compositions nobody has taken until it arrives (the workers go forwards,
    this process backwards from the end); else claim it (this process composes it)."""
    i = _WORK["index"].get(choices)
    if i is None or _WORK["busy"]:
        return
    while _receive(block=False):
        pass
    while key not in _kept and i not in _WORK["arrived"]:
        if _claim(i):
            _WORK["here"] += 1
            return
        if _compose_last_here():
            while _receive(block=False):
                pass
            continue
        if not _receive(block=True) and not any(w.is_alive() for w in _WORK["workers"]):
            while _receive(block=False):  # sent just before its worker ended
                pass
            return  # a worker died with it: compose it here


@contextmanager
def compose_in_parallel(
    primary: DictConfig,
    jobs: list[list[str]],
    loader,
    n_processes: int,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[dict]:
    """Within this block, the distinct job configs of a sweep are composed by ``n_processes``
    processes: this one and ``n_processes - 1`` forked workers, which start at once while this
    one runs ``meanwhile`` (e.g. the imports the check needs next; it runs in any case).

    The workers take the compositions in the order of the jobs and send each as it is made;
    this process reads the jobs in order (the check): it finds a job's composition sent, or
    takes it itself if nobody has, and while a worker makes the one it waits for, it composes
    the last ones nobody has taken. So the check runs while the workers compose, and both
    processes compose until none is left.

    Inside :func:`reuse_compositions` only: the compositions join the kept ones, so that the
    check and Hydra's launcher find every job's composition made. Jobs that differ only in plain
    values share one composition, and only one job of each is composed. Does nothing with fewer
    than two compositions per process (forking would cost more than it saves) or without
    ``fork``.

    Yields
    ------
    dict
        Counts, final when the block ends: ``received`` (compositions made by the workers) and
        ``here`` (taken by this process), 0 and 0 when nothing runs in parallel.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    counts = {"received": 0, "here": 0}
    if not _state["depth"] or n_processes < 2 or "fork" not in mp.get_all_start_methods():
        if meanwhile is not None:
            meanwhile()
        yield counts
        return
    hydra_overrides = list(primary.hydra.overrides.hydra)
    parser = OverridesParser.create()
    one_per_composition: dict[tuple, list[str]] = {}
    for job in jobs:
        parsed = parser.parse_overrides(overrides=hydra_overrides + list(job))
        one_per_composition.setdefault(tuple(_group_choices(parsed, loader)), list(job))
    todo = list(one_per_composition.values())
    if len(todo) < 2 * n_processes:
        if meanwhile is not None:
            meanwhile()
        yield counts
        return
    ctx = mp.get_context("fork")
    _WORK.update(
        primary=primary, loader=loader, todo=todo, claimed=ctx.Array("b", len(todo)),
        results=ctx.Queue(), index={c: i for i, c in enumerate(one_per_composition)},
        arrived=set(), received=0, here=0, workers=[], parent=os.getpid(), busy=False,
    )  # fmt: skip
    try:
        for _ in range(n_processes - 1):
            worker = ctx.Process(target=_worker, daemon=True)
            worker.start()
            _WORK["workers"].append(worker)
        if meanwhile is not None:
            meanwhile()
        yield counts
        with _WORK["claimed"].get_lock():  # nothing is left to take
            _WORK["claimed"][:] = [1] * len(todo)
        while any(w.is_alive() for w in _WORK["workers"]):  # their last results, then the end
            _receive(block=True)
        while _receive(block=False):
            pass
    finally:
        for worker in _WORK["workers"]:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        counts.update(received=_WORK["received"], here=_WORK["here"])
        _WORK.clear()
        _drop_oldest()
