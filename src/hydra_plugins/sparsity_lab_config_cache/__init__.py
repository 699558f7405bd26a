"""sparsity-lab's config cache: a Hydra config source of scheme ``cached://`` and the search
path plugin that puts it in front of the suite's config files; the work is done in
:mod:`sparsity_lab.config_cache`. Hydra finds plugins in the ``hydra_plugins`` namespace only,
hence this small package."""
