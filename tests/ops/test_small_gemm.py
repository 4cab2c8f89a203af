"""The float32 products of a short minibatch (sda/ops/c/sda_small_gemm.h):
the forward product X W, the back-propagated error D W^T and the weight
gradient's update W - lr X^T D, in every memory order PyTensor hands the
BLAS, at the minibatch sizes and odd shapes around the loops' tiles, equal
to float64 products and the same on one thread as on all."""

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from sda.ops.threads import pinned

# (minibatch, inputs, outputs): the tutorial's shapes, every tail of the
# tiles (6 rows, 64 columns, 16 lanes, 128-row chunks), the thresholds
# (32, 64 and 128 examples) and a step past them
SHAPES = [(20, 784, 1000), (1, 784, 1000), (7, 65, 129), (32, 1000, 500),
          (33, 1000, 300), (64, 300, 784), (65, 200, 300), (20, 1000, 10),
          (5, 17, 64), (13, 129, 70), (20, 64, 1000), (100, 70, 130),
          (128, 784, 1000), (129, 100, 100)]
ORDERS = list(itertools.product("CF", "CF"))


def _functions():
    mode = sda.compile_mode("CVM")
    x, w = pt.matrix("x", dtype="float32"), pt.matrix("w", dtype="float32")
    product = pytensor.function([x, w], x @ w, mode=mode)
    W = pytensor.shared(np.zeros((2, 2), dtype="float32"))
    d = pt.matrix("d", dtype="float32")
    update = pytensor.function(
        [x, d], [], updates=[(W, W - np.float32(0.1) * x.T @ d)], mode=mode)
    return product, update, W


@pytest.fixture(scope="module")
def functions():
    return _functions()


def _both_ways(fn, *args):
    out = {}
    for way in ("one", "all"):
        with pinned(way):
            out[way] = fn(*args)
    return out["one"], out["all"]


@pytest.mark.parametrize("rows,inner,cols", SHAPES)
def test_products_of_a_short_minibatch(functions, rows, inner, cols):
    product, _, _ = functions
    rng = np.random.RandomState(rows * inner + cols)
    for order_x, order_w in ORDERS:
        x = np.asarray(rng.rand(rows, inner) - 0.5, "float32", order=order_x)
        w = np.asarray(rng.rand(inner, cols) - 0.5, "float32", order=order_w)
        one, several = _both_ways(product, x, w)
        assert np.array_equal(one, several), (order_x, order_w)
        want = x.astype(np.float64) @ w.astype(np.float64)
        np.testing.assert_allclose(one, want, rtol=1e-4, atol=2e-6 * inner,
                                   err_msg=f"{order_x}{order_w}")


@pytest.mark.parametrize("rows,inner,cols", SHAPES)
def test_weight_updates_of_a_short_minibatch(functions, rows, inner, cols):
    _, update, W = functions
    rng = np.random.RandomState(rows + inner * cols)
    W0 = (rng.rand(inner, cols) - 0.5).astype("float32")
    for order_x, order_d in ORDERS:
        x = np.asarray(rng.rand(rows, inner), "float32", order=order_x)
        d = np.asarray(rng.rand(rows, cols) - 0.5, "float32", order=order_d)
        got = []
        for way in ("one", "all"):
            W.set_value(W0.copy())
            with pinned(way):
                update(x, d)
            got.append(W.get_value())
        assert np.array_equal(*got), (order_x, order_d)
        want = W0 - 0.1 * (x.astype(np.float64).T @ d.astype(np.float64))
        np.testing.assert_allclose(got[0], want, rtol=1e-4,
                                   atol=2e-6 * rows, err_msg=order_x + order_d)


def test_a_zero_minibatch_and_nan_free_outputs(functions):
    product, _, _ = functions
    # a product over zeros is zero, not what the output memory held
    x = np.zeros((20, 784), dtype="float32")
    w = np.ones((784, 1000), dtype="float32")
    for _ in range(3):
        assert not product(x, w).any()
    # and infinities propagate as the BLAS's would
    x[3, 5] = np.inf
    out = product(x, w)
    assert np.isinf(out[3]).all() and np.isfinite(np.delete(out, 3, 0)).all()
