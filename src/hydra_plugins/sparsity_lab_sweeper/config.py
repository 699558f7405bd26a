"""``hydra/sweeper=sparsity_lab``: the ConfigStore entry Hydra's plugin scan registers.

Hydra's basic sweeper's grid (the cartesian product of ``hydra.sweeper.params`` and the command
line, which wins for a repeated key), with every job's config composed and checked before any
job starts (bad input: one line, exit 2), then handed to the launcher.
"""

from dataclasses import dataclass
from typing import Optional

from hydra.core.config_store import ConfigStore


@dataclass
class SweeperConf:
    _target_: str = "hydra_plugins.sparsity_lab_sweeper.sweeper.Sweeper"
    #: a study's grid (``key: a,b,c``), as under Hydra's basic sweeper
    params: Optional[dict[str, str]] = None  # noqa: UP045 (OmegaConf reads the annotation)


ConfigStore.instance().store(
    group="hydra/sweeper", name="sparsity_lab", node=SweeperConf, provider="sparsity_lab"
)
