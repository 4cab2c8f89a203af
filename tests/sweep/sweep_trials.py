"""Trials for tests/test_sweep.py: they misbehave on purpose.

The tests send them to Dask workers by value (cloudpickle), so worker
processes need not import this module.
"""

import math
import os
import signal
import time
from pathlib import Path


def _value(params):
    return (params["x"] - 1) ** 2 + params["y"]


def quadratic(params):
    """A metric of the parameters, after ``sleep`` seconds."""
    time.sleep(params.get("sleep", 0.0))
    return {"valid_error": _value(params), "pid": os.getpid()}


def _first_time(params, what):
    """True the first time ``what`` is asked for these parameters (a marker
    file in ``params["markers"]``)."""
    marker = Path(params["markers"]) / f"{what}-{params['x']}-{params['y']}"
    try:
        marker.open("x").close()
    except FileExistsError:
        return False
    return True


def kill_worker_once(params):
    """SIGKILL the worker process the first time it runs ``x == 2``."""
    if params["x"] == 2 and _first_time(params, "killed"):
        os.kill(os.getpid(), signal.SIGKILL)
    return quadratic(params)


def raise_once(params):
    if _first_time(params, "raised"):
        raise RuntimeError("a passing failure")
    return quadratic(params)


def always_raise_at_2(params):
    if params["x"] == 2:
        raise RuntimeError("boom at x=2")
    return quadratic(params)


def nan_at_2(params):
    if params["x"] == 2:
        return {"valid_error": math.nan}
    return quadratic(params)


def echo_type(params):
    """The type of ``x`` as the trial received it."""
    return {"valid_error": 0.0, "type": type(params["x"]).__name__}


def refuse_counting(params):
    """Refuse ``x`` as a trial's argument check would (a ValueError), after
    leaving a marker per call in ``params["markers"]``."""
    folder = Path(params["markers"])
    n = len(list(folder.glob("call-*")))
    (folder / f"call-{os.getpid()}-{time.time_ns()}-{n}").touch()
    raise ValueError(f"x must be positive, got {params['x']}")
