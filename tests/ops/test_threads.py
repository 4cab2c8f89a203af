"""One thread policy for sda's C ops: the matrix products on sda's threads
(sda.ops.blas), the same results on any number of threads, one thread when
another process takes a core."""

import ctypes
import os
import subprocess
import sys
import time

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.tensor.blas import Dot22, Gemm
from pytensor.tensor.blas_c import CGemv, CGer

import sda
from sda.ops import blas, threads
from sda.ops.threads import pinned, policy

# (rows, inner, columns) of a @ b: the library's shapes, and shapes whose
# pieces OpenBLAS computes in other last bits than the whole
SHAPES = [(20, 784, 1000), (128, 1000, 1000), (1000, 20, 700),
          (128, 784, 10), (1, 1000, 1500), (20, 128, 500), (100, 128, 200)]


def _ops(fn):
    return {type(node.op) for node in fn.maker.fgraph.apply_nodes}


def _products(dtype):
    """a @ b, a.T @ b, a @ b.T, gemv, ger and an in-place SGD update."""
    a, b = pt.matrix("a", dtype=dtype), pt.matrix("b", dtype=dtype)
    v = pt.vector("v", dtype=dtype)
    mode = sda.compile_mode("CVM")
    mats = pytensor.function([a, b], [a @ b, a.T.T @ b], mode=mode)
    W = pytensor.shared(np.zeros((3, 3), dtype=dtype))
    update = pytensor.function([a, b], [], updates=[(W, W - np.asarray(0.1, dtype) * a.T @ b)],
                               mode=mode)
    vec = pytensor.function([a, v], a @ v, mode=mode)
    return mats, update, W, vec


def test_the_library_compiles_its_products_on_its_threads():
    mats, update, _, vec = _products("float32")
    assert blas.ThreadedDot22 in _ops(mats) and Dot22 not in _ops(mats)
    assert blas.ThreadedGemm in _ops(update) and Gemm not in _ops(update)
    assert blas.ThreadedCGemv in _ops(vec) and CGemv not in _ops(vec)
    x, y = pt.vector("x", dtype="float32"), pt.vector("y", dtype="float32")
    A = pytensor.shared(np.ones((300, 200), dtype="float32"))
    ger = pytensor.function([x, y], [], updates=[(A, A + pt.outer(x, y))],
                            mode=sda.compile_mode("CVM"))
    assert {blas.ThreadedCGer} & _ops(ger) and CGer not in _ops(ger)


def test_a_plain_mode_and_the_flag_keep_pytensors_products():
    a, b = pt.matrices("a", "b")
    plain = pytensor.function([a, b], a @ b, mode="CVM")
    assert not any(issubclass(t, blas._Threaded) for t in _ops(plain))
    left_out = sda.compile_mode("CVM").excluding(blas.TAG)
    kept = pytensor.function([a, b], a @ b, mode=left_out)
    assert Dot22 in _ops(kept)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_are_the_same_on_one_thread_and_on_all(dtype):
    mats, update, W, vec = _products(dtype)
    rng = np.random.RandomState(0)
    for rows, inner, cols in SHAPES:
        a = rng.rand(rows, inner).astype(dtype)
        b = rng.rand(inner, cols).astype(dtype)
        v = rng.rand(inner).astype(dtype)
        got = {}
        for way in ("one", "all"):
            W.set_value(np.ones((rows, cols), dtype=dtype))
            with pinned(way):
                products = mats(a, b)
                update(a.T.copy(), b)
                got[way] = [*products, W.get_value(), vec(a, v)]
        for one, several in zip(got["one"], got["all"]):
            assert np.array_equal(one, several), (rows, inner, cols)
        np.testing.assert_allclose(got["one"][0], a @ b,
                                   rtol=1e-4 if dtype == "float32" else 1e-12)


_SUM_OF_A_PRODUCT = """
import numpy as np, pytensor, pytensor.tensor as pt, sda
a, b = pt.dmatrix('a'), pt.dmatrix('b')
f = pytensor.function([a, b], a @ b, mode=sda.compile_mode('CVM'))
rng = np.random.RandomState(0)
print(repr(f(rng.rand(1000, 20), rng.rand(20, 700)).sum()))
"""


def test_products_without_openmp_give_the_same_results(capsys):
    # OMP_NUM_THREADS=1 compiles sda's C without threads at all (a child
    # process); this process has them
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _SUM_OF_A_PRODUCT], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    exec(_SUM_OF_A_PRODUCT, {})
    assert capsys.readouterr().out.strip() == done.stdout.strip()


def test_openblas_keeps_its_own_thread_count():
    import scipy_openblas32
    lib = ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(),
                                   "libscipy_openblas.so"))
    before = lib.scipy_openblas_get_num_threads()
    mats, *_ = _products("float32")
    mats(np.ones((20, 784), "float32"), np.ones((784, 1000), "float32"))
    assert lib.scipy_openblas_get_num_threads() == before


def test_pinned_names_the_ways_and_gives_the_choice_back():
    with pytest.raises(ValueError, match="way must be 'one', 'all' or None, "
                                         "got 'two'"):
        with pinned("two"):
            pass
    with pinned("one"):
        assert policy()["pinned"] == "one"
        with pinned("all"):
            assert policy()["pinned"] == "all"
        assert policy()["pinned"] == "one"
    assert policy()["pinned"] is None


def test_every_compiled_op_shares_the_one_state():
    # the C ops find the state through the capsule: windows counted there
    mats, *_ = _products("float32")
    a = np.ones((128, 1000), "float32")
    b = np.ones((1000, 1000), "float32")
    before = policy()["windows"]
    deadline = time.perf_counter() + 0.5
    while time.perf_counter() < deadline:
        mats(a, b)
    assert policy()["windows"] > before
    assert threads._state.ready == 1


def _spin(seconds):
    return subprocess.Popen([sys.executable, "-c", f"import time\n"
                             f"t = time.time() + {seconds}\n"
                             f"while time.time() < t: pass"])


@pytest.mark.slow
@pytest.mark.skipif(len(os.sched_getaffinity(0)) != 2,
                    reason="the load test is written for two cores")
def test_one_thread_when_another_process_takes_a_core():
    rng = np.random.RandomState(0)
    x = rng.rand(400, 784).astype(pytensor.config.floatX)
    X, Y = sda.shared_dataset((x, rng.randint(0, 10, 400)))
    model = sda.SdA(np.random.RandomState(1), n_ins=784,
                    hidden_layers_sizes=[1000, 1000], n_outs=10)
    train, _, _ = model.build_finetune_functions([(X, Y)] * 3, 20, 0.01)
    spinner = _spin(30)
    try:
        time.sleep(0.5)
        states = []
        for seconds in (2, 3):
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                for i in range(20):
                    train(i)
            states.append(policy())
    finally:
        spinner.kill()
        spinner.wait()
    settled, state = states
    # the policy saw the other process take a core, and tried no second
    # thread while it ran: a trial would have waited for the lost core
    assert state["others"] > 0.5 and state["free"] == 1, state
    assert not state["threaded"], state
    assert state["trials"] == settled["trials"], (settled, state)
    assert state["rate"]["one"] > 0


def test_threadpoolctl_caps_the_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    mats, *_ = _products("float32")
    a = np.ones((128, 1000), "float32")
    b = np.ones((1000, 1000), "float32")
    mats(a, b)  # OpenMP is loaded by now
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        before = policy()["windows"]
        deadline = time.perf_counter() + 0.3
        while time.perf_counter() < deadline:
            mats(a, b)
        # one thread at most: nothing for the policy to choose, or count
        assert policy()["windows"] == before


@pytest.mark.parametrize("batch", [1, 20])
def test_training_is_the_same_on_one_thread_and_on_all(batch):
    dtype = pytensor.config.floatX
    rng = np.random.RandomState(0)
    x = (rng.rand(200, 784) > 0.7) * rng.rand(200, 784)
    y = rng.randint(0, 10, 200)
    runs = {}
    for way in ("one", "all"):
        X, Y = sda.shared_dataset((x.astype(dtype), y))
        model = sda.SdA(np.random.RandomState(1), n_ins=784,
                        hidden_layers_sizes=[700, 300], n_outs=10)
        with pinned(way):
            for layer in model.pretraining_functions(X, batch):
                for i in range(200 // batch):
                    layer(i, 0.2, 0.05)
            train, validate, _ = model.build_finetune_functions(
                [(X, Y)] * 3, batch, 0.1)
            for i in range(200 // batch):
                train(i)
            runs[way] = [p.get_value() for p in model.params], validate()
    for one, several in zip(runs["one"][0], runs["all"][0]):
        assert np.array_equal(one, several)
    assert runs["one"][1] == runs["all"][1]
