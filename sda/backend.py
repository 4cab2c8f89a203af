"""How PyTensor compiles the library's functions: the BLAS it links and the default mode.

PyTensor 3 compiles with Numba by default, and its C backend (the ``CVM``
mode, Theano's old ``FAST_RUN``) finds no BLAS on a plain ``pip`` install, so
its matrix products fall back to a slow NumPy C-API path: several times
slower than Numba, which is itself slower than the C backend with a BLAS
(``benchmarks/bench_sda.py --configs sda,sda-numba,sda-cvm-noblas`` prints
the figures; docs/performance.md has a run).

So this module links PyTensor's C backend to the OpenBLAS that PyPI ships as
``scipy-openblas32`` (a dependency of ``sda``) and makes ``CVM`` the default
mode, for the library's builders and for the user's own
``pytensor.function`` calls alike.  Its symbols carry a ``scipy_`` prefix,
so each BLAS name that PyTensor's C code declares is renamed with a ``-D``
compiler flag.

Nothing is changed when the user chose for themselves: a ``blas__ldflags``
or a ``mode`` given in ``PYTENSOR_FLAGS`` or ``.pytensorrc``, or set in code
before ``import sda``, is kept, and
``SDA_MODE`` (or :func:`set_mode`) selects another mode.  When the C backend
has to run without BLAS, a :class:`SlowBackendWarning` says so.
"""

import os
import warnings

import pytensor

__all__ = ["get_mode", "set_mode", "compile_mode", "blas_ldflags",
           "SlowBackendWarning", "MODES"]

#: The modes the library is tested with.  ``FAST_COMPILE`` is left out on
#: purpose: it skips the stabilising rewrites.  ``JAX`` (the route to a GPU)
#: is not among them yet: it refuses the tutorial's dynamic minibatch slices
#: and needs NumPyro for binomial draws.
MODES = ("CVM", "NUMBA")

# The BLAS entry points PyTensor's C ops and headers declare (blas_headers.py).
_BLAS_NAMES = ("gemm gemv ger dot axpy scal copy swap nrm2 asum symm syrk "
               "syr2k trmm trsm symv syr syr2 trmv trsv").split()

class SlowBackendWarning(UserWarning):
    """The selected PyTensor configuration is known to be much slower."""


def _scipy_openblas_ldflags():
    """``blas__ldflags`` for the ``scipy-openblas32`` wheel, or '' if absent."""
    try:
        import scipy_openblas32
    except ImportError:
        return ""
    libdir = scipy_openblas32.get_lib_dir()
    if not os.path.exists(os.path.join(libdir, "libscipy_openblas.so")):
        return ""
    renames = " ".join(f"-D{p}{n}_=scipy_{p}{n}_"
                       for p in "sd" for n in _BLAS_NAMES)
    return (f"-L{libdir} -lscipy_openblas -Wl,-rpath,{libdir} "
            f"-Dcblas_sdot=scipy_cblas_sdot {renames}")


def _user_set_blas():
    """True if the user gave ``blas__ldflags`` (flags, .pytensorrc or code)."""
    # resolved already (read or set before sda was imported) counts as set
    return (hasattr(pytensor.config._config_var_dict["blas__ldflags"], "val")
            or _user_set("blas__ldflags"))


def _configure_blas():
    # Setting the flag before anything reads it also skips PyTensor's slow
    # (and here unsuccessful) auto-detection at first use.
    if not _user_set_blas():
        flags = _scipy_openblas_ldflags()
        if flags:
            pytensor.config.blas__ldflags = flags


def blas_ldflags():
    """The linker flags PyTensor's C backend uses for BLAS ('' = none)."""
    return pytensor.config.blas__ldflags


def _user_set(name):
    """True if the user chose ``name``: in PYTENSOR_FLAGS or .pytensorrc, or
    in code (``pytensor.config.<name> = ...``) before sda was imported."""
    param = pytensor.config._config_var_dict[name]
    if hasattr(param, "val"):  # read already: the flag was consumed then
        # a value set in code leaves ``is_default`` alone; it shows as a
        # value other than the default
        return not param.is_default or param.val != param.default
    try:
        pytensor.config.fetch_val_for_key(name)
    except KeyError:
        return False
    return True


def get_mode():
    """The compilation mode: ``pytensor.config.mode``, which sda sets at import.

    Builders given ``mode=None`` and the user's own ``pytensor.function``
    calls both use it.  At import sda makes it ``CVM`` when a BLAS is linked
    and ``NUMBA`` when not (the C backend without BLAS is ten times slower
    than Numba, with BLAS three times faster), unless the user chose:
    ``SDA_MODE`` in the environment, ``mode`` in ``PYTENSOR_FLAGS`` or
    ``.pytensorrc``, or ``pytensor.config.mode`` set in code before
    ``import sda``.
    """
    return str(pytensor.config.mode)


def set_mode(mode):
    """Set the compilation mode for everything compiled from now on.

    One of :data:`MODES` (case-insensitive); any other PyTensor mode name is
    accepted too, for experiments, except ``FAST_COMPILE``, which skips the
    rewrites that make training graphs fast and keep them stable.

    This sets ``pytensor.config.mode``, a process-wide setting, so it
    changes the mode of the user's own ``pytensor.function`` calls too.
    ``import sda`` does the same once, with ``CVM`` (or ``NUMBA`` when no
    BLAS is linked), but only when the mode is PyTensor's untouched default:
    a mode chosen in ``PYTENSOR_FLAGS``, ``.pytensorrc``, or in code before
    the import is kept.
    """
    if not isinstance(mode, str):
        raise ValueError(f"mode must be a mode name such as "
                         f"{', '.join(MODES)}, got {mode!r}")
    mode = mode.upper()
    if mode == "FAST_COMPILE":
        raise ValueError("mode must not be 'FAST_COMPILE': it skips the "
                         "stability rewrites (choose one of "
                         f"{', '.join(MODES)}), got {mode!r}")
    if mode in ("CVM", "C") and not blas_ldflags():
        _warn_no_blas(stacklevel=3)
    pytensor.config.mode = mode
    return mode


def resolve_mode(mode):
    """``mode`` itself, or the current default when it is None."""
    return get_mode() if mode is None else mode


def compile_mode(mode=None):
    """The mode the library's builders compile with.

    ``mode`` (default: the current one), and, when it runs C code, with
    sda's vectorised sigmoid and softplus (:mod:`sda.elementwise`) in place
    of PyTensor's element-at-a-time loops.  Pass the result to your own
    ``pytensor.function`` calls to get them there too.  The PyTensor flag
    ``optimizer_excluding=sda_vectorised`` leaves them out (PyTensor
    itself applies that flag to none of its predefined modes).
    """
    from pytensor.compile.mode import get_mode as pytensor_mode
    from .elementwise import TAG

    mode = resolve_mode(mode)
    if (not runs_c_code(mode)
            or TAG in pytensor.config.optimizer_excluding.split(":")):
        return mode
    return pytensor_mode(mode).including(TAG)


def runs_c_code(mode=None):
    """True if functions compiled in ``mode`` (default: the current one) run
    C thunks, where sda's fused C ops (:mod:`sda.fused`) are fast."""
    from pytensor.compile.mode import get_mode as pytensor_mode
    from pytensor.link.c.basic import CLinker, OpWiseCLinker
    from pytensor.link.vm import VMLinker

    linker = pytensor_mode(resolve_mode(mode)).linker
    if not pytensor.config.cxx:
        return False
    if isinstance(linker, VMLinker):
        return bool(linker.c_thunks)
    return isinstance(linker, (CLinker, OpWiseCLinker))


def _configure_mode():
    if os.environ.get("SDA_MODE"):
        set_mode(os.environ["SDA_MODE"])
    elif not _user_set("mode"):
        set_mode("CVM" if blas_ldflags() else "NUMBA")
    elif _uses_c_backend() and not blas_ldflags():
        _warn_no_blas(stacklevel=4)


def _uses_c_backend():
    """True if the configured mode runs PyTensor's C thunks."""
    mode = str(pytensor.config.mode).upper()
    return mode in ("CVM", "C", "FAST_RUN") and (
        mode != "FAST_RUN" or pytensor.config.linker.startswith("c"))


def _warn_no_blas(stacklevel):
    warnings.warn(
        "sda: PyTensor's C backend runs without a BLAS library here, "
        "about 10x slower than Numba; install scipy-openblas32 or set "
        "PYTENSOR_FLAGS=blas__ldflags=... (see README, 'Compilation mode "
        "and speed')", SlowBackendWarning, stacklevel=stacklevel)


_configure_blas()
_configure_mode()
