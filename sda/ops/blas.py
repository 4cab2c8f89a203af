"""PyTensor's matrix products with sda's threads, for the C backend.

PyTensor's C ops for ``A @ B`` (``Gemm``, ``Dot22``, ``Dot22Scalar``),
matrix-vector products (``CGemv``) and rank-one updates (``CGer``) call
OpenBLAS, which runs each large call on its own pool of threads, all the
cores.  When another process takes a core, a call split over the pool
waits for the thread that lost its core, and the pool's threads spin
between calls, taking cycles from the thread doing the work: with one
foreign process on 2 cores, the steps ran 1.2x to 3x slower than they do
now (``benchmarks/bench_sda.py --load 1``, docs/performance.md).

The ops here are those ops with the same code, calling the products
through wrappers (``sda/ops/c/sda_blas.h``) that run OpenBLAS on one
thread (or, for the float32 products of a short minibatch on a processor
with AVX-512, sda's own loops, ``sda_small_gemm.h``, which read the
weights without copying them first: up to 64 examples for X W, 32 for
D W^T, 128 for the weight gradient) and split the output over
sda's OpenMP threads: one or all of
them, whichever the policy that all of sda's C ops share finds faster,
from the measured time between one step and the next
(``sda/ops/c/sda_threads.h``).  The
pieces are fixed by the output's shape and the machine's processor count
(at least 64 rows, cut at multiples of 16), never by the number of
threads, so the results are the same for any number of threads.

A rewrite under the tag :data:`TAG` swaps them in; the library's C modes
include it (:func:`sda.compile_mode`), other modes never run it, and it
leaves the graph alone unless PyTensor is linked to an OpenBLAS (as
``import sda`` arranges, :mod:`sda.backend.blas`).  The PyTensor flag
``optimizer_excluding=sda_threads`` leaves OpenBLAS's own threads in
charge.
"""

from pathlib import Path

import pytensor
from pytensor.compile.mode import optdb
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.tensor.blas import Dot22, Dot22Scalar, Gemm
from pytensor.tensor.blas_c import CGemv, CGer

from . import csource

__all__ = ["TAG", "threaded", "ThreadedGemm", "ThreadedDot22",
           "ThreadedDot22Scalar", "ThreadedCGemv", "ThreadedCGer"]

#: This module's text: part of the compiled code's version.
_GLUE = Path(__file__).read_text()


class _Threaded:
    """What every threaded product adds to PyTensor's op: the wrappers'
    header after PyTensor's BLAS declarations, OpenMP, a version."""

    def c_support_code(self, **kwargs):
        return super().c_support_code(**kwargs) + '\n#include "sda_blas.h"\n'

    def c_header_dirs(self, **kwargs):
        return [*super().c_header_dirs(**kwargs), csource.FOLDER]

    def c_compile_args(self, **kwargs):
        return [*super().c_compile_args(**kwargs), *csource.thread_args()]

    def c_code_cache_version(self):
        version = super().c_code_cache_version()
        if not version:  # PyTensor's code is not versioned: neither is this
            return version
        return (*version, *csource.version("sda_blas.h", "sda_threads.h",
                                           "sda_small_gemm.h",
                                           glue=_GLUE))

    def __str__(self):
        return f"sda_{super().__str__()}"


class ThreadedGemm(_Threaded, Gemm):
    """PyTensor's ``Gemm`` on sda's threads."""


class ThreadedDot22(_Threaded, Dot22):
    """PyTensor's ``Dot22`` on sda's threads."""


class ThreadedDot22Scalar(_Threaded, Dot22Scalar):
    """PyTensor's ``Dot22Scalar`` on sda's threads."""


class ThreadedCGemv(_Threaded, CGemv):
    """PyTensor's ``CGemv`` on sda's threads."""


class ThreadedCGer(_Threaded, CGer):
    """PyTensor's ``CGer`` on sda's threads."""


#: PyTensor's op class -> its threaded twin.
_TWINS = {cls.__mro__[2]: cls for cls in (
    ThreadedGemm, ThreadedDot22, ThreadedDot22Scalar, ThreadedCGemv,
    ThreadedCGer)}


def threaded(op):
    """The threaded twin of one of PyTensor's BLAS ops (same parameters),
    or None for any other op."""
    twin = _TWINS.get(type(op))
    if twin is None:
        return None
    return twin(**{name: getattr(op, name) for name in op.__props__})


def _links_sequential_blas():
    """True when the BLAS is OpenBLAS (its thread count is set to one per
    call) or MKL's sequential layer (which has no threads of its own)."""
    flags = str(pytensor.config.blas__ldflags)
    return "openblas" in flags or "mkl_sequential" in flags


@node_rewriter(list(_TWINS))
def _local_threaded_blas(fgraph, node):
    twin = threaded(node.op)  # None for a twin itself, tracked as a subclass
    if twin is None or not _links_sequential_blas():
        return False
    return twin(*node.inputs, return_list=True)


#: The rewrite tag that puts the threaded products in; the library's C
#: modes include it (:func:`sda.compile_mode`).
TAG = "sda_threads"

# after PyTensor has made its products work in place (position 70)
optdb.register("sda_threaded_blas",
               dfs_rewriter(_local_threaded_blas, name="sda_threaded_blas"),
               TAG, position=70.5)
