"""The JAX backend: PyTensor's route to a GPU (the extra ``sda[jax]``).

With a CUDA build of ``jaxlib`` the compiled functions run on the
accelerator.  What differs from the host backends (:mod:`sda.backend.host`),
all of it here:

* **Data on the device.**  PyTensor hands a JAX function the NumPy value
  of a shared variable on every call, which JAX copies to the device each
  time: a whole training set per minibatch.  The library's JAX functions
  read a copy kept on the device instead (:meth:`JaxBackend.data`), made
  once per value; the shared variable itself keeps its NumPy value for
  every other backend.
* **Minibatches as gathers.**  JAX compiles only slices of static length,
  and a slice whose bounds depend on ``index`` is not one to PyTensor
  (pymc-devs/pytensor #312); ``data[index * size + arange(size)]`` is.
  JAX clamps an index past the end instead of raising, so the steps check
  ``index`` before the call.
* **Parameters back to NumPy.**  A JAX function leaves read-only JAX arrays
  in the shared variables it updates, which C and Numba functions cannot
  take (pymc-devs/pymc #8360); the model's :class:`~sda.backend.HostState`
  notes it, and the next host function, epoch end or save gives them back.
* **64-bit types in the call that needs them.**  JAX computes in 32 bits
  unless ``jax_enable_x64`` is on, and PyTensor switches it on or off for
  the whole process after ``floatX`` when its JAX dispatch is first
  imported: a float64 model could then compute in float32 without a word.
  Every call of a library JAX function (and its compilation and device
  copies) runs inside ``jax.enable_x64(True)``, a context that changes the
  flag for that call only; the process-wide flag stays as the user (or
  PyTensor) set it.  The raw function behind a step, ``fn.function``, is
  wrapped the same way (:class:`ScopedFunction`).
* **Reductions in their declared dtype**, by the rewrite
  :func:`sda._compat.careduce_in_output_dtype` under the tag :data:`TAG`,
  which the library's JAX mode includes.
* **Random draws.**  A compiled JAX function draws from a copy of each
  random state taken when it is compiled; re-seeding afterwards does not
  reach it (pymc-devs/pytensor #2271), and a block of steps compiled beside
  a single step gets streams of its own (:meth:`JaxBackend.separate_streams`).
"""

import contextlib
import operator
import warnings
import weakref

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile import SharedVariable
from pytensor.compile.mode import optdb
from pytensor.graph.rewriting.basic import dfs_rewriter

from .._compat import careduce_in_output_dtype, put_value, random_states
from .host import Backend, _named

__all__ = ["JaxBackend", "ScopedFunction", "require_jax", "TAG"]

#: The rewrite tag of the library's JAX mode.
TAG = "sda_jax"

# Late, after every rewrite that might fold the explicit cast back into the
# reduction (specialize, uncanonicalize), before the last merge.
optdb.register("sda_jax_careduce_in_output_dtype",
               dfs_rewriter(careduce_in_output_dtype,
                            name="sda_jax_careduce_in_output_dtype"),
               TAG, position=99)

_MISSING = ("mode 'JAX' needs JAX: pip install 'sda[jax]' (or a CUDA build "
            "of jax for a GPU)")


def require_jax():
    """The ``jax`` module, or an ImportError saying how to install it."""
    try:
        import jax
    except ImportError:
        raise ImportError(_MISSING) from None
    return jax


class ScopedFunction:
    """A compiled JAX function whose every call runs with JAX's 64-bit types
    on (``jax.enable_x64(True)``), whatever the process-wide flag says.

    Attributes other than the call are those of the PyTensor function,
    ``function``.
    """

    __slots__ = ("function", "_x64")

    def __init__(self, function, x64):
        self.function = function
        self._x64 = x64

    def __call__(self, *args, **kwargs):
        with self._x64(True):
            return self.function(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.function, name)


# data set -> (weak reference to the value copied, its device copy)
_device_copies = weakref.WeakKeyDictionary()


class JaxBackend(Backend):
    """The :class:`~sda.backend.Backend` of JAX modes (see the module)."""

    def __init__(self, name, mode):
        super().__init__(name, mode)
        self._jax = require_jax()
        self.compile_note = "XLA compiles them again in every new process"

    def _scope(self):
        return self._jax.enable_x64(True)

    def function(self, inputs, outputs=None, **kwargs):
        """``pytensor.function`` for JAX, as a :class:`ScopedFunction`.

        PyTensor warns that a compiled function draws from a copy of each
        random state instead of the shared variable itself (expected, see
        the module), and that it drops the run-time shape checks of the
        graph (JAX checks shapes when it traces): both warnings are left
        out.
        """
        with self._scope(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The RandomType SharedVariables",
                                    UserWarning)
            warnings.filterwarnings("ignore", "Skipping .* Op .* as JAX "
                                    "tracing would remove it", UserWarning)
            compiled = pytensor.function(inputs, outputs, mode=self.mode,
                                         **kwargs)
        return ScopedFunction(compiled, self._jax.enable_x64)

    def separate_streams(self, cost):
        """Compile a block on streams of its own.

        A JAX function draws from a copy of each random state taken when it
        is compiled; a block and the single step compiled beside it would
        start from the same state and repeat each other's masks.  The
        block's copy is taken from the states jumped ahead by 2**127 draws
        (disjoint streams, as reproducible as the seed).
        """
        return _jumped([r for r, _ in random_states([cost])])

    def data(self, variable):
        """A shared variable like ``variable`` whose value lives on JAX's
        device, made once per value (a later ``set_value`` on ``variable``
        makes a new one); ``variable`` itself if it holds a JAX array."""
        value = variable.get_value(borrow=True)
        if not isinstance(value, np.ndarray):
            return variable
        cached = _device_copies.get(variable)
        if cached is not None and cached[0]() is value:
            return cached[1]
        copy = pytensor.shared(value[(slice(0, 0),) * value.ndim],
                               name=f"{variable.name or 'data'}@device")
        self.hold(copy, value)
        _device_copies[variable] = (weakref.ref(value), copy)
        return copy

    def minibatch(self, data, index, size):
        """Rows ``index * size + arange(size)`` of the device copy of
        ``data`` (a gather: see the module)."""
        if isinstance(data, SharedVariable):
            data = self.data(data)
        if size == 1:
            return pt.expand_dims(data[index], 0)
        return data[index * size + pt.arange(size)]

    def hold(self, variable, value):
        with self._scope():
            put_value(variable, self._jax.device_put(value))

    def step(self, compiled, host, n_calls):
        """``fn(index, *inputs)``: the index checked against ``n_calls``
        (JAX would clamp it), the result as a NumPy array, and ``host``
        told that the parameters are JAX arrays now."""
        raw = compiled.function
        raw.trust_input = True
        scope = self._scope

        def fn(index, *inputs):
            index = operator.index(index)
            if not 0 <= index < n_calls:
                raise IndexError(f"index {index} is out of range: there "
                                 f"are {n_calls} minibatches")
            host.dirty = True
            with scope():
                return np.asarray(raw(np.int64(index), *inputs))

        return _named(fn, compiled)

    def evaluate(self, compiled, host):
        def run(chunk):
            return np.asarray(compiled(chunk))
        return run


@contextlib.contextmanager
def _jumped(rngs):
    """The random states ``rngs`` jumped ahead by 2**127 draws, restored
    after."""
    saved = [r.get_value(borrow=True) for r in rngs]
    for r, generator in zip(rngs, saved):
        r.set_value(np.random.Generator(generator.bit_generator.jumped()),
                    borrow=True)
    try:
        yield
    finally:
        for r, generator in zip(rngs, saved):
            r.set_value(generator, borrow=True)
