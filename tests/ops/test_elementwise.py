"""The vectorised sigmoid and softplus: accurate to a few ulps everywhere,
swapped in by the C backend's builders and nowhere else."""

import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode

import sda
from sda.ops.elementwise import TAG, VectorisedUnary

PYTHON = Mode(linker="py", optimizer="fast_run")
CVM = get_mode("CVM").including(TAG)


def exact(fn, a):
    """The function in long double, from exp(-|a|) (never overflows)."""
    a = a.astype(np.longdouble)
    e = np.exp(-np.abs(a))
    if fn == "sigmoid":
        return np.where(a >= 0, 1 / (1 + e), e / (1 + e))
    return np.maximum(a, 0) + np.log1p(e)


def grid(dtype):
    """Dense around 0, sparse out to where exp underflows, plus the ends."""
    dense = np.linspace(-20, 20, 40001)
    wide = np.concatenate([-np.geomspace(1e-30, 800, 5000),
                           np.geomspace(1e-30, 800, 5000)])
    info = np.finfo(dtype)
    ends = [0.0, -0.0, info.tiny, -info.tiny, info.max, -info.max]
    return np.concatenate([dense, wide, ends]).astype(dtype)


def compiled(fn, dtype, mode=CVM):
    x = pt.vector(dtype=dtype)
    return pytensor.function([x], getattr(pt, fn)(x), mode=mode)


@pytest.mark.parametrize("fn", ["sigmoid", "softplus"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_within_four_ulps_of_the_exact_values(fn, dtype):
    f = compiled(fn, dtype)
    assert any(isinstance(n.op, VectorisedUnary)
               for n in f.maker.fgraph.apply_nodes)
    a = grid(dtype)
    got = f(a)
    assert got.dtype == dtype
    want = exact(fn, a)
    info = np.finfo(dtype)
    normal = np.abs(want) >= info.tiny
    ulps = np.abs(got[normal] - want[normal]) / (np.abs(want[normal]) * info.eps)
    assert ulps.max() <= 4, f"{ulps.max():.1f} ulps at a={a[normal][ulps.argmax()]}"
    # where the exact value is below the normal range, 0 (or a subnormal)
    assert np.all(np.abs(got[~normal]) < info.tiny)


@pytest.mark.parametrize("fn", ["sigmoid", "softplus"])
def test_the_ends_of_the_line(fn):
    a = np.array([np.inf, -np.inf, np.nan, 0.0])
    got = compiled(fn, "float64")(a)
    want = {"sigmoid": [1, 0, np.nan, 0.5],
            "softplus": [np.inf, 0, np.nan, np.log(2)]}[fn]
    np.testing.assert_allclose(got, want, rtol=1e-15)


@pytest.mark.parametrize("fn", ["sigmoid", "softplus"])
def test_c_code_matches_the_numpy_reference(fn, floatX):
    rng = np.random.default_rng(3)
    x = pt.tensor3(dtype=floatX)
    out = VectorisedUnary(fn)(x)
    a = (rng.standard_normal((3, 5, 7)) * 30).astype(floatX)
    a = a[:, ::2, ::-1]  # not contiguous
    f_c = pytensor.function([x], out, mode=CVM)
    f_py = pytensor.function([x], out, mode=PYTHON)
    rtol = 1e-6 if floatX == "float32" else 1e-14
    np.testing.assert_allclose(f_c(a), f_py(a), rtol=rtol, atol=0)
    assert f_c(a).shape == a.shape
    empty = np.zeros((2, 0, 4), floatX)
    assert f_c(empty).shape == (2, 0, 4)


@pytest.mark.parametrize("fn", ["sigmoid", "softplus"])
def test_the_same_on_one_thread_and_on_all(fn, floatX):
    # 20 x 1000 + 7 elements: split over the threads, with a tail that is
    # not a whole line of 16; then one example, which never is split
    from sda.ops.threads import pinned
    x = pt.vector(dtype=floatX)
    f = pytensor.function([x], VectorisedUnary(fn)(x), mode=CVM)
    rng = np.random.default_rng(4)
    for n in (20 * 1000 + 7, 1000):
        a = (rng.standard_normal(n) * 10).astype(floatX)
        with pinned("one"):
            one = f(a)
        with pinned("all"):
            f(-a)  # what a part left out would keep in a reused output
            several = f(a)
        assert np.array_equal(one, several), n
        np.testing.assert_allclose(one, f(a), rtol=0)


def test_builders_swap_them_in_on_the_c_backend_only():
    assert sda.compile_mode("NUMBA") == "NUMBA"
    x = pt.matrix()
    graph = pt.sigmoid(x).sum() + pt.softplus(x).sum()
    ops = {type(n.op) for n in pytensor.function(
        [x], graph, mode=sda.compile_mode("CVM")).maker.fgraph.apply_nodes}
    assert VectorisedUnary in ops
    ops = {type(n.op) for n in pytensor.function(
        [x], graph, mode="CVM").maker.fgraph.apply_nodes}
    assert VectorisedUnary not in ops


def test_optimizer_excluding_leaves_them_out():
    """PyTensor's flag, read once at start-up: so in a fresh process."""
    code = ("import sda, pytensor, pytensor.tensor as pt; x = pt.vector(); "
            "f = pytensor.function([x], pt.sigmoid(x), mode=sda.compile_mode()); "
            "print(sorted({type(n.op).__name__ for n in f.maker.fgraph.apply_nodes}))")
    env = dict(os.environ, PYTENSOR_FLAGS=f"optimizer_excluding={TAG}",
               SDA_MODE="CVM")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "['Elemwise']"


def test_pretraining_and_finetuning_use_them(float64):
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 12)), rng.integers(0, 3, 40)
    sets = [sda.shared_dataset((x, y))] * 3
    model = sda.SdA(np.random.RandomState(1), n_ins=12,
                    hidden_layers_sizes=(6, 5), n_outs=3)
    pre = model.pretraining_functions(sets[0][0], 10, mode="CVM")[1]
    train_fn, _, _ = model.build_finetune_functions(sets, 10, 0.1, mode="CVM")
    for fn in (pre.function, train_fn.function):
        fns = {n.op.fn for n in fn.maker.fgraph.apply_nodes
               if isinstance(n.op, VectorisedUnary)}
        assert "sigmoid" in fns
    assert "softplus" in {n.op.fn for n in pre.function.maker.fgraph.apply_nodes
                          if isinstance(n.op, VectorisedUnary)}


def test_gradients_through_them_are_unchanged(floatX):
    """The rewrite runs after differentiation: the cross-entropy of a
    sigmoid layer and its gradient compile to the same numbers."""
    rng = np.random.default_rng(7)
    W = pytensor.shared(rng.standard_normal((9, 4)).astype(floatX))
    x = pt.matrix()
    z = pt.sigmoid(pt.dot(x, W))
    cost = pt.mean(pt.sum(pt.softplus(pt.dot(z, W.T)) - x * pt.dot(z, W.T), 1))
    outs = [cost, pytensor.grad(cost, W)]
    a = rng.random((6, 9)).astype(floatX)
    got = pytensor.function([x], outs, mode=CVM)(a)
    want = pytensor.function([x], outs, mode="CVM")(a)
    rtol = 1e-5 if floatX == "float32" else 1e-13
    for g, w in zip(got, want):
        assert g.dtype == floatX
        np.testing.assert_allclose(g, w, rtol=rtol)


@pytest.mark.parametrize("fn", ["sigmoid", "softplus"])
def test_their_own_gradient_matches_finite_differences(fn, float64):
    a = np.random.default_rng(2).normal(scale=4, size=(3, 4))
    pytensor.gradient.verify_grad(VectorisedUnary(fn), [a], mode=CVM,
                                  rng=np.random.default_rng(0))


def test_bad_arguments():
    with pytest.raises(ValueError, match="fn must be one of .* got 'tanh'"):
        VectorisedUnary("tanh")
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        VectorisedUnary("sigmoid")(pt.lvector())
