r"""Fused SGD steps for minibatches of one example, as C ops.

With one example a step is a handful of matrix-vector products and rank-one
updates; each reads (or reads and writes) a whole weight matrix and does two
flops per element it loads, so the time goes in moving the weights through
the caches, not in arithmetic.  PyTensor runs each product as its own BLAS
call, one pass over the matrix each.  The two ops here do a whole SGD step
in one node and pass over each matrix as few times as the mathematics
allows:

- a product and the update that follows it read the same rows, so they are
  done row by row while the row is in the L1 cache;
- rows multiplied by an input that is exactly zero are skipped (most MNIST
  pixels are zero, and masking noise zeroes more).

:class:`DenoisingSGDStep` is one step of a tied-weight dA with the
cross-entropy cost; :class:`MLPSGDStep` one step of the sigmoid MLP with its
softmax output on the negative log-likelihood.  Both update their parameters
in place, exactly as the symbolic gradients of :mod:`sda.models.da` and
:mod:`sda.models.layers` would (the tests compare the two), and both have a
NumPy ``perform`` that is the reference for their C code.  The builders use
them for ``batch_size == 1`` on the C backend (``fused=None``); they have no
gradient and are not meant for other graphs.
"""

from pathlib import Path

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.compile.mode import optdb
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.link.c.op import COp

from . import csource
from .elementwise import numpy_sigmoid as _sigmoid
from .elementwise import numpy_softplus as _softplus

__all__ = ["DenoisingSGDStep", "MLPSGDStep", "denoising_sgd_step",
           "mlp_sgd_step", "TAG"]


# -- glue ---------------------------------------------------------------------
# The C is in sda/ops/c/sda_fused.h and sda_fused_impl.h; what follows writes
# PyTensor's side of the call: shape checks, outputs, and the call itself.

def _check_code(var, ndim, dims, fail, what):
    """C that fails with a ValueError unless ``var`` has ``ndim`` dimensions
    and, if given, dimension 0 of length ``dims`` (a C expression)."""
    cond = f"PyArray_NDIM({var}) != {ndim}"
    if dims is not None:
        cond += f" || PyArray_DIMS({var})[0] != ({dims})"
    return f"""
    if ({cond}) {{
        PyErr_SetString(PyExc_ValueError, "{what}");
        {fail}
    }}"""


def _inplace_code(inp, out, fail, inplace):
    """C making output ``out`` the updated parameter: ``inp`` itself when the
    op works in place and ``inp`` is contiguous and aligned (the usual
    case), else a contiguous copy."""
    return f"""
    Py_XDECREF({out});
    if ({int(inplace)} && PyArray_IS_C_CONTIGUOUS({inp}) && PyArray_ISALIGNED({inp})) {{
        {out} = {inp};
        Py_INCREF({out});
    }} else {{
        {out} = (PyArrayObject *)PyArray_NewCopy({inp}, NPY_CORDER);
        if (!{out}) {{ {fail} }}
    }}"""


def _scalar_output_code(out, typenum, fail):
    return f"""
    if (!{out} || PyArray_NDIM({out}) != 0 || PyArray_TYPE({out}) != {typenum}) {{
        Py_XDECREF({out});
        {out} = (PyArrayObject *)PyArray_EMPTY(0, NULL, {typenum}, 0);
        if (!{out}) {{ {fail} }}
    }}"""


#: This module's text: its glue is part of the compiled code's version.
_GLUE = Path(__file__).read_text()


def _data(var, dtype):
    """C: the data pointer of a float array."""
    return f"((npy_{dtype} *)PyArray_DATA({var}))"


class _FusedStep(COp):
    """Shared plumbing: dtype checks, the C helpers, the cache version.

    A graph is built with the ops out of place (PyTensor refuses in-place
    ops in a graph it is given); the rewrite :func:`_local_inplace_step`
    makes them work in place on the parameters, which the functions'
    updates allow.
    """

    _n_params = 0
    _first_param = 0

    def _init_destroy_map(self):
        self.destroy_map = ({1 + k: [self._first_param + k]
                             for k in range(self._n_params)}
                            if self.inplace else {})

    def c_support_code_apply(self, node, name):
        # each node keeps its scratch memory
        return f"static sda_scratch sda_scratch_{name} = SDA_SCRATCH_INIT;"

    def c_header_dirs(self, **kwargs):
        return [csource.FOLDER]

    def c_headers(self, **kwargs):
        return ["sda_fused.h"]

    def c_compile_args(self, **kwargs):
        # threads unless OpenMP is off or missing (csource.use_openmp), and
        # vectorised `omp simd` loops, reductions included, either way
        return csource.openmp_args()

    def c_code_cache_version(self):
        return csource.version("sda_fused.h", "sda_fused_impl.h",
                               "sda_threads.h",
                               "sda_vectorised.h", "sda_vectorised_impl.h",
                               glue=_GLUE)

    @staticmethod
    def _float_inputs(dtype, **variables):
        out = {}
        for name, v in variables.items():
            v = pt.as_tensor_variable(v)
            if v.dtype != dtype:
                raise TypeError(f"{name} must be {dtype}, got {v.dtype}")
            out[name] = v
        return out


# -- the dA step ----------------------------------------------------------------

class DenoisingSGDStep(_FusedStep):
    r"""One SGD step of a tied-weight dA on one example, cross-entropy cost.

    Inputs ``(W, b, b_prime, x, tilde_x, lr)``: weights ``(n_visible,
    n_hidden)``, hidden and visible biases, the clean example and its
    corrupted version (vectors of ``n_visible``), the learning rate.
    Outputs ``(cost, W, b, b_prime)``, the parameters updated in place:

    .. math::
        y = s(\tilde{x} W + b), \quad a = y W^T + b', \quad
        L = \sum_k \mathrm{softplus}(a_k) - x_k a_k \\
        \delta_a = s(a) - x, \quad \delta_y = (W \delta_a) \odot y (1 - y) \\
        W \leftarrow W - \eta (\tilde{x}\,\delta_y^T + \delta_a y^T), \quad
        b \leftarrow b - \eta \delta_y, \quad b' \leftarrow b' - \eta \delta_a

    ``cost`` is :math:`L` before the update, as the symbolic step returns.
    """

    __props__ = ("inplace",)
    _n_params, _first_param = 3, 0

    def __init__(self, inplace=False):
        self.inplace = bool(inplace)
        self._init_destroy_map()

    def as_inplace(self):
        return type(self)(inplace=True)

    def make_node(self, W, b, b_prime, x, tilde_x, lr):
        W = pt.as_tensor_variable(W)
        v = self._float_inputs(W.dtype, W=W, b=b, b_prime=b_prime, x=x,
                               tilde_x=tilde_x, lr=lr)
        for name, ndim in (("W", 2), ("b", 1), ("b_prime", 1), ("x", 1),
                           ("tilde_x", 1), ("lr", 0)):
            if v[name].ndim != ndim:
                raise TypeError(f"{name} must have {ndim} dimensions, got "
                                f"{v[name].ndim}")
        ins = [v[k] for k in ("W", "b", "b_prime", "x", "tilde_x", "lr")]
        outs = [pt.scalar(dtype=W.dtype), ins[0].type(), ins[1].type(),
                ins[2].type()]
        return Apply(self, ins, outs)

    def perform(self, node, inputs, output_storage):
        W, b, bv, x, xt, lr = inputs
        if not self.inplace:
            W, b, bv = W.copy(), b.copy(), bv.copy()
        y = _sigmoid(xt @ W + b)
        a = W @ y + bv
        cost = np.sum(_softplus(a) - x * a)
        da = _sigmoid(a) - x
        dy = (da @ W) * y * (1 - y)
        W -= lr * (np.outer(xt, dy) + np.outer(da, y))
        b -= lr * dy
        bv -= lr * da
        for k, value in enumerate((np.asarray(cost, W.dtype), W, b, bv)):
            output_storage[k][0] = value

    def c_code(self, node, name, inputs, outputs, sub):
        W, bhid, bvis, x, tilde_x, lr = inputs
        cost, W_out, bhid_out, bvis_out = outputs
        fail = sub["fail"]
        dtype = node.inputs[0].dtype
        checks = "".join([
            _check_code(bhid, 1, "n", fail, "b must be a vector of length "
                        "W.shape[1]"),
            _check_code(bvis, 1, "m", fail, "b_prime must be a vector of "
                        "length W.shape[0]"),
            _check_code(x, 1, "m", fail, "x must be a vector of length "
                        "W.shape[0]"),
            _check_code(tilde_x, 1, "m", fail, "tilde_x must be a vector of "
                        "length W.shape[0]"),
            _check_code(lr, 0, None, fail, "lr must be a scalar")])
        inplace = "".join(_inplace_code(i, o, fail, self.inplace) for i, o in
                          ((W, W_out), (bhid, bhid_out), (bvis, bvis_out)))
        return f"""
{{
    if (PyArray_NDIM({W}) != 2) {{
        PyErr_SetString(PyExc_ValueError, "W must be a matrix");
        {fail}
    }}
    const npy_intp m = PyArray_DIMS({W})[0], n = PyArray_DIMS({W})[1];
    {checks}
    {inplace}
    {_scalar_output_code(cost, csource.typenum(dtype), fail)}
    if (sda_da_step_{dtype}({W_out}, {bhid_out}, {bvis_out}, {x}, {tilde_x},
                            {_data(lr, dtype)}[0], {_data(cost, dtype)},
                            &sda_scratch_{name})) {{
        {fail}
    }}
}}"""


# -- the MLP step ---------------------------------------------------------------

class MLPSGDStep(_FusedStep):
    r"""One SGD step of a sigmoid MLP with a softmax output, on one example.

    Inputs ``(x, y, lr, W_1, b_1, ..., W_L, b_L, W_out, b_out)``: the
    example (vector), its label (int scalar), the learning rate and the
    parameters in the order of ``SdA.params``.  Outputs ``(cost, W_1, b_1,
    ..., b_out)``, the parameters updated in place by one step of gradient
    descent on the negative log-likelihood
    :math:`-\log \mathrm{softmax}(h_L W_{out} + b_{out})_y`, with
    :math:`h_l = s(h_{l-1} W_l + b_l)`, :math:`h_0 = x`.
    """

    __props__ = ("n_hidden", "inplace")
    _first_param = 3

    def __init__(self, n_hidden, inplace=False):
        if int(n_hidden) < 0:
            raise ValueError(f"n_hidden must be >= 0, got {n_hidden!r}")
        self.n_hidden = int(n_hidden)
        self.inplace = bool(inplace)
        self._n_params = 2 * (self.n_hidden + 1)
        self._init_destroy_map()

    def as_inplace(self):
        return type(self)(self.n_hidden, inplace=True)

    def make_node(self, x, y, lr, *params):
        if len(params) != 2 * (self.n_hidden + 1):
            raise TypeError(f"expected {2 * (self.n_hidden + 1)} parameters, "
                            f"got {len(params)}")
        x = pt.as_tensor_variable(x)
        y = pt.as_tensor_variable(y)
        if y.ndim != 0 or y.dtype not in ("int32", "int64"):
            raise TypeError(f"y must be an int32 or int64 scalar, got {y.type}")
        floats = self._float_inputs(x.dtype, x=x, lr=lr, **{
            f"params[{k}]": p for k, p in enumerate(params)})
        params = [floats[f"params[{k}]"] for k in range(len(params))]
        for k, p in enumerate(params):
            if p.ndim != 2 - k % 2:
                raise TypeError(f"params[{k}] must have {2 - k % 2} "
                                f"dimensions, got {p.ndim}")
        if x.ndim != 1 or floats["lr"].ndim != 0:
            raise TypeError("x must be a vector and lr a scalar")
        outs = [pt.scalar(dtype=x.dtype)] + [p.type() for p in params]
        return Apply(self, [x, y, floats["lr"], *params], outs)

    def perform(self, node, inputs, output_storage):
        x, y, lr, *params = inputs
        if not self.inplace:
            params = [p.copy() for p in params]
        Ws, bs = params[0::2], params[1::2]
        hs = [x]
        for W, b in zip(Ws[:-1], bs[:-1]):
            hs.append(_sigmoid(hs[-1] @ W + b))
        a = hs[-1] @ Ws[-1] + bs[-1]
        mx = a.max()
        e = np.exp(a - mx)
        cost = np.log(e.sum()) + mx - a[y]
        d = e / e.sum()
        d[y] -= 1
        for l in range(len(Ws) - 1, -1, -1):
            below = (Ws[l] @ d) * hs[l] * (1 - hs[l]) if l else None
            Ws[l] -= lr * np.outer(hs[l], d)
            bs[l] -= lr * d
            d = below
        output_storage[0][0] = np.asarray(cost, x.dtype)
        for k, p in enumerate(params):
            output_storage[1 + k][0] = p

    def c_code(self, node, name, inputs, outputs, sub):
        x, y, lr, *params = inputs
        cost, *new = outputs
        fail = sub["fail"]
        dtype = node.inputs[0].dtype
        L = self.n_hidden
        label_ctype = ("npy_int32" if node.inputs[1].dtype == "int32"
                       else "npy_int64")
        inplace = "".join(_inplace_code(i, o, fail, self.inplace)
                          for i, o in zip(params, new))
        return f"""
{{
    PyArrayObject *W_in[{L + 1}] = {{{", ".join(params[0::2])}}};
    PyArrayObject *b_in[{L + 1}] = {{{", ".join(params[1::2])}}};
    npy_intp dims[{L + 2}];
    const npy_int64 label = (npy_int64)(({label_ctype} *)PyArray_DATA({y}))[0];
    if (sda_mlp_check({L}, W_in, b_in, {x}, label, dims)) {{ {fail} }}
    {inplace}
    {_scalar_output_code(cost, csource.typenum(dtype), fail)}
    {{
        PyArrayObject *W_out[{L + 1}] = {{{", ".join(new[0::2])}}};
        PyArrayObject *b_out[{L + 1}] = {{{", ".join(new[1::2])}}};
        if (sda_mlp_step_{dtype}({L}, W_out, b_out, dims, {x}, label,
                                 {_data(lr, dtype)}[0], {_data(cost, dtype)},
                                 &sda_scratch_{name})) {{
            {fail}
        }}
    }}
}}"""


@node_rewriter([DenoisingSGDStep, MLPSGDStep], inplace=True)
def _local_inplace_step(fgraph, node):
    """Update the parameters in place rather than copying them each step."""
    if not node.op.inplace:
        return node.op.as_inplace()(*node.inputs, return_list=True)
    return False


#: The rewrite tag that makes the fused steps work in place; the library's
#: C modes include it (:func:`sda.compile_mode`), other modes never run it.
TAG = "sda_fused"

optdb.register("sda_inplace_fused_steps",
               dfs_rewriter(_local_inplace_step, name="sda_inplace_fused_steps"),
               TAG, "inplace", position=50.3)


def denoising_sgd_step(auto, x, tilde_x, learning_rate):
    """The cost and updates of one fused SGD step of dA ``auto``.

    ``x`` and ``tilde_x`` are symbolic vectors (one example, clean and
    corrupted).  Returns ``(cost, updates)`` like :meth:`dA.get_cost_updates`.
    """
    cost, W, b, bv = DenoisingSGDStep()(auto.W, auto.b, auto.b_prime, x,
                                        tilde_x, learning_rate)
    return cost, [(auto.W, W), (auto.b, b), (auto.b_prime, bv)]


def mlp_sgd_step(params, x, y, learning_rate):
    """The cost and updates of one fused SGD step of an MLP whose parameters
    are ``params`` (``[W_1, b_1, ..., W_out, b_out]``), on example ``x``
    (vector) with label ``y`` (int scalar)."""
    outs = MLPSGDStep(len(params) // 2 - 1)(x, y, learning_rate, *params)
    return outs[0], list(zip(params, outs[1:]))
