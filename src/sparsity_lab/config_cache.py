"""Config files read and parsed once per run: Hydra config sources of scheme ``cached://``.

Hydra composes each job of a sweep from the config files again (``load_sweep_config``): for
l1_vs_l2's 33 jobs that is 363 YAML files parsed, about a fifth of the composition's CPU. A
config source of scheme ``cached`` wraps one of Hydra's own sources (``cached://file:///...``,
``cached://pkg://hydra.conf``): it asks the wrapped source once per config and keeps the parsed
result for the life of the source (Hydra's config loader, i.e. one run, inherited by forked
workers; the copies of its sources Hydra makes for each compose share it). Each caller gets a
deep copy (Hydra edits what it loads, e.g. drops ``defaults``), which costs about a sixth of
parsing the file. Answers to ``is_config``, ``is_group`` and ``list`` are kept too. A new run
(a new Hydra instance) reads the files again.

Both pieces are Hydra plugins on its public API, found by its plugin scan in
``hydra_plugins.sparsity_lab_config_cache``: the config source class (Hydra registers every
``ConfigSource`` plugin by its scheme) and a ``SearchPathPlugin`` whose
``manipulate_search_path`` replaces, in the search path Hydra hands it, each ``file://`` and
``pkg://`` entry by its ``cached://`` wrapper (same provider, same place), when the search
path holds the suite's config tree; other Hydra apps' search paths are left as they are.
``SPARSITY_LAB_CONFIG_CACHE=0`` turns it off (Hydra's own sources, for a comparison).
"""

from __future__ import annotations

import copy
import os

#: The scheme of the caching sources: ``cached://<the wrapped source's URL>``.
SCHEME = "cached"
#: The schemes of the sources that are wrapped (files read and parsed on every compose);
#: ``structured://`` (the ConfigStore, in memory) is not.
WRAPPED = ("file", "pkg")


def enabled() -> bool:
    """False when ``SPARSITY_LAB_CONFIG_CACHE`` is 0 (or false, no, off)."""
    return os.environ.get("SPARSITY_LAB_CONFIG_CACHE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


def _scheme(url: str) -> str:
    """As Hydra reads a search path entry: a path without a scheme is a folder (``file``)."""
    return url.split("://", 1)[0] if "://" in url else "file"


def _url(path: str) -> str:
    return path if "://" in path else f"file://{path}"


def _source_class(url: str):
    """The registered Hydra config source class of ``url``'s scheme (Hydra's public plugin
    registry: every ConfigSource plugin, Hydra's own included)."""
    from hydra.core.plugins import Plugins
    from hydra.plugins.config_source import ConfigSource

    scheme = _scheme(url)
    for cls in Plugins.instance().discover(ConfigSource):
        if cls.scheme() == scheme:
            return cls
    raise ValueError(f"{url}: no Hydra config source for the scheme {scheme!r}")


class CachingSource:
    """Mixed into the ``ConfigSource`` plugin class of ``hydra_plugins.sparsity_lab_config_cache``:
    the source of ``self.path`` (the wrapped URL), asked once per question."""

    path: str

    def __init__(self, provider: str, path: str) -> None:
        super().__init__(provider=provider, path=path)  # ConfigSource strips "cached://"
        self.inner = _source_class(self.path)(provider, self.path)
        self._configs: dict = {}
        self._answers: dict = {}

    @staticmethod
    def scheme() -> str:
        return SCHEME

    def __deepcopy__(self, memo) -> CachingSource:
        """Itself: Hydra deep-copies its config repository, sources included, for each compose
        (``CachingConfigRepository``); the cache is the run's, so every copy shares it (a
        source's provider and path never change; Hydra replaces sources, never edits them)."""
        return self

    def _ask(self, question: str, config_path: str, *args):
        key = (question, config_path, *args)
        if key not in self._answers:
            self._answers[key] = getattr(self.inner, question)(config_path, *args)
        return self._answers[key]

    def load_config(self, config_path: str):
        from hydra.plugins.config_source import ConfigResult

        loaded = self._configs.get(config_path)
        if loaded is None:  # a missing file raises here, and is asked again next time
            loaded = self._configs[config_path] = self.inner.load_config(config_path)
        return ConfigResult(
            provider=loaded.provider,
            path=loaded.path,
            config=copy.deepcopy(loaded.config),
            header=dict(loaded.header),
        )

    def available(self) -> bool:
        if ("available",) not in self._answers:
            self._answers[("available",)] = self.inner.available()
        return self._answers[("available",)]

    def is_group(self, config_path: str) -> bool:
        return self._ask("is_group", config_path)

    def is_config(self, config_path: str) -> bool:
        return self._ask("is_config", config_path)

    def exists(self, config_path: str) -> bool:
        return self.is_group(config_path) or self.is_config(config_path)

    def list(self, config_path: str, results_filter) -> list[str]:
        return list(self._ask("list", config_path, results_filter))


def _is_suite_tree(url: str) -> bool:
    from pathlib import Path

    from sparsity_lab.errors import ConfigError
    from sparsity_lab.paths import config_dir

    if _scheme(url) != "file":
        return False
    try:
        return Path(_url(url).removeprefix("file://")).resolve() == config_dir().resolve()
    except (ConfigError, OSError):
        return False


def use_cache(search_path) -> None:
    """``SearchPathPlugin.manipulate_search_path``: each ``file://`` and ``pkg://`` entry of
    ``search_path`` (Hydra's ``ConfigSearchPath``) becomes its ``cached://`` wrapper, in place,
    when one entry is the suite's config tree and the cache is :func:`enabled`."""
    from hydra.core.config_search_path import SearchPathElement

    elements = search_path.get_path()
    if not enabled() or not any(_is_suite_tree(e.path) for e in elements):
        return
    for i, element in enumerate(elements):
        if _scheme(element.path) in WRAPPED:
            elements[i] = SearchPathElement(element.provider, f"{SCHEME}://{_url(element.path)}")
