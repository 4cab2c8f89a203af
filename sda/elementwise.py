r"""Vectorised sigmoid and softplus for the C backend.

PyTensor's C code evaluates :math:`s(a) = 1 / (1 + e^{-a})` and
:math:`\mathrm{softplus}(a) = \log(1 + e^a)` one element at a time through
the C library's ``exp`` and ``log1p``, which the compiler cannot vectorise.
At minibatch 128 the first pretraining layer's softplus cost took 2.9 ms
and a sigmoid of its hidden layer 0.76 ms, against 1.5 ms for each of the
step's five matrix products (float32, ``benchmarks/bench_kernels.py``).  The ops here compute the same functions from one
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
the tests check against long double).  :mod:`sda.fused` calls the same
functions (:func:`support_code`).  :func:`vectorised_rewrite` swaps
them in for ``sigmoid`` and ``softplus`` nodes of any graph compiled in a
mode that includes the tag :data:`TAG`; the library's builders add it when
they compile for the C backend (:func:`sda.backend.compile_mode`).  Other
backends never see these ops.
"""

import hashlib
from math import factorial

import numpy as np
import pytensor.tensor as pt
from pytensor.compile.mode import optdb
from pytensor.graph.basic import Apply
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.link.c.op import COp
from pytensor.scalar.math import Sigmoid, Softplus
from pytensor.tensor.elemwise import Elemwise

__all__ = ["VectorisedUnary", "sigmoid", "softplus", "TAG"]

#: The rewrite tag that brings these ops into a mode's graphs.
TAG = "sda_vectorised"

FUNCTIONS = ("sigmoid", "softplus")

_SUPPORT = r"""
#ifndef SDA_ELEMENTWISE_%(tag)s
#define SDA_ELEMENTWISE_%(tag)s
#define T_%(tag)s %(ctype)s
#define U_%(tag)s %(utype)s

/* e^x for x <= 0; 0 below XMIN, where e^x underflows */
static inline T_%(tag)s sda_exp_neg_%(tag)s(T_%(tag)s x)
{
    const T_%(tag)s lo = %(xmin)s, zero = 0;
    const T_%(tag)s xc = x < lo ? lo : x;
    /* Adding 1.5 * 2^(mantissa bits) rounds xc log2(e) to the integer n,
       which then sits in the low bits of t. */
    const T_%(tag)s t = xc * %(log2e)s + %(shifter)s;
    const T_%(tag)s n = t - %(shifter)s;
    const T_%(tag)s r = (xc - n * %(ln2_hi)s) - n * %(ln2_lo)s;
    const T_%(tag)s p = %(exp_poly)s;
    U_%(tag)s bits;
    T_%(tag)s scale;
    __builtin_memcpy(&bits, &t, sizeof bits);
    bits = (bits + (U_%(tag)s)%(bias_minus_shifter)s) << %(mantissa)d;  /* 2^n */
    __builtin_memcpy(&scale, &bits, sizeof scale);
    const T_%(tag)s e = p * scale;
    return x < lo ? zero : e;
}

/* log(1 + y) for y in [0, 1] */
static inline T_%(tag)s sda_log1p_unit_%(tag)s(T_%(tag)s y)
{
    const T_%(tag)s u = 1 + y;
    const T_%(tag)s lost = (y - (u - 1)) / u;
    const int big = u > %(sqrt2)s;
    const T_%(tag)s half_u = u * (T_%(tag)s)0.5, one = 1, zero = 0;
    const T_%(tag)s m = big ? half_u : u;
    const T_%(tag)s k = big ? one : zero;
    const T_%(tag)s f = m - 1;
    const T_%(tag)s s = f / (2 + f);
    const T_%(tag)s z = s * s;
    return k * %(ln2_hi)s + (2 * s * (%(log_poly)s) + (k * %(ln2_lo)s + lost));
}

/* e^-|a|, from which both functions follow */
static inline T_%(tag)s sda_exp_minus_abs_%(tag)s(T_%(tag)s a)
{
    const T_%(tag)s minus_a = -a;
    return sda_exp_neg_%(tag)s(a < 0 ? a : minus_a);
}

/* s(a), given e = e^-|a| */
static inline T_%(tag)s sda_sigmoid_from_%(tag)s(T_%(tag)s a, T_%(tag)s e)
{
    const T_%(tag)s s = 1 / (1 + e), es = e * s;
    return a < 0 ? es : s;
}

/* softplus(a), given e = e^-|a| */
static inline T_%(tag)s sda_softplus_from_%(tag)s(T_%(tag)s a, T_%(tag)s e)
{
    const T_%(tag)s zero = 0;
    return (a > 0 ? a : zero) + sda_log1p_unit_%(tag)s(e);
}

static inline T_%(tag)s sda_vsigmoid_%(tag)s(T_%(tag)s a)
{
    return sda_sigmoid_from_%(tag)s(a, sda_exp_minus_abs_%(tag)s(a));
}

static inline T_%(tag)s sda_vsoftplus_%(tag)s(T_%(tag)s a)
{
    return sda_softplus_from_%(tag)s(a, sda_exp_minus_abs_%(tag)s(a));
}

/* Not inlined into the op's code, so that the compiler sees nothing but
   the restrict-qualified loop. */
__attribute__((noinline)) static void
sda_vsigmoid_loop_%(tag)s(npy_intp n, const T_%(tag)s *__restrict__ a,
                          T_%(tag)s *__restrict__ out)
{
    #pragma omp simd
    for (npy_intp i = 0; i < n; ++i) out[i] = sda_vsigmoid_%(tag)s(a[i]);
}

__attribute__((noinline)) static void
sda_vsoftplus_loop_%(tag)s(npy_intp n, const T_%(tag)s *__restrict__ a,
                           T_%(tag)s *__restrict__ out)
{
    #pragma omp simd
    for (npy_intp i = 0; i < n; ++i) out[i] = sda_vsoftplus_%(tag)s(a[i]);
}
#endif
"""


def _horner(var, coefficients, suffix):
    """C for the polynomial sum_k coefficients[k] var^k."""
    text = f"{coefficients[-1]!r}{suffix}"
    for c in reversed(coefficients[:-1]):
        text = f"{c!r}{suffix} + {var} * ({text})"
    return text


def _support_code(dtype):
    single = dtype == "float32"
    suffix = "f" if single else ""
    # ln 2 = hi + lo with hi short enough that n * hi is exact for every n
    # the range reduction meets (|n| < 2^8, resp. 2^11).
    return _SUPPORT % dict(
        tag=dtype, ctype="npy_float32" if single else "npy_float64",
        utype="npy_uint32" if single else "npy_uint64",
        xmin="-87.33f" if single else "-708.39",
        log2e=f"1.4426950408889634{suffix}",
        shifter="12582912.0f" if single else "6755399441055744.0",
        ln2_hi="0.693145751953125f" if single else "0.6931471805598903",
        ln2_lo="1.4286068203094173e-06f" if single else "5.497923018708371e-14",
        sqrt2=f"1.4142135623730951{suffix}",
        mantissa=23 if single else 52,
        bias_minus_shifter=("(127 - 0x4B400000)" if single
                            else "(1023 - 0x4338000000000000LL)"),
        exp_poly=_horner("r", [1 / factorial(k) for k in
                               range(8 if single else 14)], suffix),
        log_poly=_horner("z", [1 / (2 * k + 1) for k in
                               range(5 if single else 11)], suffix))


_CODE = r"""
{
    PyArrayObject *in = PyArray_GETCONTIGUOUS(%(x)s);
    if (!in) { %(fail)s }
    const int nd = PyArray_NDIM(in);
    const npy_intp *dims = PyArray_DIMS(in);
    int fresh = !%(z)s || PyArray_NDIM(%(z)s) != nd || %(z)s == in
        || !PyArray_IS_C_CONTIGUOUS(%(z)s) || PyArray_TYPE(%(z)s) != %(typenum)s;
    for (int d = 0; !fresh && d < nd; ++d)
        fresh = PyArray_DIMS(%(z)s)[d] != dims[d];
    if (fresh) {
        Py_XDECREF(%(z)s);
        %(z)s = (PyArrayObject *)PyArray_EMPTY(nd, (npy_intp *)dims, %(typenum)s, 0);
        if (!%(z)s) { Py_DECREF(in); %(fail)s }
    }
    sda_v%(fn)s_loop_%(tag)s(PyArray_SIZE(in), (const T_%(tag)s *)PyArray_DATA(in),
                             (T_%(tag)s *)PyArray_DATA(%(z)s));
    Py_DECREF(in);
}
"""


def support_code():
    """The C functions of both dtypes, for other ops to call (``sda.fused``):
    ``sda_vsigmoid_<dtype>``, ``sda_vsoftplus_<dtype>``, ``sda_exp_neg_<dtype>``
    and the ``_from`` forms that share one ``sda_exp_minus_abs_<dtype>``."""
    return _support_code("float32") + _support_code("float64")


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

    def c_support_code(self, **kwargs):
        return support_code()

    def c_compile_args(self, **kwargs):
        # -fopenmp for `omp simd` alone (no threads are started); without
        # -fno-trapping-math GCC will not turn the selects into blends.
        return ["-fopenmp", "-fno-trapping-math"]

    def c_code(self, node, name, inputs, outputs, sub):
        dtype = node.inputs[0].dtype
        return _CODE % dict(x=inputs[0], z=outputs[0], fail=sub["fail"],
                            fn=self.fn, tag=dtype,
                            typenum={"float32": "NPY_FLOAT32",
                                     "float64": "NPY_FLOAT64"}[dtype])

    def c_code_cache_version(self):
        text = (_CODE + support_code()).encode()
        return (1, int(hashlib.sha1(text).hexdigest()[:12], 16))


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
