"""The prediction every linear estimator of the suite shares: ``X @ coef_ + intercept_``."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class LinearPredictor(RegressorMixin):
    """``predict`` (and scikit-learn's ``score``) of a fitted ``coef_`` and ``intercept_``."""

    def predict(self, X):
        """Predictions of the fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
