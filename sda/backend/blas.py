"""The BLAS that PyTensor's C backend links: OpenBLAS from ``scipy-openblas32``.

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
"""

import os

import pytensor

from .._compat import user_set

try:  # a dependency of sda; PyTensor's own detection is left if it is gone
    import scipy_openblas32
except ImportError:
    scipy_openblas32 = None

__all__ = ["blas_ldflags", "configure_blas"]

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


def configure_blas():
    """Link ``scipy-openblas32`` unless the user chose ``blas__ldflags``."""
    if not user_set("blas__ldflags"):
        flags = scipy_openblas_ldflags()
        if flags:
            pytensor.config.blas__ldflags = flags


def blas_ldflags():
    """The linker flags PyTensor's C backend uses for BLAS ('' = none)."""
    return pytensor.config.blas__ldflags
