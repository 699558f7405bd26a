"""The plugin classes of the config cache (see :mod:`sparsity_lab.config_cache`)."""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.config_source import ConfigSource
from hydra.plugins.search_path_plugin import SearchPathPlugin

from sparsity_lab.config_cache import CachingSource, use_cache


class CachedConfigSource(CachingSource, ConfigSource):
    """``cached://<url>``: the config source of ``url``, each file read and parsed once."""


class ConfigCacheSearchPath(SearchPathPlugin):
    """The suite's ``file://`` and ``pkg://`` search path entries, read through the cache."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        use_cache(search_path)
