"""Every exception and warning the library raises on its own account.

They are re-exported where users meet them: the package itself
(``sda.DataFileError``), :mod:`sda.train` (``DivergenceError``,
``TrainingInterrupted``), :mod:`sda.backend` (``SlowBackendWarning``) and
:mod:`sda.sweep` (``StorageError``).
"""

__all__ = ["SdAError", "DataFileError", "OutputError", "StorageError",
           "DivergenceError",
           "TrainingInterrupted", "SlowBackendWarning"]


class SdAError(Exception):
    """Base class of the errors this library raises on its own account."""


class DataFileError(SdAError, ValueError):
    """A data file is missing, truncated, corrupt or not what it claims to be.

    The message always names the file; ``path`` holds it too.
    """

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class OutputError(SdAError, OSError):
    """A result or checkpoint could not be written (a full disk, a folder
    without write permission, another run holding the folder).

    The message names the file or folder; ``path`` holds it too.
    """

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __str__(self):
        return f"{self.path}: {self.problem}"


class StorageError(SdAError, ValueError):
    """A sweep's Optuna storage cannot be used: a bad URL, a file that is
    not SQLite or cannot be written, a missing driver, a locked database,
    a study run by another driver or with another space.

    The message names the storage URL (and the study); ``url`` holds it.
    """

    def __init__(self, url, problem):
        self.url = str(url)
        self.problem = problem
        super().__init__(f"{self.url}: {problem}")


class DivergenceError(SdAError, FloatingPointError):
    """A training cost became NaN or infinite, or exploded (see
    :data:`sda.train.DIVERGENCE_FACTOR`).

    ``first_cost`` holds the first cost of the layer or of fine-tuning in
    this run (the cost before any step; the diverging one if it was the
    first), or None: a first cost already huge says the inputs' scale, not
    the learning rate, is at fault.
    """

    def __init__(self, message, first_cost=None):
        super().__init__(message)
        self.first_cost = first_cost


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped training after a checkpoint was written."""


class SlowBackendWarning(UserWarning):
    """The selected PyTensor configuration is known to be much slower."""
