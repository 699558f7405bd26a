"""The default study: does L1 give exact zeros where L2 and the elastic net do not?
Synthetic and diabetes data, Lasso, Ridge and the elastic net along one relative grid.

The job is the generic path job (with the frozen summary table at ``summary_ratios``).
"""

from __future__ import annotations

from sparsity_lab.studies.base import Study


class Quickstart(Study):
    name = "quickstart"


STUDY = Quickstart()
