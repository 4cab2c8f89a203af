"""The compilation set-up: BLAS, the library's mode, the user's choices, no global side effects."""

import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from sda.backend import modes


@pytest.fixture
def restored_mode(monkeypatch):
    """set_mode changes process-wide settings: put them back after."""
    monkeypatch.setattr(pytensor.config, "mode", pytensor.config.mode)
    monkeypatch.setattr(modes, "_chosen", modes._chosen)


def run_python(code, **env):
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTENSOR_FLAGS", "SDA_MODE")}
    full.update(env)
    return subprocess.run([sys.executable, "-W", "always", "-c", code],
                          env=full, capture_output=True, text=True,
                          timeout=120)


def test_packaging_is_installed_so_the_softplus_rewrites_apply():
    # Without ``packaging`` PyTensor silently skips its log(sigmoid) rewrites.
    import packaging  # noqa: F401
    a = pt.dvector("a")
    f = pytensor.function([a], pt.log(1 - pt.sigmoid(a)),
                          mode=sda.compile_mode())
    np.testing.assert_allclose(f([50.0, 800.0]), [-50.0, -800.0])


def test_c_backend_is_linked_to_a_blas_and_is_the_default():
    assert "openblas" in sda.blas_ldflags()
    assert sda.get_mode() == "CVM"
    assert sda.backend.resolve().runs_c


def test_blas_product_is_correct_in_both_precisions(floatX):
    A, B = pt.matrix("A"), pt.matrix("B")
    f = pytensor.function([A, B], pt.dot(A, B), mode="CVM")
    ops = {type(n.op).__name__ for n in f.maker.fgraph.toposort()}
    assert ops & {"Dot22", "Gemm", "Dot22Scalar"}, ops
    rng = np.random.default_rng(0)
    a = rng.random((30, 40)).astype(floatX)
    b = rng.random((40, 20)).astype(floatX)
    np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-5)


def test_set_mode_refuses_fast_compile_and_restores(restored_mode):
    before = sda.get_mode()
    with pytest.raises(ValueError, match="mode must not be 'FAST_COMPILE'"):
        sda.set_mode("fast_compile")
    assert sda.get_mode() == before
    assert sda.set_mode("numba") == "NUMBA"
    assert sda.get_mode() == "NUMBA"
    # asked for: the process-wide setting, the user's functions' too
    assert pytensor.config.mode == "NUMBA"


def test_cvm_without_blas_warns(monkeypatch, restored_mode):
    monkeypatch.setattr(modes, "blas_ldflags", lambda: "")
    with pytest.warns(sda.SlowBackendWarning, match="without a BLAS"):
        sda.set_mode("CVM")


def test_a_users_choices_are_kept_and_the_slow_one_is_named():
    code = "import sda, pytensor; print(sda.get_mode(), repr(sda.blas_ldflags()))"
    chosen = run_python(code, PYTENSOR_FLAGS="mode=NUMBA")
    assert chosen.stdout.split()[0] == "NUMBA"
    slow = run_python(code, PYTENSOR_FLAGS="mode=CVM,blas__ldflags=")
    assert slow.stdout.split() == ["CVM", "''"]
    assert "SlowBackendWarning" in slow.stderr
    fallback = run_python(code, PYTENSOR_FLAGS="blas__ldflags=")
    assert fallback.stdout.split()[0] == "NUMBA"  # faster than C sans BLAS
    env_mode = run_python(code, SDA_MODE="numba")
    assert env_mode.stdout.split()[0] == "NUMBA"


def test_a_mode_set_in_code_before_import_is_kept():
    code = ("import pytensor; pytensor.config.mode = {!r}; import sda; "
            "print(sda.get_mode(), pytensor.config.mode)")
    for mode in ("NUMBA", "CVM", "FAST_RUN"):
        assert run_python(code.format(mode)).stdout.split() == [mode, mode]
    untouched = run_python("import sda; print(sda.get_mode())")
    assert untouched.stdout.split() == ["CVM"]


def test_import_changes_no_global_setting():
    # the issue's own check, for every setting a library must leave alone
    code = """
import pytensor
settings = lambda: (str(pytensor.config.mode), pytensor.config.floatX,
                    pytensor.config.linker, pytensor.config.optimizer)
before = settings()
import jax, matplotlib
x64, backend = jax.config.jax_enable_x64, matplotlib.get_backend()
import sda, sda.sklearn, sda.sweep
assert settings() == before, (settings(), before)
assert jax.config.jax_enable_x64 == x64
assert matplotlib.get_backend() == backend
print("kept", before[0], sda.get_mode())
"""
    for env in ({}, {"PYTENSOR_FLAGS": "floatX=float32"},
                {"SDA_MODE": "JAX"}):
        out = run_python(code, **env)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split()[:2] == ["kept", "Mode"]
    # SDA_MODE is the library's choice alone
    assert out.stdout.split()[2] == "JAX"


def test_the_library_compiles_in_its_own_mode_not_the_global_one():
    code = """
import numpy, pytensor, sda
assert str(pytensor.config.mode) == "Mode"
model = sda.SdA(numpy_rng=0, n_ins=6, hidden_layers_sizes=[4], n_outs=2,
                corruption_levels=0.1)
X = numpy.random.default_rng(0).random((20, 6))
fn = model.pretraining_functions(X, 5)[0]
fn(0)
print(type(fn.function.maker.linker).__name__, model.backend.name,
      str(pytensor.config.mode))
"""
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["VMLinker", "CVM", "Mode"]


def test_a_backend_is_resolved_once_per_mode():
    assert sda.backend.resolve("cvm") is sda.backend.resolve("CVM")
    backend = sda.backend.resolve("NUMBA")
    assert sda.backend.resolve(backend) is backend
    assert not backend.runs_c and sda.backend.resolve("CVM").runs_c
    with pytest.raises(ValueError, match="mode must be a mode name"):
        sda.backend.resolve(3)
