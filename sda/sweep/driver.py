"""The sweep's driver: Optuna proposes and records, Dask runs the trials.

Only this process talks to the Optuna storage (a SQLite file is enough at
any cluster size); the workers only run :func:`~sda.sweep.trial.run_trial`.
Every failure the driver records carries its traceback, so a trial that
is FAIL without one was never recorded (:func:`interrupted`): a driver that
dies leaves its trials in flight RUNNING, and the next driver tells them
FAIL (Optuna's public ``study.tell``) and queues their points again.  A
trial whose future was cancelled goes the same way.
"""

import math
import numbers
import os
import time
import traceback

import optuna
from dask.distributed import Client, LocalCluster, wait
from optuna.trial import TrialState

from .._compat import queued_params
from .space import (check_space, decode, distributions, encode, grid_points,
                    key)
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
    """``(client, cluster or None)``: the given cluster, the one named by
    ``DASK_SCHEDULER_ADDRESS``, or a new local one on the loopback."""
    if isinstance(client, Client):
        return client, None, False
    if isinstance(client, str):
        return Client(client), None, True
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        return Client(address), None, True
    cluster = LocalCluster(n_workers=os.cpu_count() or 1,
                           threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    return Client(cluster), cluster, True


def _sampler(name, seed):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    # grid points are queued by run_sweep itself (GridSampler does not
    # work with ask/tell, optuna#5141); random fills in the rest
    return optuna.samplers.RandomSampler(seed=seed)


def _recover(study, space):
    """Tell the trials a dead driver left RUNNING FAIL and queue their
    parameters again; return how many."""
    done = {key(t.params, space) for t in study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE,))}
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        _interrupted(study, t.number,
                     None if key(t.params, space) in done else t.params)
        n += 1
    return n


def _interrupted(study, trial, params):
    """Tell ``trial`` (a trial or its number) FAIL without a traceback,
    which marks it interrupted (:func:`interrupted`), and queue
    ``params`` (its point, unless None) again."""
    study.tell(trial, state=TrialState.FAIL)
    if params:
        study.enqueue_trial(dict(params), skip_if_exists=False)


def _queue_grid(study, space):
    """Queue the grid points not yet finished or queued; return the total."""
    seen = set()
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.WAITING:
            seen.add(key(queued_params(t), space))
        elif finished(t):
            seen.add(key(t.params, space))
    points = grid_points(space)
    for params in points:
        encoded = {n: encode(v) for n, v in params.items()}
        if key(encoded, space) not in seen:
            study.enqueue_trial(encoded)
    return len(points)


def _finished(study):
    return sum(1 for t in study.get_trials(deepcopy=False) if finished(t))


def _waiting(study):
    return len(study.get_trials(deepcopy=False,
                                states=(TrialState.WAITING,)))


def run_sweep(space, trial=train_trial, sampler="grid", n_trials=None,
              storage="sqlite:///sweep.db", study_name="sda", client=None,
              retries=1, metric="valid_error", direction="minimize",
              fixed=None, seed=0, timeout=None, say=None):
    """Run ``trial`` over ``space`` on a Dask cluster, recorded by Optuna.

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
        The study in the storage; an existing one is continued.
    client : dask.distributed.Client or str or None
        The cluster that runs the trials: a client, a scheduler address, or
        None for ``DASK_SCHEDULER_ADDRESS`` when set, else a new local
        cluster on 127.0.0.1 with one single-threaded worker process per
        core (closed at the end).
    retries : int
        How many times a trial that raised is run again before it is marked
        FAIL.  (A worker that dies is Dask's business: it reruns the trial
        elsewhere.)
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
        the total, and the best so far.

    Returns
    -------
    optuna.Study
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
    fixed = dict(fixed or {})
    overlap = sorted(set(fixed) & set(space))
    if overlap:
        raise ValueError(f"fixed and space both name {overlap}")
    total = len(grid_points(space)) if n_trials is None else n_trials
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ValueError(f"n_trials must be a positive integer or None, got "
                         f"{n_trials!r}")

    # Optuna's INFO line per trial, for the length of this call only
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return _drive(space, trial, sampler, total, storage, study_name,
                      client, retries, metric, direction, fixed, seed,
                      timeout, say)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _drive(space, trial, sampler, total, storage, study_name, client,
           retries, metric, direction, fixed, seed, timeout, say):
    """:func:`run_sweep`'s work, its arguments checked."""
    study = optuna.create_study(storage=storage, study_name=study_name,
                                direction=direction, load_if_exists=True,
                                sampler=_sampler(sampler, seed))
    choices = distributions(space)
    recovered = _recover(study, space)
    if sampler == "grid":
        _queue_grid(study, space)
    say = say or (lambda line: None)
    if recovered:
        say(f"{recovered} trial(s) left running by an earlier driver: "
            f"marked FAIL and queued again")

    client, cluster, owned = _client(client)
    deadline = None if timeout is None else time.monotonic() + timeout
    in_flight = {}
    try:
        # a new local cluster: all its workers; another: at least one
        client.wait_for_workers(len(cluster.workers) if cluster else 1,
                                timeout=60 if timeout is None else timeout)
        n_workers = max(1, len(client.nthreads()))

        def more():
            if _finished(study) + len(in_flight) >= total:
                return False
            # a grid runs what is queued; the samplers propose the rest
            return sampler != "grid" or _waiting(study) > 0

        while True:
            while len(in_flight) < n_workers and more():
                t = study.ask(choices)
                params = {n: decode(v, space[n])
                          for n, v in t.params.items()}
                future = client.submit(run_trial, trial, {**fixed, **params},
                                       pure=False, retries=retries,
                                       key=f"sda-trial-{study_name}-"
                                           f"{t.number}-{time.time_ns()}")
                in_flight[future] = t
            if not in_flight:
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"the sweep did not finish within "
                                   f"{timeout} s")
            done, _ = wait(list(in_flight), timeout=left,
                           return_when="FIRST_COMPLETED")
            for future in done:
                _record(study, in_flight.pop(future), future, metric)
                n_workers = max(1, len(client.nthreads()))
            if done:
                say(_progress_line(study, total, metric))
    finally:
        for future in in_flight:
            future.cancel()
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()
    return study


def _record(study, t, future, metric):
    """Tell the study how trial ``t`` (run as ``future``) ended."""
    if future.status == "cancelled":  # not run to the end: run it again
        _interrupted(study, t, t.params)
        return
    if future.status != "finished":  # raised, or lost with its worker
        try:
            error, tb = future.exception(), future.traceback()
        except Exception as e:  # no exception to fetch after all
            error, tb = e, e.__traceback__
        t.set_user_attr("traceback", "".join(
            traceback.format_exception(type(error), error, tb)))
        study.tell(t, state=TrialState.FAIL)
        return
    metrics = future.result()
    for name, value in metrics.items():
        t.set_user_attr(name, value)
    value = metrics.get(metric)
    if not isinstance(value, numbers.Real) or not math.isfinite(value):
        t.set_user_attr("traceback", f"the trial returned {metric}="
                                     f"{value!r}, not a finite number")
        study.tell(t, state=TrialState.FAIL)
        return
    study.tell(t, float(value))


def _progress_line(study, total, metric):
    done = _finished(study)
    line = f"trials {done}/{total}"
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if complete:
        best = study.best_trial
        line += f"; best {metric} {best.value:.4g} with {best.params}"
    failed = sum(1 for t in study.get_trials(
        deepcopy=False, states=(TrialState.FAIL,)) if not interrupted(t))
    if failed:
        line += f"; {failed} failed"
    return line
