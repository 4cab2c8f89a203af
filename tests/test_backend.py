"""The compilation set-up: BLAS, default mode, stability rewrites."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from sda import backend


def test_packaging_is_installed_so_the_softplus_rewrites_apply():
    # Without ``packaging`` PyTensor silently skips its log(sigmoid) rewrites.
    import packaging  # noqa: F401
    a = pt.dvector("a")
    f = pytensor.function([a], pt.log(1 - pt.sigmoid(a)), mode=sda.get_mode())
    np.testing.assert_allclose(f([50.0, 800.0]), [-50.0, -800.0])


def test_c_backend_is_linked_to_a_blas_and_is_the_default():
    assert "openblas" in sda.blas_ldflags()
    assert sda.get_mode() == "CVM"


def test_blas_product_is_correct_in_both_precisions(floatX):
    A, B = pt.matrix("A"), pt.matrix("B")
    f = pytensor.function([A, B], pt.dot(A, B), mode="CVM")
    ops = {type(n.op).__name__ for n in f.maker.fgraph.toposort()}
    assert ops & {"Dot22", "Gemm", "Dot22Scalar"}, ops
    rng = np.random.default_rng(0)
    a = rng.random((30, 40)).astype(floatX)
    b = rng.random((40, 20)).astype(floatX)
    np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-5)


def test_set_mode_refuses_fast_compile_and_restores():
    before = sda.get_mode()
    with pytest.raises(ValueError, match="mode must not be 'FAST_COMPILE'"):
        sda.set_mode("fast_compile")
    assert sda.get_mode() == before
    try:
        assert sda.set_mode("numba") == "NUMBA"
        assert sda.get_mode() == "NUMBA"
    finally:
        sda.set_mode(before)


def test_cvm_without_blas_warns(monkeypatch):
    monkeypatch.setattr(pytensor.config, "mode", sda.get_mode())  # restored
    monkeypatch.setattr(backend, "blas_ldflags", lambda: "")
    with pytest.warns(sda.SlowBackendWarning, match="without a BLAS"):
        sda.set_mode("CVM")


def run_python(code, **env):
    import os
    import subprocess
    import sys
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTENSOR_FLAGS", "SDA_MODE")}
    full.update(env)
    return subprocess.run([sys.executable, "-W", "always", "-c", code],
                          env=full, capture_output=True, text=True,
                          timeout=120)


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
