"""The BLAS that PyTensor's C backend links: OpenBLAS from ``scipy-openblas32``, or MKL.

PyTensor's C backend finds no BLAS on a plain ``pip`` install (its
detection looks for system libraries, pymc-devs/pytensor #508), so its
matrix products fall back to a slow NumPy C-API path, ten times slower than
with a BLAS.  ``scipy-openblas32``, a dependency of ``sda``, ships an
OpenBLAS whose symbols carry a ``scipy_`` prefix; each BLAS name that
PyTensor's C code declares is renamed to it with a ``-D`` compiler flag.

``import sda`` sets ``blas__ldflags`` when the user gave none (in
``PYTENSOR_FLAGS``, ``.pytensorrc`` or in code before the import): it must
be set before the first C function is compiled, and it also spares
PyTensor's slow auto-detection (pymc-devs/pytensor #1160).  It is the one
PyTensor setting the library changes.

``SDA_BLAS=mkl`` links Intel's MKL instead (the ``mkl`` wheel, extra
``sda[mkl]``), through its sequential layer: sda's own threads split the
products (:mod:`sda.ops.blas`) as they do OpenBLAS's.  At the small
products of minibatch-20 steps MKL was 1.4-1.8x as fast as OpenBLAS on one
core of an AVX-512 Xeon (``benchmarks/gemm_shapes.py``); on processors with
AVX-512 those products now run in sda's own loops with either library
(:mod:`sda.ops.blas`).  The steps' figures are in docs/performance.md.
"""

import glob
import os
import sys
import warnings

import pytensor

from .._compat import user_set

try:  # a dependency of sda; PyTensor's own detection is left if it is gone
    import scipy_openblas32
except ImportError:
    scipy_openblas32 = None

__all__ = ["blas_ldflags", "configure_blas", "mkl_ldflags", "BLAS_CHOICES"]

# The BLAS entry points PyTensor's C ops and headers declare (blas_headers.py).
_BLAS_NAMES = ("gemm gemv ger dot axpy scal copy swap nrm2 asum symm syrk "
               "syr2k trmm trsm symv syr syr2 trmv trsv").split()


def scipy_openblas_ldflags():
    """``blas__ldflags`` for the ``scipy-openblas32`` wheel, or '' if absent."""
    if scipy_openblas32 is None:
        return ""
    libdir = scipy_openblas32.get_lib_dir()
    if not os.path.exists(os.path.join(libdir, "libscipy_openblas.so")):
        return ""
    renames = " ".join(f"-D{p}{n}_=scipy_{p}{n}_"
                       for p in "sd" for n in _BLAS_NAMES)
    return (f"-L{libdir} -lscipy_openblas -Wl,-rpath,{libdir} "
            f"-Dcblas_sdot=scipy_cblas_sdot {renames}")


#: The MKL libraries of the sequential layer with the GNU Fortran
#: interface (PyTensor calls ``sgemm_`` and the like), in link order.
_MKL_LIBS = ("mkl_gf_lp64", "mkl_sequential", "mkl_core")


def mkl_ldflags():
    """``blas__ldflags`` for the ``mkl`` wheel's sequential MKL, or '' if it
    is not installed (its libraries go to ``sys.prefix/lib``)."""
    libdir = os.path.join(sys.prefix, "lib")
    found = sorted(glob.glob(os.path.join(libdir, "libmkl_sequential.so.*")))
    if not found:
        return ""
    version = found[-1].rsplit(".so.", 1)[1]
    names = [f"lib{name}.so.{version}" for name in _MKL_LIBS]
    if not all(os.path.exists(os.path.join(libdir, n)) for n in names):
        return ""
    return (f"-L{libdir} " + " ".join(f"-l:{n}" for n in names)
            + f" -lm -ldl -lpthread -Wl,-rpath,{libdir}")


#: The values of ``SDA_BLAS``.
BLAS_CHOICES = ("openblas", "mkl")


def configure_blas():
    """Link the BLAS ``SDA_BLAS`` names (default ``scipy-openblas32``)
    unless the user chose ``blas__ldflags``.

    A choice that cannot be honoured warns and falls back to OpenBLAS, so
    that ``import sda`` never fails on it.
    """
    if user_set("blas__ldflags"):
        return
    choice = os.environ.get("SDA_BLAS", "").strip().lower() or "openblas"
    flags = ""
    if choice == "mkl":
        flags = mkl_ldflags()
        if not flags:
            warnings.warn("sda: SDA_BLAS=mkl, but the mkl wheel is not "
                          "installed (pip install 'sda[mkl]'); using "
                          "scipy-openblas32", stacklevel=3)
    elif choice != "openblas":
        warnings.warn(f"sda: SDA_BLAS must be one of "
                      f"{', '.join(BLAS_CHOICES)}, got "
                      f"{os.environ['SDA_BLAS']!r}; using scipy-openblas32",
                      stacklevel=3)
    flags = flags or scipy_openblas_ldflags()
    if flags:
        pytensor.config.blas__ldflags = flags


def blas_ldflags():
    """The linker flags PyTensor's C backend uses for BLAS ('' = none)."""
    return pytensor.config.blas__ldflags
