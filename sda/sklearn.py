"""scikit-learn estimators: a denoising autoencoder transformer and an SdA classifier.

They plug sda into scikit-learn's pipelines, cross-validation and grid
searches, and are built on the package's own :class:`sda.dA`,
:class:`sda.SdA`, builders and training loops (no second implementation).
scikit-learn is an optional dependency: ``pip install sda[sklearn]``.

>>> import numpy
>>> from sda.sklearn import SdAClassifier
>>> rng = numpy.random.default_rng(0)
>>> X, y = rng.random((60, 8)), rng.choice(["cat", "dog"], 60)
>>> clf = SdAClassifier(hidden_layer_sizes=(6,), pretraining_epochs=1,
...                     max_epochs=2, random_state=0).fit(X, y)
>>> clf.predict(X[:3]).shape, [str(c) for c in clf.classes_]
((3,), ['cat', 'dog'])

Fitted estimators pickle (and ``joblib.dump``) the way scikit-learn users
save models; the network travels inside as an sda ``.npz`` model, never as
PyTensor objects.  Unpickle only files you trust: pickles can run code.  To
share a fitted :class:`SdAClassifier` safely, save its network with
``sda.save_model(clf.sda_, "model.npz")``.
"""

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

from . import _checks, serialization, train
from .backend import check_mode
from .models import SdA, dA
from .models.noise import Noise, from_record, noise_record
from .train.progress import ProgressPrinter

__all__ = ["DenoisingAutoencoder", "SdAClassifier"]


def _loss_for(X, loss):
    """'auto': cross-entropy for inputs in [0, 1], else squared error."""
    if loss != "auto":
        return loss
    in_unit = X.size == 0 or (X.min() >= 0 and X.max() <= 1)
    return "cross_entropy" if in_unit else "squared_error"


def _mode(mode):
    """The estimators' ``mode``: None (the default mode) or a mode name."""
    return None if mode is None else check_mode(mode)


def _seed(random_state):
    """An int seed for sda from scikit-learn's random_state."""
    return int(check_random_state(random_state).randint(2 ** 31 - 1))


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
        'auto' takes cross-entropy for inputs in [0, 1] and squared error
        otherwise (after a ``StandardScaler``, say).
    learning_rate : float
    batch_size : int
        Minibatch size (at most the number of examples).
    n_epochs : int
    random_state : int, RandomState or None
    verbose : bool
        Print one line per epoch.
    mode : str, optional
        The compilation mode of the training steps ('CVM', 'NUMBA', 'JAX');
        None: the current default (:func:`sda.get_mode`).

    Attributes
    ----------
    dA_ : sda.dA
    loss_ : str
        The loss used.
    costs_ : list of float
        Mean training cost of each epoch.
    n_features_in_ : int
    """

    def __init__(self, n_hidden=100, corruption_level=0.3, noise="masking",
                 loss="auto", learning_rate=0.1, batch_size=20, n_epochs=15,
                 random_state=None, verbose=False, mode=None):
        self.n_hidden = n_hidden
        self.corruption_level = corruption_level
        self.noise = noise
        self.loss = loss
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.random_state = random_state
        self.verbose = verbose
        self.mode = mode

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self.loss_ = _loss_for(X, self.loss)
        da = dA(numpy_rng=_seed(self.random_state), n_visible=X.shape[1],
                n_hidden=self.n_hidden, noise=self.noise, loss=self.loss_)
        if self.loss_ == "cross_entropy":
            _checks.unit_interval("X", X)
        level = da.noise.check_level("corruption_level",
                                     self.corruption_level)
        lr = _checks.learning_rate("learning_rate", self.learning_rate)
        epochs = _checks.non_negative_int("n_epochs", self.n_epochs)
        batch = min(_checks.positive_int("batch_size", self.batch_size),
                    X.shape[0])
        step = da.training_function(X, batch, mode=_mode(self.mode))
        progress = ProgressPrinter(bar=False) if self.verbose else None
        self.costs_ = train.run_epochs(
            lambda index: step(index, corruption=level, lr=lr),
            step.n_batches, epochs, phase="dA", progress=progress,
            model=da)
        self.dA_ = da
        self.n_iter_ = epochs
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          reset=False)
        return self.dA_.encode(X)

    def inverse_transform(self, X):
        check_is_fitted(self)
        return self.dA_.decode(np.asarray(X))

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
    pretrain_learning_rate, finetune_learning_rate : float
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
                 noise="masking", loss="auto", pretrain_learning_rate=0.01,
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
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        labels = encoder.transform(y).astype(np.int32)
        mode = _mode(self.mode)
        sizes = list(_checks.sequence("hidden_layer_sizes",
                                      self.hidden_layer_sizes,
                                      "positive integers"))
        first = _loss_for(X, self.loss)
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
        progress = ProgressPrinter(model.n_layers, bar=False) \
            if self.verbose else None
        history = train.pretrain(model, train_part[0],
                                 epochs=self.pretraining_epochs,
                                 batch_size=batch,
                                 learning_rate=self.pretrain_learning_rate,
                                 progress=progress, mode=mode)
        train.finetune(model, [train_part, valid_part, valid_part],
                       epochs=self.max_epochs, batch_size=batch,
                       learning_rate=self.finetune_learning_rate,
                       history=history, progress=progress, mode=mode)
        self.sda_ = model
        self.history_ = history
        self.loss_curve_ = list(history.finetune_costs)
        self.validation_scores_ = [1 - e for _, e in
                                   history.validation_errors]
        self.n_iter_ = history.epochs
        return self

    def _split(self, X, labels, rng):
        """(train, validation) parts; the training data twice if too small."""
        fraction = float(self.validation_fraction)
        if not 0 < fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got "
                             f"{self.validation_fraction!r}")
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

