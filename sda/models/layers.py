"""The supervised layers of the stacked network: ``HiddenLayer`` and ``LogisticRegression``.

Both own their parameters as shared variables listed in ``params`` and build
symbolic expressions only; compiling them is the caller's step.
"""

import pytensor
import pytensor.tensor as pt
from pytensor.gradient import zero_grad

from .. import _checks
from .init import glorot_uniform, zeros
from .random import as_numpy_rng

__all__ = ["HiddenLayer", "LogisticRegression", "log_softmax"]


def log_softmax(a):
    r"""Row-wise :math:`\log \mathrm{softmax}(a) = a - m - \log \sum_j e^{a_j - m}`.

    With :math:`m = \max_j a_j`, no exponential overflows and the result is
    finite however far the units saturate.  Written with element-wise ops
    and reductions, which PyTensor's C backend compiles, where its
    ``LogSoftmax`` op runs in Python (``benchmarks/bench_kernels.py`` times
    the NLL of one example and its gradient both ways).
    The gradient does not flow through :math:`m`: the result does not
    depend on it.
    """
    shifted = a - zero_grad(pt.max(a, axis=-1, keepdims=True))
    return shifted - pt.log(pt.sum(pt.exp(shifted), axis=-1, keepdims=True))


class HiddenLayer:
    r"""A fully connected layer, :math:`h = s(x W + b)`.

    Parameters
    ----------
    rng : numpy.random.RandomState or numpy.random.Generator or int
        Draws the initial weights (unless ``W`` is given).
    input : TensorVariable
        Symbolic matrix of shape ``(n_examples, n_in)``.
    n_in, n_out : int
        Number of input and output units.
    W : shared variable, optional
        An existing ``(n_in, n_out)`` weight matrix to use (and share) instead
        of drawing a new one.  The SdA passes none and then hands this
        layer's ``W`` to its dA, tying the two.
    b : shared variable, optional
        An existing bias vector of length ``n_out``.
    activation : callable or None
        The non-linearity ``s``; ``None`` gives a linear layer.  The initial
        weights are uniform in :math:`\pm\sqrt{6/(n_{in}+n_{out})}`, four times
        wider for ``pytensor.tensor.sigmoid`` (Glorot & Bengio, 2010).

    Attributes
    ----------
    W, b : shared variables
    output : TensorVariable
        :math:`s(x W + b)`.
    params : list
        ``[W, b]``.
    """

    def __init__(self, rng, input, n_in, n_out, W=None, b=None,
                 activation=pt.tanh):
        n_in = _checks.positive_int("n_in", n_in)
        n_out = _checks.positive_int("n_out", n_out)
        _checks.symbolic_matrix("input", input, n_in)
        self.input = input
        self.n_in, self.n_out = n_in, n_out
        self.activation = _checks.callable_or_none("activation", activation)
        dtype = pytensor.config.floatX
        if W is None:
            gain = 4.0 if activation is pt.sigmoid else 1.0
            W = pytensor.shared(glorot_uniform(as_numpy_rng(rng, "rng"), n_in,
                                               n_out, gain),
                                name="W", borrow=True)
        else:
            W = _checks.parameter("W", W, (n_in, n_out), dtype)
        if b is None:
            b = pytensor.shared(zeros(n_out), name="b", borrow=True)
        else:
            b = _checks.parameter("b", b, (n_out,), dtype)
        self.W, self.b = W, b
        self.output = self.get_output(input)
        self.params = [self.W, self.b]

    def __repr__(self):
        f = self.activation
        # PyTensor's element-wise functions are Elemwise objects: their
        # scalar op holds the name
        name = str(getattr(f, "scalar_op", None) or
                   getattr(f, "__name__", repr(f)))
        return (f"HiddenLayer(n_in={self.n_in}, n_out={self.n_out}, "
                f"activation={name}, floatX={self.W.type.dtype!r})")

    def get_output(self, input):
        """:math:`s(x W + b)` for another symbolic input, with these parameters."""
        lin_output = pt.dot(input, self.W) + self.b
        if self.activation is None:
            return lin_output
        return self.activation(lin_output)


class LogisticRegression:
    r"""Multi-class logistic regression, the network's output layer.

    .. math::
        P(Y = i \mid x, W, b) = \mathrm{softmax}_i(x W + b)

    Parameters
    ----------
    input : TensorVariable
        Symbolic matrix of shape ``(n_examples, n_in)``.
    n_in, n_out : int
        Input width and number of classes.

    Attributes
    ----------
    W, b : shared variables, initialised to zero
    p_y_given_x : TensorVariable
        Row-wise class probabilities.
    y_pred : TensorVariable
        :math:`\mathrm{argmax}_i P(Y = i \mid x)`.
    params : list
        ``[W, b]``.
    """

    def __init__(self, input, n_in, n_out):
        n_in = _checks.positive_int("n_in", n_in)
        n_out = _checks.positive_int("n_out", n_out)
        _checks.symbolic_matrix("input", input, n_in)
        self.input = input
        self.n_in, self.n_out = n_in, n_out
        self.W = pytensor.shared(zeros((n_in, n_out)), name="W", borrow=True)
        self.b = pytensor.shared(zeros(n_out), name="b", borrow=True)
        self.logits = self.get_logits(input)
        # axis=-1: PyTensor's default (axis=None) would normalise over the
        # whole minibatch instead of each row.
        self.p_y_given_x = pt.special.softmax(self.logits, axis=-1)
        self.y_pred = pt.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def __repr__(self):
        return (f"LogisticRegression(n_in={self.n_in}, n_out={self.n_out}, "
                f"floatX={self.W.type.dtype!r})")

    def negative_log_likelihood(self, y):
        r"""Mean negative log-likelihood of the labels ``y`` over the minibatch.

        .. math::
            \ell = -\frac{1}{|D|} \sum_{i} \log P(Y = y^{(i)} \mid x^{(i)})

        Computed from ``log_softmax`` of the pre-activation, so it stays finite
        when the softmax saturates.
        """
        return self.nll_of_logits(self.logits, y, self.n_out)

    def errors(self, y):
        """Fraction of the minibatch whose predicted class is not ``y``."""
        return self.errors_of_logits(self.logits, y)

    def get_logits(self, input):
        """The pre-softmax activations :math:`x W + b` of another input."""
        return pt.dot(input, self.W) + self.b

    @classmethod
    def nll_of_logits(cls, logits, y, n_classes=None):
        """:meth:`negative_log_likelihood` of given pre-softmax activations.

        ``n_classes``, the width of ``logits``, when known: JAX compiles
        ``arange`` only of a constant.
        """
        cls._check_labels(y)
        # a one-hot selection instead of log_p[arange(n), y]: the gradient of
        # advanced indexing runs in Python, element-wise ops in C
        classes = pt.arange(logits.shape[-1] if n_classes is None
                            else n_classes)
        chosen = pt.eq(classes[None, :], y[:, None])
        log_p = pt.switch(chosen, log_softmax(logits), 0)
        return -pt.sum(log_p) / pt.cast(y.shape[0], logits.dtype)

    @classmethod
    def errors_of_logits(cls, logits, y):
        """:meth:`errors` of given pre-softmax activations."""
        cls._check_labels(y)
        return pt.mean(pt.neq(pt.argmax(logits, axis=1), y))

    @staticmethod
    def _check_labels(y):
        if getattr(y, "ndim", None) != 1:
            raise TypeError(
                f"y must be a vector of integer labels (ndim 1, like "
                f"y_pred), got {getattr(y, 'type', type(y).__name__)} with "
                f"ndim {getattr(y, 'ndim', None)}")
        if not y.dtype.startswith(("int", "uint")):
            raise TypeError(f"y must have an integer dtype (labels), got "
                            f"dtype {y.dtype}")
