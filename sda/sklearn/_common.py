"""What the two estimators share: ``loss='auto'``, the learning rates of
``'auto'``, seeds, modes, divergence messages and the progress lines."""

import contextlib
import time

import numpy as np
from sklearn.utils import check_random_state

from .. import _checks
from ..backend import check_mode
from ..errors import DivergenceError
from ..train.progress import ProgressPrinter, format_seconds

#: The estimators' ``loss`` values.
LOSSES = ("auto", "cross_entropy", "squared_error")

#: Learning rates of ``'auto'``, by the loss of the layer that sees the
#: inputs.  A squared-error dA (affine decoder) has a curvature of 2 per
#: reconstructed component where the sigmoid's cross-entropy has at most
#: 1/4, so a step that is safe for [0, 1] inputs diverges on standardised
#: ones (tests/test_sklearn.py: digits, breast_cancer): it gets about an
#: eighth of the rate.
AUTO_RATES = {"DenoisingAutoencoder": {"cross_entropy": 0.1,
                                       "squared_error": 0.01},
              "SdAClassifier": {"cross_entropy": 0.01,
                                "squared_error": 0.001}}

#: A first cost above this many units per input component says the inputs'
#: scale, not the learning rate, is what makes training diverge: a dA's
#: first cost on inputs in [0, 1] or standardised ones is a few units per
#: component.
SCALE_LIMIT = 1e4


def loss_for(X, loss):
    """'auto': cross-entropy for inputs in [0, 1], else squared error."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss != "auto":
        return loss
    in_unit = X.size == 0 or (X.min() >= 0 and X.max() <= 1)
    return "cross_entropy" if in_unit else "squared_error"


def mode(mode):
    """The estimators' ``mode``: None (the default mode) or a mode name."""
    return None if mode is None else check_mode(mode)


def seed(random_state):
    """An int seed for sda from scikit-learn's random_state."""
    return int(check_random_state(random_state).randint(2 ** 31 - 1))


def rate(name, value, estimator, loss):
    """A learning rate parameter checked under its own name; 'auto' is the
    rate of :data:`AUTO_RATES` for ``loss``."""
    if isinstance(value, str) and value == "auto":
        return AUTO_RATES[estimator][loss]
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
