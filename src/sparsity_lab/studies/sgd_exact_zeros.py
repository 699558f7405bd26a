"""Which SGD update rules give exact zeros, against the Lasso optimum of the same objective,
with certificates (duality gap, KKT violation, gap-safe certified zeros) for every fit.

The job is the generic path job (with the frozen summary table at ``summary_ratios``).
"""

from __future__ import annotations

from sparsity_lab.studies.base import Study


class SgdExactZeros(Study):
    name = "sgd_exact_zeros"


STUDY = SgdExactZeros()
