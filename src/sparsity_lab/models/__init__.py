"""Estimators in the shared objective scale: adapters for scikit-learn and the SGD family."""

from sparsity_lab.models.adapters import Ridge

__all__ = ["Ridge"]
