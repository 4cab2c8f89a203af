"""The hooks into dependency internals (sda._compat): one test each, named after it.

When an upgrade of PyTensor, JAX or Optuna breaks a hook, the test of that
hook fails and says which; the hook's docstring says what it relies on.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.tensor.random.variable import shared_rng

import sda
from sda import _compat


def run_python(code, **env):
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTENSOR_FLAGS", "SDA_MODE")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full,
                          capture_output=True, text=True, timeout=120)


def test_user_set():
    code = ("import pytensor; from sda._compat import user_set; "
            "print(user_set('mode'), user_set('openmp')); "
            "pytensor.config.mode = 'NUMBA'; print(user_set('mode'))")
    assert run_python(code).stdout.split() == ["False", "False", "True"]
    flagged = run_python(code, PYTENSOR_FLAGS="mode=CVM,openmp=False")
    assert flagged.stdout.split() == ["True", "True", "True"], flagged.stderr


def test_put_value():
    shared = pytensor.shared(np.zeros(3))
    stored = np.arange(3.0).view(type("Marked", (np.ndarray,), {}))
    _compat.put_value(shared, stored)
    assert shared.get_value(borrow=True) is stored  # no filter, no copy


def test_set_default_update():
    rng = shared_rng(np.random.default_rng(0))
    next_rng, draw = rng.normal(size=(4,))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        _compat.set_default_update(rng, next_rng)
    f = pytensor.function([], draw, mode=sda.compile_mode())
    assert not np.array_equal(f(), f())  # the state advances by itself


def test_random_states():
    rng = shared_rng(np.random.default_rng(0))
    next_rng, draw = rng.normal(size=(4,))
    _compat.set_default_update(rng, next_rng)
    other = shared_rng(np.random.default_rng(1))  # no default update
    _, fixed = other.normal(size=(4,))
    assert _compat.random_states([draw + fixed]) == [(rng, next_rng)]


def test_UniformBernoulliRV(floatX):
    p = pt.scalar("p", dtype=floatX)
    for mode in ("CVM", "NUMBA"):
        rng = shared_rng(np.random.default_rng(7))
        next_rng, mask = _compat.UniformBernoulliRV()(
            p, size=(200,), rng=rng, return_next_rng=True)
        f = pytensor.function([p], mask, updates={rng: next_rng}, mode=mode)
        expected = np.random.default_rng(7).random(200) <= np.asarray(
            0.3, floatX)
        np.testing.assert_array_equal(f(0.3), expected, err_msg=mode)


def test_gxx_supports_openmp():
    from pytensor.link.c.op import OpenMPOp
    supported = _compat.gxx_supports_openmp()
    assert isinstance(supported, bool)
    assert OpenMPOp.gxx_support_openmp == supported  # cached where PyTensor looks


def test_runs_c_thunks():
    from pytensor.compile.mode import get_mode
    assert _compat.runs_c_thunks(get_mode("CVM").linker)
    assert not _compat.runs_c_thunks(get_mode("NUMBA").linker)
    assert not _compat.runs_c_thunks(get_mode("FAST_COMPILE").linker)


def test_careduce_in_output_dtype():
    jax = pytest.importorskip("jax")
    x = pt.matrix("x", dtype="float32")
    graph = [pt.sum(x), pt.mean(x, axis=0), pt.max(x)]
    backend = sda.backend.resolve("JAX")
    f = backend.function([x], graph)  # calls run with 64-bit types on
    ops = {type(n.op).__name__ for n in f.maker.fgraph.apply_nodes}
    assert "Cast" in str([n.op for n in f.maker.fgraph.apply_nodes]), ops
    with jax.enable_x64(True):
        out = f(np.ones((3, 2), "float32"))
    assert [o.dtype for o in out] == ["float32"] * 3
    np.testing.assert_allclose(out[0], 6)


def test_queued_params():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.enqueue_trial({"x": 1, "y": "a"})
    (waiting,) = study.get_trials(deepcopy=False)
    assert waiting.params == {}
    assert _compat.queued_params(waiting) == {"x": 1, "y": "a"}
