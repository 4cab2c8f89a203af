"""The BLAS the C backend links: scipy-openblas32 by default, MKL with SDA_BLAS=mkl."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from sda.backend.blas import mkl_ldflags


def child(code, **env):
    """``code`` run after ``import sda`` in a fresh interpreter; its last
    line of output as JSON, and its warnings."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTENSOR_FLAGS", "SDA_MODE", "SDA_BLAS")}
    full.update(env)
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c",
         "import json, sda\n" + textwrap.dedent(code)],
        env=full, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


#: One fine-tuning step at minibatch 20 and two products, on one thread and
#: on all: the cost, bit-identity across thread counts, the BLAS linked.
STEP = """
import numpy as np, pytensor, pytensor.tensor as pt
from sda.ops.threads import pinned
rng = np.random.default_rng(0)
x, y = rng.random((40, 30)), rng.integers(0, 3, 40)
a, b = pt.matrix("a"), pt.matrix("b")
product = pytensor.function([a, b], [a @ b, a.T @ a],
                            mode=sda.compile_mode())
u, v = rng.standard_normal((20, 300)), rng.standard_normal((300, 700))
with pinned("one"):
    one = product(u, v)
with pinned("all"):
    all_ = product(u, v)
model = sda.SdA(np.random.RandomState(0), n_ins=30, hidden_layers_sizes=[200],
                n_outs=3, corruption_levels=[0.1])
train, _, _ = model.build_finetune_functions([(x, y)] * 3, 20, 0.1)
ops = sorted({type(n.op).__name__ for n in
              product.maker.fgraph.apply_nodes})
print(json.dumps({"flags": sda.blas_ldflags(), "ops": ops,
                  "same": all(np.array_equal(p, q) for p, q in zip(one, all_)),
                  "error": float(abs(one[0] - u @ v).max()),
                  "costs": [float(train(i)) for i in range(2)]}))
"""


def test_an_unknown_SDA_BLAS_warns_and_keeps_openblas():
    out, warnings = child("print(json.dumps(sda.blas_ldflags()))",
                          SDA_BLAS="atlas")
    assert "scipy_openblas" in out
    assert ("SDA_BLAS must be one of openblas, mkl, got 'atlas'; using "
            "scipy-openblas32") in warnings


@pytest.mark.skipif(not mkl_ldflags(), reason="the extra sda[mkl]")
def test_SDA_BLAS_mkl_links_sequential_mkl_on_sdas_threads():
    mkl, _ = child(STEP, SDA_BLAS="mkl", PYTENSOR_FLAGS="floatX=float64")
    openblas, _ = child(STEP, PYTENSOR_FLAGS="floatX=float64")
    assert "mkl_sequential" in mkl["flags"] and "openblas" not in mkl["flags"]
    assert "scipy_openblas" in openblas["flags"]
    for run in (mkl, openblas):
        # sda's products (its threads), the same bits on one thread and all
        assert "ThreadedDot22" in run["ops"] and run["same"]
        assert run["error"] < 1e-10
    # the same training, to rounding
    assert mkl["costs"] == pytest.approx(openblas["costs"], rel=1e-10)
