"""The kernel-level figures behind sda's design choices, measured here.

Prints, as medians of repeats on this machine (float32, the tutorial's
784 x 1000 first layer):

1. a one-row product through GEMM against the same product through GEMV,
   with the OpenBLAS that sda links (why single examples get a static
   ``(1, n)`` shape);
2. a 128 x 1000 masking-noise mask from NumPy's binomial with array
   parameters (PyTensor's path) against one ``Generator.random`` call
   compared with ``p`` (why ``sda.RandomStreams`` draws uniforms);
3. a fine-tuning NLL at minibatch 1 with PyTensor's ``LogSoftmax`` and
   indexing against sda's element-wise form, compiled on the C VM (why the
   NLL is written out);
4. at minibatch 128, the element-wise reconstruction cost of the first
   layer and a layer's sigmoid, with PyTensor's C loops against
   ``sda.ops.elementwise``'s vectorised ones, sda's sigmoid pinned to one
   thread and to all, and one of the step's five GEMMs for scale (why the
   builders compile with ``sda.compile_mode``).

    python benchmarks/bench_kernels.py
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np


def median_us(fn, repeats=7, min_s=0.05):
    """Median microseconds per call over ``repeats`` timed chunks."""
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_s:
        fn()
        n += 1
    per_chunk = max(1, n)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(per_chunk):
            fn()
        times.append((time.perf_counter() - t0) / per_chunk * 1e6)
    return statistics.median(times)


def row(label, a, b):
    print(f"| {label} | {a:.1f} | {b:.1f} | {a / b:.1f}× |")


def main():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import pytensor
    import pytensor.tensor as pt

    import sda
    from sda.models.layers import LogisticRegression

    pytensor.config.floatX = "float32"
    rng = np.random.default_rng(0)
    print("| kernel | what PyTensor does (µs) | what sda does (µs) | ratio |")
    print("|---|---|---|---|")

    # 1. one-row GEMM vs GEMV, both compiled on sda's C backend and BLAS
    fast = sda.compile_mode("CVM")
    W = pytensor.shared(rng.random((784, 1000)).astype("float32"))
    free = pt.matrix("x")  # unknown rows: Dot22, i.e. GEMM
    row1 = pt.tensor("x1", shape=(1, 784), dtype="float32")  # GEMV
    gemm = pytensor.function([free], pt.dot(free, W), mode=fast)
    gemv = pytensor.function([row1], pt.dot(row1, W), mode=fast)
    x = rng.random((1, 784)).astype("float32")
    row("x (1 x 784) @ W (784 x 1000)", median_us(lambda: gemm(x)),
        median_us(lambda: gemv(x)))

    # 2. masking noise for 128 x 1000
    g = np.random.default_rng(1)
    n, p = np.array([[1]]), np.array([[0.7]])
    row("128 x 1000 corruption mask", median_us(
        lambda: g.binomial(n, p, size=(128, 1000))),
        median_us(lambda: (g.random((128, 1000)) <= 0.7).astype(np.int64)))

    # 3. the NLL of one example and its gradient
    logits_in = pt.matrix("a")
    y = pt.ivector("y")
    Wl = pytensor.shared(rng.normal(size=(10, 10)).astype("float32"))
    a = pt.dot(logits_in, Wl)
    naive = -pt.mean(pt.special.log_softmax(a, axis=-1)[pt.arange(1), y])
    mine = LogisticRegression.nll_of_logits(a, y)
    fns = [pytensor.function([logits_in, y], [c, pytensor.grad(c, Wl)],
                             mode=fast)
           for c in (naive, mine)]
    av = rng.normal(size=(1, 10)).astype("float32")
    yv = np.array([3], dtype="int32")
    row("NLL + gradient, 1 example, 10 classes",
        *(median_us(lambda f=f: f(av, yv)) for f in fns))

    # 4. element-wise cost and sigmoid at minibatch 128, and one GEMM
    xa = pt.matrix("x")
    pre = pt.matrix("a")
    cost = pt.sum(pt.softplus(pre) - xa * pre)
    xv = rng.random((128, 784)).astype("float32")
    av = rng.normal(scale=3, size=(128, 784)).astype("float32")
    hv = rng.normal(scale=3, size=(128, 1000)).astype("float32")
    row("minibatch 128: softplus cost, 128 x 784", *(
        median_us(lambda f=pytensor.function([xa, pre], cost, mode=m):
                  f(xv, av)) for m in ("CVM", fast)))
    row("minibatch 128: sigmoid, 128 x 1000", *(
        median_us(lambda f=pytensor.function([pre], pt.sigmoid(pre), mode=m):
                  f(hv)) for m in ("CVM", fast)))
    # the vectorised ops split their rows over sda's threads as the policy
    # says: the same sigmoid pinned to one thread and to all
    from sda.ops.threads import pinned
    sig = pytensor.function([pre], pt.sigmoid(pre), mode=fast)
    ways = []
    for way in ("one", "all"):
        with pinned(way):
            ways.append(median_us(lambda: sig(hv)))
    print(f"\nsda's sigmoid, 128 x 1000, on one thread / on all: "
          f"{ways[0]:.1f} / {ways[1]:.1f} µs")
    B = pytensor.shared(rng.random((784, 1000)).astype("float32"))
    one_gemm = pytensor.function([xa], pt.dot(xa, B), mode=fast)
    print(f"\none of the minibatch-128 step's five GEMMs (128 x 784 x 1000): "
          f"{median_us(lambda: one_gemm(xv)):.1f} µs")
    print(f"\nmode {sda.get_mode()}, BLAS "
          f"{'scipy-openblas32' if 'scipy_openblas' in sda.blas_ldflags() else sda.blas_ldflags() or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
