"""Estimators in the shared objective scale: adapters for scikit-learn, other libraries' Lasso
solvers (LassoLars; celer and skglm through the extra ``peers``), subset selection (best subset,
forward stepwise), the relaxed and adaptive lasso, MCP and SCAD regression, and the SGD family.

The SGD family loads on first use: importing numba costs about 0.3 s, which a job that fits
only Lasso or Ridge should not pay.
"""

from sparsity_lab.models.adapters import Ridge
from sparsity_lab.models.exact import ElasticNet, Lasso
from sparsity_lab.models.lasso_variants import AdaptiveLasso, RelaxedLasso
from sparsity_lab.models.nonconvex import MCPRegression, SCADRegression
from sparsity_lab.models.peers import CelerLasso, LassoLars, SkglmLasso
from sparsity_lab.models.subset import BestSubset, ForwardStepwise

_SGD = (
    "SGDL2",
    "SGDCumulative",
    "SGDProx",
    "SGDSubgradient",
    "SGDTruncated",
    "SGDClip",
    "SGDRDA",
    "SGDFTRL",
)
__all__ = [
    "AdaptiveLasso",
    "BestSubset",
    "CelerLasso",
    "ElasticNet",
    "ForwardStepwise",
    "Lasso",
    "LassoLars",
    "MCPRegression",
    "RelaxedLasso",
    "Ridge",
    "SCADRegression",
    "SkglmLasso",
    *_SGD,
]


def __getattr__(name: str):
    if name in _SGD:
        from sparsity_lab.models import sgd

        return getattr(sgd, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
