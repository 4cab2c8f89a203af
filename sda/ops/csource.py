"""Where the C of sda's ops lives, and how it is compiled.

The C code of :mod:`sda.ops.elementwise` and :mod:`sda.ops.fused` is in
header files under ``sda/ops/c/`` (shipped with the package), written as
C, one type at a time: each ``*_impl.h`` is included once for float32 and
once for float64 and names its functions with the type (``sda_vsigmoid_float32``).
The ops' Python keeps only the glue: which header to include, the checks
and outputs PyTensor's calling convention needs, and a call.

Their cache version is a hash of the files, so editing a file recompiles
the ops that use it.

OpenMP
    The fused steps split rows over threads with OpenMP.  They follow
    PyTensor's ``config.openmp`` when the user set it (``PYTENSOR_FLAGS=
    openmp=False``, ``.pytensorrc``) and are threaded otherwise, unless
    ``OMP_NUM_THREADS=1`` or the compiler has no OpenMP (checked once, as
    PyTensor's ``OpenMPOp`` does); then they run serially with the same
    results.  The ``omp simd`` loops need no OpenMP runtime
    (``-fopenmp-simd``).
"""

import hashlib
import os
from pathlib import Path

import pytensor

from .._compat import gxx_supports_openmp, user_set

__all__ = ["FOLDER", "SIMD_ARGS", "typenum", "version", "use_openmp",
           "openmp_args", "thread_args"]

#: The folder of the C headers.
FOLDER = str(Path(__file__).resolve().parent / "c")

#: ``omp simd`` without threads, and selects compiled as blends.
SIMD_ARGS = ["-fopenmp-simd", "-fno-trapping-math"]


def typenum(dtype):
    """NumPy's C type number of a float dtype."""
    return {"float32": "NPY_FLOAT32", "float64": "NPY_FLOAT64"}[str(dtype)]


def version(*names, glue=""):
    """A cache version that changes whenever one of the files (or ``glue``,
    C text the op generates) does."""
    digest = hashlib.sha1(glue.encode())
    for name in names:
        digest.update((Path(FOLDER) / name).read_bytes())
    return (2, int(digest.hexdigest()[:12], 16))


def use_openmp():
    """True if the fused steps are to be compiled with OpenMP threads."""
    if user_set("openmp"):
        wanted = bool(pytensor.config.openmp)
    else:
        wanted = os.environ.get("OMP_NUM_THREADS", "").strip() != "1"
    if not wanted:
        return False
    return gxx_supports_openmp()


def thread_args():
    """Compiler flags for OpenMP threads, if :func:`use_openmp`."""
    return ["-fopenmp"] if use_openmp() else []


def openmp_args():
    """Compiler flags of the fused steps: threads if :func:`use_openmp`."""
    return thread_args() + SIMD_ARGS
