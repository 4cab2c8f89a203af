"""The denoising autoencoder as a scikit-learn transformer."""

import numpy as np
import pytensor
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _checks, train
from ..builders.apply import as_rows
from ..models import dA
from ..models.noise import Noise, from_record, noise_record
from ..train.progress import ProgressPrinter
from . import _common

__all__ = ["DenoisingAutoencoder"]


class DenoisingAutoencoder(TransformerMixin, BaseEstimator):
    """A denoising autoencoder as a scikit-learn transformer.

    ``transform`` gives the hidden code, ``inverse_transform`` decodes a
    code, ``score`` is the negative mean reconstruction cost of clean
    inputs (higher is better, as scikit-learn expects).

    Parameters
    ----------
    n_hidden : int
    corruption_level : float
        Fraction of corrupted components, or the standard deviation of
        Gaussian noise.
    noise : {'masking', 'gaussian', 'salt_and_pepper'}
    loss : {'auto', 'cross_entropy', 'squared_error'}
        'auto' takes cross-entropy for inputs in [0, 1] (within rounding:
        they are clipped) and squared error otherwise (after a
        ``StandardScaler``, say).
    solver : {'sgd', 'adam', 'momentum', 'nesterov'}
        The update rule (:mod:`sda.updates`); plain SGD, the tutorial's, by
        default.
    learning_rate : float or 'auto'
        'auto' (the default): with SGD 0.1 with cross-entropy, 0.01 with
        squared error, whose affine decoder takes smaller steps to stay
        stable on standardised inputs (:data:`AUTO_RATES`); a tenth of
        those with momentum; 0.001 with Adam.
    batch_size : int or 'auto'
        Minibatch size (at most the number of examples); 'auto' is
        ``min(200, n_samples)``.
    n_epochs : int
    random_state : int, RandomState or None
    verbose : bool
        Print one line per epoch.
    mode : str, optional
        The compilation mode of the training steps ('CVM', 'NUMBA', 'JAX');
        None: the current default (:func:`sda.get_mode`).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When most hidden units are dead or saturated on the training
        inputs (their codes barely vary), naming the learning rate.

    Attributes
    ----------
    dA_ : sda.dA
    loss_ : str
        The loss used.
    learning_rate_ : float
        The learning rate used.
    costs_ : list of float
        Mean training cost of each epoch.
    n_features_in_ : int
    """

    def __init__(self, n_hidden=100, corruption_level=0.3, noise="masking",
                 loss="auto", solver="sgd", learning_rate="auto",
                 batch_size=20, n_epochs=15, random_state=None,
                 verbose=False, mode=None):
        self.n_hidden = n_hidden
        self.corruption_level = corruption_level
        self.noise = noise
        self.loss = loss
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.random_state = random_state
        self.verbose = verbose
        self.mode = mode

    def fit(self, X, y=None):
        """Train the dA on ``X`` (one row per example); ``y`` is ignored.

        Raises
        ------
        ValueError
            For a parameter outside what it allows (named, as in the
            constructor), or ``X`` holding NaN, infinite values or values
            that overflow the model's dtype (``pytensor.config.floatX``).
        sda.DivergenceError
            If the cost explodes; when it is already huge before the first
            step, the message says to rescale ``X``.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        # parameters first, under their own names (scikit-learn checks
        # them in fit, not in __init__)
        self.loss_ = _common.loss_for(X, self.loss)
        n_hidden = _checks.positive_int("n_hidden", self.n_hidden)
        solver = _common.solver(self.solver)
        lr = _common.rate(
            "learning_rate", self.learning_rate,
            _common.AUTO_RATES["DenoisingAutoencoder"][self.loss_], solver)
        epochs = _checks.non_negative_int("n_epochs", self.n_epochs)
        batch = _common.batch(_common.batch_size(self.batch_size),
                              X.shape[0])
        mode = _common.mode(self.mode)
        # checked after the cast: 1e200 is finite in float64 but
        # overflows float32, and would train to NaN weights
        X = _common.unit_clipped(
            _checks.finite_cast("X", X, pytensor.config.floatX), self.loss_)
        da = dA(numpy_rng=_common.seed(self.random_state),
                n_visible=X.shape[1], n_hidden=n_hidden, noise=self.noise,
                loss=self.loss_)
        if self.loss_ == "cross_entropy":
            _checks.unit_interval("X", X)
        level = da.noise.check_level("corruption_level",
                                     self.corruption_level)
        step = da.training_function(X, batch, mode=mode, update_rule=solver)
        progress = ProgressPrinter(bar=False) if self.verbose else None
        with _common.blame_scale(X.shape[1]):
            self.costs_ = train.run_epochs(
                lambda index: step(index, corruption=level, lr=lr),
                step.n_batches, epochs, phase="dA", progress=progress,
                model=da)
        if epochs:
            _common.warn_dead_codes(da.encode(X[:2000]),
                                    "DenoisingAutoencoder", "learning_rate",
                                    lr)
        self.learning_rate_ = lr
        self.dA_ = da
        self.n_iter_ = epochs
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          reset=False)
        return self.dA_.encode(X)

    def inverse_transform(self, X):
        """Decode the codes ``X`` (``n_hidden`` columns) to the input space.

        Codes holding NaN or infinite values are refused, naming ``X``.
        """
        check_is_fitted(self)
        codes = as_rows("X", X, self.dA_.n_hidden)
        return self.dA_.decode(_checks.finite_cast("X", codes,
                                                   self.dA_.W.type.dtype))

    def score(self, X, y=None):
        """Negative mean reconstruction cost of the uncorrupted ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          reset=False)
        z = self.dA_.reconstruct(X).astype(np.float64)
        if self.loss_ == "squared_error":
            cost = ((X - z) ** 2).sum(axis=1)
        else:
            z = np.clip(z, 1e-12, 1 - 1e-12)
            cost = -(X * np.log(z) + (1 - X) * np.log(1 - z)).sum(axis=1)
        return -float(cost.mean())

    def __getstate__(self):
        state = dict(self.__dict__)
        da = state.pop("dA_", None)
        if da is not None:  # plain arrays and arguments, no PyTensor object
            state["_dA_state"] = {
                "params": [p.get_value() for p in da.params],
                "floatX": da.W.type.dtype,
                "kwargs": {"n_visible": da.n_visible,
                           "n_hidden": da.n_hidden, "loss": da.loss,
                           "noise": noise_record(da.noise)}}
        return state

    def __setstate__(self, state):
        saved = state.pop("_dA_state", None)
        state.setdefault("solver", "sgd")  # pickles of sda 0.1
        self.__dict__.update(state)
        if saved is not None:
            kwargs = dict(saved["kwargs"])
            # stored by name; pickles written before hold the Noise object
            if not isinstance(kwargs["noise"], Noise):
                kwargs["noise"] = from_record(kwargs["noise"])
            with pytensor.config.change_flags(floatX=saved["floatX"]):
                da = dA(numpy_rng=0, **kwargs)
            for p, value in zip(da.params, saved["params"]):
                p.set_value(value)
            self.dA_ = da
