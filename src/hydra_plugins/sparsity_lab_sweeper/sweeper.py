"""The plugin class of ``hydra/sweeper=sparsity_lab`` (see :mod:`.config`)."""

from hydra.plugins.sweeper import Sweeper as _HydraSweeper

from sparsity_lab.sweeper import CheckingSweeper


class Sweeper(CheckingSweeper, _HydraSweeper):
    """Expand, check every job, then launch (see :mod:`sparsity_lab.sweeper`)."""
