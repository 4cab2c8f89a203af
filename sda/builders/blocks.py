"""Many SGD steps per call: a block of consecutive minibatches as one graph.

Calling a compiled function costs a few microseconds on the C backend and
tens on JAX, where a step on one example can take less than the call.  A
*block* trains ``steps`` consecutive minibatches in one call: the one-step
graph becomes the body of a scan that carries the parameters and the random
states from step to step, so that a block computes what as many single
steps would (:meth:`sda.SdA.pretraining_functions`, ``steps_per_call``).
"""

import pytensor
import pytensor.tensor as pt
from pytensor.graph import clone_replace

from .. import _checks
from .._compat import random_states

__all__ = ["sgd_block", "check_steps_per_call"]


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


def sgd_block(cost, updates, givens, index, steps, mode=None):
    """``steps`` SGD steps on consecutive minibatches, as one graph.

    The one-step graph (``cost`` and the parameter ``updates``, its input
    given by ``givens`` as minibatch ``index``) becomes the body of a scan
    over minibatches ``index * steps`` to ``(index + 1) * steps - 1``, the
    parameters carried from one step to the next and each random state
    advanced at every step, so a block computes what as many single steps
    would.  Returns the vector of the steps' costs and the updates of the
    whole block.  ``mode`` is what the scan's inner graph compiles in: the
    block's own mode (PyTensor's default mode otherwise).
    """
    params = [p for p, _ in updates]
    pairs = random_states([cost])
    rngs, next_rngs = [r for r, _ in pairs], [n for _, n in pairs]

    def step(i, *state):
        # one clone of the whole step, so that the next random states are
        # those of the draws the cost uses
        one = clone_replace(
            [cost] + [v for _, v in updates] + next_rngs,
            replace=dict(givens))
        return clone_replace(one, replace={index: i, **dict(
            zip(params + rngs, state))})

    outputs = pytensor.scan(
        step, sequences=[index * steps + pt.arange(steps)],
        outputs_info=[None] + params + rngs, return_updates=False,
        name="sgd_block", mode=mode)
    costs, states = outputs[0], outputs[1:]
    # scan gives the sequence of each parameter, but only the last of each
    # random state
    return costs, ([(p, s[-1]) for p, s in zip(params, states)]
                   + list(zip(rngs, states[len(params):])))
