"""Real regression datasets that load with no network."""

from __future__ import annotations

from sklearn.datasets import load_diabetes as _sk_load_diabetes

from sparsity_lab.datasets.base import Dataset


def load_diabetes() -> Dataset:
    """Diabetes progression (Efron et al. 2004, the LARS paper): 442 patients, 10 baseline
    variables, scikit-learn's copy (features already mean-centred and scaled by scikit-learn)."""
    bunch = _sk_load_diabetes()
    return Dataset(
        name="diabetes",
        X=bunch.data,
        y=bunch.target,
        feature_names=list(bunch.feature_names),
        target="disease progression one year after baseline",
    )
