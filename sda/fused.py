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
in place, exactly as the symbolic gradients of :mod:`sda.da` and
:mod:`sda.layers` would (the tests compare the two), and both have a NumPy
``perform`` that is the reference for their C code.  The SdA's builders use
them for ``batch_size == 1`` on the C backend (``fused=None``); they have no
gradient and are not meant for other graphs.
"""

import hashlib

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.compile.mode import optdb
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.link.c.op import COp

from . import elementwise
from .elementwise import numpy_sigmoid as _sigmoid
from .elementwise import numpy_softplus as _softplus

__all__ = ["DenoisingSGDStep", "MLPSGDStep", "denoising_sgd_step",
           "mlp_sgd_step"]


# -- C ------------------------------------------------------------------------

# Helpers shared by both ops, for one dtype T.  The 4-row blocks give the
# dot products four independent accumulators (a single one would wait on
# the latency of each addition) and let the caller update rows while they
# are still in the L1 cache.
_SUPPORT = r"""
#ifndef SDA_RESTRICT
#define SDA_RESTRICT __restrict__
#ifdef _OPENMP
#include <omp.h>
static int sda_thread(void) { return omp_get_thread_num(); }
static int sda_nthreads(void) { return omp_get_num_threads(); }
static double sda_now(void) { return omp_get_wtime(); }
static int sda_max_threads(void) { return omp_get_max_threads(); }
#else
static int sda_thread(void) { return 0; }
static int sda_nthreads(void) { return 1; }
static double sda_now(void) { return 0; }
static int sda_max_threads(void) { return 1; }
#endif

/* How many threads a step gets.  Threads pay off only for a step that
   moves a million bytes' worth of weights or more; then OpenMP's count
   (OMP_NUM_THREADS, by default the cores), unless one thread has been
   faster lately.  A step split over threads waits at barriers for all of
   them, so when another process takes a core it can take a hundred times
   longer (measured: two trainings on two cores, 16 and 1427 steps/s,
   against about 700 each on one thread each).  So each op node keeps a
   moving average of its step time the way it runs, and now and then times
   eight steps the other way (the last six count: the first ones wake the
   threads up).  It switches when the other way was 20 %% faster; if not,
   the next trial comes twice as late (64 steps, then up to 8192).  A run
   that gets 25 %% slower than the other way's last trial tries it at once.
   The first steps, which start the threads, are not counted. */
typedef struct {
    double avg[2];          /* step time: one thread, several */
    double trial_sum;
    long calls, next_try, interval;
    int threaded;           /* the way steps run, but for trials */
    int trial_left;         /* steps left in the current trial */
} sda_pace;

#define SDA_PACE_INIT {{0, 0}, 0, 0, 64, 64, 1, 0}
#define SDA_TRIAL 8
#define SDA_TRIAL_SKIP 2

static int sda_threads(sda_pace *p, npy_intp work)
{
    const int nmax = work < (1 << 18) ? 1 : sda_max_threads();
    if (nmax <= 1) return 1;
    if (++p->calls > 8 && p->trial_left == 0 && p->calls >= p->next_try) {
        p->trial_left = SDA_TRIAL;
        p->trial_sum = 0;
    }
    return (p->trial_left > 0 ? !p->threaded : p->threaded) ? nmax : 1;
}

static void sda_paced(sda_pace *p, npy_intp work, int nt, double seconds)
{
    const int way = nt > 1;
    if (work < (1 << 18) || sda_max_threads() <= 1 || p->calls <= 8) return;
    if (p->trial_left > 0) {
        if (SDA_TRIAL - p->trial_left >= SDA_TRIAL_SKIP) p->trial_sum += seconds;
        if (--p->trial_left == 0) {
            p->avg[way] = p->trial_sum / (SDA_TRIAL - SDA_TRIAL_SKIP);
            if (p->avg[way] < 0.8 * p->avg[!way]) {
                p->threaded = way;
                p->interval = 64;
            } else if (p->interval < 8192) {
                p->interval *= 2;
            }
            p->next_try = p->calls + p->interval;
        }
        return;
    }
    if (p->avg[way] == 0) p->avg[way] = seconds;
    else p->avg[way] += (seconds - p->avg[way]) / 32;
    if (p->avg[!way] > 0 && p->avg[way] > 1.25 * p->avg[!way]
            && p->next_try > p->calls + 1)
        p->next_try = p->calls + 1;
}

/* Partial sums over rows are kept per chunk of rows, not per thread, so
   that a step gives the same result on any number of threads (up to this
   many share the work). */
#define SDA_CHUNKS 4

#endif
#define T_%(tag)s %(ctype)s

/* The inner loops live in small functions that are not inlined: with
   only their restrict-qualified arguments in view the compiler vectorises
   them plainly (inlined into the row loops, GCC 12 chose gathers). */
#define SDA_LOOP __attribute__((noinline)) static void

/* out += c0 w0 + c1 w1 + c2 w2 + c3 w3 */
SDA_LOOP sda_axpy4_%(tag)s(npy_intp n, const T_%(tag)s *c,
                           const T_%(tag)s *SDA_RESTRICT w0, const T_%(tag)s *SDA_RESTRICT w1,
                           const T_%(tag)s *SDA_RESTRICT w2, const T_%(tag)s *SDA_RESTRICT w3,
                           T_%(tag)s *SDA_RESTRICT out)
{
    const T_%(tag)s c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
    #pragma omp simd
    for (npy_intp j = 0; j < n; ++j)
        out[j] += c0 * w0[j] + c1 * w1[j] + c2 * w2[j] + c3 * w3[j];
}

/* out += c w */
SDA_LOOP sda_axpy1_%(tag)s(npy_intp n, T_%(tag)s c, const T_%(tag)s *SDA_RESTRICT w,
                           T_%(tag)s *SDA_RESTRICT out)
{
    #pragma omp simd
    for (npy_intp j = 0; j < n; ++j) out[j] += c * w[j];
}

/* s[r] = w_r . v for four rows */
SDA_LOOP sda_dot4_%(tag)s(npy_intp n, const T_%(tag)s *SDA_RESTRICT w0,
                          const T_%(tag)s *SDA_RESTRICT w1, const T_%(tag)s *SDA_RESTRICT w2,
                          const T_%(tag)s *SDA_RESTRICT w3, const T_%(tag)s *SDA_RESTRICT v,
                          T_%(tag)s *SDA_RESTRICT s)
{
    T_%(tag)s s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    #pragma omp simd reduction(+:s0, s1, s2, s3)
    for (npy_intp j = 0; j < n; ++j) {
        const T_%(tag)s u = v[j];
        s0 += w0[j] * u; s1 += w1[j] * u; s2 += w2[j] * u; s3 += w3[j] * u;
    }
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
}

static T_%(tag)s sda_dot1_%(tag)s(npy_intp n, const T_%(tag)s *SDA_RESTRICT w,
                                  const T_%(tag)s *SDA_RESTRICT v)
{
    T_%(tag)s s = 0;
    #pragma omp simd reduction(+:s)
    for (npy_intp j = 0; j < n; ++j) s += w[j] * v[j];
    return s;
}

/* w -= a u + b v (a rank-two update of one row) */
SDA_LOOP sda_rank2_%(tag)s(npy_intp n, T_%(tag)s a, const T_%(tag)s *SDA_RESTRICT u,
                           T_%(tag)s b, const T_%(tag)s *SDA_RESTRICT v,
                           T_%(tag)s *SDA_RESTRICT w)
{
    #pragma omp simd
    for (npy_intp j = 0; j < n; ++j) w[j] -= a * u[j] + b * v[j];
}

/* w -= a u */
SDA_LOOP sda_rank1_%(tag)s(npy_intp n, T_%(tag)s a, const T_%(tag)s *SDA_RESTRICT u,
                           T_%(tag)s *SDA_RESTRICT w)
{
    #pragma omp simd
    for (npy_intp j = 0; j < n; ++j) w[j] -= a * u[j];
}

/* out += sum_i c[i] W[i, :] over the rows with c[i] != 0, four at a time. */
static void sda_axpy_rows_%(tag)s(const T_%(tag)s *W, npy_intp m, npy_intp n,
                                  const T_%(tag)s *c, T_%(tag)s *out, npy_intp *rows)
{
    npy_intp k = 0, q;
    T_%(tag)s cq[4];
    for (npy_intp i = 0; i < m; ++i)
        if (c[i] != 0) rows[k++] = i;
    for (q = 0; q + 4 <= k; q += 4) {
        for (int r = 0; r < 4; ++r) cq[r] = c[rows[q + r]];
        sda_axpy4_%(tag)s(n, cq, W + rows[q] * n, W + rows[q + 1] * n,
                          W + rows[q + 2] * n, W + rows[q + 3] * n, out);
    }
    for (; q < k; ++q) sda_axpy1_%(tag)s(n, c[rows[q]], W + rows[q] * n, out);
}

/* s[r] = W[i + r, :] . v for the nr <= 4 rows from i */
static void sda_dot_rows_%(tag)s(const T_%(tag)s *W, npy_intp i, npy_intp nr,
                                 npy_intp n, const T_%(tag)s *v, T_%(tag)s *s)
{
    const T_%(tag)s *w = W + i * n;
    if (nr == 4) sda_dot4_%(tag)s(n, w, w + n, w + 2 * n, w + 3 * n, v, s);
    else for (npy_intp r = 0; r < nr; ++r) s[r] = sda_dot1_%(tag)s(n, w + r * n, v);
}

/* Copy a (possibly strided) vector into contiguous scratch memory. */
static void sda_gather_%(tag)s(PyArrayObject *a, T_%(tag)s *out)
{
    npy_intp n = PyArray_DIMS(a)[0], step = PyArray_STRIDES(a)[0];
    const char *p = PyArray_BYTES(a);
    for (npy_intp i = 0; i < n; ++i) out[i] = *(const T_%(tag)s *)(p + i * step);
}
"""

def _support_code(dtype):
    return _SUPPORT % dict(tag=dtype, ctype=f"npy_{dtype}")


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


def _typenum(dtype):
    return {"float32": "NPY_FLOAT32", "float64": "NPY_FLOAT64"}[dtype]


class _FusedStep(COp):
    """Shared plumbing: dtype checks, the C helpers, the cache version.

    A graph is built with the ops out of place (PyTensor refuses in-place
    ops in a graph it is given); the rewrite :func:`_local_inplace_step`
    makes them work in place on the parameters, which the functions'
    updates allow.
    """

    _sources = ()
    _n_params = 0
    _first_param = 0

    def _init_destroy_map(self):
        self.destroy_map = ({1 + k: [self._first_param + k]
                             for k in range(self._n_params)}
                            if self.inplace else {})

    def c_support_code(self, **kwargs):
        # sigmoid, softplus and exp from sda.elementwise, as its own string
        # so that a module holding both kinds of op gets it once
        return [elementwise.support_code(),
                _support_code("float32") + _support_code("float64")]

    def c_support_code_apply(self, node, name):
        return f"static sda_pace sda_pace_{name} = SDA_PACE_INIT;"

    def c_headers(self, **kwargs):
        return ["<math.h>", "<stdlib.h>"]

    def c_compile_args(self, **kwargs):
        # threads, and vectorised `omp simd` loops (reductions included)
        # without -ffast-math; selects as blends (see sda.elementwise)
        return ["-fopenmp", "-fno-trapping-math"]

    def c_code_cache_version(self):
        text = "".join((elementwise.support_code(), _SUPPORT,
                        *self._sources)).encode()
        return (1, int(hashlib.sha1(text).hexdigest()[:12], 16))

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

_DA_CODE = r"""
{
    if (PyArray_NDIM(%(W)s) != 2) {
        PyErr_SetString(PyExc_ValueError, "W must be a matrix");
        %(fail)s
    }
    const npy_intp m = PyArray_DIMS(%(W)s)[0], n = PyArray_DIMS(%(W)s)[1];
    %(checks)s
    %(inplace)s
    %(cost_out)s
    {
    T_%(tag)s *W = (T_%(tag)s *)PyArray_DATA(%(W_out)s);
    T_%(tag)s *bh = (T_%(tag)s *)PyArray_DATA(%(bhid_out)s);
    T_%(tag)s *bv = (T_%(tag)s *)PyArray_DATA(%(bvis_out)s);
    const T_%(tag)s lr = ((T_%(tag)s *)PyArray_DATA(%(lr)s))[0];
    const int nt = sda_threads(&sda_pace_%(name)s, m * n);
    const double started = sda_now();
    /* scratch: row indices first, for their alignment; then x, xt, da (m
       each), y, dh (n each), one accumulator of n per chunk of rows, the
       chunks' partial costs */
    npy_intp *rows = (npy_intp *)malloc(sizeof(npy_intp) * m + sizeof(double) * SDA_CHUNKS
                                        + sizeof(T_%(tag)s) * (3 * m + (2 + SDA_CHUNKS) * n));
    if (!rows) { PyErr_NoMemory(); %(fail)s }
    double *costs = (double *)(rows + m);
    T_%(tag)s *x = (T_%(tag)s *)(costs + SDA_CHUNKS), *xt = x + m, *da = xt + m;
    T_%(tag)s *y = da + m, *dh = y + n, *acc = dh + n;
    sda_gather_%(tag)s(%(x)s, x);
    sda_gather_%(tag)s(%(tilde_x)s, xt);

    #pragma omp parallel num_threads(nt)
    {
        /* the rows of W are cut into SDA_CHUNKS chunks, each summed into
           its own accumulator, and the threads share out the chunks and
           the columns: the sums are the same for any number of threads */
        const int t = sda_thread(), T = sda_nthreads();
        const npy_intp j0 = n * t / T, j1 = n * (t + 1) / T;
        npy_intp i, j;
        int c, u;

        /* encode: y = s(xt W + bh), skipping the zero entries of xt */
        for (c = t; c < SDA_CHUNKS; c += T) {
            const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
            T_%(tag)s *mine = acc + c * n;
            for (j = 0; j < n; ++j) mine[j] = 0;
            sda_axpy_rows_%(tag)s(W + i0 * n, i1 - i0, n, xt + i0, mine, rows + i0);
        }
        #pragma omp barrier
        for (j = j0; j < j1; ++j) {
            T_%(tag)s a = bh[j];
            for (u = 0; u < SDA_CHUNKS; ++u) a += acc[u * n + j];
            y[j] = sda_vsigmoid_%(tag)s(a);
        }
        #pragma omp barrier

        /* decode a = W y + bv four rows at a time; while the rows are in
           cache, back-propagate: W' (z - x) */
        for (c = t; c < SDA_CHUNKS; c += T) {
            const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
            T_%(tag)s *mine = acc + c * n;
            double cost = 0;
            for (j = 0; j < n; ++j) mine[j] = 0;
            for (i = i0; i < i1; i += 4) {
                T_%(tag)s s[4];
                npy_intp r, nr = i1 - i < 4 ? i1 - i : 4;
                sda_dot_rows_%(tag)s(W, i, nr, n, y, s);
                for (r = 0; r < nr; ++r) {
                    const T_%(tag)s a = s[r] + bv[i + r];
                    const T_%(tag)s e = sda_exp_minus_abs_%(tag)s(a);
                    cost += sda_softplus_from_%(tag)s(a, e) - x[i + r] * a;
                    da[i + r] = sda_sigmoid_from_%(tag)s(a, e) - x[i + r];
                }
                sda_axpy_rows_%(tag)s(W + i * n, nr, n, da + i, mine, rows + i);
            }
            costs[c] = cost;
        }
        #pragma omp barrier
        for (j = j0; j < j1; ++j) {
            T_%(tag)s g = 0;
            for (u = 0; u < SDA_CHUNKS; ++u) g += acc[u * n + j];
            dh[j] = g * y[j] * (1 - y[j]);
        }
        #pragma omp barrier

        /* W -= lr (xt dh' + da y'), the same chunks of rows; the biases */
        for (c = t; c < SDA_CHUNKS; c += T) {
            const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
            for (i = i0; i < i1; ++i) {
                if (xt[i] != 0) sda_rank2_%(tag)s(n, lr * xt[i], dh, lr * da[i], y, W + i * n);
                else sda_rank1_%(tag)s(n, lr * da[i], y, W + i * n);
                bv[i] -= lr * da[i];
            }
        }
        for (j = j0; j < j1; ++j) bh[j] -= lr * dh[j];
    }
    sda_paced(&sda_pace_%(name)s, m * n, nt, sda_now() - started);
    {
        double cost = 0;
        for (int u = 0; u < SDA_CHUNKS; ++u) cost += costs[u];
        ((T_%(tag)s *)PyArray_DATA(%(cost)s))[0] = (T_%(tag)s)cost;
    }
    free(rows);
    }
}
"""


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
    _sources = (_DA_CODE,)
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
        return _DA_CODE % dict(
            name=name, W=W, x=x, tilde_x=tilde_x, lr=lr, cost=cost, W_out=W_out,
            bhid_out=bhid_out, bvis_out=bvis_out, fail=fail, tag=dtype,
            checks=checks, inplace=inplace,
            cost_out=_scalar_output_code(cost, _typenum(dtype), fail))


# -- the MLP step ---------------------------------------------------------------

_MLP_CODE = r"""
{
    const npy_intp L = %(n_hidden)d;            /* sigmoid layers */
    PyArrayObject *Win[%(n_hidden)d + 1] = {%(W_in)s};
    PyArrayObject *bin[%(n_hidden)d + 1] = {%(b_in)s};
    npy_intp dims[%(n_hidden)d + 2], l, total = 0, widest = 0, work = 0;
    dims[0] = PyArray_DIMS(%(x)s)[0];
    if (PyArray_NDIM(%(x)s) != 1) {
        PyErr_SetString(PyExc_ValueError, "x must be a vector");
        %(fail)s
    }
    for (l = 0; l <= L; ++l) {
        if (PyArray_NDIM(Win[l]) != 2 || PyArray_DIMS(Win[l])[0] != dims[l]
                || PyArray_NDIM(bin[l]) != 1
                || PyArray_DIMS(bin[l])[0] != PyArray_DIMS(Win[l])[1]) {
            PyErr_Format(PyExc_ValueError, "layer %%ld: W must be (%%ld, n) "
                         "and b (n,)", (long)l, (long)dims[l]);
            %(fail)s
        }
        dims[l + 1] = PyArray_DIMS(Win[l])[1];
    }
    const npy_int64 label = (npy_int64)((%(label_ctype)s *)PyArray_DATA(%(y)s))[0];
    if (label < 0 || label >= dims[L + 1]) {
        PyErr_Format(PyExc_ValueError, "y must be a label in [0, %%ld), got "
                     "%%lld", (long)dims[L + 1], (long long)label);
        %(fail)s
    }
    %(inplace)s
    %(cost_out)s
    {
    PyArrayObject *Wout[%(n_hidden)d + 1] = {%(W_out)s};
    PyArrayObject *bout[%(n_hidden)d + 1] = {%(b_out)s};
    const T_%(tag)s lr = ((T_%(tag)s *)PyArray_DATA(%(lr)s))[0];
    for (l = 0; l <= L + 1; ++l) {
        total += dims[l];
        if (dims[l] > widest) widest = dims[l];
        if (l <= L) work += dims[l] * dims[l + 1];
    }
    const int nt = sda_threads(&sda_pace_%(name)s, work);
    const double started = sda_now();
    /* scratch: row indices; h[l], the activations of layer l (h[0] = x,
       h[L + 1] the logits); two deltas; one accumulator per chunk of rows */
    npy_intp *rows = (npy_intp *)malloc(sizeof(npy_intp) * widest
                                        + sizeof(T_%(tag)s) * (total + (2 + SDA_CHUNKS) * widest));
    if (!rows) { PyErr_NoMemory(); %(fail)s }
    T_%(tag)s *h[%(n_hidden)d + 2];
    h[0] = (T_%(tag)s *)(rows + widest);
    for (l = 1; l <= L + 1; ++l) h[l] = h[l - 1] + dims[l - 1];
    T_%(tag)s *delta = h[L + 1] + dims[L + 1], *below = delta + widest;
    T_%(tag)s *acc = below + widest;
    double cost = 0;
    sda_gather_%(tag)s(%(x)s, h[0]);

    #pragma omp parallel num_threads(nt)
    {
        const int t = sda_thread(), T = sda_nthreads();
        T_%(tag)s *d = delta, *dprev = below;
        npy_intp i, j, k;
        int c;

        /* forward: h[k+1] = s(h[k] W + b), skipping zero inputs; each
           chunk of rows is summed on its own, then the chunks for each
           column (the same sums for any number of threads) */
        for (k = 0; k <= L; ++k) {
            const npy_intp m = dims[k], n = dims[k + 1];
            const npy_intp j0 = n * t / T, j1 = n * (t + 1) / T;
            const T_%(tag)s *W = (const T_%(tag)s *)PyArray_DATA(Wout[k]);
            const T_%(tag)s *b = (const T_%(tag)s *)PyArray_DATA(bout[k]);
            for (c = t; c < SDA_CHUNKS; c += T) {
                const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
                T_%(tag)s *mine = acc + c * widest;
                for (j = 0; j < n; ++j) mine[j] = 0;
                sda_axpy_rows_%(tag)s(W + i0 * n, i1 - i0, n, h[k] + i0, mine, rows + i0);
            }
            #pragma omp barrier
            for (j = j0; j < j1; ++j) {
                T_%(tag)s a = b[j];
                for (int u = 0; u < SDA_CHUNKS; ++u) a += acc[u * widest + j];
                h[k + 1][j] = k < L ? sda_vsigmoid_%(tag)s(a) : a;
            }
            #pragma omp barrier
        }
        /* softmax and the negative log-likelihood; d = p - onehot(label) */
        #pragma omp single
        {
            const npy_intp K = dims[L + 1];
            const T_%(tag)s *a = h[L + 1];
            T_%(tag)s mx = a[0];
            double sum = 0;
            for (j = 1; j < K; ++j) if (a[j] > mx) mx = a[j];
            for (j = 0; j < K; ++j) { d[j] = sda_exp_neg_%(tag)s(a[j] - mx); sum += d[j]; }
            for (j = 0; j < K; ++j) d[j] = (T_%(tag)s)(d[j] / sum);
            d[label] -= 1;
            cost = log(sum) + mx - a[label];
        }
        /* backward, top layer first: each row of W gives one entry of the
           delta below and is updated right after, while it is in cache;
           the rows split over the threads with no reduction */
        for (k = L; k >= 0; --k) {
            T_%(tag)s *W = (T_%(tag)s *)PyArray_DATA(Wout[k]);
            T_%(tag)s *b = (T_%(tag)s *)PyArray_DATA(bout[k]);
            const npy_intp m = dims[k], n = dims[k + 1];
            const npy_intp j0 = n * t / T, j1 = n * (t + 1) / T;
            const T_%(tag)s *hin = h[k];
            /* the chunks of the forward pass: the same groups of four rows
               (and so the same rounding) for any number of threads */
            for (c = t; c < SDA_CHUNKS; c += T) {
                const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
                if (k > 0) {
                    for (i = i0; i < i1; i += 4) {
                        T_%(tag)s s[4];
                        npy_intp r, nr = i1 - i < 4 ? i1 - i : 4;
                        sda_dot_rows_%(tag)s(W, i, nr, n, d, s);
                        for (r = 0; r < nr; ++r) {
                            dprev[i + r] = s[r] * hin[i + r] * (1 - hin[i + r]);
                            sda_rank1_%(tag)s(n, lr * hin[i + r], d, W + (i + r) * n);
                        }
                    }
                } else {  /* no delta below the input: rows with x != 0 only */
                    for (i = i0; i < i1; ++i)
                        if (hin[i] != 0) sda_rank1_%(tag)s(n, lr * hin[i], d, W + i * n);
                }
            }
            for (j = j0; j < j1; ++j) b[j] -= lr * d[j];
            #pragma omp barrier
            { T_%(tag)s *tmp = d; d = dprev; dprev = tmp; }
        }
    }
    sda_paced(&sda_pace_%(name)s, work, nt, sda_now() - started);
    ((T_%(tag)s *)PyArray_DATA(%(cost)s))[0] = (T_%(tag)s)cost;
    free(rows);
    }
}
"""


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
    _sources = (_MLP_CODE,)
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
        inplace = "".join(_inplace_code(i, o, fail, self.inplace)
                          for i, o in zip(params, new))
        return _MLP_CODE % dict(
            name=name, n_hidden=self.n_hidden, x=x, y=y, lr=lr, cost=cost, fail=fail,
            tag=dtype,
            label_ctype=("npy_int32" if node.inputs[1].dtype == "int32"
                         else "npy_int64"),
            W_in=", ".join(params[0::2]), b_in=", ".join(params[1::2]),
            W_out=", ".join(new[0::2]), b_out=", ".join(new[1::2]),
            inplace=inplace,
            cost_out=_scalar_output_code(cost, _typenum(dtype), fail))


@node_rewriter([DenoisingSGDStep, MLPSGDStep], inplace=True)
def _local_inplace_step(fgraph, node):
    """Update the parameters in place rather than copying them each step."""
    if not node.op.inplace:
        return node.op.as_inplace()(*node.inputs, return_list=True)
    return False


optdb.register("sda_inplace_fused_steps",
               dfs_rewriter(_local_inplace_step, name="sda_inplace_fused_steps"),
               "fast_run", "inplace", position=50.3)


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
