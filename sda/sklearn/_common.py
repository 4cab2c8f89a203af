"""What the two estimators share: ``loss='auto'``, the solvers and the
learning rates and minibatches of ``'auto'``, seeds, modes, the warnings
about dead codes, divergence messages and the progress lines."""

import contextlib
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .. import _checks
from ..backend import check_mode
from ..errors import DivergenceError
from ..train.progress import ProgressPrinter, format_seconds

#: The estimators' ``loss`` values.
LOSSES = ("auto", "cross_entropy", "squared_error")

#: The estimators' ``solver`` values: update rules of :mod:`sda.updates`.
SOLVERS = ("adam", "sgd", "momentum", "nesterov")

#: Pretraining's learning rates of ``'auto'`` with plain SGD (and
#: momentum), by the loss of the layer that sees the inputs.  A
#: squared-error dA (affine decoder) has a curvature of 2 per reconstructed
#: component where the sigmoid's cross-entropy has at most 1/4, so a step
#: that is safe for [0, 1] inputs diverges on standardised ones
#: (tests/test_sklearn.py: digits, breast_cancer): it gets about an eighth
#: of the rate.  Momentum's velocity sums about ten steps, so it takes a
#: tenth of SGD's rate; Adam's rate is the size of a step whatever the
#: curvature: scikit-learn's 0.001 for every layer and loss.
AUTO_RATES = {"DenoisingAutoencoder": {"cross_entropy": 0.1,
                                       "squared_error": 0.01},
              "SdAClassifier": {"cross_entropy": 0.01,
                                "squared_error": 0.001}}
#: Fine-tuning's rate of ``'auto'`` with plain SGD, the tutorial's, for
#: any loss: the logistic layer's curvature does not depend on the inputs.
FINETUNE_RATE = 0.1
ADAM_RATE = 0.001

#: ``batch_size='auto'``: scikit-learn's MLP minibatch, ``min(200, n)``.
AUTO_BATCH = 200

#: A hidden unit whose code varies less than this over the training inputs
#: (standard deviation; codes lie in (0, 1)) carries next to nothing: dead
#: (stuck near 0) or saturated (near 1).
DEAD_STD = 0.01

#: A first cost above this many units per input component says the inputs'
#: scale, not the learning rate, is what makes training diverge: a dA's
#: first cost on inputs in [0, 1] or standardised ones is a few units per
#: component.
SCALE_LIMIT = 1e4


#: How far outside [0, 1] 'auto' still takes inputs for [0, 1] ones (and
#: clips them): ``MinMaxScaler`` gives 1.0000000000000002 for some columns.
UNIT_SLACK = 1e-6


def loss_for(X, loss):
    """'auto': cross-entropy for inputs in [0, 1], else squared error."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss != "auto":
        return loss
    in_unit = X.size == 0 or (X.min() >= -UNIT_SLACK
                              and X.max() <= 1 + UNIT_SLACK)
    return "cross_entropy" if in_unit else "squared_error"


def unit_clipped(X, loss):
    """``X`` clipped to [0, 1] when the cross-entropy loss takes it: values
    within :data:`UNIT_SLACK` of it are rounding, not data."""
    if loss != "cross_entropy" or X.size == 0 or (
            X.min() >= 0 and X.max() <= 1):
        return X
    if X.min() >= -UNIT_SLACK and X.max() <= 1 + UNIT_SLACK:
        return np.clip(X, 0, 1)
    return X


#: Inputs of the squared-error route (standardised, say) are clipped to
#: this many units either side of 0: a feature that is nearly constant (12
#: of load_digits' pixels) standardises to 10-42 on its rare other values,
#: which saturates the sigmoid units that see it.
STANDARD_CLIP = 5.0
#: ... when at most this fraction of the values lies beyond: more are not
#: outliers of standardised data but data on another scale, which the
#: divergence check reports rather than a clip flattening it.
CLIP_FRACTION = 0.01


def input_clip(loss, X):
    """The bound the estimators clip the inputs of a first layer with
    ``loss`` to: :data:`STANDARD_CLIP` for squared error when few values
    (:data:`CLIP_FRACTION`) pass it, else None (no clipping; cross-entropy
    inputs are in [0, 1])."""
    if loss != "squared_error" or X.size == 0:
        return None
    beyond = np.count_nonzero(np.abs(X) > STANDARD_CLIP) / X.size
    return STANDARD_CLIP if beyond <= CLIP_FRACTION else None


def clipped(X, bound):
    """``X`` within [-bound, bound] (itself when already, or no bound)."""
    if bound is None or X.size == 0 or np.abs(X).max() <= bound:
        return X
    return np.clip(X, -bound, bound)


def solver(value):
    """The ``solver`` parameter, checked."""
    if not (isinstance(value, str) and value in SOLVERS):
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, "
                         f"got {value!r}")
    return value


def batch_size(value):
    """The ``batch_size`` parameter, checked: 'auto' or a positive int."""
    if isinstance(value, str) and value == "auto":
        return value
    try:
        return _checks.positive_int("batch_size", value)
    except ValueError:
        raise ValueError(f"batch_size must be 'auto' or a positive integer, "
                         f"got {value!r}") from None


def batch(value, n_examples):
    """The minibatch for ``n_examples`` rows of a checked ``batch_size``:
    'auto' is ``min(200, n_examples)``, a number is taken down to
    ``n_examples``."""
    size = AUTO_BATCH if value == "auto" else value
    return max(1, min(size, n_examples))


def dead_units(codes):
    """The number of columns of ``codes`` that barely vary."""
    return int((np.asarray(codes).std(axis=0) < DEAD_STD).sum())


def warn_dead_codes(codes, who, rate_name, rate):
    """A ConvergenceWarning when most hidden units of ``codes`` (the codes
    of the training inputs) are dead or saturated, naming the rate."""
    dead = dead_units(codes)
    if dead * 2 <= codes.shape[1]:
        return
    warnings.warn(
        f"{who}: {dead} of {codes.shape[1]} hidden units barely vary over "
        f"the training inputs (standard deviation under {DEAD_STD}): they "
        f"are dead or saturated and their codes carry next to nothing. "
        f"{rate_name}={rate:g} may be too large for inputs of this scale: "
        f"try a smaller rate, or scale the inputs (MinMaxScaler, "
        f"StandardScaler)",
        ConvergenceWarning, stacklevel=3)


def mode(mode):
    """The estimators' ``mode``: None (the default mode) or a mode name."""
    return None if mode is None else check_mode(mode)


def seed(random_state):
    """An int seed for sda from scikit-learn's random_state."""
    return int(check_random_state(random_state).randint(2 ** 31 - 1))


def rate(name, value, sgd_rate, solver="sgd"):
    """A learning rate parameter checked under its own name; 'auto' is
    :data:`ADAM_RATE` for Adam, else ``sgd_rate`` (a tenth of it with
    momentum, whose velocity sums about ten steps)."""
    if isinstance(value, str) and value == "auto":
        if solver == "adam":
            return ADAM_RATE
        return sgd_rate if solver == "sgd" else sgd_rate / 10
    try:
        return _checks.learning_rate(name, value)
    except ValueError:
        raise ValueError(f"{name} must be 'auto' or a positive number, got "
                         f"{value!r}") from None


@contextlib.contextmanager
def blame_scale(n_features):
    """Re-raise a DivergenceError as one saying that the inputs' scale is
    the problem when its first cost (before any step) was already
    non-finite or huge: the loop's own message (kept as ``__cause__``)
    would suggest a smaller learning rate, which cannot help."""
    try:
        yield
    except DivergenceError as error:
        first = error.first_cost
        if first is None or (np.isfinite(first)
                             and first <= SCALE_LIMIT * n_features
                             and first <= np.finfo(np.float32).max):
            raise
        raise DivergenceError(
            f"X is on too large a scale: its reconstruction cost is "
            f"{first:.6g} before the first step "
            f"({first / n_features:.3g} per input component), so no "
            f"learning rate will do. Standardise the inputs, e.g. "
            f"make_pipeline(StandardScaler(), ...), or scale them to "
            f"[0, 1] with MinMaxScaler") from error


class Progress(ProgressPrinter):
    """The example scripts' epoch lines, except that fine-tuning reports
    the estimator's validation split under that name only: the estimator
    has no test set (the loop scores the validation split twice)."""

    def __call__(self, event):
        if event["phase"] != "finetune" or \
                event.get("validation_error") is None:
            return super().__call__(event)
        self._print(f"Fine-tuning epoch {event['epoch'] + 1}, cost "
                    f"{event['cost']:.6f}, validation error "
                    f"{100 * event['validation_error']:.3f} %, best "
                    f"{100 * event['best_validation_error']:.3f} % "
                    f"[{format_seconds(time.perf_counter() - self.start)} "
                    f"elapsed]")
