r"""The denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol, 2008).

A dA corrupts its input :math:`x` into :math:`\tilde{x}` (here: masking
noise, each entry set to zero with probability ``corruption_level``), encodes
the corrupted input and decodes the code back to the input space:

.. math::
    y = s(\tilde{x} W + b), \qquad z = s(y W' + b'), \qquad W' = W^T

and is trained to make :math:`z` close to the *uncorrupted* :math:`x`.
"""

import pytensor
import pytensor.tensor as pt

from . import _checks
from .inference import CHUNK_ROWS, CompiledFunctions
from .init import floatX, glorot_uniform, zeros
from .random import RandomStreams, as_numpy_rng, draw_seed
from .updates import sgd

__all__ = ["dA", "LOSSES"]

#: Reconstruction losses :meth:`dA.get_cost_updates` knows.
LOSSES = ("cross_entropy", "squared_error")


def as_random_streams(theano_rng, numpy_rng):
    """The symbolic generator: given, seeded by an int, or drawn from ``numpy_rng``."""
    if theano_rng is None:
        return RandomStreams(draw_seed(numpy_rng))
    if _checks.is_integer(theano_rng):
        return RandomStreams(int(theano_rng))
    if callable(getattr(theano_rng, "binomial", None)):
        return theano_rng  # sda.RandomStreams or PyTensor's RandomStream
    raise ValueError(f"theano_rng must be None, an integer seed or an object "
                     f"with a binomial() method (sda.RandomStreams), "
                     f"got {theano_rng!r}")


class dA:
    r"""Denoising autoencoder with tied weights.

    Parameters
    ----------
    numpy_rng : numpy.random.RandomState or numpy.random.Generator or int
        Draws the initial weights and, when ``theano_rng`` is None, its seed.
    theano_rng : sda.RandomStreams or int, optional
        Source of the corruption masks.
    input : TensorVariable, optional
        Symbolic ``(n_examples, n_visible)`` matrix; a new floatX ``matrix``
        when None.  A stacked dA receives the layer below's output here.
    n_visible, n_hidden : int
        Number of visible and hidden units.
    W : shared variable or array, optional
        Existing ``(n_visible, n_hidden)`` weights to share (the SdA passes its
        sigmoid layer's ``W``); an array is copied into a new shared
        variable.  New weights are uniform in
        :math:`\pm 4\sqrt{6/(n_{visible}+n_{hidden})}`.
    bhid : shared variable or array, optional
        Existing hidden bias (length ``n_hidden``) to share.
    bvis : shared variable or array, optional
        Existing visible bias (length ``n_visible``) to share.
    loss : {'cross_entropy', 'squared_error'}
        The reconstruction loss.  Cross-entropy (the default) uses a sigmoid
        decoder and assumes inputs in [0, 1]; squared error, for real-valued
        inputs, uses an affine decoder :math:`z = y W' + b'` (Vincent et al.,
        2010, section 4.2).

    Attributes
    ----------
    W, b, b_prime : shared variables
        Weights, hidden bias, visible bias.
    W_prime : TensorVariable
        ``W.T`` (tied weights).
    x : TensorVariable
        The symbolic input.
    params : list
        ``[W, b, b_prime]``.

    Examples
    --------
    >>> import pytensor
    >>> with pytensor.config.change_flags(floatX="float32"):
    ...     da = dA(numpy_rng=0, n_visible=4, n_hidden=3)
    >>> da
    dA(n_visible=4, n_hidden=3, loss='cross_entropy', floatX='float32')
    >>> da.reconstruct([[0.0, 1.0, 1.0, 0.0]]).shape
    (1, 4)
    """

    def __init__(self, numpy_rng, theano_rng=None, input=None, n_visible=784,
                 n_hidden=500, W=None, bhid=None, bvis=None, *,
                 loss="cross_entropy"):
        self.n_visible = _checks.positive_int("n_visible", n_visible)
        self.n_hidden = _checks.positive_int("n_hidden", n_hidden)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.loss = loss
        numpy_rng = as_numpy_rng(numpy_rng)
        # The tutorial draws the stream's seed before the weights; keeping the
        # order keeps its weights for its seed.
        self.theano_rng = as_random_streams(theano_rng, numpy_rng)
        dtype = pytensor.config.floatX
        if W is None:
            W = pytensor.shared(glorot_uniform(numpy_rng, self.n_visible,
                                               self.n_hidden, gain=4.0),
                                name="W", borrow=True)
        else:
            W = _checks.parameter("W", W, (self.n_visible, self.n_hidden),
                                  dtype)
        if bvis is None:
            bvis = pytensor.shared(zeros(self.n_visible), name="b_prime",
                                   borrow=True)
        else:
            bvis = _checks.parameter("bvis", bvis, (self.n_visible,), dtype)
        if bhid is None:
            bhid = pytensor.shared(zeros(self.n_hidden), name="b",
                                   borrow=True)
        else:
            bhid = _checks.parameter("bhid", bhid, (self.n_hidden,), dtype)
        self.W, self.b, self.b_prime = W, bhid, bvis
        self.W_prime = self.W.T
        if input is None:
            input = pt.matrix(name="input")
        else:
            _checks.symbolic_matrix("input", input, self.n_visible)
        self.x = input
        self.params = [self.W, self.b, self.b_prime]
        self._compiled = CompiledFunctions(self.W.type.dtype, self.n_visible)

    def __repr__(self):
        return (f"dA(n_visible={self.n_visible}, n_hidden={self.n_hidden}, "
                f"loss={self.loss!r}, floatX={self.W.type.dtype!r})")

    def get_corrupted_input(self, input, corruption_level):
        r"""Masking noise: keep each entry with probability ``1 - corruption_level``.

        .. math:: \tilde{x} = x \odot m, \quad m_{ij} \sim \mathrm{Bernoulli}(1 - \nu)

        A new mask is drawn on every call of a compiled function that uses
        the result: the random state's default update advances it, so the
        caller lists no update.  That update refers to ``input``'s shape;
        substitute another input with ``givens`` (as the SdA's builders do),
        which reaches updates too, rather than by cloning the graph.  The mask
        is cast to floatX, so float32 graphs stay float32.

        Parameters
        ----------
        input : TensorVariable
        corruption_level : float in [0, 1) or scalar TensorVariable
        """
        if not hasattr(corruption_level, "type"):
            corruption_level = floatX(
                _checks.probability("corruption_level", corruption_level))
        # Static dimensions stay static, so that a minibatch known to be a
        # single row keeps that shape and PyTensor can use GEMV and GER,
        # several times faster than GEMM with one row.
        size = tuple(input.shape[i] if d is None else d
                     for i, d in enumerate(input.type.shape))
        keep = self.theano_rng.binomial(size=size, n=1,
                                        p=1 - corruption_level)
        return pt.cast(keep, pytensor.config.floatX) * input

    def get_hidden_values(self, input):
        r"""The code :math:`y = s(x W + b)`."""
        return pt.sigmoid(pt.dot(input, self.W) + self.b)

    def _reconstruction_preactivation(self, hidden):
        return pt.dot(hidden, self.W_prime) + self.b_prime

    def get_reconstructed_input(self, hidden):
        r"""The reconstruction :math:`z = s(y W' + b')` (affine for squared error)."""
        a = self._reconstruction_preactivation(hidden)
        return a if self.loss == "squared_error" else pt.sigmoid(a)

    def reconstruction_cost(self, x, hidden):
        r"""Mean over the minibatch of the reconstruction loss of ``x`` from ``hidden``.

        Cross-entropy, with :math:`z = s(a)`:

        .. math::
            L(x, z) = -\sum_k x_k \log z_k + (1 - x_k) \log(1 - z_k)
                    = \sum_k \mathrm{softplus}(a_k) - x_k a_k

        The right-hand form is evaluated, so the cost and its gradient
        :math:`z - x` stay finite when the decoder saturates, whatever
        rewrites PyTensor applies.  Squared error:
        :math:`L(x, z) = \sum_k (x_k - z_k)^2`.
        """
        a = self._reconstruction_preactivation(hidden)
        if self.loss == "squared_error":
            L = pt.sum(pt.sqr(x - a), axis=1)
        else:
            L = pt.sum(pt.softplus(a) - x * a, axis=1)
        return pt.mean(L)

    def get_cost_updates(self, corruption_level, learning_rate, input=None):
        """The training cost of one minibatch of ``self.x`` and its SGD updates.

        Parameters
        ----------
        corruption_level : float in [0, 1) or scalar TensorVariable
        learning_rate : float or scalar TensorVariable
        input : TensorVariable, optional
            Another symbolic input to train on instead of ``self.x`` (the
            SdA passes cached layer inputs, or single rows with a static
            shape, this way).

        Returns
        -------
        (cost, updates)
            ``cost`` is the mean reconstruction loss of the clean input from
            the code of its corrupted version; ``updates`` is the list of
            ``(param, param - learning_rate * gradient)`` pairs for ``params``.
        """
        x = self.x if input is None else input
        learning_rate = _checks.learning_rate("learning_rate", learning_rate,
                                              zero=True)
        tilde_x = self.get_corrupted_input(x, corruption_level)
        y = self.get_hidden_values(tilde_x)
        cost = self.reconstruction_cost(x, y)
        return cost, sgd(cost, self.params, learning_rate)

    # -- applying the trained dA to arrays ---------------------------------

    def encode(self, X, *, chunk_rows=CHUNK_ROWS):
        """The code :math:`y = s(x W + b)` of each row of the array ``X``.

        ``X`` may have any float dtype: it is cast to the dA's dtype
        ``chunk_rows`` rows at a time.  The function is compiled at the first
        call (in the current default mode) and kept.

        Returns
        -------
        array of shape (n_examples, n_hidden), in the dA's dtype
        """
        return self._compiled.apply("encode", self.get_hidden_values, X,
                                    chunk_rows)

    def reconstruct(self, X, *, chunk_rows=CHUNK_ROWS):
        """The reconstruction :math:`z` of each row of ``X``, uncorrupted.

        Returns
        -------
        array of shape (n_examples, n_visible), in the dA's dtype
        """
        return self._compiled.apply(
            "reconstruct", lambda x: self.get_reconstructed_input(
                self.get_hidden_values(x)), X, chunk_rows)
