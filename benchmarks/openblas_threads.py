"""Does OpenBLAS give the same products on one thread as on two?

Computes ``a @ b``, ``a.T @ b`` and ``a @ b.T`` for a grid of shapes with
PyTensor's own BLAS ops (``optimizer_excluding=sda_threads``: OpenBLAS
threads them itself), once with OpenBLAS on one thread and once on two, and
counts the shapes whose results differ in any bit; then the same with sda's
products pinned to one thread and to all (``sda.ops.threads.pinned``).

    python benchmarks/openblas_threads.py            # float32
    PYTENSOR_FLAGS=floatX=float64 python benchmarks/openblas_threads.py
"""

import ctypes
import os

import numpy as np
import pytensor
import pytensor.tensor as pt
import scipy_openblas32

import sda
from sda.ops.threads import pinned

ROWS = (1, 20, 100, 128, 256, 1000)
INNER = (20, 128, 784, 1000)
COLUMNS = (10, 64, 200, 500, 700, 784, 1000, 1500)


def products(mode):
    a, b = pt.matrix("a"), pt.matrix("b")
    return [pytensor.function([a, b], out, mode=mode)
            for out in (a @ b, a.T @ b, a @ b.T)]


def count_differing(fns, one, several):
    rng = np.random.RandomState(0)
    dtype = pytensor.config.floatX
    differ = total = 0
    for m in ROWS:
        for k in INNER:
            for n in COLUMNS:
                a, b = rng.rand(m, k).astype(dtype), rng.rand(k, n).astype(dtype)
                for fn, args in zip(fns, ((a, b), (a.T.copy(), b),
                                          (a, b.T.copy()))):
                    with one():
                        first = fn(*args)
                    with several():
                        second = fn(*args)
                    total += 1
                    differ += not np.array_equal(first, second)
    return differ, total


def main():
    lib = ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(),
                                   "libscipy_openblas.so"))

    class openblas_threads:
        def __init__(self, n):
            self.n = n

        def __enter__(self):
            self.before = lib.scipy_openblas_get_num_threads()
            lib.scipy_openblas_set_num_threads(self.n)

        def __exit__(self, *exc):
            lib.scipy_openblas_set_num_threads(self.before)

    mode = sda.compile_mode("CVM")
    plain = count_differing(products(mode.excluding("sda_threads")),
                            lambda: openblas_threads(1),
                            lambda: openblas_threads(2))
    ours = count_differing(products(mode), lambda: pinned("one"),
                           lambda: pinned("all"))
    dtype = pytensor.config.floatX
    print(f"{dtype}: OpenBLAS's own threads, 1 against 2: {plain[0]} of "
          f"{plain[1]} products differ")
    print(f"{dtype}: sda's threads, one against all: {ours[0]} of "
          f"{ours[1]} products differ")


if __name__ == "__main__":
    main()
