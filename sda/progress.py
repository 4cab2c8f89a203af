"""Progress lines for training runs: elapsed time and an estimate of what is left.

:func:`sda.train.pretrain` and :func:`sda.train.finetune` report each epoch to
a ``progress`` callable; :class:`ProgressPrinter` is the one the example
scripts use.  Pass ``progress=None`` (the default) for silence.
"""

import sys
import time

__all__ = ["ProgressPrinter", "format_seconds"]


def format_seconds(seconds):
    """``75.3`` -> ``'1m15s'``; ``4000`` -> ``'1h07m'``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        minutes, s = divmod(int(round(seconds)), 60)
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(int(round(seconds / 60)), 60)
    return f"{hours}h{m:02d}m"


class ProgressPrinter:
    """Print one line per epoch: cost, errors, elapsed time and time left.

    Parameters
    ----------
    n_layers : int
        Number of pretraining layers (for the estimate across layers).
    stream : file, default sys.stdout
    """

    def __init__(self, n_layers=1, stream=None):
        self.n_layers = n_layers
        self.stream = sys.stdout if stream is None else stream
        self.start = time.perf_counter()

    def __call__(self, event):
        epoch, epochs = event["epoch"] + 1, event["epochs"]
        per_epoch = event["elapsed"] / epoch
        if event["phase"] == "pretrain":
            layer = event["layer"]
            left = per_epoch * (epochs - epoch)
            # layers above cost about as much as this one (an estimate)
            left += per_epoch * epochs * (self.n_layers - layer - 1)
            text = (f"Pre-training layer {layer}, epoch {epoch}/{epochs}, "
                    f"cost {event['cost']:.6f}")
        else:
            left = per_epoch * (epochs - epoch)
            text = f"Fine-tuning epoch {epoch}, cost {event['cost']:.6f}"
            if event.get("validation_error") is not None:
                text += (f", validation error "
                         f"{100 * event['validation_error']:.3f} %, best "
                         f"{100 * event['best_validation_error']:.3f} % "
                         f"(test {100 * event['test_error']:.3f} %)")
            # early stopping usually ends the run well before ``epochs``
            patience_epochs = event["patience"] / max(1, event["iteration"]) \
                * epoch
            left = min(left, per_epoch * max(0.0, patience_epochs - epoch))
        total = time.perf_counter() - self.start
        print(f"{text} [{format_seconds(total)} elapsed, "
              f"~{format_seconds(left)} left]", file=self.stream, flush=True)
