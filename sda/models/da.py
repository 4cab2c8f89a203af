r"""The denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol, 2008).

A dA corrupts its input :math:`x` into :math:`\tilde{x}` (masking noise by
default: each entry set to zero with probability ``corruption_level``; the
other noises of Vincent et al., 2010, are in :mod:`sda.models.noise`),
encodes the corrupted input and decodes the code back to the input space:

.. math::
    y = s(\tilde{x} W + b), \qquad z = s(y W' + b'), \qquad W' = W^T
    \text{ (tied) or its own weights (untied)}

and is trained to make :math:`z` close to the *uncorrupted* :math:`x`,
optionally with more weight on the components the noise changed
(*emphasised* denoising, Vincent et al., 2010, §4.3).
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

from .. import _checks
from ..backend import HostState, resolve
from ..builders import pretraining
from ..builders.apply import CHUNK_ROWS, CompiledFunctions
from .init import glorot_uniform, zeros
from .noise import as_noise
from .random import RandomStreams, as_numpy_rng, draw_seed
from . import updates
from .updates import get_rule

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


def check_emphasis(name, emphasis, noise):
    """``(alpha, beta)`` as floats, or None; refused for noise that
    corrupts every component."""
    if emphasis is None:
        return None
    try:
        alpha, beta = (float(w) for w in emphasis)
    except (TypeError, ValueError):
        alpha = beta = None
    if alpha is None or not (np.isfinite([alpha, beta]).all()
                             and min(alpha, beta) >= 0
                             and max(alpha, beta) > 0):
        raise ValueError(f"{name} must be None or (alpha, beta), two "
                         f"non-negative weights not both 0, got {emphasis!r}")
    if noise.corrupts_all:
        raise ValueError(f"{name} needs a noise that leaves some components "
                         f"alone; {noise.name} noise corrupts every one, "
                         f"got {emphasis!r}")
    return (alpha, beta)


class dA:
    r"""Denoising autoencoder, with tied weights by default.

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
    noise : {'masking', 'gaussian', 'salt_and_pepper'} or sda.noise.Noise
        The corruption process; ``corruption_level`` is its fraction
        :math:`\nu` of corrupted components, or the standard deviation
        :math:`\sigma` of Gaussian noise.
    emphasis : (alpha, beta), optional
        Weight the reconstruction loss of each component by ``alpha`` where
        the noise corrupted it and ``beta`` elsewhere; None is the plain
        loss.  Not for Gaussian noise, which corrupts every component.
    tied : bool
        ``W' = W^T`` (the default); False gives the decoder weights of its
        own, ``W_prime``, initialised to a copy of ``W.T`` and trained too.

    Attributes
    ----------
    W, b, b_prime : shared variables
        Weights, hidden bias, visible bias.
    W_prime : TensorVariable or shared variable
        ``W.T`` (tied weights), or the decoder's own weights (untied).
    x : TensorVariable
        The symbolic input.
    params : list
        ``[W, b, b_prime]``, and ``W_prime`` when untied.
    host : sda.backend.HostState
        Whether the parameters hold JAX arrays since a JAX step ran.
    backend : sda.backend.Backend or None
        The backend of the last :meth:`training_function`; the methods that
        apply the dA to arrays use it (None: the library's default).

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
                 loss="cross_entropy", noise="masking", emphasis=None,
                 tied=True):
        self.n_visible = _checks.positive_int("n_visible", n_visible)
        self.n_hidden = _checks.positive_int("n_hidden", n_hidden)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.loss = loss
        self.noise = as_noise(noise)
        self.emphasis = check_emphasis("emphasis", emphasis, self.noise)
        if not isinstance(tied, bool):
            raise ValueError(f"tied must be True or False, got {tied!r}")
        self.tied = tied
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
        if tied:
            self.W_prime = self.W.T
        else:
            self.W_prime = pytensor.shared(
                W.get_value().T.copy(), name="W_prime", borrow=True)
        if input is None:
            input = pt.matrix(name="input")
        else:
            _checks.symbolic_matrix("input", input, self.n_visible)
        self.x = input
        self.params = [self.W, self.b, self.b_prime]
        if not tied:
            self.params.append(self.W_prime)
        self.host = HostState(self.state_variables)
        self.backend = None
        self._compiled = CompiledFunctions(self.W.type.dtype, self.n_visible,
                                           self.host)
        self._compiled_codes = CompiledFunctions(self.W.type.dtype,
                                                 self.n_hidden, self.host)

    def state_variables(self):
        """Every shared variable of the dA: :attr:`params`."""
        return list(self.params)

    def __repr__(self):
        extra = ""
        if self.noise.name != "masking":
            extra += f", noise={self.noise.name!r}"
        if self.emphasis is not None:
            extra += f", emphasis={self.emphasis!r}"
        if not self.tied:
            extra += ", tied=False"
        return (f"dA(n_visible={self.n_visible}, n_hidden={self.n_hidden}, "
                f"loss={self.loss!r}{extra}, floatX={self.W.type.dtype!r})")

    def get_corrupted_input(self, input, corruption_level):
        r"""The corrupted input :math:`\tilde{x}` of ``input``, by this dA's noise.

        Masking noise (the default) keeps each entry with probability
        ``1 - corruption_level``:

        .. math:: \tilde{x} = x \odot m, \quad m_{ij} \sim \mathrm{Bernoulli}(1 - \nu)

        A new draw is made on every call of a compiled function that uses
        the result: the random state's default update advances it, so the
        caller lists no update.  That update refers to ``input``'s shape;
        substitute another input with ``givens`` (as the builders do),
        which reaches updates too, rather than by cloning the graph.  The
        noise is cast to the input's dtype, so float32 graphs stay float32
        whatever ``config.floatX`` is.

        Parameters
        ----------
        input : TensorVariable
        corruption_level : float or scalar TensorVariable
            In [0, 1) (a fraction); for Gaussian noise a standard deviation
            >= 0.
        """
        return self._corrupt(input, corruption_level)[0]

    def _corrupt(self, input, corruption_level):
        """(tilde_x, mask of the corrupted components or None)."""
        if not hasattr(corruption_level, "type"):
            corruption_level = np.asarray(self.noise.check_level(
                "corruption_level", corruption_level), dtype=input.dtype)
        return self.noise.corrupt(self.theano_rng, input, corruption_level)

    def get_hidden_values(self, input):
        r"""The code :math:`y = s(x W + b)`."""
        return pt.sigmoid(pt.dot(input, self.W) + self.b)

    def _reconstruction_preactivation(self, hidden):
        return pt.dot(hidden, self.W_prime) + self.b_prime

    def get_reconstructed_input(self, hidden):
        r"""The reconstruction :math:`z = s(y W' + b')` (affine for squared error)."""
        a = self._reconstruction_preactivation(hidden)
        return a if self.loss == "squared_error" else pt.sigmoid(a)

    def reconstruction_cost(self, x, hidden, corrupted=None):
        r"""Mean over the minibatch of the reconstruction loss of ``x`` from ``hidden``.

        Cross-entropy, with :math:`z = s(a)`:

        .. math::
            L(x, z) = -\sum_k x_k \log z_k + (1 - x_k) \log(1 - z_k)
                    = \sum_k \mathrm{softplus}(a_k) - x_k a_k

        The right-hand form is evaluated, so the cost and its gradient
        :math:`z - x` stay finite when the decoder saturates, whatever
        rewrites PyTensor applies.  Squared error:
        :math:`L(x, z) = \sum_k (x_k - z_k)^2`.

        With ``emphasis`` :math:`(\alpha, \beta)` and the mask
        ``corrupted`` of the components the noise changed, each component's
        term is weighted by :math:`\alpha` if it was corrupted and
        :math:`\beta` if not (Vincent et al., 2010, §4.3).
        """
        a = self._reconstruction_preactivation(hidden)
        if self.loss == "squared_error":
            terms = pt.sqr(x - a)
        else:
            terms = pt.softplus(a) - x * a
        if self.emphasis is not None and corrupted is not None:
            alpha, beta = (np.asarray(w, dtype=x.dtype)
                           for w in self.emphasis)
            terms = terms * (beta + (alpha - beta) * corrupted)
        return pt.mean(pt.sum(terms, axis=1))

    def get_cost_updates(self, corruption_level, learning_rate, input=None,
                         update_rule=None):
        """The training cost of one minibatch of ``self.x`` and its SGD updates.

        Parameters
        ----------
        corruption_level : float in [0, 1) or scalar TensorVariable
        learning_rate : float or scalar TensorVariable
        input : TensorVariable, optional
            Another symbolic input to train on instead of ``self.x`` (the
            SdA passes cached layer inputs, or single rows with a static
            shape, this way).
        update_rule : str or callable, optional
            A rule of :mod:`sda.updates` (``"sgd"``, the default,
            ``"momentum"``, ``"nesterov"``, ``"adam"``) or a function
            ``(cost, params, learning_rate) -> updates``.

        Returns
        -------
        (cost, updates)
            ``cost`` is the mean reconstruction loss of the clean input from
            the code of its corrupted version; ``updates`` is the list of
            ``(param, param - learning_rate * gradient)`` pairs for ``params``
            (with another rule, its updates of ``params`` and of its state).
        """
        x = self.x if input is None else input
        learning_rate = _checks.learning_rate("learning_rate", learning_rate,
                                              zero=True)
        tilde_x, corrupted = self._corrupt(x, corruption_level)
        y = self.get_hidden_values(tilde_x)
        cost = self.reconstruction_cost(x, y, corrupted)
        rule = get_rule(update_rule)
        return cost, rule(cost, self.params, learning_rate)

    # -- compiled functions ---------------------------------------------------

    def training_function(self, train_set_x, batch_size, *, mode=None,
                          fused=None, steps_per_call=1, update_rule=None):
        """A compiled SGD step of this dA on minibatches of ``train_set_x``.

        The step of the tutorial's ``dA.py`` (``train_da``), built as
        :meth:`sda.SdA.pretraining_functions` builds each layer's (the same
        builder, :mod:`sda.builders.pretraining`): minibatch ``index`` is
        taken from the shared training set in the form the backend compiles,
        and on the C backend a cross-entropy dA with tied weights trains on
        single examples with one fused C op.

        Parameters
        ----------
        train_set_x : shared variable or array
            The training inputs, ``(n_examples, n_visible)``; an array (any
            float dtype) is put into a shared variable of the dA's dtype.
        batch_size : int
            Between 1 and the number of examples.
        mode, fused, steps_per_call, update_rule
            As for :meth:`sda.SdA.pretraining_functions`.

        Returns
        -------
        callable ``fn(index, corruption=0.2, lr=0.1)``
            Trains on minibatch ``index`` and returns its cost before the
            update; ``fn.function`` is the compiled PyTensor function and
            ``fn.state`` the update rule's shared state (empty for SGD).
        """
        backend = resolve(mode)
        fn = pretraining.dA_training_function(
            self, train_set_x, batch_size, backend=backend,
            fused=updates.fused_for(update_rule, fused),
            steps_per_call=steps_per_call, update_rule=update_rule)
        self.backend = backend
        return fn

    # -- applying the trained dA to arrays ---------------------------------

    def encode(self, X, *, chunk_rows=CHUNK_ROWS, mode=None):
        """The code :math:`y = s(x W + b)` of each row of the array ``X``.

        ``X`` may have any float dtype: it is cast to the dA's dtype
        ``chunk_rows`` rows at a time.  The function is compiled at the first
        call and kept, in ``mode`` or else the backend the dA was trained in
        (:attr:`backend`), or else the library's default.  Rows holding NaN
        or infinite values once cast raise ``ValueError`` naming the first
        such row (for :meth:`decode`, naming ``H``).

        Returns
        -------
        array of shape (n_examples, n_hidden), in the dA's dtype
        """
        return self._compiled.apply("encode", self.get_hidden_values, X,
                                    chunk_rows, backend=self._applying(mode))

    def reconstruct(self, X, *, chunk_rows=CHUNK_ROWS, mode=None):
        """The reconstruction :math:`z` of each row of ``X``, uncorrupted.

        Returns
        -------
        array of shape (n_examples, n_visible), in the dA's dtype
        """
        return self._compiled.apply(
            "reconstruct", lambda x: self.get_reconstructed_input(
                self.get_hidden_values(x)), X, chunk_rows,
            backend=self._applying(mode))

    def decode(self, H, *, chunk_rows=CHUNK_ROWS, mode=None):
        """The reconstruction :math:`z` from codes ``H`` (one row per example).

        Returns
        -------
        array of shape (n_examples, n_visible), in the dA's dtype
        """
        return self._compiled_codes.apply(
            "decode", self.get_reconstructed_input, H, chunk_rows, name="H",
            backend=self._applying(mode))

    def _applying(self, mode):
        """The backend of the convenience methods: ``mode``, else the one
        the dA was trained in, else the library's default."""
        return resolve(self.backend if mode is None else mode)
