"""sparsity-lab's Hydra sweeper plugin (``hydra/sweeper=sparsity_lab``, the default): the plugin
class and its ConfigStore entry; the work is done in :mod:`sparsity_lab.sweeper`."""
