"""Greedy layer-wise pretraining: each dA layer of an SdA trained in turn."""

import logging
import time

from .. import _checks
from ..backend import to_host
from ..data import as_shared
from .history import History
from .loop import (DIVERGENCE_FACTOR, Guard, check_divergence_factor,
                   check_resume, compiling, position_in, report,
                   stop_signals, train_epochs)

__all__ = ["pretrain"]

log = logging.getLogger("sda.train")


def pretrain(model, train_set_x, *, epochs=15, batch_size=1,
             learning_rate=0.001, corruption_levels=None, history=None,
             progress=None, mode=None, checkpointer=None, resume=None,
             divergence_factor=DIVERGENCE_FACTOR, steps_per_call=1,
             update_rule=None):
    """Greedy layer-wise pretraining of every dA layer of ``model``.

    Each layer ``i`` is trained for ``epochs`` passes over ``train_set_x``
    with corruption ``corruption_levels[i]`` (the model's own levels by
    default), after the layers below it.  ``train_set_x`` is a shared
    variable or an array (of any float dtype, converted once to the model's
    dtype: :func:`sda.data.as_shared`).  ``mode`` is the compilation mode
    (default: the library's, :func:`sda.get_mode`).

    ``progress`` (e.g. :class:`sda.ProgressPrinter`) hears of the
    compilation, of every minibatch and of every epoch
    (:mod:`sda.train.progress`).

    With a :class:`~sda.train.checkpoint.Checkpointer`, a checkpoint is
    written after every epoch, and Ctrl-C or SIGTERM writes one at the next
    minibatch boundary and raises :class:`TrainingInterrupted`.  ``resume``
    is the ``(meta, arrays)`` of a checkpoint to continue from; its position
    must fit this run's data and epochs.

    A NaN or infinite cost, or one more than ``divergence_factor`` times the
    layer's first cost in this run (``None``: only NaN and infinity), raises
    :class:`DivergenceError` naming the layer, epoch and minibatch.

    ``steps_per_call`` trains that many minibatches per call of a compiled
    function (see :meth:`sda.SdA.pretraining_functions`), with the same
    results; worth it under JAX at small minibatches.  Stops and
    checkpoints then happen between blocks.

    ``update_rule`` is how the steps update the parameters: ``"sgd"`` (the
    default, the tutorial's), ``"momentum"``, ``"nesterov"``, ``"adam"`` or
    a function (:mod:`sda.updates`); each layer starts its rule's state
    afresh, and a checkpoint saves it.
    """
    epochs = _checks.non_negative_int("epochs", epochs)
    learning_rate = _checks.learning_rate("learning_rate", learning_rate)
    factor = check_divergence_factor(divergence_factor)
    levels = (model.corruption_levels if corruption_levels is None
              else _checks.sequence("corruption_levels", corruption_levels))
    if len(levels) != model.n_layers:
        raise ValueError(f"corruption_levels must have one level per layer "
                         f"({model.n_layers}), got {corruption_levels!r}")
    levels = [model.noise[i].check_level(f"corruption_levels[{i}]", c)
              for i, c in enumerate(levels)]
    history = History() if history is None else history
    train_set_x = as_shared("train_set_x", train_set_x, model.x.dtype)
    with compiling(progress, "pretraining functions", mode):
        fns = model.pretraining_functions(train_set_x, batch_size, mode=mode,
                                          steps_per_call=steps_per_call,
                                          update_rule=update_rule)
    steps = int(steps_per_call)  # checked by the builder
    n_batches = fns[0].n_batches
    meta, arrays = resume if resume is not None else (None, None)
    at = position_in(meta, "pretrain")
    if at is not None:
        if at.get("done"):  # fine-tuning restores the state it saved
            return history
        check_resume(checkpointer, layer=(at["layer"], model.n_layers),
                     epoch=(at["epoch"], epochs),
                     index=(at["index"], n_batches))
        checkpointer.restore(model, meta, arrays,
                             state=fns[at["layer"]].state
                             if at["layer"] < model.n_layers else ())
    layer0 = at["layer"] if at else 0
    with stop_signals(checkpointer is not None) as flag:
        for k in range(layer0, model.n_layers):
            if len(history.pretraining_costs) <= k:
                history.pretraining_costs.append([])
                history.pretraining_times.append(0.0)
            resumed = at is not None and k == layer0
            _pretrain_layer(
                model, k, fns[k], levels[k], learning_rate, n_batches,
                epochs, steps, history, Guard(factor, learning_rate,
                                              checkpointer),
                start=(at["epoch"], at["index"]) if resumed else (0, 0),
                partial_costs=arrays["partial_costs"] if resumed else (),
                flag=flag, checkpointer=checkpointer, progress=progress)
    return history


def _pretrain_layer(model, k, fn, level, learning_rate, n_batches, epochs,
                    steps, history, guard, *, start, partial_costs, flag,
                    checkpointer, progress):
    """Layer ``k``'s epochs, recorded in ``history`` and checkpointed."""
    single = getattr(fn, "single", fn)
    t0 = time.perf_counter() - history.pretraining_times[k]

    def end_epoch(epoch, costs, stopped):
        to_host(model)  # whatever runs between epochs reads NumPy
        history.pretraining_costs[k].append(float(costs.mean()))
        history.pretraining_times[k] = time.perf_counter() - t0
        log.info("pretrain layer %d epoch %d: cost %.6f", k, epoch,
                 history.pretraining_costs[k][-1])
        if checkpointer is not None:
            last = epoch + 1 == epochs
            # at the start of the next layer its rule's state is fresh
            checkpointer.save(model, history, {
                "phase": "pretrain", "layer": k + last,
                "epoch": 0 if last else epoch + 1, "index": 0},
                state=() if last else single.state)
        report(progress, phase="pretrain", layer=k, epoch=epoch,
               epochs=epochs, cost=history.pretraining_costs[k][-1],
               elapsed=time.perf_counter() - t0)

    def save(epoch, index, costs):
        return checkpointer.save(model, history, {
            "phase": "pretrain", "layer": k, "epoch": epoch, "index": index},
            partial_costs=costs, state=single.state)

    train_epochs(
        lambda index: single(index, corruption=level, lr=learning_rate),
        n_batches, epochs, guard=guard,
        where=lambda epoch, index: (f"pretraining layer {k}, epoch {epoch + 1}, "
                                    f"minibatch {index}"),
        desc=lambda epoch: f"layer {k} epoch {epoch + 1}/{epochs}",
        block=lambda b: fn(b, corruption=level, lr=learning_rate),
        steps=steps, start=start, partial_costs=partial_costs,
        end_epoch=end_epoch, flag=flag, checkpointer=checkpointer,
        save=save, progress=progress)
