"""The fused single-example SGD steps: the same updates as the symbolic
gradients, in place, in C, chosen by default where they help."""

import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode

import sda
from sda.ops.fused import DenoisingSGDStep, MLPSGDStep

PYTHON = Mode(linker="py", optimizer="fast_run")


def sparse_sets(n_ins, n_outs, sizes=(40, 20, 20), seed=0):
    """Inputs in [0, 1) with half their entries exactly zero, like MNIST's
    background, so that the skipped rows are exercised."""
    rng = np.random.default_rng(seed)
    sets = []
    for n in sizes:
        x = rng.random((n, n_ins)) * (rng.random((n, n_ins)) < 0.5)
        sets.append(sda.shared_dataset((x, rng.integers(0, n_outs, n))))
    return sets


def train(fused, sizes, n_ins, n_outs=4, steps=6):
    model = sda.SdA(np.random.RandomState(5), n_ins=n_ins,
                    hidden_layers_sizes=sizes, n_outs=n_outs,
                    corruption_levels=(0.3,) * len(sizes))
    sets = sparse_sets(n_ins, n_outs)
    costs = []
    for k, fn in enumerate(model.pretraining_functions(sets[0][0], 1,
                                                       fused=fused)):
        costs += [float(fn(i, corruption=0.3, lr=0.05)) for i in range(steps)]
    train_fn, valid_score, _ = model.build_finetune_functions(
        sets, 1, 0.1, fused=fused)
    costs += [float(train_fn(i)) for i in range(steps)]
    return (np.array(costs), [p.get_value() for p in model.params],
            [a.b_prime.get_value() for a in model.dA_layers],
            np.mean(valid_score()))


@pytest.mark.parametrize("sizes, n_ins", [
    ((13, 7), 30),      # rows not a multiple of four, one thread
    ((700, 400), 200),  # big enough for the steps to use several threads
])
def test_fused_steps_match_the_symbolic_gradients(floatX, sizes, n_ins):
    rtol = 2e-4 if floatX == "float32" else 1e-10
    costs, params, b_primes, valid = train(True, sizes, n_ins)
    ref_costs, ref_params, ref_b_primes, ref_valid = train(False, sizes,
                                                           n_ins)
    np.testing.assert_allclose(costs, ref_costs, rtol=rtol)
    for got, want in zip(params + b_primes, ref_params + ref_b_primes):
        assert got.dtype == floatX
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-2)
    assert valid == ref_valid


def test_fused_steps_are_deterministic():
    first, second = train(True, (700, 400), 200), train(True, (700, 400), 200)
    np.testing.assert_array_equal(first[0], second[0])
    for a, b in zip(first[1], second[1]):
        np.testing.assert_array_equal(a, b)


def op_inputs(dtype, m=9, n=6, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.5, (m, n)).astype(dtype)
    b, bv = rng.normal(0, 0.1, n).astype(dtype), rng.normal(0, 0.1, m)
    x = (rng.random(2 * m) * (rng.random(2 * m) < 0.6)).astype(dtype)
    return W, b, bv.astype(dtype), x


@pytest.mark.parametrize("mode", ["CVM", PYTHON])
def test_denoising_step_c_code_matches_numpy(floatX, mode):
    W0, b0, bv0, x = op_inputs(floatX)
    params = [pytensor.shared(a.copy()) for a in (W0, b0, bv0)]
    vx, vxt, lr = pt.vector(), pt.vector(), pt.scalar()
    cost, *new = DenoisingSGDStep()(*params, vx, vxt, lr)
    f = pytensor.function([vx, vxt, lr], cost, mode=mode,
                          updates=list(zip(params, new)))
    # strided vectors, as slices of a matrix's columns would be
    x_clean, x_tilde = x[::2], x[1::2] * (x[::2] != 0)
    got = f(x_clean, x_tilde, np.asarray(0.3, floatX))

    y = 1 / (1 + np.exp(-(x_tilde @ W0 + b0)))
    a = W0 @ y + bv0
    z = 1 / (1 + np.exp(-a))
    want = -np.sum(x_clean * np.log(z) + (1 - x_clean) * np.log(1 - z))
    da = z - x_clean
    dy = (da @ W0) * y * (1 - y)
    rtol = 1e-5 if floatX == "float32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=rtol)
    np.testing.assert_allclose(
        params[0].get_value(),
        W0 - 0.3 * (np.outer(x_tilde, dy) + np.outer(da, y)), rtol=rtol,
        atol=1e-7)
    np.testing.assert_allclose(params[1].get_value(), b0 - 0.3 * dy,
                               rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(params[2].get_value(), bv0 - 0.3 * da,
                               rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("mode", ["CVM", PYTHON])
def test_mlp_step_c_code_matches_numpy(float64, mode):
    rng = np.random.default_rng(1)
    shapes = [(7, 5), (5,), (5, 3), (3,)]
    values = [rng.normal(0, 0.5, s) for s in shapes]
    params = [pytensor.shared(v.copy()) for v in values]
    vx, vy, lr = pt.vector(), pt.iscalar(), pt.scalar()
    cost, *new = MLPSGDStep(1)(vx, vy, lr, *params)
    f = pytensor.function([vx, vy, lr], cost, mode=mode,
                          updates=list(zip(params, new)))
    x = np.array([0.5, 0, 0.25, 0, 1, 0.75, 0])
    got = f(x, 2, 0.2)

    W1, b1, W2, b2 = values
    h = 1 / (1 + np.exp(-(x @ W1 + b1)))
    a = h @ W2 + b2
    p = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    np.testing.assert_allclose(got, -np.log(p[2]), rtol=1e-12)
    d2 = p - np.eye(3)[2]
    d1 = (W2 @ d2) * h * (1 - h)
    for param, want in zip(params, [W1 - 0.2 * np.outer(x, d1),
                                    b1 - 0.2 * d1,
                                    W2 - 0.2 * np.outer(h, d2),
                                    b2 - 0.2 * d2]):
        np.testing.assert_allclose(param.get_value(), want, rtol=1e-12)


def step_ops(fn):
    return {(type(node.op).__name__, node.op.inplace)
            for node in fn.maker.fgraph.toposort()
            if isinstance(node.op, (DenoisingSGDStep, MLPSGDStep))}


def test_fused_steps_are_the_default_for_single_examples_in_c():
    model = sda.SdA(np.random.RandomState(0), n_ins=30,
                    hidden_layers_sizes=(8, 6), n_outs=4,
                    corruption_levels=(0.1, 0.1))
    sets = sparse_sets(30, 4)
    for fn in model.pretraining_functions(sets[0][0], 1):
        # in place: the parameters are not copied on every step
        assert step_ops(fn.function) == {("DenoisingSGDStep", True)}
    train_fn = model.build_finetune_functions(sets, 1, 0.1)[0]
    assert step_ops(train_fn.function) == {("MLPSGDStep", True)}
    for fn in model.pretraining_functions(sets[0][0], 4):
        assert not step_ops(fn.function)
    assert not step_ops(model.build_finetune_functions(sets, 4, 0.1)[0]
                        .function)
    for fn in model.pretraining_functions(sets[0][0], 1, mode="NUMBA"):
        assert not step_ops(fn.function)


def test_fused_steps_need_single_examples():
    model = sda.SdA(np.random.RandomState(0), n_ins=30,
                    hidden_layers_sizes=(8,), n_outs=4,
                    corruption_levels=(0.1,))
    sets = sparse_sets(30, 4)
    with pytest.raises(ValueError, match="fused steps need batch_size 1, "
                                         "got batch_size=4"):
        model.pretraining_functions(sets[0][0], 4, fused=True)
    with pytest.raises(ValueError, match="fused steps need batch_size 1, "
                                         "got batch_size=2"):
        model.build_finetune_functions(sets, 2, 0.1, fused=True)


def test_fused_ops_refuse_bad_shapes_and_labels(float64):
    W = pytensor.shared(np.zeros((4, 3)))
    b, bv = pytensor.shared(np.zeros(3)), pytensor.shared(np.zeros(4))
    vx, vxt = pt.vector(), pt.vector()
    cost, *_ = DenoisingSGDStep()(W, b, bv, vx, vxt, np.float64(0.1))
    f = pytensor.function([vx, vxt], cost, mode="CVM")
    with pytest.raises(ValueError, match="x must be a vector of length "
                                         r"W.shape\[0\]"):
        f(np.zeros(5), np.zeros(4))

    params = [pytensor.shared(np.zeros(s)) for s in [(4, 3), (3,)]]
    vy = pt.iscalar()
    cost, *_ = MLPSGDStep(0)(vx, vy, np.float64(0.1), *params)
    f = pytensor.function([vx, vy], cost, mode="CVM")
    with pytest.raises(ValueError, match=r"y must be a label in \[0, 3\), "
                                         "got 3"):
        f(np.zeros(4), 3)
    with pytest.raises(ValueError, match=r"layer 0: W must be \(5, n\)"):
        f(np.zeros(5), 1)
    with pytest.raises(TypeError, match="b must be float64, got float32"):
        DenoisingSGDStep()(W, pt.fvector(), bv, vx, vxt, np.float64(0.1))


@pytest.mark.slow
def test_fused_steps_give_the_same_result_on_any_number_of_threads():
    # the steps go back to one thread when another process takes a core,
    # so the partial sums must not depend on the number of threads
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import hashlib, sys; sys.path.insert(0, {here!r}); "
            "from test_fused import train; "
            "c, p, bp, v = train(True, (700, 400), 200); "
            "h = hashlib.sha1(c.tobytes()); "
            "[h.update(a.tobytes()) for a in p + bp]; print(h.hexdigest())")
    digests = set()
    # OMP_NUM_THREADS=1 and openmp=False compile without OpenMP: serially
    for env in ({"OMP_NUM_THREADS": "1"}, {"OMP_NUM_THREADS": "2"},
                {"OMP_NUM_THREADS": "3"}, {"PYTENSOR_FLAGS": "openmp=False"}):
        env = dict(os.environ, **env)
        out = subprocess.run([sys.executable, "-c", code], env=env,
                             capture_output=True, text=True, timeout=300,
                             cwd=here)
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.split()[-1])
    assert len(digests) == 1


def test_openmp_follows_pytensors_flag_when_the_user_sets_it():
    code = ("import sda.ops.csource as c; print(c.use_openmp(), "
            "'-fopenmp' in c.openmp_args())")
    for flags, expected in (("", "True True"), ("openmp=False", "False False"),
                            ("openmp=True", "True True")):
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTENSOR_FLAGS", "OMP_NUM_THREADS")}
        env["PYTENSOR_FLAGS"] = flags
        out = subprocess.run([sys.executable, "-c", code], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.stdout.strip() == expected, (flags, out.stderr)
