"""Datasets: synthetic generators, real loaders and the preprocessing every fit sees."""

from sparsity_lab.datasets.base import DataError, Dataset, PreparedData, prepare
from sparsity_lab.datasets.real import load_diabetes
from sparsity_lab.datasets.synthetic import make_synthetic

__all__ = ["DataError", "Dataset", "PreparedData", "load_diabetes", "make_synthetic", "prepare"]
