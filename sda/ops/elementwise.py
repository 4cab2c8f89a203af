r"""Vectorised sigmoid and softplus for the C backend.

PyTensor's C code evaluates :math:`s(a) = 1 / (1 + e^{-a})` and
:math:`\mathrm{softplus}(a) = \log(1 + e^a)` one element at a time through
the C library's ``exp`` and ``log1p``, which the compiler cannot vectorise:
at minibatch 128 the softplus of a pretraining cost took longer than one
of the step's five matrix products (``benchmarks/bench_kernels.py`` prints
the figures).  The ops here compute the same functions from one
exponential of :math:`-|a|`,

.. math::
    s(a) = \begin{cases} 1 / (1 + e^{-|a|}) & a \ge 0 \\
                         e^{-|a|} / (1 + e^{-|a|}) & a < 0 \end{cases}
    \qquad
    \mathrm{softplus}(a) = \max(a, 0) + \log(1 + e^{-|a|}),

which never overflows, with polynomial ``exp`` and ``log1p`` written so that
the compiler turns the loops into SIMD code (eight floats or four doubles at
a time with AVX2):

- :math:`e^x` for :math:`x \le 0`: :math:`x = n \ln 2 + r` with
  :math:`|r| \le \ln 2 / 2` (Cody and Waite's two-part :math:`\ln 2`), the
  Taylor polynomial of :math:`e^r` (degree 7 for float32, 13 for float64),
  and :math:`2^n` built in the exponent bits;
- :math:`\log(1 + y)` for :math:`0 \le y \le 1`: :math:`u = 1 + y` (and the
  part of :math:`y` that the rounding of :math:`u` lost), :math:`u = 2^k m`
  with :math:`m \in [\sqrt{1/2}, \sqrt 2]`, and
  :math:`\log m = 2 \operatorname{atanh}(s)`, :math:`s = (m - 1)/(m + 1)`,
  from its odd series (to :math:`s^9` for float32, :math:`s^{21}` for
  float64).

Both stay within 4 units in the last place of the exact values (the bound
the tests check against long double).  The C lives in
``sda/ops/c/sda_vectorised.h``; :mod:`sda.ops.fused` calls the same
functions.  :func:`vectorised_rewrite` swaps them in for ``sigmoid`` and
``softplus`` nodes of any graph compiled in a mode that includes the tag
:data:`TAG`; the library's backends add it when they compile for the C
backend (:func:`sda.compile_mode`).  Other backends never see these ops.
"""

from pathlib import Path

import numpy as np
import pytensor.tensor as pt
from pytensor.compile.mode import optdb
from pytensor.graph.basic import Apply
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.link.c.op import COp
from pytensor.scalar.math import Sigmoid, Softplus
from pytensor.tensor.elemwise import Elemwise

from . import csource

__all__ = ["VectorisedUnary", "sigmoid", "softplus", "TAG"]

#: This module's text: its glue is part of the compiled code's version.
_GLUE = Path(__file__).read_text()

#: The rewrite tag that brings these ops into a mode's graphs.
TAG = "sda_vectorised"

FUNCTIONS = ("sigmoid", "softplus")

def numpy_sigmoid(a):
    """:math:`s(a)` in NumPy, from :math:`e^{-|a|}` (the ops' reference)."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def numpy_softplus(a):
    r""":math:`\log(1 + e^a)` in NumPy (the ops' reference)."""
    return np.logaddexp(0, a)


class VectorisedUnary(COp):
    r"""Element-wise ``sigmoid`` or ``softplus`` of a float32/float64 tensor.

    Parameters
    ----------
    fn : {'sigmoid', 'softplus'}

    The C code is the op's purpose; ``perform`` (NumPy) is its reference.
    The rewrite puts the op into compiled graphs after their gradients were
    built from PyTensor's own ops; its own gradient,
    :math:`s'(a) = s(a)(1 - s(a))` and :math:`\mathrm{softplus}'(a) = s(a)`,
    is there for graphs built with it directly.
    """

    __props__ = ("fn",)

    def __init__(self, fn):
        if fn not in FUNCTIONS:
            raise ValueError(f"fn must be one of {FUNCTIONS}, got {fn!r}")
        self.fn = fn
        super().__init__()

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        if x.dtype not in ("float32", "float64"):
            raise TypeError(f"x must be float32 or float64, got {x.dtype}")
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        out = numpy_sigmoid(a) if self.fn == "sigmoid" else numpy_softplus(a)
        output_storage[0][0] = np.asarray(out, dtype=a.dtype)

    def pullback(self, inputs, outputs, cotangents):
        (a,), (out,), (g,) = inputs, outputs, cotangents
        if self.fn == "sigmoid":
            return [g * out * (1 - out)]
        return [g * sigmoid(a)]

    def infer_shape(self, fgraph, node, shapes):
        return shapes

    def c_header_dirs(self, **kwargs):
        return [csource.FOLDER]

    def c_headers(self, **kwargs):
        return ["sda_vectorised.h"]

    def c_compile_args(self, **kwargs):
        # `omp simd` loops (without -fno-trapping-math GCC will not turn the
        # selects into blends), split over threads as sda's thread policy
        # says (sda.ops.threads), as the products around them are
        return csource.openmp_args()

    def c_code(self, node, name, inputs, outputs, sub):
        (x,), (z,), fail = inputs, outputs, sub["fail"]
        dtype = node.inputs[0].dtype
        f = "SDA_SIGMOID" if self.fn == "sigmoid" else "SDA_SOFTPLUS"
        return (f"if (sda_unary_{dtype}({f}, {x}, &{z}, "
                f"{csource.typenum(dtype)})) {{ {fail} }}")

    def c_code_cache_version(self):
        return csource.version("sda_vectorised.h", "sda_vectorised_impl.h",
                               "sda_threads.h", glue=_GLUE)


def sigmoid(x):
    """:math:`s(x)` with :class:`VectorisedUnary` (C backend only)."""
    return VectorisedUnary("sigmoid")(x)


def softplus(x):
    r""":math:`\log(1 + e^x)` with :class:`VectorisedUnary` (C backend only)."""
    return VectorisedUnary("softplus")(x)


@node_rewriter([Elemwise])
def vectorised_rewrite(fgraph, node):
    """``sigmoid(x)`` and ``softplus(x)`` of float tensors -> VectorisedUnary."""
    scalar_op = node.op.scalar_op
    fn = ("sigmoid" if isinstance(scalar_op, Sigmoid) else
          "softplus" if isinstance(scalar_op, Softplus) else None)
    if fn is None or len(node.inputs) != 1:
        return False
    (x,), (out,) = node.inputs, node.outputs
    if x.type != out.type or x.dtype not in ("float32", "float64"):
        return False
    return [VectorisedUnary(fn)(x)]


# After the stabilising and specialising rewrites (which look for sigmoid
# and softplus) and before element-wise fusion (which would bury them in
# Composite loops).
optdb.register("sda_vectorised_elementwise",
               dfs_rewriter(vectorised_rewrite, name="sda_vectorised_elementwise"), TAG,
               position=48.5)
