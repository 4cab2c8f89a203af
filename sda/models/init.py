"""Parameter initialisation, the one place weights get their first values."""

import numpy as np
import pytensor

__all__ = ["glorot_uniform", "zeros", "floatX"]


def floatX(value):
    """``value`` as an array of ``pytensor.config.floatX``."""
    return np.asarray(value, dtype=pytensor.config.floatX)


def glorot_uniform(numpy_rng, n_in, n_out, gain=1.0):
    """Weights drawn uniformly from ``[-r, r]`` with ``r = gain * sqrt(6 / (n_in + n_out))``.

    Glorot & Bengio (2010) derive ``gain = 1`` for ``tanh`` units; the
    tutorial uses ``gain = 4`` for sigmoid units, whose slope at the origin
    is a quarter of ``tanh``'s.  The matrix has shape ``(n_in, n_out)`` and
    is drawn with ``numpy_rng.uniform``, as in the tutorial, so a
    ``RandomState`` with the tutorial's seed yields the tutorial's weights.

    >>> W = glorot_uniform(np.random.RandomState(0), 784, 500, gain=4.0)
    >>> W.shape, bool(abs(W).max() <= 4 * np.sqrt(6 / 1284))
    ((784, 500), True)
    """
    bound = gain * np.sqrt(6.0 / (n_in + n_out))
    return floatX(numpy_rng.uniform(low=-bound, high=bound,
                                    size=(n_in, n_out)))


def zeros(n):
    """A zero vector of length ``n`` in floatX (biases start at zero)."""
    return np.zeros(n, dtype=pytensor.config.floatX)
