"""Fine-tuning with early stopping: the tutorial's patience, or scikit-learn's
``n_iter_no_change`` and ``tol``."""

import logging
import time

import numpy as np

from .. import _checks
from ..backend import to_host
from ..data import as_datasets
from .history import History
from .loop import (DIVERGENCE_FACTOR, Guard, check_divergence_factor,
                   check_resume, compiling, position_in, report,
                   stop_signals, train_epochs)

__all__ = ["finetune", "MONITORS"]

#: What ``n_iter_no_change`` counts: validations or epochs' costs.
MONITORS = ("validation", "cost")

log = logging.getLogger("sda.train")


def finetune(model, datasets, *, epochs=1000, batch_size=1, learning_rate=0.1,
             patience=None, patience_increase=2.0,
             improvement_threshold=0.995, validation_frequency=None,
             history=None, progress=None, mode=None, checkpointer=None,
             resume=None, divergence_factor=DIVERGENCE_FACTOR,
             steps_per_call=1, update_rule=None, n_iter_no_change=None,
             tol=1e-4, monitor="validation"):
    """Fine-tune ``model`` by SGD with the tutorial's early stopping.

    Training stops after ``epochs`` or when the iteration count passes the
    patience (``10 * n_train_batches`` iterations by default), which grows to
    ``iteration * patience_increase`` whenever the validation error improves
    by more than the factor ``improvement_threshold``.  The validation error
    is measured every ``validation_frequency`` iterations (default: once an
    epoch); the test error of each new best model is measured too.  The
    parameters of the best model are restored at the end.

    ``datasets`` is ``[(train_x, train_y), (valid_x, valid_y), (test_x,
    test_y)]``: shared variables, arrays or the tutorial's cast labels, as
    :meth:`SdA.build_finetune_functions` takes them; without a test set
    (two pairs, or None in its place) ``history.test_error`` stays NaN.  ``progress``,
    ``mode``, ``checkpointer``, ``resume``, ``divergence_factor`` and
    ``steps_per_call`` work as in :func:`pretrain` (a block never runs past
    a validation or the end of the patience: single steps reach them, so
    the run is the same); a checkpoint is written after every epoch.
    ``update_rule`` is as for :func:`pretrain` (default: SGD).

    With ``n_iter_no_change`` (scikit-learn's early stopping) the patience
    is not used: training stops after ``n_iter_no_change`` consecutive
    validations (``monitor="validation"``) whose error is not below the
    best so far minus ``tol``, or epochs (``monitor="cost"``) whose mean
    training cost is not below the best so far minus ``tol``; the best
    validated parameters are restored in both cases (the earliest of equal
    errors: on the training set itself, once it is learnt, this stops the
    network from growing its weights further).

    Returns
    -------
    History
    """
    epochs = _checks.non_negative_int("epochs", epochs)
    learning_rate = _checks.learning_rate("learning_rate", learning_rate)
    factor = check_divergence_factor(divergence_factor)
    if n_iter_no_change is not None:
        n_iter_no_change = _checks.positive_int("n_iter_no_change",
                                                n_iter_no_change)
    tol = _checks.non_negative_float("tol", tol)
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {MONITORS}, got "
                         f"{monitor!r}")
    history = History() if history is None else history
    datasets = as_datasets(datasets, model.x.dtype)
    with compiling(progress, "fine-tuning functions", mode):
        train_fn, valid_score, test_score = model.build_finetune_functions(
            datasets, batch_size, learning_rate, mode=mode,
            steps_per_call=steps_per_call, update_rule=update_rule)
    steps = int(steps_per_call)  # checked by the builder
    n_batches = train_fn.n_batches
    if n_iter_no_change is not None:  # the patience never ends training
        patience = epochs * n_batches + 1
    state = {"patience": 10 * n_batches if patience is None else patience,
             "best_params": None, "stall": 0, "best_monitored": None}
    stopping = None if n_iter_no_change is None else (
        n_iter_no_change, tol, monitor)
    validation_frequency = max(1, (min(n_batches, state["patience"] // 2)
                                   if validation_frequency is None
                                   else validation_frequency))
    meta, arrays = resume if resume is not None else (None, None)
    at = position_in(meta, "finetune")
    start, partial_costs, done = (0, 0), (), False
    if at is not None:  # saved in fine-tuning or after: its state is ours
        if not at.get("done"):
            check_resume(checkpointer, epoch=(at["epoch"], epochs),
                         index=(at["index"], n_batches))
        state["best_params"] = checkpointer.restore(model, meta, arrays,
                                                    state=train_fn.state)
        if at.get("done"):
            _restore_best(model, state["best_params"])
            return history
        # a saved position counts epochs from 1 (see position below):
        # inside an unfinished epoch (index > 0) go on in it, else go on
        # with the next
        start = (at["epoch"] - 1 if at["index"] else at["epoch"],
                 at["index"])
        partial_costs = arrays["partial_costs"]
        state["patience"], done = at["patience"], at["stopped"]
        state["stall"] = at.get("stall", 0)
        state["best_monitored"] = at.get("best_monitored")
    t0 = time.perf_counter() - history.finetune_time

    def position(epoch, next_index, stopped=False):
        # what a checkpoint records: the epoch counted from 1, and the next
        # minibatch in it (0 at the epoch's end: then the next epoch)
        return {"phase": "finetune", "epoch": epoch + 1, "index": next_index,
                "patience": state["patience"], "stopped": stopped,
                "stall": state["stall"],
                "best_monitored": state["best_monitored"]}

    def quiet(epoch, index):
        """No validation and no end of patience inside the block that
        starts at ``index`` (at its last step they are fine)."""
        first = epoch * n_batches + index
        last = first + steps - 1
        return (last // validation_frequency == first // validation_frequency
                and state["patience"] > last - 1)

    def after(epoch, last):
        """Validate when it is time; True when the patience has run out."""
        iteration = epoch * n_batches + last
        if (iteration + 1) % validation_frequency == 0:
            valid = _validate(model, history, state, epoch + 1, iteration,
                              valid_score, test_score, patience_increase,
                              improvement_threshold)
            if stopping is not None and monitor == "validation" and \
                    _stalled(state, valid, stopping):
                state["patience"] = iteration
        return state["patience"] <= iteration

    def end_epoch(epoch, costs, stopped):
        to_host(model)
        history.finetune_costs.append(float(costs.mean()) if len(costs)
                                      else np.nan)
        history.iterations = epoch * n_batches + len(costs)
        history.epochs = epoch + 1
        history.finetune_time = time.perf_counter() - t0
        if (stopping is not None and monitor == "cost" and len(costs)
                and not stopped):
            stopped = _stalled(state, history.finetune_costs[-1], stopping)
        last_valid = (history.validation_errors[-1][1]
                      if history.validation_errors else None)
        log.info("finetune epoch %d: cost %.6f, validation error %.4f",
                 epoch + 1, history.finetune_costs[-1],
                 np.nan if last_valid is None else last_valid)
        if checkpointer is not None:
            checkpointer.save(model, history,
                              position(epoch, 0, stopped=stopped),
                              state["best_params"], state=train_fn.state)
        report(progress, phase="finetune", layer=None, epoch=epoch,
               epochs=epochs, cost=history.finetune_costs[-1],
               validation_error=last_valid,
               best_validation_error=history.best_validation_error,
               test_error=history.test_error, patience=state["patience"],
               iteration=history.iterations,
               elapsed=time.perf_counter() - t0)
        return stopped

    def save(epoch, index, costs):
        return checkpointer.save(model, history, position(epoch, index),
                                 state["best_params"], costs,
                                 state=train_fn.state)

    if not done:
        with stop_signals(checkpointer is not None) as flag:
            done = train_epochs(
                getattr(train_fn, "single", train_fn), n_batches, epochs,
                guard=Guard(factor, learning_rate, checkpointer),
                where=lambda epoch, index: (f"fine-tuning epoch {epoch + 1},"
                                            f" minibatch {index}"),
                desc=lambda epoch: f"fine-tuning epoch {epoch + 1}",
                block=train_fn, steps=steps, start=start,
                partial_costs=partial_costs, allowed=quiet, after=after,
                end_epoch=end_epoch, flag=flag, checkpointer=checkpointer,
                save=save, progress=progress)
    history.stopped_early = done
    _restore_best(model, state["best_params"])
    history.finetune_time = time.perf_counter() - t0
    if checkpointer is not None:
        checkpointer.save(model, history, {"phase": "done"},
                          state["best_params"])
    return history


def _validate(model, history, state, epoch, iteration, valid_score,
              test_score, patience_increase, improvement_threshold):
    """Score the validation set; on a new best, keep the parameters, score
    the test set and stretch the patience if the gain is large enough."""
    valid = float(np.mean(valid_score()))
    history.validation_errors.append((epoch, valid))
    if valid < history.best_validation_error:
        if valid < history.best_validation_error * improvement_threshold:
            state["patience"] = max(state["patience"],
                                    iteration * patience_increase)
        history.best_validation_error = valid
        history.best_iteration = iteration
        history.best_epoch = epoch
        state["best_params"] = [p.get_value() for p in model.params]
        if test_score is not None:  # no test set: test_error stays NaN
            history.test_error = float(np.mean(test_score()))
            history.test_errors.append((epoch, history.test_error))
    return valid


def _stalled(state, value, stopping):
    """Count ``value`` (a validation error or an epoch's cost) against the
    best so far; True once ``n_iter_no_change`` in a row missed it by
    ``tol``."""
    n_iter_no_change, tol, _ = stopping
    best = state["best_monitored"]
    if best is None or value < best - tol:
        state["stall"] = 0
    else:
        state["stall"] += 1
    if best is None or value < best:
        state["best_monitored"] = float(value)
    return state["stall"] >= n_iter_no_change


def _restore_best(model, best_params):
    if best_params is not None:
        for p, value in zip(model.params, best_params):
            p.set_value(value, borrow=True)
