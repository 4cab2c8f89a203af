"""The backends whose functions read and write NumPy arrays: the C VM, Numba, and any other.

A :class:`Backend` is what the library knows about one PyTensor mode,
resolved once (:func:`sda.backend.resolve`): the ``Mode`` it compiles with,
whether that mode runs C (where sda's fused steps and vectorised
element-wise ops are fast), how a minibatch is taken from a shared data
set, where data and parameters live, and how a compiled step is called.
The builders, the layer cache, the models' convenience methods and the
training loops ask it instead of testing the mode.  JAX, whose functions
keep their values on a device, is the subclass in :mod:`sda.backend.jax`.
"""

import contextlib
import operator

import numpy as np
import pytensor
import pytensor.tensor as pt

from .._compat import runs_c_thunks

__all__ = ["Backend", "HostState", "to_host"]


def to_host(variables):
    """Give every shared variable holding a device array a writable NumPy copy.

    ``variables``: a model (:class:`sda.SdA` or :class:`sda.dA`: all its
    parameters) or shared variables.  After a JAX function has run, the
    parameters it updated hold read-only JAX arrays, which PyTensor's C and
    Numba functions cannot take (pymc-devs/pymc #8360).  The library does
    this wherever a model leaves JAX: before C or Numba functions, at the
    end of every epoch of its training loops, before saving; call it after
    stepping JAX functions yourself.  Returns how many were moved.
    """
    variables = getattr(variables, "state_variables", variables)
    if callable(variables):
        variables = variables()
    moved = 0
    for variable in variables:
        value = variable.get_value(borrow=True)
        if (value is not None and hasattr(value, "__array__")
                and not isinstance(value, np.ndarray)):
            variable.set_value(np.array(value), borrow=True)
            moved += 1
    return moved


class HostState:
    """Whether the device functions of a model have run since its parameters
    were last given back to NumPy: one flag, cheap enough to test on every
    step of a C function."""

    __slots__ = ("variables", "dirty")

    def __init__(self, variables):
        self.variables = variables  # callable: the model's shared variables
        self.dirty = False

    def sync(self):
        to_host(self.variables())
        self.dirty = False


class Backend:
    """How the library compiles and calls its functions in one PyTensor mode.

    This class serves every mode whose functions take and give NumPy
    arrays (``CVM``, ``NUMBA``, ``FAST_RUN`` and the like); get one with
    :func:`sda.backend.resolve`.

    Attributes
    ----------
    name : str
        The mode's name, as the user gave it (upper-cased).
    mode : pytensor.compile.Mode or str
        What the library compiles with: the mode itself (its name, when
        the library adds nothing to it) and, when it runs C, sda's
        vectorised sigmoid and softplus (:mod:`sda.ops.elementwise`).
    runs_c : bool
        Its functions run C thunks: sda's fused C steps are used there by
        default for minibatches of one example.
    compile_note : str
        What compiling costs here, for the notice before it.
    """

    def __init__(self, name, mode):
        self.name = name
        self.mode = mode
        self.runs_c = runs_c_thunks(mode.linker)
        self.compile_note = ("up to a minute the first time; PyTensor "
                             "caches the C code" if self.runs_c
                             else "up to a minute")

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"

    # -- compiling ------------------------------------------------------------

    def function(self, inputs, outputs=None, **kwargs):
        """``pytensor.function`` in this backend's mode."""
        return pytensor.function(inputs, outputs, mode=self.mode, **kwargs)

    def use_fused(self, fused, batch_size):
        """Whether a builder compiles sda's fused C step (``fused``: the
        user's wish, None for the default)."""
        if fused is None:
            return batch_size == 1 and self.runs_c
        if fused and batch_size != 1:
            raise ValueError(f"fused steps need batch_size 1, got "
                             f"batch_size={batch_size}")
        if fused and not self.runs_c:
            raise ValueError(f"fused steps are C code: they need a mode "
                             f"that runs it (CVM), got mode {self.name}")
        return bool(fused)

    def separate_streams(self, cost):
        """A context in which to compile a block of steps beside the single
        step of ``cost`` (see :mod:`sda.builders.blocks`); here both share
        the random states themselves, so nothing is needed."""
        return contextlib.nullcontext()

    # -- data -----------------------------------------------------------------

    def data(self, variable):
        """The shared variable compiled functions should read for the data
        set ``variable``: the variable itself."""
        return variable

    def minibatch(self, data, index, size):
        """Rows ``index * size`` to ``(index + 1) * size`` of a shared data set.

        The slice ``data[index * size:(index + 1) * size]``, a view.  A
        minibatch of one example is taken as a row with a static shape of
        ``(1, n)``: PyTensor then computes its products with GEMV and GER,
        which OpenBLAS runs several times faster than a one-row GEMM.
        """
        if size == 1:
            return pt.expand_dims(data[index], 0)
        return data[index * size:(index + 1) * size]

    def hold(self, variable, value):
        """Make ``value`` the content of ``variable`` where this backend's
        functions read it (a cache the steps read, say)."""
        variable.set_value(value, borrow=True)

    # -- calling --------------------------------------------------------------

    def step(self, compiled, host, n_calls):
        """``fn(index, *inputs)`` calling the compiled step ``compiled``.

        A reused int64 index buffer and ``trust_input``: no conversion or
        check of the index on each call (the indexing itself still checks
        its range), and ``inputs`` passed as they are, so they must be
        ready-made arrays of the right dtype.  With single examples this
        saves a tenth of a fine-tuning step.  If a device function of the
        same model ran since (``host.dirty``), the parameters are given back
        to NumPy first.  ``n_calls`` (the valid indices) is not needed here.
        """
        compiled.trust_input = True
        index_buf = np.zeros((), dtype=np.int64)

        def fn(index, *inputs):
            if host.dirty:
                host.sync()
            index_buf[()] = operator.index(index)
            return compiled(index_buf, *inputs)

        return _named(fn, compiled)

    def evaluate(self, compiled, host):
        """``run(chunk)``: ``compiled`` applied to an array, as a NumPy array,
        after the model's parameters (``host``, or None) are on the host."""
        def run(chunk):
            if host is not None:
                host.sync()
            return np.asarray(compiled(chunk))
        return run


def _named(fn, compiled):
    fn.__name__ = compiled.name or "fn"
    fn.function = compiled
    return fn
