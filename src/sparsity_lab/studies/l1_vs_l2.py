"""Exact zeros of Lasso, Ridge and the elastic net on every dataset of the catalog that needs no
input, along the same relative grid; the frozen summary is the decades of the grid.

The job is the generic path job (with the frozen summary table at ``summary_ratios``).
"""

from __future__ import annotations

from sparsity_lab.studies.base import Study


class L1VsL2(Study):
    name = "l1_vs_l2"


STUDY = L1VsL2()
