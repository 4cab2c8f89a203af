"""Progress of training runs: compile notices, minibatch bars and epoch lines.

:func:`sda.train.pretrain`, :func:`sda.train.finetune` and
:func:`sda.train.run_epochs` report to an optional ``progress`` object:

* ``progress(event)`` after every epoch, with a dict (``phase``, ``layer``,
  ``epoch``, ``epochs``, ``cost``, ``elapsed``, and in fine-tuning the
  validation and test errors); any callable will do;
* ``progress.compiling(what)``, if it has that method: a context manager
  around the compilation of the training functions;
* ``progress.minibatches(iterable, total, initial, desc)``, if it has that
  method: wraps the minibatch indices of one epoch (for a progress bar).

:class:`ProgressPrinter` implements all three and is what the example
scripts use.  Pass ``progress=None`` (the default) for silence.
"""

import contextlib
import math
import sys
import time

from tqdm import tqdm

__all__ = ["ProgressPrinter", "format_seconds"]


def format_seconds(seconds):
    """``75.3`` -> ``'1m15s'``; ``4000`` -> ``'1h07m'``.

    >>> format_seconds(75.3), format_seconds(4000)
    ('1m15s', '1h07m')
    """
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        minutes, s = divmod(int(round(seconds)), 60)
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(int(round(seconds / 60)), 60)
    return f"{hours}h{m:02d}m"


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


class ProgressPrinter:
    """Print compile notices, a bar within each epoch, and one line per epoch.

    Parameters
    ----------
    n_layers : int
        Number of pretraining layers (for the estimate across layers).
    stream : file, default sys.stdout
        Where the notices and epoch lines go.
    bar : bool, optional
        Show a progress bar (minibatches done, rate, time left) during each
        epoch, on ``sys.stderr``.  By default only when both ``stream`` and
        ``sys.stderr`` are terminals, so logs and pipes get plain lines.
        The bar is `tqdm <https://tqdm.github.io>`_, which costs well under
        a microsecond per minibatch; ``TQDM_DISABLE=1`` turns it off too.
    """

    def __init__(self, n_layers=1, stream=None, bar=None):
        self.n_layers = n_layers
        self.stream = sys.stdout if stream is None else stream
        self.bar = (_is_terminal(self.stream) and _is_terminal(sys.stderr)
                    if bar is None else bool(bar))
        self.start = time.perf_counter()

    def _print(self, text, end="\n"):
        print(text, end=end, file=self.stream, flush=True)

    @contextlib.contextmanager
    def compiling(self, what, note="up to a minute"):
        """Say that ``what`` is being compiled (and ``note``: what that
        costs in the run's backend), then how long it took."""
        self._print(f"... compiling the {what} ({note})")
        t0 = time.perf_counter()
        yield
        self._print(f"... compiled in {format_seconds(time.perf_counter() - t0)}")

    def minibatches(self, iterable, total, initial=0, desc=""):
        """``iterable`` itself, or wrapped in a progress bar."""
        if not self.bar:
            return iterable
        return tqdm(iterable, total=total, initial=initial, desc=desc,
                    unit="mb", leave=False, dynamic_ncols=True,
                    file=sys.stderr)

    def __call__(self, event):
        epoch, epochs = event["epoch"] + 1, event["epochs"]
        per_epoch = event["elapsed"] / epoch
        left = per_epoch * (epochs - epoch)
        if event["phase"] == "pretrain":
            layer = event["layer"]
            # layers above cost about as much as this one (an estimate)
            left += per_epoch * epochs * (self.n_layers - layer - 1)
            text = (f"Pre-training layer {layer}, epoch {epoch}/{epochs}, "
                    f"cost {event['cost']:.6f}")
        elif event["phase"] == "finetune":
            text = f"Fine-tuning epoch {epoch}, cost {event['cost']:.6f}"
            if event.get("validation_error") is not None:
                text += (f", validation error "
                         f"{100 * event['validation_error']:.3f} %, best "
                         f"{100 * event['best_validation_error']:.3f} %")
                if not math.isnan(event["test_error"]):  # a test set
                    text += f" (test {100 * event['test_error']:.3f} %)"
            # early stopping usually ends the run well before ``epochs``
            patience_epochs = event["patience"] / max(1, event["iteration"]) \
                * epoch
            left = min(left, per_epoch * max(0.0, patience_epochs - epoch))
        else:
            text = (f"{event['phase']} epoch {epoch}/{epochs}, "
                    f"cost {event['cost']:.6f}")
        total = time.perf_counter() - self.start
        self._print(f"{text} [{format_seconds(total)} elapsed, "
                    f"~{format_seconds(left)} left]")
