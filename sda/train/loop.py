"""The training loop, written once: epochs of minibatches, watched and stoppable.

:func:`pretrain` (each layer), :func:`finetune` and :func:`run_epochs` all
run :func:`train_epochs`, which calls a compiled step on every minibatch
(in blocks of ``steps_per_call`` where they fit), keeps the minibatch
costs of the epoch, raises :class:`~sda.errors.DivergenceError` when a
cost explodes, turns Ctrl-C and SIGTERM into a checkpoint at the next
minibatch boundary, and hands each epoch's end to its caller.  Nothing here
prints: progress goes to an optional ``progress`` object
(:mod:`sda.train.progress`) and to the ``sda.train`` logger.
"""

import contextlib
import inspect
import logging
import math
import signal
import threading
import time

import numpy as np

from .. import _checks
from ..backend import resolve, to_host
from ..errors import DataFileError, DivergenceError, TrainingInterrupted

__all__ = ["train_epochs", "run_epochs", "Guard", "stop_signals",
           "check_divergence_factor", "check_resume", "position_in",
           "report", "compiling", "DIVERGENCE_FACTOR"]

log = logging.getLogger("sda.train")

#: Default of ``divergence_factor``: a minibatch cost this many times the
#: first cost (see :class:`Guard`) counts as divergence.
DIVERGENCE_FACTOR = 1e3

# float32's largest: a float32 cost compared with a larger Python float would
# cast it to float32 (NEP 50) and overflow to inf, which inf would pass
_LARGEST = float(np.finfo(np.float32).max)


def report(progress, **event):
    """``progress(event)``, if there is a ``progress``."""
    if progress is not None:
        progress(event)


def compiling(progress, what, mode=None):
    """``progress.compiling(what)``, or nothing if it has no such method.

    A hook that takes ``note`` (:class:`~sda.train.progress.ProgressPrinter`)
    is also told what compiling costs in ``mode``: the C code is cached on
    disk, XLA's is not.
    """
    hook = getattr(progress, "compiling", None)
    if hook is None:
        return contextlib.nullcontext()
    if "note" not in inspect.signature(hook).parameters:
        return hook(what)
    return hook(what, note=resolve(mode).compile_note)


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


class Guard:
    """Watches the costs of one layer's pretraining or of fine-tuning.

    A cost that is NaN or infinite, or larger than ``factor`` times the
    first cost (the cost of the weights before this run changed them; at
    least 1, since costs near zero give no scale), means training diverged:
    a learning rate far too large makes the cost explode within a few
    steps, long before it overflows.  ``factor`` None watches for NaN,
    infinity and costs beyond float32's range only.
    """

    def __init__(self, factor, learning_rate=None, checkpointer=None):
        self.factor, self.first = factor, None
        self.learning_rate, self.checkpointer = learning_rate, checkpointer
        self.limit = _LARGEST  # NaN and inf fail ``cost <= limit``

    def ok(self, cost):
        if not cost <= self.limit:
            return False
        if self.first is None:
            self.first = abs(float(cost))
            if self.factor is not None:
                self.limit = self.factor * max(1.0, self.first)
        return True

    def diverged(self, cost, where):
        """The DivergenceError of ``cost`` at ``where``."""
        cost = float(cost)
        if not math.isfinite(cost):
            problem = f"the cost is {cost}"
        elif self.factor is None or self.first is None:
            problem = (f"the cost {cost:.6g} is beyond float32's range "
                       f"({_LARGEST:.6g})")
        else:
            problem = (f"the cost {cost:.6g} is more than {self.factor:g} "
                       f"times the first cost ({self.first:.6g})")
        advice = ("Try a smaller learning rate" if self.learning_rate is None
                  else f"Try a smaller learning rate than "
                       f"{self.learning_rate}")
        # a checkpoint is named only if it loads: finite and valid
        cp = self.checkpointer
        kept = (f"; the last good checkpoint stays in {cp.path}"
                if cp is not None and cp.is_good() else "")
        first = abs(cost) if self.first is None else self.first
        return DivergenceError(f"{where}: {problem}; training diverged. "
                               f"{advice}{kept}", first_cost=first)


def check_divergence_factor(value):
    """``divergence_factor`` checked: a number above 1, or None."""
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


@contextlib.contextmanager
def stop_signals(active):
    """Turn SIGINT and SIGTERM into a flag the loop checks between steps.

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


def _stop(flag, checkpointer, path):
    """Raise TrainingInterrupted for the signal in ``flag``, naming the
    checkpoint written at ``path`` (None: not written)."""
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


def train_epochs(step, n_batches, epochs, *, guard, where, desc,
                 block=None, steps=1, start=(0, 0), partial_costs=(),
                 allowed=None, after=None, end_epoch=None, flag=None,
                 checkpointer=None, save=None, progress=None):
    """Call ``step`` on every minibatch of epochs ``start[0]`` to ``epochs - 1``.

    The one loop of the library's training.

    Parameters
    ----------
    step : callable
        ``step(index) -> cost`` of minibatch ``index``.
    n_batches, epochs : int
    guard : Guard
        Watches every cost; ``where(epoch, index)`` names the minibatch in
        its error.
    desc : callable
        ``desc(epoch)``: the progress bar's label.
    block, steps : callable, int
        ``block(k) -> costs`` of minibatches ``k * steps`` to ``(k + 1) *
        steps - 1``, used where a block fits and ``allowed(epoch, index)``
        (default: everywhere).
    start, partial_costs
        The first epoch and minibatch (a resumed run) and the costs of the
        minibatches before it in that epoch.
    after : callable, optional
        ``after(epoch, last) -> bool``, after the minibatches up to
        ``last``; True ends training there (the end of the patience).
    end_epoch : callable, optional
        ``end_epoch(epoch, costs, stopped)`` at each epoch's end, with the
        costs of its minibatches done: the caller's bookkeeping (parameters
        back to NumPy, history, checkpoint, progress); True ends training
        there (the cost has stopped falling).
    flag, checkpointer, save
        The stop flag of :func:`stop_signals`; when it is raised,
        ``save(epoch, next_index, costs) -> path`` writes a checkpoint and
        :class:`TrainingInterrupted` is raised.

    Returns
    -------
    bool
        True if ``after`` or ``end_epoch`` ended training.
    """
    batch_costs = np.empty(n_batches)
    epoch0, index0 = start
    batch_costs[:index0] = np.asarray(partial_costs)[:index0]
    for epoch in range(epoch0, epochs):
        n_done, stopped = index0, False
        fits = None if allowed is None else (
            lambda index, epoch=epoch: allowed(epoch, index))
        for index, count in _runs(progress, index0, n_batches, desc(epoch),
                                  steps, fits):
            if count == 1:  # the common case, kept lean
                cost = step(index)
                batch_costs[index] = cost
                if not guard.ok(cost):
                    raise guard.diverged(cost, where(epoch, index))
            else:
                costs = block(index // count)
                batch_costs[index:index + count] = costs
                for at, cost in enumerate(costs, index):
                    if not guard.ok(cost):
                        raise guard.diverged(cost, where(epoch, at))
            n_done = index + count
            if after is not None and after(epoch, n_done - 1):
                stopped = True
                break
            if flag is not None and flag["signal"] is not None:
                _stop(flag, checkpointer,
                      save(epoch, n_done, batch_costs[:n_done]))
        index0 = 0
        if end_epoch is not None and end_epoch(epoch, batch_costs[:n_done],
                                               stopped):
            stopped = True
        if stopped:
            return True
    return False


def check_resume(checkpointer, **limits):
    """Check a checkpoint's position against this run's data and epochs."""
    if checkpointer is None:
        raise ValueError("resume needs the checkpointer that saved it")
    for name, (value, top) in limits.items():
        if value > top:
            raise DataFileError(checkpointer.path, f"has position.{name} "
                                f"{value}, but this run has at most {top}: "
                                f"it comes from other data or settings")


def position_in(meta, phase):
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


def run_epochs(step, n_batches, epochs, *, phase="train", layer=None,
               progress=None, divergence_factor=None, model=None):
    """Call ``step(index)`` on every minibatch, ``epochs`` times.

    The loop of :func:`pretrain` and :func:`finetune` for any step, such as
    :meth:`sda.dA.training_function`'s.  Returns the mean of the returned
    costs of each epoch.  ``progress`` receives an event after every epoch
    (``phase``, ``layer``, ``epoch``, ``epochs``, ``cost``, ``elapsed``).
    A NaN or infinite cost (or, with ``divergence_factor``, one that many
    times the first) raises :class:`~sda.errors.DivergenceError`.  The
    parameters of ``model`` (the step's) are given back to NumPy at every
    epoch's end, as the other loops do (:func:`sda.to_host`).
    """
    n_batches = _checks.positive_int("n_batches", n_batches)
    epochs = _checks.non_negative_int("epochs", epochs)
    guard = Guard(check_divergence_factor(divergence_factor))
    costs, t0 = [], time.perf_counter()

    def end_epoch(epoch, batch_costs, stopped):
        if model is not None:
            to_host(model)
        costs.append(float(batch_costs.mean()))
        log.info("%s layer %s epoch %d: cost %.6f", phase, layer, epoch,
                 costs[-1])
        report(progress, phase=phase, layer=layer, epoch=epoch,
               epochs=epochs, cost=costs[-1],
               elapsed=time.perf_counter() - t0)

    train_epochs(step, n_batches, epochs, guard=guard,
                 where=lambda epoch, index: f"{phase} epoch {epoch + 1}, "
                                            f"minibatch {index}",
                 desc=lambda epoch: f"{phase} epoch {epoch + 1}/{epochs}",
                 end_epoch=end_epoch, progress=progress)
    return costs
