"""One core's matrix products at the shapes of an SdA step: sda, OpenBLAS and MKL.

At minibatch 20 a training or scoring step of the tutorial's SdA (784-1000-
1000-1000-10) spends most of its time in a few small products (86-94 % in
the profile of docs/performance.md).  sda computes them with OpenBLAS (the
``scipy-openblas`` wheels), torch with the MKL bundled in its wheel.  This
script times each product of such a step on one thread with both
libraries and with sda's own product ops (compiled by PyTensor in the
library's mode, on one thread: for a short float32 minibatch on AVX-512
the loops of ``sda/ops/c/sda_small_gemm.h``, else OpenBLAS), in one
process, interleaved, and prints GFLOP/s and the ratios: how far sda's
steps can go ahead of torch's before the products themselves limit them.
The last row is the forward pass of a step, three layers in turn, whose
weights come from memory rather than from the cache.
sda's figures include the call of a compiled function (a few µs).

Run it with an interpreter that has NumPy (its OpenBLAS) and torch, such as
the benchmarks' reference environment::

    .bench-venv/bin/python benchmarks/gemm_shapes.py            # float32
    .bench-venv/bin/python benchmarks/gemm_shapes.py --batch 128
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: (name, rows, inner, columns, transposes) of the products of one step of
#: the tutorial's SdA at minibatch ``m``: forward, back-propagated error and
#: weight gradient of a 1000 x 1000 layer and of the 784 x 1000 first layer
SHAPES = [
    ("forward x W (784 in)", "m", 784, 1000, ""),
    ("forward h W (1000 in)", "m", 1000, 1000, ""),
    ("error d W^T", "m", 1000, 1000, "b"),
    ("gradient x^T d (784 in)", 784, "m", 1000, "a"),
    ("gradient h^T d", 1000, "m", 1000, "a"),
]


def operands(rows, inner, columns, transposed, dtype, rng):
    a = rng.standard_normal((inner, rows) if "a" in transposed
                            else (rows, inner)).astype(dtype)
    b = rng.standard_normal((columns, inner) if "b" in transposed
                            else (inner, columns)).astype(dtype)
    return (a.T if "a" in transposed else a), (b.T if "b" in transposed
                                                else b)


def rate(product, flops, seconds=0.2):
    """GFLOP/s of ``product()`` over calls filling about ``seconds``."""
    product()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        product()
        calls += 1
    return flops * calls / (time.perf_counter() - start) / 1e9


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=20, help="minibatch size")
    ap.add_argument("--dtype", default="float32",
                    choices=("float32", "float64"))
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    torch.set_num_threads(1)
    print(f"One thread, {a.dtype}, minibatch {a.batch}; GFLOP/s, median of "
          f"{a.rounds} interleaved rounds\n")
    import pytensor
    import pytensor.tensor as pt
    import sda
    from sda.ops.threads import pinned
    X, Y = pt.matrix("x", dtype=a.dtype), pt.matrix("y", dtype=a.dtype)
    sda_product = pytensor.function([X, Y], X @ Y,
                                    mode=sda.compile_mode("CVM"))
    print("| product | shape | sda | OpenBLAS (NumPy) | MKL (torch) | "
          "sda / OpenBLAS | sda / MKL |")
    print("|---|---|---|---|---|---|---|")
    with threadpool_limits(limits=1, user_api="blas"), pinned("one"):
        for name, rows, inner, columns, transposed in SHAPES:
            rows, inner = (a.batch if v == "m" else v for v in (rows, inner))
            x, y = operands(rows, inner, columns, transposed, a.dtype, rng)
            tx, ty = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
            if "a" in transposed:  # the same memory layout as NumPy's
                tx = torch.from_numpy(np.ascontiguousarray(x.T)).T
            if "b" in transposed:
                ty = torch.from_numpy(np.ascontiguousarray(y.T)).T
            out, tout = np.empty((rows, columns), a.dtype), torch.empty(
                rows, columns, dtype=tx.dtype)
            flops = 2.0 * rows * inner * columns
            mine, ours, theirs = [], [], []
            for _ in range(a.rounds):
                mine.append(rate(lambda: sda_product(x, y), flops))
                ours.append(rate(lambda: np.matmul(x, y, out=out), flops))
                theirs.append(rate(lambda: torch.mm(tx, ty, out=tout), flops))
            m, o, t = (statistics.median(v) for v in (mine, ours, theirs))
            print(f"| {name} | {rows} x {inner} x {columns} | {m:.0f} | "
                  f"{o:.0f} | {t:.0f} | {m / o:.2f} | {m / t:.2f} |")
        # the forward pass of a step: three layers' weights (11 MB in
        # float32) in turn, which no cache keeps, where the products above
        # repeat on weights that stay in the cache
        ws = [rng.standard_normal(s).astype(a.dtype) * 0.03
              for s in ((784, 1000), (1000, 1000), (1000, 1000))]
        tws = [torch.from_numpy(w) for w in ws]
        x = rng.random((a.batch, 784)).astype(a.dtype)
        tx = torch.from_numpy(x)
        outs = [np.empty((a.batch, 1000), a.dtype) for _ in ws]
        touts = [torch.from_numpy(o) for o in outs]

        def sda_chain():
            h = x
            for w in ws:
                h = sda_product(h, w)

        def numpy_chain():
            h = x
            for w, out in zip(ws, outs):
                h = np.matmul(h, w, out=out)

        def torch_chain():
            h = tx
            for w, out in zip(tws, touts):
                h = torch.mm(h, w, out=out)

        flops = 2.0 * a.batch * (784 + 1000 + 1000) * 1000
        got = [[rate(f, flops) for f in (sda_chain, numpy_chain, torch_chain)]
               for _ in range(a.rounds)]
        m, o, t = (statistics.median(v) for v in zip(*got))
        print(f"| forward, three layers in turn | {a.batch} x 784/1000/1000 "
              f"x 1000 | {m:.0f} | {o:.0f} | {t:.0f} | {m / o:.2f} | "
              f"{m / t:.2f} |")


if __name__ == "__main__":
    main()
