"""Every place sda reaches into the internals of a dependency.

PyTensor, NumPy's generators and Optuna are used through their public APIs
everywhere else.  Each hook here names what it relies on and why no public
API does the job, and ``tests/test_compat.py`` has one test per hook, named
after it, that fails when an upgrade breaks it.  The version pins in
``setup.py`` (``pytensor>=3.0.7,<3.1``, ``optuna>=4,<6``) are the ranges
these hooks are tested against.
"""

import warnings

import numpy as np
import pytensor
from pytensor.graph import graph_inputs
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.link.c.basic import CLinker, OpWiseCLinker
from pytensor.link.c.op import OpenMPOp
from pytensor.link.vm import VMLinker
from pytensor.tensor.elemwise import CAReduce
from pytensor.tensor.random.basic import BernoulliRV
from pytensor.tensor.random.type import RandomType

__all__ = ["user_set", "put_value", "set_default_update", "random_states",
           "UniformBernoulliRV", "gxx_supports_openmp", "runs_c_thunks",
           "careduce_in_output_dtype", "queued_params"]


# -- PyTensor's configuration ---------------------------------------------------

def user_set(name):
    """True if the user chose PyTensor flag ``name``: in ``PYTENSOR_FLAGS``
    or ``.pytensorrc``, or in code (``pytensor.config.<name> = ...``).

    Hook: ``config._config_var_dict[name]`` and its ``val``, ``default`` and
    ``is_default``, and ``config.fetch_val_for_key``.  PyTensor has no
    public way to ask whether a flag holds its default because nobody set
    it (its configuration is an open design question, pymc-devs/pytensor
    #126), and sda must not override a choice the user made.
    """
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


# -- shared variables -----------------------------------------------------------

def put_value(shared, value):
    """Store ``value`` in ``shared`` as it is, without its type's filter.

    Hook: ``shared.container.storage[0]``.  ``set_value`` converts what it
    is given to a NumPy array, which is what every backend but JAX reads;
    a data set kept on JAX's device must stay a JAX array there, or every
    call of a JAX function copies it to the device again (PyTensor's
    shared variables hold one value for all backends; pymc-devs/pymc #8360
    is the other side of the same design).
    """
    shared.container.storage[0] = value


# -- random streams -------------------------------------------------------------

def set_default_update(rng, next_rng):
    """Make ``rng`` advance to ``next_rng`` after every call of a compiled
    function that draws from it, without the caller listing an update.

    Hook: ``SharedVariable.default_update``, deprecated since PyTensor 3.0
    (pymc-devs/pytensor #1707, which removed ``RandomStream`` in favour of
    explicit updates) and warning on every assignment.  The tutorial's
    ``get_cost_updates`` returns only the parameters' updates and relies on
    the random state advancing by itself, so :class:`sda.RandomStreams`
    keeps that behaviour here until PyTensor drops the attribute.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        rng.default_update = next_rng


def random_states(outputs):
    """``(state, next_state)`` of every shared random state ``outputs`` draw
    from whose next state is its ``default_update`` (see
    :func:`set_default_update`).

    Hook: reading ``default_update``, the same deprecated attribute.
    """
    return [(v, v.default_update) for v in graph_inputs(list(outputs))
            if isinstance(v.type, RandomType)
            and getattr(v, "default_update", None) is not None]


class UniformBernoulliRV(BernoulliRV):
    """Bernoulli draws as ``u <= p`` from one ``Generator.random`` call.

    Hook: ``ScipyRandomVariable.rng_fn_scipy``, the method PyTensor's C VM
    calls to draw.  PyTensor samples ``bernoulli`` through SciPy and
    ``binomial`` through NumPy with array-valued parameters, NumPy's slow
    path, several times slower (``benchmarks/bench_kernels.py`` times both);
    no public option selects another sampler.  The Numba backend compiles
    ``BernoulliRV``'s own kernel, which compares the same uniforms in the
    same order, so both backends draw identical masks.
    """

    @classmethod
    def rng_fn_scipy(cls, rng, p, size):
        if size is None:
            size = np.shape(p)
        return (rng.random(size) <= p).astype(np.int64)


# -- the C backend --------------------------------------------------------------

def gxx_supports_openmp():
    """True if PyTensor's compiler builds OpenMP code (tested once).

    Hook: ``OpenMPOp.gxx_support_openmp``, the class attribute where
    PyTensor caches the answer of ``OpenMPOp.test_gxx_support()``.  sda's
    fused ops are ``COp``s with OpenMP threads of their own; sharing the
    cached test spares a compile of the probe program.
    """
    if OpenMPOp.gxx_support_openmp is None:
        OpenMPOp.gxx_support_openmp = OpenMPOp.test_gxx_support()
    return bool(OpenMPOp.gxx_support_openmp)


def runs_c_thunks(linker):
    """True if functions linked by ``linker`` run compiled C code.

    Hook: ``VMLinker.c_thunks``.  A mode exposes its linker but not
    whether the linker compiles C, and the C VM falls back to Python
    thunks when no compiler is configured.
    """
    if not pytensor.config.cxx:
        return False
    if isinstance(linker, VMLinker):
        return bool(linker.c_thunks)
    return isinstance(linker, (CLinker, OpWiseCLinker))


# -- the JAX backend ------------------------------------------------------------

@node_rewriter([CAReduce])
def careduce_in_output_dtype(fgraph, node):
    """``sum{acc_dtype=float64, dtype=float32}(x)`` -> ``cast(sum{float64}(x),
    float32)``: the accumulation made explicit, in the graph.

    Hook: ``CAReduce.acc_dtype`` and ``CAReduce.clone(dtype=, acc_dtype=)``.
    PyTensor 3.0's JAX implementation of ``CAReduce`` returns its result in
    the accumulator's dtype, float64 for a float32 sum when JAX's 64-bit
    types are on, so a float32 model's parameters would turn float64 after
    one step (no upstream issue found; the C and Numba backends return the
    node's dtype).  With the cast in the graph every backend returns what
    the graph declares.  Only modes that include the tag ``sda_jax`` (the
    library's JAX mode, :mod:`sda.backend.jax`) apply it.
    """
    op = node.op
    acc_dtype = getattr(op, "acc_dtype", None)
    (out,) = node.outputs
    if acc_dtype is None or acc_dtype == out.dtype:
        return False
    wide = op.clone(dtype=acc_dtype, acc_dtype=acc_dtype)(*node.inputs)
    return [pytensor.tensor.cast(wide, out.dtype)]


# -- Optuna ---------------------------------------------------------------------

def queued_params(trial):
    """The parameters a WAITING trial was queued with (``enqueue_trial``).

    Hook: ``FrozenTrial.system_attrs["fixed_params"]``, where Optuna keeps
    them until the trial is asked for; ``trial.params`` is empty until
    then.  The grid's driver needs them to skip points already queued.
    """
    return trial.system_attrs.get("fixed_params", {})
