"""sparsity-lab's Hydra launcher plugin (``hydra/launcher=local``); the work is done in
:mod:`sparsity_lab.launcher`. Hydra only instantiates plugin classes of the ``hydra_plugins``
namespace, hence this small package."""
