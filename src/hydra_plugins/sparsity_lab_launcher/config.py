"""``hydra/launcher=local``: the ConfigStore entry Hydra's plugin scan registers.

The suite's launcher, and the default one: a sweep's jobs in this process, one after another
(``n_jobs: 1``), or shared with forked workers::

    sparsity-lab run -m hydra.launcher.n_jobs=2 ...      (-1: every core, -2: all but one)

The parent process works from the first job on and forks ``n_jobs - 1`` warm workers (they
inherit the imports and the pre-launch check's configs); parent and workers take the next job as
they finish one. Each process's BLAS gets ``cpu_count // n_jobs`` threads.
"""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class LocalLauncherConf:
    _target_: str = "hydra_plugins.sparsity_lab_launcher.local_launcher.LocalLauncher"
    #: processes, the parent included; -1: one per core (-2: all but one); any type here, so
    #: that the pre-launch check's line names what is allowed
    n_jobs: Any = 1


ConfigStore.instance().store(
    group="hydra/launcher", name="local", node=LocalLauncherConf, provider="sparsity_lab"
)
