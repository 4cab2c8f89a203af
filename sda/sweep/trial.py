"""The trial a sweep runs by default: one SdA trained with a dict of parameters.

:func:`train_trial` runs in a Dask worker process; it takes the keyword
arguments of the tutorial's ``test_SdA`` and returns the errors it reached.
"""

import functools
import os
import socket
import time
import traceback

import numpy as np
import pytensor

from .. import train
from ..datasets import load_data
from ..models import SdA

__all__ = ["train_trial", "TRIAL_DEFAULTS", "run_trial"]

#: The parameters of :func:`train_trial` and their defaults: those of the
#: tutorial's ``test_SdA``, the model options of :class:`sda.SdA`,
#: ``n_train`` (train on the first ``n_train`` examples; None = all),
#: ``n_test`` (score the first ``n_test`` test examples; None = all), and
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
    "n_test": None,
    "floatX": None,
    "mode": None,
    "steps_per_call": 1,
}


#: Exceptions that say the arguments were refused: the same parameters
#: would fail again, so the driver does not retry them.
DETERMINISTIC = (ValueError, TypeError)


@functools.lru_cache(maxsize=2)
def _datasets(dataset):
    """The data set as NumPy arrays, loaded once per worker process."""
    return load_data(dataset, shared=False)


def train_trial(params):
    """Train one SdA with ``params``; return its errors, time and epochs.

    Parameters
    ----------
    params : dict
        Any of :data:`TRIAL_DEFAULTS` (the keyword arguments of the
        tutorial's ``test_SdA``, the model options ``noise``, ``loss``,
        ``emphasis``, ``tied``, and ``n_train``, ``n_test``, ``floatX``,
        ``mode``, ``steps_per_call``); the others take their defaults.
        ``dataset`` may name a problem of :mod:`sda.datasets`.
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
    with pytensor.config.change_flags(floatX=p["floatX"]
                                      or pytensor.config.floatX):
        (train_x, train_y), valid, test = _datasets(p["dataset"])
        if p["n_train"] is not None:
            n = int(p["n_train"])
            train_x, train_y = train_x[:n], train_y[:n]
        if p["n_test"] is not None:
            n = int(p["n_test"])
            test = (test[0][:n], test[1][:n])
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


#: The names :func:`train_trial` takes, which the driver checks a space's
#: and ``fixed``'s names against before any work.
train_trial.PARAMETERS = tuple(TRIAL_DEFAULTS)


def run_trial(trial, params):
    """What a worker runs: ``trial(params)``, with where and how long.

    Returns ``(metrics, None)``, or ``(None, failure)`` if the trial
    raised: its ``error`` (the traceback's last line), ``traceback`` and
    whether to ``retry`` it.  A failure returned, not raised, is the
    driver's to report: Dask would log it in a block of its own.
    """
    start = time.perf_counter()
    try:
        metrics = dict(trial(params))
    except Exception as e:
        return None, {"error": traceback.format_exception_only(e)[-1].strip(),
                      "traceback": traceback.format_exc(),
                      "retry": not isinstance(e, DETERMINISTIC)}
    metrics.setdefault("seconds", time.perf_counter() - start)
    metrics["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return metrics, None
