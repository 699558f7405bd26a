"""Estimators in the shared objective scale: adapters for scikit-learn and the SGD family."""

from sparsity_lab.models.adapters import Ridge
from sparsity_lab.models.sgd import SGDL2, SGDCumulative, SGDProx, SGDSubgradient, SGDTruncated

__all__ = ["SGDL2", "Ridge", "SGDCumulative", "SGDProx", "SGDSubgradient", "SGDTruncated"]
