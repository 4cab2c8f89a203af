"""Compiled fine-tuning: the SGD step of the whole network and the scorers.

The functions of :meth:`sda.SdA.build_finetune_functions`, which takes its
arguments, docstring and defaults from here.  The step is the model's own
symbolic cost and updates (:meth:`sda.SdA.get_finetune_cost_updates`), or
on the C backend with single examples one fused C op
(:func:`sda.ops.fused.mlp_sgd_step`); the scorers count the errors of
equal minibatches that cover the whole set.
"""

import numpy as np
import pytensor.tensor as pt

from .. import _checks
from ..data import as_datasets
from ..ops import fused as fused_steps
from .steps import check_steps_per_call, compile_step, step_input

__all__ = ["build_finetune_functions", "evaluation_batch_size"]


def evaluation_batch_size(n_examples, batch_size, at_least=1000):
    """The minibatch size used to score a set of ``n_examples``.

    Scoring needs no small minibatches: it uses the smallest divisor of
    ``n_examples`` that is at least ``max(batch_size, at_least)`` (or all
    examples), so the minibatches are equal and the mean of their error
    rates is the error rate of the whole set, with no example left out.

    >>> evaluation_batch_size(10000, 20), evaluation_batch_size(1001, 1)
    (1000, 1001)
    """
    target = min(n_examples, max(batch_size, at_least))
    for size in range(target, n_examples + 1):
        if n_examples % size == 0:
            return size
    return n_examples


def _as_int32(y):
    """Shared labels as int32, whatever numeric dtype they are stored in.

    The tutorial stores them as floatX (for the GPU) and casts; their values
    are checked by ``_checks.labels`` first.
    """
    return y if y.dtype == "int32" else pt.cast(y, "int32")


def build_finetune_functions(model, datasets, batch_size, learning_rate, *,
                             backend, fused=None, steps_per_call=1,
                             update_rule=None):
    """The functions of :meth:`sda.SdA.build_finetune_functions`, in
    ``backend``: ``(train_fn, valid_score, test_score)``, ``test_score``
    None when ``datasets`` has no test set."""
    dtype = model.x.dtype
    datasets = as_datasets(datasets, dtype)
    sizes = {}
    named = [(name, pair) for name, pair in zip(("train", "valid", "test"),
                                                 datasets) if pair is not None]
    for name, (x, y) in named:
        x_values = x.get_value(borrow=True)
        sizes[name] = _checks.width(f"{name}_set_x", x_values, model.n_ins)
        _checks.finite(f"{name}_set_x", x_values)
        _checks.labels(f"{name}_set_y", y.get_value(borrow=True),
                       model.n_outs, sizes[name])
    batch_size = _checks.batch_size(batch_size, sizes["train"])
    n_batches = sizes["train"] // batch_size
    steps = check_steps_per_call(steps_per_call, n_batches, fused)
    fused = steps == 1 and backend.use_fused(fused, batch_size)
    host = model.host
    host.sync()
    (train_x, train_y), (valid_x, valid_y), test = [
        None if pair is None else (backend.data(pair[0]), backend.data(pair[1]))
        for pair in datasets]
    index = pt.lscalar("index")
    learning_rate = np.asarray(_checks.learning_rate(
        "learning_rate", learning_rate, zero=True), dtype=dtype)

    if batch_size == 1:  # single rows with static shapes: GEMV and GER
        x = step_input("x", 1, model.n_ins, dtype)
        y = pt.tensor("y", shape=(1,), dtype="int32")
    else:
        x, y = model.x, model.y
    if fused:
        cost, updates = fused_steps.mlp_sgd_step(model.params, x[0], y[0],
                                                 learning_rate)
    else:
        cost, updates = model.get_finetune_cost_updates(
            learning_rate, x, y, update_rule=update_rule)
    givens = {x: backend.minibatch(train_x, index, batch_size),
              y: backend.minibatch(_as_int32(train_y), index, batch_size)}
    train_fn, block = compile_step(backend, host, [index], cost, updates,
                                   givens, index=index, name="train",
                                   n_batches=n_batches, steps=steps,
                                   params=model.params)
    if block is not None:
        block.single, train_fn = train_fn, block

    def scorer(x, y, name):
        n = sizes[name]
        size = evaluation_batch_size(n, batch_size)
        score_i = backend.step(backend.function(
            [index], model.errors,
            givens={model.x: backend.minibatch(x, index, size),
                    model.y: backend.minibatch(_as_int32(y), index, size)},
            name=name), host, n // size)

        def score():
            return [score_i(i) for i in range(n // size)]
        score.__doc__ = f"Error rates of the {name} minibatches."
        return score

    return train_fn, scorer(valid_x, valid_y, "valid"), (
        None if test is None else scorer(*test, "test"))
