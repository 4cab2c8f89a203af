"""Many SGD steps per call: a block of consecutive minibatches as one graph.

Calling a compiled function costs a few microseconds on the C backend and
tens on JAX, where a step on one example can take less than the call.  A
*block* trains ``steps`` consecutive minibatches in one call: the one-step
graph becomes the body of a scan that carries the parameters and the random
states from step to step, so that a block computes what as many single
steps would (:meth:`sda.SdA.pretraining_functions`, ``steps_per_call``).
"""

import contextlib

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph import clone_replace, graph_inputs
from pytensor.tensor.random.type import RandomType

from . import _checks

__all__ = ["check_steps_per_call", "random_states", "separate_streams",
           "sgd_block"]


def check_steps_per_call(value, n_batches, fused):
    """``steps_per_call`` as an int, if it fits the data and the step."""
    steps = _checks.positive_int("steps_per_call", value)
    if steps > n_batches:
        raise ValueError(f"steps_per_call must be at most the number of "
                         f"minibatches ({n_batches}), got {value!r}")
    if steps > 1 and fused:
        raise ValueError("fused steps take one minibatch a call: use "
                         "steps_per_call=1 with fused=True")
    return steps


def random_states(cost):
    """The random states ``cost`` draws from (each with its next state as
    ``default_update``)."""
    return [v for v in graph_inputs([cost])
            if isinstance(v.type, RandomType)
            and getattr(v, "default_update", None) is not None]


@contextlib.contextmanager
def separate_streams(cost, jax):
    """Compile a JAX block on streams of its own.

    A JAX function draws from a copy of each random state taken when it is
    compiled; a block and the single step compiled beside it would start
    from the same state and repeat each other's masks.  The block's copy is
    taken from the states jumped ahead by 2**127 draws (disjoint streams, as
    reproducible as the seed); C and Numba functions share the states
    themselves, so nothing is done for them.
    """
    rngs = random_states(cost) if jax else []
    saved = [r.get_value(borrow=True) for r in rngs]
    for r, generator in zip(rngs, saved):
        r.set_value(np.random.Generator(generator.bit_generator.jumped()),
                    borrow=True)
    try:
        yield
    finally:
        for r, generator in zip(rngs, saved):
            r.set_value(generator, borrow=True)


def sgd_block(cost, updates, givens, index, steps):
    """``steps`` SGD steps on consecutive minibatches, as one graph.

    The one-step graph (``cost`` and the parameter ``updates``, its input
    given by ``givens`` as minibatch ``index``) becomes the body of a scan
    over minibatches ``index * steps`` to ``(index + 1) * steps - 1``, the
    parameters carried from one step to the next and each random state
    advanced at every step, so a block computes what as many single steps
    would.  Returns the vector of the steps' costs and the updates of the
    whole block.
    """
    params = [p for p, _ in updates]
    rngs = random_states(cost)

    def step(i, *state):
        # one clone of the whole step, so that the next random states are
        # those of the draws the cost uses
        one = clone_replace(
            [cost] + [v for _, v in updates] + [r.default_update
                                                for r in rngs],
            replace=dict(givens))
        return clone_replace(one, replace={index: i, **dict(
            zip(params + rngs, state))})

    outputs = pytensor.scan(
        step, sequences=[index * steps + pt.arange(steps)],
        outputs_info=[None] + params + rngs, return_updates=False,
        name="sgd_block")
    costs, states = outputs[0], outputs[1:]
    # scan gives the sequence of each parameter, but only the last of each
    # random state
    return costs, ([(p, s[-1]) for p, s in zip(params, states)]
                   + list(zip(rngs, states[len(params):])))
