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

How a sweep behaves (measured in ``tests/sweep/test_sweep.py``):

* one trial in flight per worker; the data set is loaded once per worker
  process, and the compiled functions are built there, never shipped;
* a worker that dies takes its trial with it, and Dask runs the trial again
  elsewhere; a trial that raises is run again ``retries`` times, then
  marked FAIL with its traceback (``trial.user_attrs["traceback"]``) and
  its last line (``"error"``), as is one whose metric is NaN, and the
  sweep goes on; a ``ValueError`` or ``TypeError`` is not run again;
* a sweep stopped half way (the driver killed, the machine rebooted) is
  finished by running the same call again with the same storage and study
  name: finished points are not run again, and the trials the dead driver
  left RUNNING are marked FAIL and queued again.  One driver per study:
  a second is refused (:class:`~sda.errors.StorageError`), as is a space
  other than the one the study was run with.

The extra ``sda[sweep]`` brings Dask's distributed scheduler and Optuna.

* :mod:`~sda.sweep.trial`: the trial run in the workers;
* :mod:`~sda.sweep.space`: search spaces and how Optuna stores them;
* :mod:`~sda.sweep.storage`: the storage checked, the study locked;
* :mod:`~sda.sweep.driver`: :func:`run_sweep`;
* :mod:`~sda.sweep.report`: the table, CSV, JSON and plot of the results;
* :mod:`~sda.sweep.command`: ``python -m sda.sweep``.
"""

try:
    import dask.distributed  # noqa: F401
    import optuna  # noqa: F401
    import yaml  # noqa: F401
except ImportError as e:
    raise ImportError(f"sda.sweep needs the extra sda[sweep]: pip install "
                      f"'sda[sweep]' ({e})") from e

from ..errors import StorageError
from .command import main
from .driver import SAMPLERS, run_sweep
from .report import results_table
from .space import grid_points
from .trial import TRIAL_DEFAULTS, train_trial

__all__ = ["run_sweep", "train_trial", "TRIAL_DEFAULTS", "grid_points",
           "results_table", "main", "SAMPLERS", "StorageError"]
