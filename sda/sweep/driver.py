"""The sweep's driver: Optuna proposes and records, Dask runs the trials.

Only this process talks to the Optuna storage (a SQLite file is enough at
any cluster size); the workers only run :func:`~sda.sweep.trial.run_trial`.
Every failure the driver records carries its traceback, so a trial that
is FAIL without one was never recorded (:func:`interrupted`): a driver that
dies leaves its trials in flight RUNNING, and the next driver tells them
FAIL (Optuna's public ``study.tell``) and runs their points again.

The driver reads the study once, when it starts, and keeps its counts in
memory; grid points are queued one at a time, just before they are asked
for, so that each step costs the same however large the grid.  The
storage is checked and the study locked by :mod:`~sda.sweep.storage`.
"""

import contextlib
import difflib
import logging
import math
import numbers
import os
import signal
import time
import traceback
from collections import deque

import optuna
from dask.distributed import Client, LocalCluster, wait
from optuna.trial import TrialState

from .._compat import queued_params
from .space import (check_grid_size, check_space, decode, distributions,
                    encode, grid_points, grid_size, key)
from .storage import check_recorded_space, first_line, open_study
from .trial import run_trial, train_trial

__all__ = ["run_sweep", "SAMPLERS", "interrupted", "finished"]

SAMPLERS = ("grid", "random", "tpe")


def interrupted(t):
    """True for a trial its driver did not live to record: FAIL without the
    traceback every recorded failure has."""
    return t.state == TrialState.FAIL and "traceback" not in t.user_attrs


def finished(t):
    """True for a trial that counts as done: COMPLETE, or FAIL on its own."""
    return t.state == TrialState.COMPLETE or (
        t.state == TrialState.FAIL and not interrupted(t))


def _client(client):
    """``(client, cluster or None, owned)``: the given cluster, the one
    named by ``DASK_SCHEDULER_ADDRESS``, or a new local one on the
    loopback."""
    if isinstance(client, Client):
        return client, None, False
    if isinstance(client, str):
        return Client(client), None, True
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        return Client(address), None, True
    # no dashboard; the scheduler's HTTP server (health, metrics) on a
    # free port, not 8787 with a warning when another cluster holds it
    cluster = LocalCluster(n_workers=os.cpu_count() or 1,
                           threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           scheduler_kwargs={
                               "dashboard_address": "127.0.0.1:0"})
    return Client(cluster), cluster, True


def _ignore_sigint():
    """Run in the workers of a local cluster: Ctrl-C reaches the whole
    process group, and the driver alone answers it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _quiet():
    """Run in the driver and the workers of a local cluster on Ctrl-C: the
    trials cancelled are the driver's to report (once), not a warning
    block from each worker."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _sampler(name, seed):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    # grid points are queued by the driver itself (GridSampler does not
    # work with ask/tell, optuna#5141); random fills in the rest
    return optuna.samplers.RandomSampler(seed=seed)


def _check_names(trial, names):
    """Refuse parameters ``trial`` does not take, if it says which it takes
    (a ``PARAMETERS`` attribute, as :func:`train_trial` has)."""
    allowed = getattr(trial, "PARAMETERS", None)
    if allowed is None:
        return
    for name in names:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = (f"did you mean {close[0]!r}?" if close else
                    f"it takes {', '.join(allowed)}")
            raise ValueError(f"{getattr(trial, '__name__', trial)} takes no "
                             f"parameter {name!r}; {hint}")


def run_sweep(space, trial=train_trial, sampler="grid", n_trials=None,
              storage="sqlite:///sweep.db", study_name="sda", client=None,
              retries=1, metric="valid_error", direction="minimize",
              fixed=None, seed=0, timeout=None, say=None):
    """Run ``trial`` over ``space`` on a Dask cluster, recorded by Optuna.

    Everything is checked before any trial runs: the space (no NaN, no
    value twice, a grid of at most :data:`~sda.sweep.space.MAX_GRID`
    points), the parameter names (against ``trial.PARAMETERS`` when the
    trial has one, as :func:`train_trial` does), the storage, the study's
    lock and, for a study run before, its recorded space.

    Parameters
    ----------
    space : dict
        Each swept parameter mapped to a list of its values, e.g.
        ``{"corruption_levels": [0.1, 0.2], "hidden_layers_sizes":
        [[500, 500], [1000, 1000]]}``.
    trial : callable
        ``trial(params) -> dict of metrics``, a top-level function the
        workers can import (closures would carry their data with them).
    sampler : {"grid", "random", "tpe"}
        ``grid`` runs every combination once; ``random`` and ``tpe`` draw
        ``n_trials`` combinations (TPE with a constant liar, so that trials
        in flight are not proposed twice).
    n_trials : int, optional
        Trials to finish in all, counting those already in the storage
        (COMPLETE or FAIL); None = the size of the grid.
    storage : str
        An Optuna storage URL: ``sqlite:///file.db``, or
        ``postgresql://user@host:port/db`` for a record shared by machines.
    study_name : str
        The study in the storage; an existing one is continued if it was
        run with the same space, and refused otherwise.
    client : dask.distributed.Client or str or None
        The cluster that runs the trials: a client, a scheduler address, or
        None for ``DASK_SCHEDULER_ADDRESS`` when set, else a new local
        cluster on 127.0.0.1 with one single-threaded worker process per
        core (closed at the end).
    retries : int
        How many times a trial that raised is run again before it is marked
        FAIL; a ``ValueError`` or ``TypeError`` (a refused argument) is not
        run again.  (A worker that dies is Dask's business: it reruns the
        trial elsewhere.)
    metric, direction : str
        The metric the study optimises, and ``"minimize"`` or
        ``"maximize"``.  Every metric is kept in the trial's user
        attributes.
    fixed : dict, optional
        Parameters given to every trial but not swept (e.g. ``{"n_train":
        5000, "training_epochs": 20}``).
    seed : int
        Seed of the random and TPE samplers.
    timeout : float, optional
        Seconds after which the sweep stops waiting (``TimeoutError``); the
        trials in flight are cancelled and left to a rerun.
    say : callable, optional
        Receives a line of progress after each trial: trials done out of
        the total, and the best so far; and a line for each failure.

    Returns
    -------
    optuna.Study

    Raises
    ------
    ValueError
        A wrong argument; :class:`~sda.errors.StorageError` (a
        ``ValueError`` too) for a storage or study that cannot be used.
    """
    space = check_space(space)
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got "
                         f"{sampler!r}")
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got "
                         f"{direction!r}")
    if not callable(trial):
        raise ValueError(f"trial must be a function, got {trial!r}")
    if not (client is None or isinstance(client, (str, Client))):
        raise ValueError(f"client must be a dask Client, a scheduler "
                         f"address or None, got {client!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) \
            or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    if fixed is None:
        fixed = {}
    if not isinstance(fixed, dict) or not all(isinstance(n, str)
                                              for n in fixed):
        raise ValueError(f"fixed must be a mapping of parameter names to "
                         f"values, got {fixed!r}")
    overlap = sorted(set(fixed) & set(space))
    if overlap:
        raise ValueError(f"fixed and space both name {overlap}")
    _check_names(trial, [*space, *fixed])
    if sampler == "grid" or n_trials is None:  # a grid to run
        check_grid_size(space)
    total = grid_size(space) if n_trials is None else n_trials
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ValueError(f"n_trials must be a positive integer or None, got "
                         f"{n_trials!r}")
    if not isinstance(study_name, str) or not study_name:
        raise ValueError(f"study_name must be a non-empty string, got "
                         f"{study_name!r}")

    # Optuna's INFO line per trial, for the length of this call only
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with open_study(storage, study_name, direction,
                   _sampler(sampler, seed)) as study:
            check_recorded_space(study, space, storage)
            _Driver(study, space, sampler, total, metric,
                    say or (lambda line: None)).run(
                trial, fixed, client, retries, timeout)
        return study
    finally:
        optuna.logging.set_verbosity(verbosity)


class _Driver:
    """A sweep's bookkeeping, in memory: read from the study once, then
    kept up to date as trials end."""

    def __init__(self, study, space, sampler, total, metric, say):
        self.study, self.space, self.sampler = study, space, sampler
        self.total, self.metric, self.say = total, metric, say
        self.choices = distributions(space)
        self.done = self.failed = 0
        self.best = None  # (value, params) of the best COMPLETE trial
        seen, running, self.waiting = set(), [], 0
        for t in study.get_trials(deepcopy=False):
            if finished(t):
                self.done += 1
                seen.add(key(t.params, space))
                if t.state == TrialState.COMPLETE:
                    self._better(t.value, t.params)
                else:
                    self.failed += 1
            elif t.state == TrialState.WAITING:
                self.waiting += 1
                seen.add(key(queued_params(t), space))
            elif t.state == TrialState.RUNNING:
                running.append(t)
        # what a dead driver left running: FAIL (interrupted), and queued
        # again (the grid runs every point not finished anyway)
        self.again = deque()  # grid points to run again, encoded
        for t in running:
            again = self.sampler != "grid" and key(t.params, space) not in seen
            self._interrupted(t, t.params if again else None)
        if running:
            say(f"{len(running)} trial(s) left running by an earlier "
                f"driver: marked FAIL and queued again")
        # the grid's points not yet finished, queued one at a time
        self.points = iter(())
        if sampler == "grid":
            self.points = (encoded for encoded in map(self._encoded,
                                                      grid_points(space))
                           if key(encoded, space) not in seen)

    def _encoded(self, params):
        return {n: encode(v, self.space[n]) for n, v in params.items()}

    def _better(self, value, params):
        sign = 1 if self.study.direction.name == "MINIMIZE" else -1
        if self.best is None or sign * value < sign * self.best[0]:
            self.best = (value, {n: decode(v, self.space[n])
                                 for n, v in params.items()})

    def _interrupted(self, t, params):
        """Tell ``t`` FAIL without a traceback, which marks it interrupted
        (:func:`interrupted`), and have ``params`` (its point, encoded;
        None: not) run again."""
        self.study.tell(t if isinstance(t, int) else t.number,
                        state=TrialState.FAIL)
        if params is None:
            return
        if self.sampler == "grid":
            self.again.append(dict(params))
        else:
            self.study.enqueue_trial(dict(params), skip_if_exists=False)
            self.waiting += 1

    def _ask(self):
        """The next trial, or None when the grid has run out."""
        if not self.waiting and self.sampler == "grid":
            params = (self.again.popleft() if self.again
                      else next(self.points, None))
            if params is None:
                return None
            self.study.enqueue_trial(params, skip_if_exists=False)
            self.waiting += 1
        if self.waiting:
            self.waiting -= 1  # ask pops the oldest WAITING trial
        return self.study.ask(self.choices)

    def run(self, trial, fixed, client, retries, timeout):
        client, cluster, owned = _client(client)
        deadline = None if timeout is None else time.monotonic() + timeout
        in_flight = {}  # future: (trial, params, attempt)

        def submit(t, params, attempt):
            future = client.submit(
                run_trial, trial, {**fixed, **params}, pure=False,
                key=f"sda-trial-{self.study.study_name}-{t.number}-"
                    f"{time.time_ns()}")
            in_flight[future] = (t, params, attempt)

        try:
            # a new local cluster: all its workers; another: at least one
            client.wait_for_workers(len(cluster.workers) if cluster else 1,
                                    timeout=60 if timeout is None
                                    else timeout)
            if cluster is not None:
                client.run(_ignore_sigint)
            n_workers = max(1, len(client.nthreads()))
            while True:
                while (len(in_flight) < n_workers
                       and self.done + len(in_flight) < self.total):
                    t = self._ask()
                    if t is None:
                        break
                    submit(t, {n: decode(v, self.space[n])
                               for n, v in t.params.items()}, 0)
                if not in_flight:
                    break
                left = (None if deadline is None
                        else deadline - time.monotonic())
                if left is not None and left <= 0:
                    raise TimeoutError(f"the sweep did not finish within "
                                       f"{timeout} s")
                done, _ = wait(list(in_flight), timeout=left,
                               return_when="FIRST_COMPLETED")
                for future in done:
                    t, params, attempt = in_flight.pop(future)
                    if self._record(t, future, retries - attempt):
                        submit(t, params, attempt + 1)
                    n_workers = max(1, len(client.nthreads()))
                if done:
                    self.say(self.progress_line())
        except BaseException:
            # Ctrl-C or a timeout: the cluster goes, its complaints too
            _quiet()
            if cluster is not None:
                with contextlib.suppress(Exception):
                    client.run(_quiet)
            raise
        finally:
            for future in in_flight:
                future.cancel()
            if owned:
                client.close()
            if cluster is not None:
                cluster.close()

    def _record(self, t, future, retries_left):
        """Tell the study how trial ``t`` (run as ``future``) ended; True
        if it is to run again instead."""
        if future.status == "cancelled":  # not run to the end: run it again
            self._interrupted(t, t.params)
            return False
        if future.status != "finished":  # lost with its workers
            try:
                error, tb = future.exception(), future.traceback()
            except Exception as e:  # no exception to fetch after all
                error, tb = e, e.__traceback__
            return self._fail(t, f"{type(error).__name__}: "
                                 f"{first_line(error)}", "".join(
                traceback.format_exception(type(error), error, tb)))
        metrics, failure = future.result()
        if failure is not None:
            if retries_left > 0 and failure["retry"]:
                return True
            return self._fail(t, failure["error"], failure["traceback"])
        for name, value in metrics.items():
            t.set_user_attr(name, value)
        value = metrics.get(self.metric)
        if not isinstance(value, numbers.Real) or not math.isfinite(value):
            reason = (f"the trial returned {self.metric}={value!r}, not a "
                      f"finite number")
            return self._fail(t, reason, reason)
        self.study.tell(t, float(value))
        self.done += 1
        self._better(float(value), t.params)
        return False

    def _fail(self, t, error, traceback_text):
        t.set_user_attr("error", error)
        t.set_user_attr("traceback", traceback_text)
        self.study.tell(t, state=TrialState.FAIL)
        self.done += 1
        self.failed += 1
        self.say(f"trial {t.number} FAIL: {error}")
        return False

    def progress_line(self):
        line = f"trials {self.done}/{self.total}"
        if self.best is not None:
            line += (f"; best {self.metric} {self.best[0]:.4g} with "
                     f"{self.best[1]}")
        if self.failed:
            line += f"; {self.failed} failed"
        return line
