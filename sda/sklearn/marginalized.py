"""The marginalized stacked denoising autoencoder as a scikit-learn transformer."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..models.msda import FEATURES, mSDA

__all__ = ["MarginalizedDenoisingAutoencoder"]


class MarginalizedDenoisingAutoencoder(TransformerMixin, BaseEstimator):
    """mSDA features (Chen et al., 2012) as a scikit-learn transformer.

    Fitting is closed form, one linear solve a layer (:class:`sda.mSDA`):
    no learning rate, no epochs, no randomness.  Chen et al. feed the
    features to a linear SVM; ``make_pipeline(MarginalizedDenoisingAutoencoder(),
    LinearSVC())`` does the same.

    Parameters
    ----------
    n_layers : int
    noise : float in [0, 1)
        The masking level of every layer.
    ridge : float >= 0
        Relative ridge on each layer's solve (:class:`sda.mDA`).
    features : {'concat', 'top'}
        The input and every layer's output side by side (Chen et al.'s
        features, ``n_features_in_ * (n_layers + 1)`` columns), or the top
        layer's output alone.

    Attributes
    ----------
    msda_ : sda.mSDA
    n_features_in_ : int
    """

    def __init__(self, n_layers=3, noise=0.5, ridge=1e-5, features="concat"):
        self.n_layers = n_layers
        self.noise = noise
        self.ridge = ridge
        self.features = features

    def fit(self, X, y=None):
        """Fit the layers on ``X`` (one row per example); ``y`` is ignored.

        Raises
        ------
        ValueError
            For a parameter outside what it allows (named), or ``X``
            holding NaN or infinite values.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        if self.features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got "
                             f"{self.features!r}")
        # in the input's precision: float32 in, float32 features out
        self.msda_ = mSDA(n_layers=self.n_layers, noise=self.noise,
                          ridge=self.ridge, dtype=X.dtype).fit(X)
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          reset=False)
        return self.msda_.transform(X, self.features).astype(X.dtype,
                                                             copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        n = self.n_features_in_ * (self.msda_.n_layers + 1
                                   if self.features == "concat" else 1)
        return np.asarray([f"msda{k}" for k in range(n)], dtype=object)
