"""Training loops: greedy layer-wise pretraining and fine-tuning with early stopping.

The tutorial's patience-based early stopping is written here once; the
example scripts and user code call :func:`pretrain` and :func:`finetune` and
get back a :class:`History` of what happened.  Nothing here prints: progress
goes to an optional ``progress`` callback (see :mod:`sda.progress`) and to
the ``sda.train`` logger.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from . import _checks

__all__ = ["History", "pretrain", "finetune", "run_epochs"]

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
        for index in range(n_batches):
            batch_costs[index] = step(index)
        costs.append(float(batch_costs.mean()))
        log.info("%s layer %s epoch %d: cost %.6f", phase, layer, epoch,
                 costs[-1])
        _report(progress, phase=phase, layer=layer, epoch=epoch,
                epochs=epochs, cost=costs[-1],
                elapsed=time.perf_counter() - t0)
    return costs


def pretrain(model, train_set_x, *, epochs=15, batch_size=1, learning_rate=0.001,
             corruption_levels=None, history=None, progress=None, mode=None):
    """Greedy layer-wise pretraining of every dA layer of ``model``.

    Each layer ``i`` is trained for ``epochs`` passes over ``train_set_x``
    with corruption ``corruption_levels[i]`` (the model's own levels by
    default), after the layers below it.
    """
    epochs = _check_epochs("pretraining_epochs", epochs)
    levels = (model.corruption_levels if corruption_levels is None
              else tuple(corruption_levels))
    if len(levels) != model.n_layers:
        raise ValueError(f"corruption_levels must have one level per layer "
                         f"({model.n_layers}), got {corruption_levels!r}")
    history = History() if history is None else history
    fns = model.pretraining_functions(train_set_x, batch_size, mode=mode)
    n_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    for i, fn in enumerate(fns):
        level = _checks.probability(f"corruption_levels[{i}]", levels[i])
        t0 = time.perf_counter()
        history.pretraining_costs.append(run_epochs(
            lambda index: fn(index, corruption=level, lr=learning_rate),
            n_batches, epochs, phase="pretrain", layer=i, progress=progress))
        history.pretraining_times.append(time.perf_counter() - t0)
    return history


def finetune(model, datasets, *, epochs=1000, batch_size=1, learning_rate=0.1,
             patience=None, patience_increase=2.0,
             improvement_threshold=0.995, validation_frequency=None,
             history=None, progress=None, mode=None):
    """Fine-tune ``model`` by SGD with the tutorial's early stopping.

    Training stops after ``epochs`` or when the iteration count passes the
    patience (``10 * n_train_batches`` iterations by default), which grows to
    ``iteration * patience_increase`` whenever the validation error improves
    by more than the factor ``improvement_threshold``.  The validation error
    is measured every ``validation_frequency`` iterations (default: once an
    epoch); the test error of each new best model is measured too.  The
    parameters of the best model are restored at the end.

    Returns
    -------
    History
    """
    epochs = _check_epochs("training_epochs", epochs)
    history = History() if history is None else history
    train_fn, valid_score, test_score = model.build_finetune_functions(
        datasets, batch_size, learning_rate, mode=mode)
    n_train_batches = datasets[0][0].get_value(borrow=True).shape[0] \
        // batch_size
    patience = 10 * n_train_batches if patience is None else patience
    validation_frequency = (min(n_train_batches, patience // 2)
                            if validation_frequency is None
                            else validation_frequency)
    validation_frequency = max(1, validation_frequency)
    best_params = None
    batch_costs = np.empty(n_train_batches)
    t0 = time.perf_counter()
    epoch = 0
    done = False
    while epoch < epochs and not done:
        epoch += 1
        for index in range(n_train_batches):
            batch_costs[index] = train_fn(index)
            iteration = (epoch - 1) * n_train_batches + index
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
                    history.test_errors.append((epoch, history.test_error))
            if patience <= iteration:
                done = True
                break
        history.finetune_costs.append(float(batch_costs[:index + 1].mean()))
        history.iterations = iteration + 1
        history.epochs = epoch
        log.info("finetune epoch %d: cost %.6f, validation error %.4f",
                 epoch, history.finetune_costs[-1],
                 history.validation_errors[-1][1]
                 if history.validation_errors else np.nan)
        _report(progress, phase="finetune", layer=None, epoch=epoch - 1,
                epochs=epochs, cost=history.finetune_costs[-1],
                validation_error=(history.validation_errors[-1][1]
                                  if history.validation_errors else None),
                best_validation_error=history.best_validation_error,
                test_error=history.test_error, patience=patience,
                iteration=iteration + 1,
                elapsed=time.perf_counter() - t0)
    history.stopped_early = done
    if best_params is not None:
        for p, value in zip(model.params, best_params):
            p.set_value(value, borrow=True)
    history.finetune_time = time.perf_counter() - t0
    return history


def _check_epochs(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, "
                         f"got {value!r}")
    return int(value)
