"""Hyperparameter sweeps: Optuna proposes and records trials, Dask runs them.

The same call runs a sweep on a laptop and on a cluster::

    import sda.sweep
    study = sda.sweep.run_sweep(
        {"corruption_levels": [0.1, 0.3], "noise": ["masking", "gaussian"]},
        storage="sqlite:///sweep.db", study_name="noise")

Each trial is ``trial(params) -> metrics``, a top-level (picklable)
function called in a Dask worker process with a dict of parameters; the
default, :func:`train_trial`, trains an SdA with the keyword arguments of
the tutorial's ``test_SdA``.  Only this process (the *driver*) talks to the
Optuna storage, so a SQLite file is enough at any cluster size; PostgreSQL
(``postgresql://user@host/db``) lets the record live on another machine.

How a sweep behaves (measured in ``tests/test_sweep.py``):

* one trial in flight per worker; the data set is loaded once per worker
  process, and the compiled functions are built there, never shipped;
* a worker that dies takes its trial with it, and Dask runs the trial again
  elsewhere; a trial that raises is run again ``retries`` times, then
  marked FAIL with its traceback (``trial.user_attrs["traceback"]``), as is
  one whose metric is NaN, and the sweep goes on;
* a sweep stopped half way (the driver killed, the machine rebooted) is
  finished by running the same call again with the same storage and study
  name: finished points are not run again, and the trials the dead driver
  left RUNNING are marked FAIL and queued again.  One driver per study.

The extra ``sda[sweep]`` brings Dask's distributed scheduler and Optuna.
"""

import functools
import itertools
import json
import math
import numbers
import os
import socket
import time
import traceback

__all__ = ["run_sweep", "train_trial", "TRIAL_DEFAULTS", "grid_points",
           "results_table", "main"]

#: The parameters of :func:`train_trial` and their defaults: those of the
#: tutorial's ``test_SdA``, the model options of :class:`sda.SdA`,
#: ``n_train`` (train on the first ``n_train`` examples; None = all), and
#: how to compute: ``floatX``, ``mode`` (e.g. 'JAX' on GPU workers) and
#: ``steps_per_call`` (None and 1: the defaults).
TRIAL_DEFAULTS = {
    "hidden_layers_sizes": [1000, 1000, 1000],
    "corruption_levels": [0.1, 0.2, 0.3],
    "pretraining_epochs": 15,
    "training_epochs": 1000,
    "batch_size": 1,
    "pretrain_lr": 0.001,
    "finetune_lr": 0.1,
    "dataset": None,
    "seed": 89677,
    "noise": "masking",
    "loss": "cross_entropy",
    "emphasis": None,
    "tied": True,
    "n_train": None,
    "floatX": None,
    "mode": None,
    "steps_per_call": 1,
}

SAMPLERS = ("grid", "random", "tpe")


# -- the trial, run in a worker -----------------------------------------------

@functools.lru_cache(maxsize=2)
def _datasets(dataset):
    """The data set as NumPy arrays, loaded once per worker process."""
    from .data import load_data
    return load_data(dataset, shared=False)


def train_trial(params):
    """Train one SdA with ``params``; return its errors, time and epochs.

    Parameters
    ----------
    params : dict
        Any of :data:`TRIAL_DEFAULTS` (the keyword arguments of the
        tutorial's ``test_SdA``, the model options ``noise``, ``loss``,
        ``emphasis``, ``tied``, and ``n_train``, ``floatX``, ``mode``,
        ``steps_per_call``); the others take their defaults.
        ``corruption_levels`` may be one number for every layer.

    Returns
    -------
    dict
        ``valid_error`` and ``test_error`` of the best model (fractions),
        ``seconds``, ``epochs`` (fine-tuning epochs run) and
        ``pretraining_costs`` (the last epoch's cost of each layer).
    """
    unknown = sorted(set(params) - set(TRIAL_DEFAULTS))
    if unknown:
        raise ValueError(f"train_trial got unknown parameter(s) "
                         f"{', '.join(map(repr, unknown))}; allowed: "
                         f"{', '.join(TRIAL_DEFAULTS)}")
    p = {**TRIAL_DEFAULTS, **params}
    import numpy as np
    import pytensor

    from . import train
    from .stacked import SdA

    with pytensor.config.change_flags(floatX=p["floatX"]
                                      or pytensor.config.floatX):
        (train_x, train_y), valid, test = _datasets(p["dataset"])
        if p["n_train"] is not None:
            n = int(p["n_train"])
            train_x, train_y = train_x[:n], train_y[:n]
        start = time.perf_counter()
        model = SdA(numpy_rng=np.random.RandomState(p["seed"]),
                    n_ins=train_x.shape[1],
                    hidden_layers_sizes=p["hidden_layers_sizes"],
                    n_outs=int(max(train_y.max(), valid[1].max(),
                                   test[1].max())) + 1,
                    corruption_levels=p["corruption_levels"],
                    noise=p["noise"], loss=p["loss"],
                    emphasis=p["emphasis"], tied=p["tied"])
        history = train.pretrain(model, train_x,
                                 epochs=p["pretraining_epochs"],
                                 batch_size=p["batch_size"],
                                 learning_rate=p["pretrain_lr"],
                                 mode=p["mode"],
                                 steps_per_call=p["steps_per_call"])
        train.finetune(model, [(train_x, train_y), valid, test],
                       epochs=p["training_epochs"],
                       batch_size=p["batch_size"],
                       learning_rate=p["finetune_lr"], history=history,
                       mode=p["mode"], steps_per_call=p["steps_per_call"])
    return {"valid_error": history.best_validation_error,
            "test_error": history.test_error,
            "seconds": time.perf_counter() - start,
            "epochs": history.epochs,
            "pretraining_costs": [c[-1] if c else None
                                  for c in history.pretraining_costs]}


def _run(trial, params):
    """What a worker runs: ``trial(params)``, with where and how long."""
    start = time.perf_counter()
    metrics = dict(trial(params))
    metrics.setdefault("seconds", time.perf_counter() - start)
    metrics["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return metrics


# -- the search space ---------------------------------------------------------

def _primitive(value):
    return value is None or isinstance(value, (bool, numbers.Real, str))


def _check_space(space):
    if not isinstance(space, dict) or not space:
        raise ValueError(f"space must be a non-empty dict mapping each "
                         f"parameter to a list of values, got {space!r}")
    for name, values in space.items():
        if not isinstance(name, str):
            raise ValueError(f"space keys must be parameter names, got "
                             f"{name!r}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"space[{name!r}] must be a non-empty list of "
                             f"values, got {values!r}")
    return {name: list(values) for name, values in space.items()}


def _encode(value):
    """A choice as Optuna stores it: primitives as they are, lists as JSON."""
    return value if _primitive(value) else json.dumps(value)


def _decode(value, choices):
    for choice in choices:
        if _encode(choice) == value:
            return choice
    raise ValueError(f"{value!r} is not among {choices!r}")


def _distributions(space):
    from optuna.distributions import CategoricalDistribution
    return {name: CategoricalDistribution([_encode(v) for v in values])
            for name, values in space.items()}


def grid_points(space):
    """Every combination of the space's values, as parameter dicts."""
    space = _check_space(space)
    names = list(space)
    return [dict(zip(names, combo))
            for combo in itertools.product(*(space[n] for n in names))]


def _key(params, space):
    return tuple(json.dumps(_encode(params.get(n))) for n in space)


# -- the driver ---------------------------------------------------------------

def _client(client):
    """``(client, cluster or None)``: the given cluster, the one named by
    ``DASK_SCHEDULER_ADDRESS``, or a new local one on the loopback."""
    from dask.distributed import Client, LocalCluster
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
    import optuna
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    # grid points are queued by run_sweep itself (GridSampler does not
    # work with ask/tell, optuna#5141); random fills in the rest
    return optuna.samplers.RandomSampler(seed=seed)


def _recover(study, space):
    """Mark the trials a dead driver left RUNNING as FAIL and queue their
    parameters again; return how many."""
    from optuna.trial import TrialState
    done = {_key(t.params, space) for t in study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE,))}
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        if t.params and _key(t.params, space) not in done:
            study.enqueue_trial(dict(t.params), skip_if_exists=False)
        n += 1
    return n


def _queue_grid(study, space):
    """Queue the grid points not yet finished or queued; return the total."""
    from optuna.trial import TrialState
    seen = set()
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.WAITING:
            seen.add(_key(t.system_attrs.get("fixed_params", {}), space))
        elif t.state == TrialState.COMPLETE or (
                t.state == TrialState.FAIL
                and not t.user_attrs.get("interrupted")):
            seen.add(_key(t.params, space))
    points = grid_points(space)
    for params in points:
        if _key({n: _encode(v) for n, v in params.items()}, space) \
                not in seen:
            study.enqueue_trial({n: _encode(v) for n, v in params.items()})
    return len(points)


def _finished(study):
    from optuna.trial import TrialState
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state == TrialState.COMPLETE or (
                   t.state == TrialState.FAIL
                   and not t.user_attrs.get("interrupted")))


def _waiting(study):
    from optuna.trial import TrialState
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
    import optuna
    from dask.distributed import Client, wait

    space = _check_space(space)
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

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name=study_name,
                                direction=direction, load_if_exists=True,
                                sampler=_sampler(sampler, seed))
    distributions = _distributions(space)
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
                t = study.ask(distributions)
                params = {n: _decode(v, space[n])
                          for n, v in t.params.items()}
                future = client.submit(_run, trial, {**fixed, **params},
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
    from optuna.trial import TrialState
    if future.status != "finished":  # raised, or lost with its worker
        try:
            error, tb = future.exception(), future.traceback()
        except Exception as e:  # cancelled: there is no exception to fetch
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
    from optuna.trial import TrialState
    done = _finished(study)
    line = f"trials {done}/{total}"
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if complete:
        best = study.best_trial
        line += f"; best {metric} {best.value:.4g} with {best.params}"
    failed = sum(1 for t in study.get_trials(
        deepcopy=False, states=(TrialState.FAIL,))
        if not t.user_attrs.get("interrupted"))
    if failed:
        line += f"; {failed} failed"
    return line


# -- results ------------------------------------------------------------------

def results_table(study, space):
    """One row per finished trial: its parameters, state and metrics."""
    from optuna.trial import TrialState
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.FAIL and t.user_attrs.get("interrupted"):
            continue
        if t.state not in (TrialState.COMPLETE, TrialState.FAIL):
            continue
        row = {"number": t.number, "state": t.state.name}
        for name in space:
            if name in t.params:
                row[name] = _decode(t.params[name], space[name])
        for name, value in t.user_attrs.items():
            if name != "traceback":
                row[name] = value
        rows.append(row)
    return rows


def _write_results(rows, space, metric, folder):
    """``results.csv``, ``results.json`` and ``errors.png`` in ``folder``."""
    import csv
    import io
    from pathlib import Path

    from .files import atomic_write

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    columns = ["number", "state", *space,
               *sorted({k for r in rows for k in r} - set(space)
                       - {"number", "state"})]
    text = io.StringIO()
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict))
                         else v for k, v in row.items()})
    atomic_write(folder / "results.csv",
                 lambda f: f.write(text.getvalue().encode()))
    atomic_write(folder / "results.json",
                 lambda f: f.write(json.dumps(rows, indent=1).encode()))
    _plot(rows, space, metric, folder / "errors.png")
    return folder


def _plot(rows, space, metric, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .files import atomic_write

    names = list(space)
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4),
                             squeeze=False)
    done = [r for r in rows if r["state"] == "COMPLETE"]
    for ax, name in zip(axes[0], names):
        labels = [_label(v) for v in space[name]]
        # one line per setting of the other swept parameters
        others = [n for n in names if n != name]
        groups = {}
        for row in done:
            key = tuple(_label(row.get(n)) for n in others)
            groups.setdefault(key, []).append(
                (labels.index(_label(row[name])), row[metric]))
        for key, points in sorted(groups.items()):
            points.sort()
            ax.plot(*zip(*points), "o-", alpha=0.8,
                    label=", ".join(f"{n}={k}" for n, k in zip(others, key)))
        ax.set_xticks(range(len(labels)), labels, rotation=20)
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if others and 1 < len(groups) <= 10:
            ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)


def _label(value):
    return str(value) if _primitive(value) else json.dumps(value)


def _table_text(rows, space, metric):
    columns = [*space, metric, "test_error", "seconds", "state"]
    lines = ["  ".join(f"{c:>20}" for c in columns)]
    for row in sorted(rows, key=lambda r: (r["state"] != "COMPLETE",
                                           r.get(metric, math.inf))):
        cells = []
        for c in columns:
            v = row.get(c, "")
            text = f"{v:.4g}" if isinstance(v, float) else _label(v)
            cells.append(f"{text:>20}")
        lines.append("  ".join(cells))
    return "\n".join(lines)


def main(argv=None):
    """``python -m sda.sweep SPACE [options]``: run a sweep from a YAML or
    JSON file and write its table and plot."""
    import argparse
    from pathlib import Path

    from . import cli

    parser = argparse.ArgumentParser(
        prog="python -m sda.sweep",
        description="Run a hyperparameter sweep of sda.sweep.train_trial on "
                    "a Dask cluster, recorded by Optuna.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("space", type=cli.existing_path,
                        help="YAML or JSON file: {'space': {name: [values]}, "
                             "'fixed': {name: value}} or just the space")
    parser.add_argument("--trial", type=_trial_function,
                        default=train_trial,
                        help="the trial, as module:function (importable "
                             "on the workers too; default: "
                             "sda.sweep:train_trial)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="grid")
    parser.add_argument("--n-trials", type=cli.positive_int, default=None,
                        help="trials in all (default: the grid's size)")
    parser.add_argument("--storage", default="sqlite:///sweep.db",
                        help="Optuna storage URL")
    parser.add_argument("--study-name", default="sda")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address (default: "
                             "DASK_SCHEDULER_ADDRESS, else a local cluster)")
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--metric", default="valid_error")
    parser.add_argument("--output-folder", type=Path,
                        default=Path("sweep_output"))
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error")
    args = parser.parse_args(argv)

    def run(_):
        spec = _read_space(args.space)
        space, fixed = spec.get("space", spec), spec.get("fixed", {})
        study = run_sweep(space, trial=args.trial, sampler=args.sampler,
                          n_trials=args.n_trials, storage=args.storage,
                          study_name=args.study_name,
                          client=args.scheduler, retries=args.retries,
                          metric=args.metric, fixed=fixed,
                          say=lambda line: print(line, flush=True))
        rows = results_table(study, space)
        folder = _write_results(rows, space, args.metric,
                                args.output_folder)
        print(_table_text(rows, space, args.metric))
        print(f"Table and plot written to {folder.resolve()} (results.csv, "
              f"results.json, errors.png)")
        return 0
    return cli.run(run, ["--debug"] if args.debug else [])


def _trial_function(text):
    import argparse
    import importlib
    module, _, name = text.partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise argparse.ArgumentTypeError(
            f"must be module:function, importable; {text!r}: {e}") from None
    if not callable(function):
        raise argparse.ArgumentTypeError(f"{text!r} is not a function")
    return function


_trial_function.__name__ = "trial"


def _read_space(path):
    from .errors import DataFileError
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml
            spec = yaml.safe_load(text)
        else:
            spec = json.loads(text)
    except Exception as e:  # the parsers' own errors say where
        raise DataFileError(path, f"is not valid "
                                  f"{path.suffix[1:].upper() or 'JSON'}: "
                                  f"{e}") from None
    if not isinstance(spec, dict):
        raise DataFileError(path, "must hold a mapping of parameter names "
                                  "to lists of values")
    return spec


if __name__ == "__main__":
    raise SystemExit(main())
