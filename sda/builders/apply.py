"""Applying a model to arrays: compiled once, run in chunks.

The models' convenience methods (``SdA.encode``, ``SdA.predict``,
``dA.reconstruct``, ...) take plain arrays of any float dtype.  Each
expression is compiled the first time it is asked for and kept in a
:class:`CompiledFunctions` owned by the model; the rows are then cast to the
model's dtype and pushed through it ``chunk_rows`` at a time, so a large
float64 array never needs a second full-size copy in float32.  Each chunk
is checked for NaN and infinite values after the cast (one
``numpy.isfinite`` pass, a few per cent of a ``predict``).
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

from .. import _checks
from ..backend import resolve

__all__ = ["CompiledFunctions", "as_rows"]

#: Rows pushed through a compiled function per call.
CHUNK_ROWS = 4096


def as_rows(name, X, width):
    """``X`` as an array of ``width`` columns, one row per example."""
    if isinstance(X, pytensor.compile.SharedVariable):
        X = X.get_value(borrow=True)
    values = np.asarray(X)
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got an array of "
                         f"{values.dtype}")
    if values.ndim == 1 and values.shape[0] == width:
        raise ValueError(f"{name} must be a matrix with {width} columns (one "
                         f"row per example), got a vector of {width}: pass "
                         f"X.reshape(1, -1) for a single example")
    _checks.width(name, values, width)
    return values


class CompiledFunctions:
    """Functions of one symbolic input matrix, compiled on first use.

    Parameters
    ----------
    dtype : str
        The model's floatX; inputs are cast to it chunk by chunk.
    width : int
        Columns of the input.
    host : sda.backend.HostState, optional
        The model's parameters, given back to NumPy before a C or Numba
        function reads them (a JAX function may have left JAX arrays there).

    Each function is compiled once per backend and kept.
    """

    def __init__(self, dtype, width, host=None):
        self.dtype = str(dtype)
        self.width = width
        self.host = host
        self._functions = {}

    def __len__(self):
        return len(self._functions)

    def apply(self, key, build, X, chunk_rows=CHUNK_ROWS, name="X",
              backend=None):
        """``build(x)`` evaluated on the rows of ``X``.

        Parameters
        ----------
        key : hashable
            Names the expression; ``build`` is called only the first time.
        build : callable
            Maps a symbolic ``(n, width)`` matrix to the expression.
        X : array-like of shape (n_examples, width)
        chunk_rows : int
        name : str
            ``X``'s name in error messages.
        backend : sda.backend.Backend or mode, optional
            Where to compute (default: the library's mode).
        """
        values = as_rows(name, X, self.width)
        chunk_rows = _checks.positive_int("chunk_rows", chunk_rows)
        backend = resolve(backend)
        run = self._functions.get((key, backend))
        if run is None:
            x = pt.matrix("X", dtype=self.dtype)
            run = self._functions[(key, backend)] = backend.evaluate(
                backend.function([x], build(x), name=str(key)), self.host)
        n = values.shape[0]
        out = None
        for start in range(0, max(n, 1), chunk_rows):
            # checked after the cast: 1e300 is finite in float64 but not
            # in float32, and a compiled function would turn it into a
            # silent NaN (or class 0)
            result = run(_checks.finite_cast(
                name, values[start:start + chunk_rows], self.dtype, start))
            if out is None:
                out = np.empty((n,) + result.shape[1:], result.dtype)
            out[start:start + len(result)] = result
        return out
