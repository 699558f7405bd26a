"""sparsity-lab's Hydra launcher plugin (``hydra/launcher=local``, the default): the plugin class
and its ConfigStore entry; the work is done in :mod:`sparsity_lab.launcher`. Hydra finds plugins
in the ``hydra_plugins`` namespace only, hence this small package."""
