"""Backends: how the library's functions are compiled and run.

* :mod:`sda.backend.modes`: which mode the library compiles in (its own
  choice, ``CVM`` with a BLAS, or the user's), and :func:`resolve`, which
  turns a mode into a :class:`Backend` once;
* :mod:`sda.backend.host`: :class:`Backend`, for the modes whose functions
  work on NumPy arrays (the C VM, Numba), and the model's
  :class:`HostState`;
* :mod:`sda.backend.jax`: the JAX backend, PyTensor's route to a GPU;
* :mod:`sda.backend.blas`: the OpenBLAS that PyTensor's C backend links.

Every difference between backends lives here: outside this package no
module of the library tests which backend it runs on; the builders, the
layer cache, the models' methods and the loops ask the Backend.
"""

from ..errors import SlowBackendWarning
from .blas import blas_ldflags, configure_blas
from .host import Backend, HostState, to_host
from .jax import JaxBackend, require_jax
from .modes import (MODES, check_mode, compile_mode, function, get_mode,
                    on_device, resolve, runs_c_code, set_mode, uses_jax,
                    warn_if_slow)

__all__ = ["Backend", "JaxBackend", "HostState", "resolve", "get_mode",
           "set_mode", "check_mode", "compile_mode", "uses_jax",
           "runs_c_code", "function", "on_device", "to_host", "require_jax",
           "blas_ldflags", "MODES", "SlowBackendWarning"]

# Before anything compiles C code (see sda.backend.blas); the one PyTensor
# setting the library changes.
configure_blas()
warn_if_slow(stacklevel=4)
