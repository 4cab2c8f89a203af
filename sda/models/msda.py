r"""Marginalized denoising autoencoders: ``mDA`` and the stack ``mSDA``.

Chen, Xu, Weinberger and Sha (2012) take a *linear* denoising autoencoder
under masking noise (each input zeroed with probability :math:`p`) and
average its squared reconstruction loss over every possible corruption
instead of sampling a few.  With the inputs as rows :math:`x_i` plus a
constant bias feature, :math:`\bar x_i = [x_i, 1]`, and the scatter matrix
:math:`S = \sum_i \bar x_i \bar x_i^\top`, the survival probabilities
:math:`q = [1-p, \ldots, 1-p, 1]` (the bias is never corrupted) give the
expectations over corruptions :math:`\tilde x`

.. math::

    Q = \mathbb{E}\Big[\sum_i \tilde x_i \tilde x_i^\top\Big]
      = S \odot q q^\top \ \text{off the diagonal}, \quad
    Q_{jj} = q_j S_{jj}, \qquad
    P = \mathbb{E}\Big[\sum_i \tilde x_i x_i^\top\Big] = (S \odot q 1^\top)_{:, 1:d},

and the expected loss of the reconstruction :math:`\hat x = M^\top \tilde x`

.. math::

    L(M) = \operatorname{tr} S_{xx} - 2 \operatorname{tr}(M^\top P)
           + \operatorname{tr}(M^\top Q M)

is least at :math:`M = Q^{-1} P`: one linear solve, no SGD, no epochs.  The
hidden representation is :math:`h = \tanh(M^\top \bar x)`, of the input's
width; stacking layers, each fitted on the one below's :math:`h`, gives
mSDA, whose features are the input and every layer's output side by side.

Numerically: :math:`S` is summed a chunk of rows at a time in float64, so
memory is bounded by the :math:`(d+1)^2` scatter matrix, not by the number
of rows; a small ridge, ``ridge`` times the mean of :math:`Q`'s diagonal,
is added to its input entries (not the bias), which makes :math:`Q`
positive definite even when inputs are constant (MNIST's border pixels), so
that a Cholesky factorisation solves it without forming an inverse.  No
model here touches files or prints: :func:`sda.save_model` writes them.
"""

import numpy as np
import pytensor
from scipy.linalg import LinAlgError, cho_factor, cho_solve, lstsq

from .._checks import (finite_cast, non_negative_float, positive_int,
                       probability)

__all__ = ["mDA", "mSDA", "marginalized_loss", "FEATURES"]

#: what ``mSDA.transform`` returns: the input and every layer's output side
#: by side (Chen et al.'s features), or the top layer's output alone
FEATURES = ("concat", "top")

#: rows transformed or summed at a time (a chunk of 4096 x 784 float64 is
#: 25 MB)
CHUNK = 4096


def _dtype(dtype):
    dtype = np.dtype(pytensor.config.floatX if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _matrix(name, X, width=None):
    """``X`` as a 2-D array with at least one row (``width`` columns)."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got {X.dtype}")
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array of at least one row "
                         f"and column, got shape {X.shape}")
    if width is not None and X.shape[1] != width:
        raise ValueError(f"{name} must have {width} columns (the width the "
                         f"model was fitted on), got {X.shape[1]}")
    return X


def _chunks(name, X, dtype, chunk_size):
    """``(start, rows)`` of ``X`` cast to ``dtype``, each checked finite."""
    for start in range(0, len(X), chunk_size):
        yield start, finite_cast(name, X[start:start + chunk_size], dtype,
                                 offset=start)


def _with_bias(rows):
    return np.hstack([rows, np.ones((len(rows), 1), rows.dtype)])


def _expectations(S, noise):
    """``(Q, P)`` of the module docstring for the scatter matrix ``S``."""
    d = len(S) - 1
    q = np.full(d + 1, 1.0 - noise)
    q[-1] = 1.0
    Q = S * np.outer(q, q)
    Q[np.diag_indices(d + 1)] = q * np.diag(S)
    P = S[:, :d] * q[:, None]
    return Q, P


def _solve(Q, P, ridge):
    """``M = (Q + R)^{-1} P``, ``R`` the ridge on the input entries."""
    d = len(Q) - 1
    scale = float(np.mean(np.diag(Q)[:d]))
    Q = Q.copy()
    Q[np.arange(d), np.arange(d)] += ridge * (scale if scale > 0 else 1.0)
    try:
        return cho_solve(cho_factor(Q, check_finite=False), P,
                         check_finite=False)
    except LinAlgError:  # ridge=0 on a rank-deficient input
        return lstsq(Q, P, check_finite=False)[0]


def marginalized_loss(X, W, b, noise):
    r"""The expected squared reconstruction loss :math:`L(M)/n` under masking
    noise of level ``noise``: the limit of the mean over sampled
    corruptions of :math:`\lVert x - (\tilde x W + b) \rVert^2`, for the
    rows of ``X``, a map ``W`` of shape (d, d) and a bias ``b`` of d."""
    X = np.asarray(X, np.float64)
    Xb = _with_bias(X)
    Q, P = _expectations(Xb.T @ Xb, noise)
    M = np.vstack([np.asarray(W, np.float64), np.asarray(b, np.float64)])
    return float(np.sum(X * X) - 2 * np.sum(M * P)
                 + np.sum(M * (Q @ M))) / len(X)


class mDA:
    r"""One marginalized denoising autoencoder: a closed-form linear map and tanh.

    Parameters
    ----------
    noise : float in [0, 1)
        The masking level :math:`p`: the probability that an input is
        zeroed.
    ridge : float >= 0
        Added to :math:`Q`'s input diagonal, relative to its mean; keeps
        the solve stable for constant or collinear inputs.
    dtype : float32, float64 or None
        Of the fitted map and of what :meth:`transform` returns (None:
        ``pytensor.config.floatX`` when the layer is made).  The sums and
        the solve are in float64 either way.

    Attributes
    ----------
    W : ndarray of shape (d, d)
        After :meth:`fit`: the reconstruction of a corrupted row
        :math:`\tilde x` is :math:`\tilde x W + b`, the hidden
        representation :math:`\tanh(x W + b)`.
    b : ndarray of shape (d,)
    """

    def __init__(self, noise=0.5, ridge=1e-5, dtype=None):
        self.noise = probability("noise", noise)
        self.ridge = non_negative_float("ridge", ridge)
        self.dtype = _dtype(dtype)
        self.W = self.b = None

    @property
    def n_features(self):
        """The width it was fitted on (None before :meth:`fit`)."""
        return None if self.W is None else self.W.shape[0]

    def fit(self, X, chunk_size=CHUNK):
        """Compute the map in closed form from the rows of ``X``; return self.

        ``X``: an array of shape (n, d) of any real dtype, read
        ``chunk_size`` rows at a time.
        """
        return self._fit(_matrix("X", X), chunk_size, ())

    def _fit(self, X, chunk_size, through):
        """:meth:`fit` on the rows of ``X`` passed through the fitted
        layers ``through`` (those below it in a stack)."""
        chunk_size = positive_int("chunk_size", chunk_size)
        d = X.shape[1]
        S = np.zeros((d + 1, d + 1))
        for _, rows in _chunks("X", X, np.float64, chunk_size):
            for layer in through:
                rows = layer._encode(rows)
            rows = _with_bias(rows)
            S += rows.T @ rows
        M = _solve(*_expectations(S, self.noise), self.ridge)
        self.W = np.ascontiguousarray(M[:d], dtype=self.dtype)
        self.b = np.ascontiguousarray(M[d], dtype=self.dtype)
        return self

    def _check_fitted(self, X):
        if self.W is None:
            raise ValueError("this mDA is not fitted yet: call fit(X) first")
        return _matrix("X", X, self.n_features)

    def reconstruct(self, X):
        """The linear reconstruction :math:`xW + b` of the rows of ``X``."""
        X = self._check_fitted(X)
        return finite_cast("X", X, self.dtype) @ self.W + self.b

    def transform(self, X):
        r"""The hidden representation :math:`\tanh(xW + b)`, shape (n, d)."""
        return np.tanh(self.reconstruct(X))

    def _encode(self, rows):
        """:meth:`transform` of rows already checked and cast."""
        return np.tanh(rows @ self.W + self.b)


class mSDA:
    """A stack of marginalized denoising autoencoders (Chen et al., 2012).

    Parameters
    ----------
    n_layers : int >= 1
    noise : float in [0, 1)
        The masking level of every layer.
    ridge, dtype
        As :class:`mDA`'s.

    Attributes
    ----------
    layers : list of mDA
        Each fitted on the tanh outputs of the one below.
    """

    def __init__(self, n_layers=5, noise=0.5, ridge=1e-5, dtype=None):
        self.n_layers = positive_int("n_layers", n_layers)
        self.noise = probability("noise", noise)
        self.ridge = non_negative_float("ridge", ridge)
        self.dtype = _dtype(dtype)
        self.layers = []

    @property
    def n_features(self):
        """The input width it was fitted on (None before :meth:`fit`)."""
        return self.layers[0].n_features if self.layers else None

    def fit(self, X, chunk_size=CHUNK):
        """Fit the layers bottom-up on the rows of ``X``; return self.

        Each layer's scatter matrix is summed over chunks of ``X`` passed
        through the layers already fitted, so that memory stays bounded by
        the (d+1) x (d+1) matrix, whatever the number of rows (at the price
        of passing the data through the lower layers again for each layer).
        """
        X = _matrix("X", X)
        layers = []
        for _ in range(self.n_layers):
            layers.append(mDA(self.noise, self.ridge, self.dtype)._fit(
                X, chunk_size, layers))
        self.layers = layers
        return self

    def transform(self, X, features="concat", chunk_size=CHUNK):
        """The features of the rows of ``X``.

        ``features="concat"``: the input and every layer's output side by
        side, shape (n, d * (n_layers + 1)), as Chen et al. use them;
        ``"top"``: the last layer's output, shape (n, d).
        """
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got "
                             f"{features!r}")
        if not self.layers:
            raise ValueError("this mSDA is not fitted yet: call fit(X) first")
        X = _matrix("X", X, self.n_features)
        chunk_size = positive_int("chunk_size", chunk_size)
        d, k = X.shape[1], self.n_layers
        out = np.empty((len(X), d * (k + 1) if features == "concat" else d),
                       self.dtype)
        for start, rows in _chunks("X", X, self.dtype, chunk_size):
            parts = [rows]
            for layer in self.layers:
                parts.append(layer._encode(parts[-1]))
            out[start:start + len(rows)] = (np.hstack(parts)
                                            if features == "concat"
                                            else parts[-1])
        return out
