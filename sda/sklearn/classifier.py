"""The stacked denoising autoencoder as a scikit-learn classifier."""

import tempfile
from pathlib import Path

import numpy as np
import pytensor
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _checks, serialization, train
from ..models import SdA
from . import _common

__all__ = ["SdAClassifier"]


class SdAClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """A stacked denoising autoencoder as a scikit-learn classifier.

    ``fit`` pretrains the dA layers greedily, then fine-tunes the network
    with the tutorial's patience-based early stopping on a validation split
    of the training data (``validation_fraction``; the training data itself
    when it is too small to split).  The parameters of the best validation
    error are kept.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
    corruption_levels : float or tuple of float
        One for all layers, or one per layer.
    noise : str or tuple of str
    loss : {'auto', 'cross_entropy', 'squared_error'}
        Of the first layer ('auto': cross-entropy for inputs in [0, 1]);
        the layers above see sigmoid outputs and use cross-entropy.
    pretrain_learning_rate : float or 'auto'
        'auto' (the default): 0.01 when the first layer uses cross-entropy
        (inputs in [0, 1]), 0.001 when it uses squared error (after a
        ``StandardScaler``), whose affine decoder diverges at 0.01
        (:data:`AUTO_RATES`).  One rate for all layers.
    finetune_learning_rate : float
    pretraining_epochs : int
        Per layer.
    max_epochs : int
        Most fine-tuning epochs.
    batch_size : int
    validation_fraction : float in (0, 1)
    random_state : int, RandomState or None
    verbose : bool
    mode : str, optional
        The compilation mode of pretraining and fine-tuning ('CVM', 'NUMBA',
        'JAX'); None: the current default (:func:`sda.get_mode`).

    Attributes
    ----------
    sda_ : sda.SdA
        The fitted network.
    pretrain_learning_rate_ : float
        The pretraining learning rate used.
    classes_ : array
        The class labels (any type ``numpy.unique`` sorts, strings too).
    history_ : sda.History
    loss_curve_ : list of float
        Mean training NLL of each fine-tuning epoch.
    validation_scores_ : list of float
        Validation accuracy after each validated epoch.
    n_features_in_ : int
    """

    def __init__(self, hidden_layer_sizes=(500, 500), corruption_levels=0.1,
                 noise="masking", loss="auto",
                 pretrain_learning_rate="auto",
                 finetune_learning_rate=0.1, pretraining_epochs=5,
                 max_epochs=50, batch_size=20, validation_fraction=0.1,
                 random_state=None, verbose=False, mode=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.corruption_levels = corruption_levels
        self.noise = noise
        self.loss = loss
        self.pretrain_learning_rate = pretrain_learning_rate
        self.finetune_learning_rate = finetune_learning_rate
        self.pretraining_epochs = pretraining_epochs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose
        self.mode = mode

    def fit(self, X, y):
        """Pretrain and fine-tune on ``X`` (one row per example) and ``y``.

        Raises
        ------
        ValueError
            For a parameter outside what it allows (named, as in the
            constructor), or ``X`` holding NaN, infinite values or values
            that overflow the model's dtype (``pytensor.config.floatX``).
        sda.DivergenceError
            If a cost explodes; when the first layer's cost is already huge
            before the first step, the message says to rescale ``X``.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        # parameters first, under their own names (scikit-learn checks
        # them in fit, not in __init__)
        sizes = _checks.sequence("hidden_layer_sizes",
                                 self.hidden_layer_sizes,
                                 "positive integers")
        if not sizes:
            raise ValueError(f"hidden_layer_sizes must hold at least one "
                             f"layer size, got {self.hidden_layer_sizes!r}")
        sizes = [_checks.positive_int(f"hidden_layer_sizes[{i}]", v)
                 for i, v in enumerate(sizes)]
        first = _common.loss_for(X, self.loss)
        pretrain_lr = _common.rate("pretrain_learning_rate",
                                   self.pretrain_learning_rate,
                                   "SdAClassifier", first)
        finetune_lr = _checks.learning_rate("finetune_learning_rate",
                                            self.finetune_learning_rate)
        pretraining_epochs = _checks.non_negative_int(
            "pretraining_epochs", self.pretraining_epochs)
        max_epochs = _checks.non_negative_int("max_epochs", self.max_epochs)
        _checks.positive_int("batch_size", self.batch_size)
        _checks.open_fraction("validation_fraction",
                              self.validation_fraction)
        mode = _common.mode(self.mode)
        # checked after the cast: 1e200 is finite in float64 but
        # overflows float32, and would train to NaN weights
        X = _checks.finite_cast("X", X, pytensor.config.floatX)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        labels = encoder.transform(y).astype(np.int32)
        rng = check_random_state(self.random_state)
        model = SdA(numpy_rng=int(rng.randint(2 ** 31 - 1)),
                    n_ins=X.shape[1], hidden_layers_sizes=sizes,
                    n_outs=len(self.classes_),
                    corruption_levels=self.corruption_levels,
                    noise=self.noise,
                    loss=[first] + ["cross_entropy"] * (len(sizes) - 1))
        train_part, valid_part = self._split(X, labels, rng)
        batch = min(_checks.positive_int("batch_size", self.batch_size),
                    len(train_part[0]))
        progress = _common.Progress(model.n_layers, bar=False) \
            if self.verbose else None
        with _common.blame_scale(X.shape[1]):
            history = train.pretrain(model, train_part[0],
                                     epochs=pretraining_epochs,
                                     batch_size=batch,
                                     learning_rate=pretrain_lr,
                                     progress=progress, mode=mode)
        # the validation split is passed as the test set too: the loop
        # wants one, and the estimator keeps no data back for it
        train.finetune(model, [train_part, valid_part, valid_part],
                       epochs=max_epochs, batch_size=batch,
                       learning_rate=finetune_lr,
                       history=history, progress=progress, mode=mode)
        self.pretrain_learning_rate_ = pretrain_lr
        self.sda_ = model
        self.history_ = history
        self.loss_curve_ = list(history.finetune_costs)
        self.validation_scores_ = [1 - e for _, e in
                                   history.validation_errors]
        self.n_iter_ = history.epochs
        return self

    def _split(self, X, labels, rng):
        """(train, validation) parts; the training data twice if too small."""
        fraction = _checks.open_fraction("validation_fraction",
                                         self.validation_fraction)
        n_valid = int(round(fraction * len(X)))
        counts = np.bincount(labels)
        if n_valid < len(counts) or len(X) - n_valid < len(counts) or \
                counts.min() < 2:
            return (X, labels), (X, labels)
        Xt, Xv, yt, yv = train_test_split(
            X, labels, test_size=n_valid, stratify=labels,
            random_state=rng)
        return (Xt, yt), (Xv, yv)

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          reset=False)
        return self.sda_.predict_proba(X).astype(np.float64)

    def predict(self, X):
        proba = self.predict_proba(X)  # checks that the model is fitted
        return self.classes_[np.argmax(proba, axis=1)]

    def transform(self, X):
        """The top hidden layer's representation of ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          reset=False)
        return self.sda_.encode(X)

    def __getstate__(self):
        state = dict(self.__dict__)
        model = state.pop("sda_", None)
        if model is not None:  # an sda .npz model inside, no PyTensor object
            with tempfile.TemporaryDirectory() as tmp:
                path = serialization.save_model(model, Path(tmp) / "m.npz")
                state["_sda_npz"] = path.read_bytes()
        return state

    def __setstate__(self, state):
        data = state.pop("_sda_npz", None)
        self.__dict__.update(state)
        if data is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "m.npz"
                path.write_bytes(data)
                self.sda_ = serialization.load_model(path)
