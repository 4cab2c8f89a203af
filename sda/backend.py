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

``JAX`` (the optional extra ``sda[jax]``) is PyTensor's route to a GPU: with
a CUDA build of ``jaxlib`` the compiled functions run on the accelerator.
Its functions return and store JAX arrays, which PyTensor's C and Numba
functions cannot read (pymc issue #8360), so the library keeps data sets on
the device for JAX functions (:func:`on_device`) and gives parameters back
to NumPy (:func:`to_host`) wherever anything else may read them.
"""

import importlib
import os
import warnings
import weakref

import numpy as np
import pytensor

__all__ = ["get_mode", "set_mode", "compile_mode", "blas_ldflags",
           "SlowBackendWarning", "MODES", "uses_jax", "on_device", "to_host",
           "function"]

#: The modes the library is tested with.  ``FAST_COMPILE`` is left out on
#: purpose: it skips the stabilising rewrites.  ``JAX`` needs the extra
#: ``sda[jax]``.
MODES = ("CVM", "NUMBA", "JAX")

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
    mode = check_mode(mode)
    if mode in ("CVM", "C") and not blas_ldflags():
        _warn_no_blas(stacklevel=3)
    if mode == "JAX":
        require_jax()
    pytensor.config.mode = mode
    return mode


def check_mode(mode):
    """A mode name, upper-cased, if the library accepts it (see
    :func:`set_mode`); ``ValueError`` otherwise."""
    if not isinstance(mode, str):
        raise ValueError(f"mode must be a mode name such as "
                         f"{', '.join(MODES)}, got {mode!r}")
    mode = mode.upper()
    if mode == "FAST_COMPILE":
        raise ValueError("mode must not be 'FAST_COMPILE': it skips the "
                         "stability rewrites (choose one of "
                         f"{', '.join(MODES)}), got {mode!r}")
    return mode


def require_jax():
    """Import JAX, or say how to install it; switch on its 64-bit types.

    PyTensor's JAX backend, when first imported, switches JAX's 64-bit types
    on or off after ``floatX`` at that moment, for the whole process: a
    float64 model compiled after that under float32 would silently compute
    in float32.  sda keeps them on; float32 models stay float32 (their
    graphs name every dtype).
    """
    global _jax
    if _jax is None:
        try:
            import jax
            # its import sets the flag: first, so that ours stays
            importlib.import_module("pytensor.link.jax.dispatch")
        except ImportError:
            raise ImportError("mode 'JAX' needs JAX: pip install 'sda[jax]' "
                              "(or a CUDA build of jax for a GPU)") from None
        jax.config.update("jax_enable_x64", True)
        _keep_reductions_typed()
        _jax = jax
    return _jax


_jax = None


def _keep_reductions_typed():
    """Make PyTensor's JAX sums return the dtype their graph declares.

    PyTensor 3.0's JAX version of ``CAReduce`` (sum, mean, ...) returns its
    accumulator dtype, float64 for a float32 sum once 64-bit types are on,
    so a float32 model's parameters would turn float64 after one step.  The
    result is cast to the node's output dtype, as the C and Numba backends
    produce it.
    """
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.link.jax.dispatch.elemwise import jax_funcify_CAReduce
    from pytensor.tensor.elemwise import CAReduce

    @jax_funcify.register(CAReduce)
    def typed_careduce(op, node=None, **kwargs):
        reduce = jax_funcify_CAReduce(op, node=node, **kwargs)
        if node is None:
            return reduce
        dtype = node.outputs[0].dtype

        def careduce(x):
            return reduce(x).astype(dtype)
        return careduce


def uses_jax(mode=None):
    """True if functions compiled in ``mode`` (default: the current one) run
    on JAX."""
    from pytensor.compile.mode import get_mode as pytensor_mode
    from pytensor.link.jax.linker import JAXLinker

    if not ((isinstance(mode, str) and mode.upper() == "JAX")
            or isinstance(pytensor_mode(resolve_mode(mode)).linker,
                          JAXLinker)):
        return False
    require_jax()  # before anything is compiled for it
    return True


# data set -> (weak reference to the value copied, its device copy)
_device_copies = weakref.WeakKeyDictionary()


def on_device(variable):
    """A shared variable like ``variable`` whose value lives on JAX's device.

    PyTensor hands a JAX function the NumPy value of a shared variable on
    every call, which JAX copies to the device each time: a whole training
    set per minibatch.  Functions compiled for JAX use this copy instead,
    made once per value (a later ``set_value`` on ``variable`` makes a new
    one); ``variable`` itself keeps its NumPy value for every other backend.
    """
    value = variable.get_value(borrow=True)
    if not isinstance(value, np.ndarray):  # a JAX array already
        return variable
    cached = _device_copies.get(variable)
    if cached is not None and cached[0]() is value:
        return cached[1]
    jax = require_jax()
    copy = pytensor.shared(value[(slice(0, 0),) * value.ndim],
                           name=f"{variable.name or 'data'}@device")
    # set_value would turn the JAX array back into NumPy
    copy.container.storage[0] = jax.device_put(value)
    _device_copies[variable] = (weakref.ref(value), copy)
    return copy


def to_host(variables):
    """Give every shared variable holding a JAX array a writable NumPy copy.

    ``variables``: a model (:class:`sda.SdA` or :class:`sda.dA`: all its
    parameters) or shared variables.  After a JAX function has run, the
    parameters it updated hold read-only JAX arrays, which PyTensor's C and
    Numba functions cannot take.  The library calls this wherever a model
    leaves JAX: before C or Numba functions, at the end of every epoch of its
    training loops, before saving.  Returns how many were moved.
    """
    variables = getattr(variables, "state_variables", variables)
    if callable(variables):
        variables = variables()
    moved = 0
    for variable in variables:
        storage = variable.container.storage
        if (storage[0] is not None and hasattr(storage[0], "__array__")
                and not isinstance(storage[0], np.ndarray)):
            storage[0] = np.array(storage[0])
            moved += 1
    return moved


def function(*args, **kwargs):
    """``pytensor.function``, as the library's builders call it.

    Under JAX, PyTensor warns that a compiled function draws from a copy of
    each random state instead of the shared variable itself (expected here,
    and said in :class:`sda.RandomStreams`), and that it drops the run-time
    shape checks of the graph (JAX checks shapes when it traces): both
    warnings are left out.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The RandomType SharedVariables",
                                UserWarning)
        warnings.filterwarnings("ignore", "Skipping .* Op .* as JAX tracing "
                                "would remove it", UserWarning)
        return pytensor.function(*args, **kwargs)


class HostState:
    """Whether the JAX functions of a model have run since its parameters
    were last given back to NumPy: one flag, cheap enough to test on every
    step of a C function."""

    __slots__ = ("variables", "dirty")

    def __init__(self, variables):
        self.variables = variables  # callable: the model's shared variables
        self.dirty = False

    def sync(self):
        to_host(self.variables())
        self.dirty = False


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
    elif str(pytensor.config.mode).upper() == "JAX":
        require_jax()


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
