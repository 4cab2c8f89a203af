"""Training loops: greedy layer-wise pretraining and fine-tuning with early stopping.

The tutorial's patience-based early stopping is written here once; the
example scripts and user code call :func:`pretrain` and :func:`finetune` and
get back a :class:`History` of what happened.  Nothing here prints: progress
goes to an optional ``progress`` callback (see :mod:`sda.progress`) and to
the ``sda.train`` logger.
"""

import contextlib
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from .backend import to_host
from .data import as_datasets, as_shared
from .errors import DataFileError, SdAError

__all__ = ["History", "pretrain", "finetune", "run_epochs",
           "TrainingInterrupted", "DivergenceError", "DIVERGENCE_FACTOR"]

log = logging.getLogger(__name__)


@dataclass
class History:
    """What a training run did, epoch by epoch.

    Attributes
    ----------
    pretraining_costs : list of list of float
        ``pretraining_costs[layer][epoch]``: mean reconstruction cost.
    pretraining_times : list of float
        Seconds spent on each layer.
    finetune_costs : list of float
        Mean training NLL per fine-tuning epoch.
    validation_errors, test_errors : list of (epoch, error)
        Validation error after each validated epoch; test error of each new
        best model (the tutorial only scores the test set then).
    best_validation_error, test_error : float
        Of the best model, whose parameters are restored at the end.
    best_iteration, best_epoch : int
    iterations, epochs : int
        Minibatch steps and epochs done in fine-tuning.
    finetune_time : float
        Seconds.
    stopped_early : bool
        True when patience ran out before ``training_epochs``.
    """

    pretraining_costs: list = field(default_factory=list)
    pretraining_times: list = field(default_factory=list)
    finetune_costs: list = field(default_factory=list)
    validation_errors: list = field(default_factory=list)
    test_errors: list = field(default_factory=list)
    best_validation_error: float = np.inf
    test_error: float = np.nan
    best_iteration: int = -1
    best_epoch: int = -1
    iterations: int = 0
    epochs: int = 0
    finetune_time: float = 0.0
    stopped_early: bool = False

    @classmethod
    def from_dict(cls, values):
        """The inverse of :meth:`as_dict`."""
        values = dict(values)
        for key in ("validation_errors", "test_errors"):
            values[key] = [tuple(v) for v in values.get(key, [])]
        return cls(**values)

    def as_dict(self):
        """Plain JSON-ready values."""
        def plain(v):
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, (np.floating, np.integer)):
                return v.item()
            return v
        return {k: plain(v) for k, v in self.__dict__.items()}


def _report(progress, **event):
    if progress is not None:
        progress(event)


def _compiling(progress, what):
    """``progress.compiling(what)``, or nothing if it has no such method."""
    hook = getattr(progress, "compiling", None)
    return contextlib.nullcontext() if hook is None else hook(what)


def _minibatches(progress, start, stop, desc):
    """``range(start, stop)``, wrapped by ``progress.minibatches`` if any."""
    indices = range(start, stop)
    hook = getattr(progress, "minibatches", None)
    return indices if hook is None else hook(indices, total=stop,
                                             initial=start, desc=desc)


def _runs(progress, start, stop, desc, steps, allowed=None):
    """``(index, count)`` pairs that cover minibatches ``start`` to ``stop``.

    A block of ``steps`` minibatches where one fits, starts at a multiple of
    ``steps`` (the block functions' own indexing) and ``allowed(index)``;
    single minibatches elsewhere.  A progress bar still advances one
    minibatch at a time.
    """
    indices = iter(_minibatches(progress, start, stop, desc))
    for index in indices:
        if (steps > 1 and index % steps == 0 and index + steps <= stop
                and (allowed is None or allowed(index))):
            for _ in range(steps - 1):
                next(indices)
            yield index, steps
        else:
            yield index, 1


def run_epochs(step, n_batches, epochs, *, phase="train", layer=None,
               progress=None):
    """Call ``step(index)`` on every minibatch, ``epochs`` times.

    Returns the mean of the returned costs of each epoch.  ``progress``
    receives an event after every epoch (``phase``, ``layer``, ``epoch``,
    ``epochs``, ``cost``, ``elapsed``).
    """
    costs, t0 = [], time.perf_counter()
    batch_costs = np.empty(n_batches)
    for epoch in range(epochs):
        for index in _minibatches(progress, 0, n_batches,
                                  f"{phase} epoch {epoch + 1}/{epochs}"):
            batch_costs[index] = step(index)
        costs.append(float(batch_costs.mean()))
        log.info("%s layer %s epoch %d: cost %.6f", phase, layer, epoch,
                 costs[-1])
        _report(progress, phase=phase, layer=layer, epoch=epoch,
                epochs=epochs, cost=costs[-1],
                elapsed=time.perf_counter() - t0)
    return costs


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped training after a checkpoint was written."""


class DivergenceError(SdAError, FloatingPointError):
    """A training cost became NaN or infinite."""


@contextlib.contextmanager
def _stop_signals(active):
    """Turn SIGINT and SIGTERM into a flag the loops check between steps.

    Stopping only between steps keeps parameters and random states
    consistent (a step interrupted inside the compiled function may have
    advanced its random state without updating the parameters).
    """
    flag = {"signal": None}
    if not active or threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def note(signum, frame):
        flag["signal"] = signum

    previous = {s: signal.signal(s, note)
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _stop(flag, checkpointer, save):
    """Checkpoint and raise TrainingInterrupted if a stop signal came."""
    if flag["signal"] is None:
        return
    path = save()
    name = signal.Signals(flag["signal"]).name
    if path is None:
        raise TrainingInterrupted(
            f"{name}: training stopped; its state holds NaN or infinite "
            f"values and was not saved (the last good checkpoint, if any, "
            f"stays in {checkpointer.path})")
    hint = checkpointer.resume_hint or (
        f"resume=Checkpointer({str(checkpointer.folder)!r}).load() for "
        f"pretrain and finetune")
    raise TrainingInterrupted(f"{name}: training stopped; its state is saved "
                              f"in {path}. Resume with: {hint}")


#: Default of ``divergence_factor``: a minibatch cost this many times the
#: first cost (see :class:`_Guard`) counts as divergence.
DIVERGENCE_FACTOR = 1e3


class _Guard:
    """Watches the costs of one layer's pretraining or of fine-tuning.

    A cost that is NaN or infinite, or larger than ``factor`` times the
    first cost (the cost of the weights before this run changed them; at
    least 1, since costs near zero give no scale), means training diverged:
    a learning rate far too large makes the cost explode within a few
    steps, long before it overflows.
    """

    def __init__(self, factor):
        self.factor, self.first = factor, None
        self.limit = _LARGEST  # NaN and inf fail ``cost <= limit``

    def ok(self, cost):
        if not cost <= self.limit:
            return False
        if self.first is None:
            self.first = abs(float(cost))
            if self.factor is not None:
                self.limit = self.factor * max(1.0, self.first)
        return True

    def problem(self, cost):
        if not math.isfinite(cost):
            return f"the cost is {cost}"
        return (f"the cost {cost:.6g} is more than {self.factor:g} times "
                f"the first cost ({self.first:.6g})")


# float32's largest: a float32 cost compared with a larger Python float would
# cast it to float32 (NEP 50) and overflow to inf, which inf would pass
_LARGEST = float(np.finfo(np.float32).max)


def _diverged(guard, cost, where, learning_rate, checkpointer):
    # a checkpoint is named only if it loads: finite and valid
    kept = (f"; the last good checkpoint stays in {checkpointer.path}"
            if checkpointer is not None and checkpointer.is_good() else "")
    return DivergenceError(
        f"{where}: {guard.problem(float(cost))}; training diverged. Try a "
        f"smaller learning rate than {learning_rate}{kept}")


def _position(meta, phase):
    """Where a resumed run goes on in ``phase``: a dict, or None if not yet."""
    if meta is None:
        return None
    order = {"pretrain": 0, "finetune": 1, "done": 2}
    here, saved = order[phase], order[meta["position"]["phase"]]
    if saved < here:
        return None      # not reached yet: start the phase afresh
    if saved > here:
        return {"done": True}
    return meta["position"]


def _check_resume(checkpointer, at, **limits):
    """Check a checkpoint's position against this run's data and epochs."""
    if checkpointer is None:
        raise ValueError("resume needs the checkpointer that saved it")
    for name, (value, top) in limits.items():
        if value > top:
            raise DataFileError(checkpointer.path, f"has position.{name} "
                                f"{value}, but this run has at most {top}: "
                                f"it comes from other data or settings")


def pretrain(model, train_set_x, *, epochs=15, batch_size=1, learning_rate=0.001,
             corruption_levels=None, history=None, progress=None, mode=None,
             checkpointer=None, resume=None,
             divergence_factor=DIVERGENCE_FACTOR, steps_per_call=1):
    """Greedy layer-wise pretraining of every dA layer of ``model``.

    Each layer ``i`` is trained for ``epochs`` passes over ``train_set_x``
    with corruption ``corruption_levels[i]`` (the model's own levels by
    default), after the layers below it.  ``train_set_x`` is a shared
    variable or an array (of any float dtype, converted once to the model's
    dtype: :func:`sda.data.as_shared`).

    ``progress`` (e.g. :class:`sda.ProgressPrinter`) hears of the
    compilation, of every minibatch and of every epoch (:mod:`sda.progress`).

    With a :class:`~sda.checkpoint.Checkpointer`, a checkpoint is written
    after every epoch, and Ctrl-C or SIGTERM writes one at the next
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
    """
    epochs = _checks.non_negative_int("pretraining_epochs", epochs)
    learning_rate = _checks.learning_rate("learning_rate", learning_rate)
    factor = _divergence_factor(divergence_factor)
    levels = (model.corruption_levels if corruption_levels is None
              else _checks.sequence("corruption_levels", corruption_levels))
    if len(levels) != model.n_layers:
        raise ValueError(f"corruption_levels must have one level per layer "
                         f"({model.n_layers}), got {corruption_levels!r}")
    levels = [model.noise[i].check_level(f"corruption_levels[{i}]", c)
              for i, c in enumerate(levels)]
    history = History() if history is None else history
    train_set_x = as_shared("train_set_x", train_set_x, model.x.dtype)
    with _compiling(progress, "pretraining functions"):
        fns = model.pretraining_functions(train_set_x, batch_size, mode=mode,
                                          steps_per_call=steps_per_call)
    steps = int(steps_per_call)  # checked by the builder
    n_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    meta, arrays = resume if resume is not None else (None, None)
    at = _position(meta, "pretrain")
    if at is not None:
        if at.get("done"):  # fine-tuning restores the state it saved
            return history
        _check_resume(checkpointer, at, layer=(at["layer"], model.n_layers),
                      epoch=(at["epoch"], epochs),
                      index=(at["index"], n_batches))
        checkpointer.restore(model, meta, arrays)
    batch_costs = np.empty(n_batches)
    layer0 = at["layer"] if at else 0
    with _stop_signals(checkpointer is not None) as flag:
        for k in range(layer0, model.n_layers):
            fn, level = fns[k], levels[k]
            guard = _Guard(factor)
            if len(history.pretraining_costs) <= k:
                history.pretraining_costs.append([])
                history.pretraining_times.append(0.0)
            resumed = at is not None and k == layer0
            epoch0 = at["epoch"] if resumed else 0
            index0 = at["index"] if resumed else 0
            if resumed:
                batch_costs[:index0] = arrays["partial_costs"][:index0]
            t0 = time.perf_counter() - history.pretraining_times[k]
            single = getattr(fn, "single", fn)
            for epoch in range(epoch0, epochs):
                for index, count in _runs(
                        progress, index0, n_batches,
                        f"layer {k} epoch {epoch + 1}/{epochs}", steps):
                    if count == 1:  # the common case, kept lean
                        cost = single(index, corruption=level,
                                      lr=learning_rate)
                        costs = ((index, cost),)
                        batch_costs[index] = cost
                    else:
                        block = fn(index // count, corruption=level,
                                   lr=learning_rate)
                        costs = enumerate(block, index)
                        batch_costs[index:index + count] = block
                    for at, cost in costs:
                        if not guard.ok(cost):
                            raise _diverged(
                                guard, cost, f"pretraining layer {k}, epoch "
                                f"{epoch}, minibatch {at}", learning_rate,
                                checkpointer)
                    end = index + count
                    _stop(flag, checkpointer, lambda: checkpointer.save(
                        model, history, {"phase": "pretrain", "layer": k,
                                         "epoch": epoch, "index": end},
                        partial_costs=batch_costs[:end]))
                index0 = 0
                to_host(model)  # whatever runs between epochs reads NumPy
                history.pretraining_costs[k].append(float(batch_costs.mean()))
                history.pretraining_times[k] = time.perf_counter() - t0
                log.info("pretrain layer %d epoch %d: cost %.6f", k, epoch,
                         history.pretraining_costs[k][-1])
                if checkpointer is not None:
                    last = epoch + 1 == epochs
                    checkpointer.save(model, history, {
                        "phase": "pretrain", "layer": k + last,
                        "epoch": 0 if last else epoch + 1, "index": 0})
                _report(progress, phase="pretrain", layer=k, epoch=epoch,
                        epochs=epochs, cost=history.pretraining_costs[k][-1],
                        elapsed=time.perf_counter() - t0)
    return history


def finetune(model, datasets, *, epochs=1000, batch_size=1, learning_rate=0.1,
             patience=None, patience_increase=2.0,
             improvement_threshold=0.995, validation_frequency=None,
             history=None, progress=None, mode=None, checkpointer=None,
             resume=None, divergence_factor=DIVERGENCE_FACTOR,
             steps_per_call=1):
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
    :meth:`SdA.build_finetune_functions` takes them.  ``progress``,
    ``checkpointer``, ``resume``, ``divergence_factor`` and
    ``steps_per_call`` work as in :func:`pretrain` (a block never runs past
    a validation or the end of the patience: single steps reach them, so
    the run is the same); a checkpoint is written after every epoch.

    Returns
    -------
    History
    """
    epochs = _checks.non_negative_int("training_epochs", epochs)
    learning_rate = _checks.learning_rate("learning_rate", learning_rate)
    factor = _divergence_factor(divergence_factor)
    history = History() if history is None else history
    datasets = as_datasets(datasets, model.x.dtype)
    with _compiling(progress, "fine-tuning functions"):
        train_fn, valid_score, test_score = model.build_finetune_functions(
            datasets, batch_size, learning_rate, mode=mode,
            steps_per_call=steps_per_call)
    steps = int(steps_per_call)  # checked by the builder
    train_one = getattr(train_fn, "single", train_fn)
    n_train_batches = datasets[0][0].get_value(borrow=True).shape[0] \
        // batch_size
    patience = 10 * n_train_batches if patience is None else patience
    validation_frequency = (min(n_train_batches, patience // 2)
                            if validation_frequency is None
                            else validation_frequency)
    validation_frequency = max(1, validation_frequency)
    meta, arrays = resume if resume is not None else (None, None)
    best_params = None
    at = _position(meta, "finetune")
    if at is not None:  # saved in fine-tuning or after: its state is ours
        if not at.get("done"):
            _check_resume(checkpointer, at, epoch=(at["epoch"], epochs),
                          index=(at["index"], n_train_batches))
        best_params = checkpointer.restore(model, meta, arrays)
        if at.get("done"):
            for p, value in zip(model.params, best_params or []):
                p.set_value(value, borrow=True)
            return history
    batch_costs = np.empty(n_train_batches)
    epoch, index0, done = 0, 0, False
    if at is not None:
        epoch, index0 = at["epoch"], at["index"]
        patience, done = at["patience"], at["stopped"]
        batch_costs[:index0] = arrays["partial_costs"][:index0]
        if index0:
            epoch -= 1  # the saved epoch is unfinished: go on inside it
    t0 = time.perf_counter() - history.finetune_time
    guard = _Guard(factor)

    def position(next_epoch, next_index, stopped=False):
        return {"phase": "finetune", "epoch": next_epoch, "index": next_index,
                "patience": patience, "stopped": stopped}

    with _stop_signals(checkpointer is not None) as flag:
        while epoch < epochs and not done:
            epoch += 1
            # minibatches done in this epoch; a run stopped after the last
            # minibatch of an epoch resumes with all of them done
            n_done = index0
            first = (epoch - 1) * n_train_batches  # iteration of index 0

            def quiet(index):
                """No validation and no end of patience inside the block
                that starts at ``index`` (at its last step they are fine)."""
                last = first + index + steps - 1
                return (last // validation_frequency
                        == (first + index) // validation_frequency
                        and patience > last - 1)

            for index, count in _runs(progress, index0, n_train_batches,
                                      f"fine-tuning epoch {epoch}", steps,
                                      quiet):
                if count == 1:  # the common case, kept lean
                    cost = train_one(index)
                    costs = ((index, cost),)
                    batch_costs[index] = cost
                else:
                    block = train_fn(index // count)
                    costs = enumerate(block, index)
                    batch_costs[index:index + count] = block
                for at, cost in costs:
                    if not guard.ok(cost):
                        raise _diverged(guard, cost, f"fine-tuning epoch "
                                        f"{epoch}, minibatch {at}",
                                        learning_rate, checkpointer)
                index += count - 1  # the last minibatch done
                n_done = index + 1
                iteration = first + index
                if (iteration + 1) % validation_frequency == 0:
                    valid = float(np.mean(valid_score()))
                    history.validation_errors.append((epoch, valid))
                    if valid < history.best_validation_error:
                        if valid < (history.best_validation_error
                                    * improvement_threshold):
                            patience = max(patience,
                                           iteration * patience_increase)
                        history.best_validation_error = valid
                        history.best_iteration = iteration
                        history.best_epoch = epoch
                        best_params = [p.get_value() for p in model.params]
                        history.test_error = float(np.mean(test_score()))
                        history.test_errors.append((epoch,
                                                    history.test_error))
                if patience <= iteration:
                    done = True
                    break
                _stop(flag, checkpointer, lambda: checkpointer.save(
                    model, history, position(epoch, index + 1),
                    best_params, batch_costs[:index + 1]))
            index0 = 0
            to_host(model)
            history.finetune_costs.append(
                float(batch_costs[:n_done].mean()) if n_done else np.nan)
            history.iterations = (epoch - 1) * n_train_batches + n_done
            history.epochs = epoch
            history.finetune_time = time.perf_counter() - t0
            log.info("finetune epoch %d: cost %.6f, validation error %.4f",
                     epoch, history.finetune_costs[-1],
                     history.validation_errors[-1][1]
                     if history.validation_errors else np.nan)
            if checkpointer is not None:
                checkpointer.save(model, history,
                                  position(epoch, 0, stopped=done),
                                  best_params)
            _report(progress, phase="finetune", layer=None, epoch=epoch - 1,
                    epochs=epochs, cost=history.finetune_costs[-1],
                    validation_error=(history.validation_errors[-1][1]
                                      if history.validation_errors else None),
                    best_validation_error=history.best_validation_error,
                    test_error=history.test_error, patience=patience,
                    iteration=history.iterations,
                    elapsed=time.perf_counter() - t0)
    history.stopped_early = done
    if best_params is not None:
        for p, value in zip(model.params, best_params):
            p.set_value(value, borrow=True)
    history.finetune_time = time.perf_counter() - t0
    if checkpointer is not None:
        checkpointer.save(model, history, {"phase": "done"}, best_params)
    return history


def _divergence_factor(value):
    if value is None:
        return None
    try:
        factor = float(value)
    except (TypeError, ValueError):
        factor = None
    if factor is None or not (math.isfinite(factor) and factor > 1):
        raise ValueError(f"divergence_factor must be a number above 1 or "
                         f"None, got {value!r}")
    return factor
