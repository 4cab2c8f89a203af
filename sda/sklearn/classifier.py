"""The stacked denoising autoencoder as a scikit-learn classifier."""

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytensor
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _checks, serialization, train
from ..models import SdA
from . import _common

__all__ = ["SdAClassifier"]

#: The parameters added since sda 0.1, at the values that gave its fits.
OLD_RECIPE = {"solver": "sgd", "early_stopping": True,
              "n_iter_no_change": None, "tol": 1e-4}


class SdAClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """A stacked denoising autoencoder as a scikit-learn classifier.

    ``fit`` pretrains the dA layers greedily, then fine-tunes the network
    until its training cost stops falling, as scikit-learn's
    ``MLPClassifier`` does (``n_iter_no_change``, ``tol``), or with
    ``early_stopping=True`` until the error on a validation split of the
    training data (``validation_fraction``) stops falling.  Both phases
    use Adam at scikit-learn's rate by default (``solver``).  The
    parameters of the best validation error (of the training data itself
    without a split) are kept.

    The tutorial's recipe is ``solver='sgd'``, ``batch_size=20``,
    ``n_iter_no_change=None`` (its patience) and ``early_stopping=True``.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
    corruption_levels : float or tuple of float
        One for all layers, or one per layer.
    noise : str or tuple of str
    loss : {'auto', 'cross_entropy', 'squared_error'}
        Of the first layer ('auto': cross-entropy for inputs in [0, 1],
        within rounding: they are clipped); the layers above see sigmoid
        outputs and use cross-entropy.
    solver : {'adam', 'sgd', 'momentum', 'nesterov'}
        The update rule of both phases (:mod:`sda.updates`).
    pretrain_learning_rate : float or 'auto'
        'auto' (the default): 0.001 with Adam; with SGD 0.01 when the first
        layer uses cross-entropy (inputs in [0, 1]) and 0.001 when it uses
        squared error (after a ``StandardScaler``), whose affine decoder
        diverges at 0.01 (:data:`AUTO_RATES`); with momentum a tenth of
        SGD's.  One rate for all layers.
    finetune_learning_rate : float or 'auto'
        'auto': 0.001 with Adam, 0.1 with SGD, 0.01 with momentum.
    pretraining_epochs : int
        Per layer.
    max_epochs : int
        Most fine-tuning epochs.
    batch_size : int or 'auto'
        'auto': ``min(200, n_samples)``, as scikit-learn's MLP.
    early_stopping : bool
        Stop on the error of a validation split (and keep the best
        parameters) rather than on the training cost.
    validation_fraction : float in (0, 1)
        The split of ``early_stopping`` (none when the data is too small
        to split with every class on both sides).
    n_iter_no_change : int or None
        Stop after this many epochs in a row without the training cost
        (validation error, with ``early_stopping``) falling below its best
        minus ``tol``; None: the tutorial's patience.
    tol : float
    random_state : int, RandomState or None
    verbose : bool
    mode : str, optional
        The compilation mode of pretraining and fine-tuning ('CVM', 'NUMBA',
        'JAX'); None: the current default (:func:`sda.get_mode`).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When most units of a pretrained layer are dead or saturated (naming
        the pretraining rate), when the network predicts one class for all
        the training data of several, and when ``max_epochs`` ends
        fine-tuning before ``n_iter_no_change`` does.

    Attributes
    ----------
    sda_ : sda.SdA
        The fitted network.
    pretrain_learning_rate_, finetune_learning_rate_ : float
        The learning rates used.
    batch_size_ : int
        The minibatch size used.
    input_clip_ : float or None
        With squared error (standardised inputs), every method clips the
        inputs to ``[-input_clip_, input_clip_]`` (:data:`STANDARD_CLIP`, 5):
        a nearly constant feature standardises to 10-42 on its rare other
        values, which saturates the sigmoid units.  None with
        cross-entropy, and when over 1 % of the training values pass the
        bound (inputs on another scale, not outliers).
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
                 noise="masking", loss="auto", solver="adam",
                 pretrain_learning_rate="auto",
                 finetune_learning_rate="auto", pretraining_epochs=5,
                 max_epochs=200, batch_size="auto", early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4,
                 random_state=None, verbose=False, mode=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.corruption_levels = corruption_levels
        self.noise = noise
        self.loss = loss
        self.solver = solver
        self.pretrain_learning_rate = pretrain_learning_rate
        self.finetune_learning_rate = finetune_learning_rate
        self.pretraining_epochs = pretraining_epochs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
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
        solver = _common.solver(self.solver)
        pretrain_lr = _common.rate(
            "pretrain_learning_rate", self.pretrain_learning_rate,
            _common.AUTO_RATES["SdAClassifier"][first], solver)
        finetune_lr = _common.rate(
            "finetune_learning_rate", self.finetune_learning_rate,
            _common.FINETUNE_RATE, solver)
        pretraining_epochs = _checks.non_negative_int(
            "pretraining_epochs", self.pretraining_epochs)
        max_epochs = _checks.non_negative_int("max_epochs", self.max_epochs)
        batch_size = _common.batch_size(self.batch_size)
        _checks.open_fraction("validation_fraction",
                              self.validation_fraction)
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise ValueError(f"early_stopping must be True or False, got "
                             f"{self.early_stopping!r}")
        n_iter_no_change = (None if self.n_iter_no_change is None else
                            _checks.positive_int("n_iter_no_change",
                                                 self.n_iter_no_change))
        tol = _checks.non_negative_float("tol", self.tol)
        mode = _common.mode(self.mode)
        # checked after the cast: 1e200 is finite in float64 but
        # overflows float32, and would train to NaN weights
        X = _common.unit_clipped(
            _checks.finite_cast("X", X, pytensor.config.floatX), first)
        self.input_clip_ = _common.input_clip(first, X)
        X = _common.clipped(X, self.input_clip_)
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
        train_part, valid_part = (self._split(X, labels, rng)
                                  if self.early_stopping
                                  else ((X, labels), (X, labels)))
        batch = _common.batch(batch_size, len(train_part[0]))
        progress = _common.Progress(model.n_layers, bar=False) \
            if self.verbose else None
        with _common.blame_scale(X.shape[1]):
            history = train.pretrain(model, train_part[0],
                                     epochs=pretraining_epochs,
                                     batch_size=batch,
                                     learning_rate=pretrain_lr,
                                     progress=progress, mode=mode,
                                     update_rule=solver)
        if pretraining_epochs:
            self._warn_dead_layers(model, train_part[0], pretrain_lr)
        # the validation split is passed as the test set too: the loop
        # wants one, and the estimator keeps no data back for it
        train.finetune(model, [train_part, valid_part, valid_part],
                       epochs=max_epochs, batch_size=batch,
                       learning_rate=finetune_lr, update_rule=solver,
                       n_iter_no_change=n_iter_no_change, tol=tol,
                       monitor="validation" if self.early_stopping
                       else "cost", history=history, progress=progress,
                       mode=mode)
        self._warn_unconverged(model, history, train_part, max_epochs,
                               n_iter_no_change, finetune_lr)
        self.pretrain_learning_rate_ = pretrain_lr
        self.finetune_learning_rate_ = finetune_lr
        self.batch_size_ = batch
        self.sda_ = model
        self.history_ = history
        self.loss_curve_ = list(history.finetune_costs)
        self.validation_scores_ = [1 - e for _, e in
                                   history.validation_errors]
        self.n_iter_ = history.epochs
        return self

    def _warn_dead_layers(self, model, X, rate):
        """ConvergenceWarning for a pretrained layer whose units are mostly
        dead or saturated on (up to 2000 rows of) the training inputs."""
        rows = X[:2000]
        for k in range(model.n_layers):
            _common.warn_dead_codes(
                model.encode(rows, layer=k), f"SdAClassifier layer {k}",
                "pretrain_learning_rate", rate)

    def _warn_unconverged(self, model, history, train_part, max_epochs,
                          n_iter_no_change, rate):
        """ConvergenceWarning for a collapse to one class, or for
        ``max_epochs`` reached before ``n_iter_no_change``."""
        X, labels = train_part
        n_classes = len(np.unique(labels))
        predicted = np.unique(model.predict(X[:10000]))
        if n_classes > 1 and len(predicted) == 1:
            warnings.warn(
                f"SdAClassifier predicts one class "
                f"({self.classes_[predicted[0]].tolist()!r}) for all the "
                f"training "
                f"data of {n_classes}: it has learnt nothing. "
                f"finetune_learning_rate={rate:g} over {history.epochs} "
                f"epochs was too small a step, or too large and collapsed; "
                f"try another rate or more max_epochs",
                ConvergenceWarning, stacklevel=3)
        elif (n_iter_no_change is not None and max_epochs
              and not history.stopped_early):
            watched = ("validation error" if self.early_stopping
                       else "training cost")
            warnings.warn(
                f"SdAClassifier: max_epochs ({max_epochs}) reached before "
                f"the {watched} stopped falling; raise max_epochs",
                ConvergenceWarning, stacklevel=3)

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

    def _inputs(self, X):
        """``X`` checked and clipped as ``fit`` clipped its inputs (fits of
        sda 0.1 had no clip)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          reset=False)
        return _common.clipped(X, getattr(self, "input_clip_", None))

    def predict_proba(self, X):
        X = self._inputs(X)  # first: it says when the model is not fitted
        return self.sda_.predict_proba(X).astype(np.float64)

    def predict(self, X):
        proba = self.predict_proba(X)  # checks that the model is fitted
        return self.classes_[np.argmax(proba, axis=1)]

    def transform(self, X):
        """The top hidden layer's representation of ``X``."""
        X = self._inputs(X)
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
        # pickles of sda 0.1 hold no newer parameters: theirs was this
        # recipe, which refitting them keeps
        for name, value in OLD_RECIPE.items():
            state.setdefault(name, value)
        self.__dict__.update(state)
        if data is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "m.npz"
                path.write_bytes(data)
                self.sda_ = serialization.load_model(path)
