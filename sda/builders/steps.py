"""What every compiled training step shares: its symbolic input and how it is compiled.

A step is compiled once as a single-minibatch function and, with
``steps_per_call > 1``, once more as a block of consecutive minibatches
(:mod:`sda.builders.blocks`); the backend wraps both into the callables
the user and the training loops call (:meth:`sda.backend.Backend.step`).
"""

import pytensor.tensor as pt

from .blocks import check_steps_per_call, sgd_block

__all__ = ["step_input", "compile_step", "check_steps_per_call",
           "state_of"]


def state_of(updates, params):
    """The shared variables ``updates`` write that are not in ``params``:
    the update rule's state (velocities, moments), in the order of the
    updates."""
    ids = {id(p) for p in params}
    return [var for var, _ in updates if id(var) not in ids]


def step_input(name, batch_size, width, dtype):
    """A symbolic minibatch of ``dtype``; one of a single row is declared
    as such (PyTensor then computes with GEMV and GER)."""
    return pt.tensor(name, shape=(1 if batch_size == 1 else None, width),
                     dtype=dtype)


def compile_step(backend, host, inputs, cost, updates, givens, *, index,
                 name, n_batches, steps=1, params=()):
    """``(single, block)``: the step of one minibatch and, when ``steps >
    1``, the block of ``steps`` minibatches (else None), compiled and
    wrapped by ``backend``.

    ``inputs`` start with ``index``; ``givens`` take minibatch ``index``
    out of the shared data sets; ``host`` is the model's
    :class:`~sda.backend.HostState`.  The block takes the index of a block
    (minibatches ``index * steps`` to ``(index + 1) * steps - 1``).  Both
    carry ``n_batches``, the number of minibatches of the data, for the
    loops, and ``state``: the shared variables ``updates`` write besides
    ``params``, the update rule's state (that a checkpoint saves).
    """
    single = backend.step(backend.function(
        inputs, cost, updates=updates, givens=givens, name=name),
        host, n_batches)
    single.n_batches = n_batches
    single.state = state_of(updates, params)
    if steps == 1:
        return single, None
    costs, block_updates = sgd_block(cost, updates, givens, index, steps,
                                     backend.mode)
    with backend.separate_streams(cost):
        compiled = backend.function(inputs, costs, updates=block_updates,
                                    name=f"{name}_block")
    block = backend.step(compiled, host, n_batches // steps)
    block.n_batches = n_batches
    block.state = single.state
    return single, block
