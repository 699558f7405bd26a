"""The plugin class of ``hydra/launcher=local`` (see :mod:`.config`)."""

from hydra.plugins.launcher import Launcher

from sparsity_lab.launcher import LocalLauncher as _LocalLauncher


class LocalLauncher(_LocalLauncher, Launcher):
    """A sweep's jobs in this process and ``n_jobs - 1`` forked workers (see
    :mod:`sparsity_lab.launcher`)."""
