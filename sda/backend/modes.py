"""Which mode the library compiles in, and the backend resolved from it.

PyTensor 3 compiles with Numba by default.  Its C backend (the ``CVM``
mode, Theano's old ``FAST_RUN``), linked to a BLAS (:mod:`sda.backend.blas`),
is three times faster on these models, and ten times slower without one
(``benchmarks/bench_sda.py --configs sda,sda-numba,sda-cvm-noblas`` prints
the figures).  So the library compiles its own functions in ``CVM`` when a
BLAS is linked and in ``NUMBA`` when not, by passing the ``Mode`` to each
``pytensor.function`` it calls; ``pytensor.config.mode``, which the user's
own functions (and a PyMC model's) compile with, is left alone.

A choice the user made wins, in this order: :func:`set_mode`, the
environment variable ``SDA_MODE``, and ``mode`` chosen for PyTensor
(``PYTENSOR_FLAGS``, ``.pytensorrc``, or ``pytensor.config.mode`` set in
code).  Builders, loops and estimators also take ``mode=`` for one call.
"""

import os
import warnings

import pytensor
from pytensor.compile.mode import Mode
from pytensor.compile.mode import get_mode as pytensor_mode
from pytensor.link.jax.linker import JAXLinker

from .._compat import user_set
from ..errors import SlowBackendWarning
from ..ops.elementwise import TAG as VECTORISED
from ..ops.blas import TAG as THREADS
from ..ops.fused import TAG as FUSED
from . import jax
from .blas import blas_ldflags
from .host import Backend

__all__ = ["MODES", "get_mode", "set_mode", "check_mode", "resolve",
           "compile_mode", "uses_jax", "runs_c_code", "function",
           "on_device", "warn_if_slow"]

#: The modes the library is tested with.  ``FAST_COMPILE`` is left out on
#: purpose: it skips the stabilising rewrites.  ``JAX`` needs the extra
#: ``sda[jax]``.
MODES = ("CVM", "NUMBA", "JAX")

# the mode sda.set_mode chose, or None
_chosen = None


def get_mode():
    """The name of the mode the library compiles in when it is given none.

    :func:`set_mode`'s choice, else ``SDA_MODE``, else the mode chosen for
    PyTensor (``PYTENSOR_FLAGS``, ``.pytensorrc``, ``pytensor.config.mode``
    set in code), else ``CVM`` when a BLAS is linked and ``NUMBA`` when
    not (the C backend without BLAS is ten times slower than Numba, with
    BLAS three times faster).  Nothing is changed by asking.
    """
    if _chosen is not None:
        return _chosen
    env = os.environ.get("SDA_MODE")
    if env:
        return check_mode(env, "SDA_MODE")
    if user_set("mode"):
        return str(pytensor.config.mode)
    return "CVM" if blas_ldflags() else "NUMBA"


def set_mode(mode):
    """Compile everything in ``mode`` from now on, the user's own functions too.

    One of :data:`MODES` (case-insensitive); any other PyTensor mode name is
    accepted too, for experiments, except ``FAST_COMPILE``, which skips the
    rewrites that make training graphs fast and keep them stable.

    This is the one call of the library that changes a process-wide
    setting, because it is asked to: ``pytensor.config.mode``, which the
    user's own ``pytensor.function`` calls compile with.  To choose the
    library's mode alone, set ``SDA_MODE`` or pass ``mode=`` to the
    builders, loops and estimators.
    """
    global _chosen
    mode = check_mode(mode)
    if mode == "JAX":
        jax.require_jax()
    pytensor.config.mode = mode
    _chosen = mode
    warn_if_slow(mode, stacklevel=3)
    return mode


def check_mode(mode, name="mode"):
    """A mode name, upper-cased, if the library accepts it (see
    :func:`set_mode`); ``ValueError`` naming ``name`` otherwise."""
    if not isinstance(mode, str):
        raise ValueError(f"{name} must be a mode name such as "
                         f"{', '.join(MODES)}, got {mode!r}")
    upper = mode.upper()
    if upper == "FAST_COMPILE":
        raise ValueError(f"{name} must not be 'FAST_COMPILE': it skips the "
                         f"stability rewrites (choose one of "
                         f"{', '.join(MODES)}), got {mode!r}")
    try:
        pytensor_mode(upper)  # a dictionary lookup
    except ValueError:
        raise ValueError(f"{name} must be one of {', '.join(MODES)} (or "
                         f"another of PyTensor's mode names), got "
                         f"{mode!r}") from None
    return upper


# (mode name, the configuration it depends on) -> Backend
_backends = {}
# id of a Mode object -> (that Mode, its Backend)
_of_modes = {}


def resolve(mode=None):
    """The :class:`~sda.backend.Backend` of ``mode``, resolved once.

    ``mode``: a mode name, a PyTensor ``Mode``, a Backend (returned as it
    is), or None for :func:`get_mode`.  Backends of mode names are kept, so
    that resolving the same name again costs a dictionary lookup.
    """
    if isinstance(mode, Backend):
        return mode
    if mode is None:
        mode = get_mode()
    if isinstance(mode, Mode):
        # kept with the Mode itself, so that the same Mode object resolves
        # to the same Backend (and its compiled functions are reused)
        held = _of_modes.get(id(mode))
        if held is None or held[0] is not mode:
            held = _of_modes[id(mode)] = (
                mode, _new_backend(type(mode.linker).__name__, mode))
        return held[1]
    name = check_mode(mode)
    if name == "JAX":
        jax.require_jax()  # a plain error if JAX is missing (cheap if not)
    key = (name, str(pytensor.config.linker), str(pytensor.config.cxx))
    backend = _backends.get(key)
    if backend is None:
        mode = pytensor_mode(name)
        backend = _backends[key] = _new_backend(name, mode)
        if backend.mode is mode:  # nothing of sda's to add: the name itself
            backend.mode = name
    return backend


def _new_backend(name, mode):
    if isinstance(mode.linker, JAXLinker):
        return jax.JaxBackend(name, mode.including(jax.TAG))
    backend = Backend(name, mode)
    if backend.runs_c:
        excluded = pytensor.config.optimizer_excluding.split(":")
        backend.mode = mode.including(FUSED, *(
            tag for tag in (VECTORISED, THREADS) if tag not in excluded))
    return backend


def compile_mode(mode=None):
    """The ``Mode`` the library compiles with in ``mode`` (default: its own).

    ``mode`` itself and, when it runs C code, with sda's vectorised sigmoid
    and softplus (:mod:`sda.ops.elementwise`) in place of PyTensor's
    element-at-a-time loops and its fused steps working in place; under JAX,
    with its reductions kept in their declared dtype.  Pass the result to your own
    ``pytensor.function`` calls to compile them as the library does.  The
    PyTensor flag ``optimizer_excluding=sda_vectorised`` leaves the
    vectorised ops out.
    """
    return resolve(mode).mode


def uses_jax(mode=None):
    """True if functions compiled in ``mode`` (default: the library's) run
    on JAX.  A query: nothing is imported or set up."""
    if isinstance(mode, Backend):
        return isinstance(mode, jax.JaxBackend)
    if mode is None:
        mode = get_mode()
    if isinstance(mode, str):
        mode = pytensor_mode(check_mode(mode))
    return isinstance(mode.linker, JAXLinker)


def runs_c_code(mode=None):
    """True if functions compiled in ``mode`` (default: the library's) run
    C thunks, where sda's fused C ops (:mod:`sda.ops.fused`) are fast."""
    return resolve(mode).runs_c


def function(inputs, outputs=None, mode=None, **kwargs):
    """``pytensor.function`` as the library's builders call it: in the
    backend of ``mode`` (default: the library's own; see
    :meth:`Backend.function`)."""
    return resolve(mode).function(inputs, outputs, **kwargs)


def on_device(variable):
    """The device copy of a shared data set that JAX functions read
    (:meth:`sda.backend.jax.JaxBackend.data`)."""
    return resolve("JAX").data(variable)


def warn_if_slow(mode=None, stacklevel=2):
    """Warn (:class:`SlowBackendWarning`) if ``mode`` runs PyTensor's C
    backend without a BLAS."""
    if blas_ldflags() or uses_jax(mode):
        return
    if resolve(mode).runs_c:
        warnings.warn(
            "sda: PyTensor's C backend runs without a BLAS library here, "
            "about 10x slower than Numba; install scipy-openblas32 or set "
            "PYTENSOR_FLAGS=blas__ldflags=... (see docs/performance.md, "
            "'Backends and BLAS')", SlowBackendWarning,
            stacklevel=stacklevel)
