"""Train a denoising autoencoder on MNIST and draw its filters (the tutorial's dA.py).

A 784-500 dA is trained twice with plain SGD on minibatches of 20: once
without corruption (a plain autoencoder) and once with 30% masking noise.
The cost of every epoch and the training time of each run are printed, and
the first 100 filters of each (``--filters``, ``--filters-scale``) are
written to ``output_folder`` as ``filters_corruption_0.png`` and
``filters_corruption_30.png``.

    python examples/dA.py                      # the tutorial's settings
    python examples/dA.py --quick              # about 30 seconds on 2 cores
"""

import sys
import time
from pathlib import Path

import numpy
import pytensor.tensor as pt

import sda
from sda import cli
from sda.train import run_epochs
from sda.train.progress import ProgressPrinter
from sda.viz import save_filters

#: --quick: six epochs already give the strokes and blobs of the tutorial's
#: pictures (the cost has fallen most of the way by then)
QUICK = {"training_epochs": 6}


class _EpochLines(ProgressPrinter):
    """The tutorial's line per epoch, with ProgressPrinter's bar and notices."""

    def __call__(self, event):
        self._print(f"Training epoch {event['epoch'] + 1}, cost "
                    f"{event['cost']:.6f} ({event['elapsed']:.1f}s)")


def test_dA(learning_rate=0.1, training_epochs=15, dataset=None,
            batch_size=20, output_folder="dA_plots", *, seed=123, n_hidden=500,
            corruption_levels=(0.0, 0.3), quiet=False, mode=None,
            progress_bar=None, verify=True, n_valid=None, n_filters=100,
            filters_scale=1):
    """Train one dA per corruption level; return their costs and times.

    ``verify`` and ``n_valid`` are :func:`sda.load_data`'s.

    Returns
    -------
    dict mapping the corruption level to ``{"costs": [...], "seconds": s,
    "filters": path}``.
    """
    say = (lambda *a, **k: None) if quiet else print
    datasets = sda.load_data(dataset, verify, n_valid=n_valid)
    train_set_x = datasets[0][0]
    output_folder = Path(output_folder)
    progress = None if quiet else _EpochLines(bar=progress_bar)
    x = pt.matrix("x")
    results = {}
    for level in corruption_levels:
        rng = numpy.random.RandomState(seed)
        da = sda.dA(numpy_rng=rng, input=x, n_visible=28 * 28,
                    n_hidden=n_hidden)
        # the tutorial's train_da: one SGD step on minibatch index
        train_da = da.training_function(train_set_x, batch_size, mode=mode)
        start = time.perf_counter()
        costs = run_epochs(
            lambda index: train_da(index, corruption=level, lr=learning_rate),
            train_da.n_batches, training_epochs, phase="dA",
            progress=progress, model=da)
        seconds = time.perf_counter() - start
        percent = int(round(100 * level))
        say(f"The {percent}% corruption code ran for {seconds / 60.0:.2f}m",
            file=sys.stderr)
        path = save_filters(da.W.get_value(borrow=True),
                            output_folder / f"filters_corruption_{percent}.png",
                            n=n_filters, scale=filters_scale)
        say(f"Filters written to {path.resolve()}")
        results[level] = {"costs": costs, "seconds": seconds,
                          "filters": path}
    return results


def build_parser():
    ap = cli.example_parser(__file__, __doc__, "dA_plots")
    ap.add_quick(QUICK, "about 30 seconds")
    ap.add_argument("--learning-rate", type=cli.positive_float, default=0.1,
                    help="SGD learning rate")
    ap.add_argument("--training-epochs", type=cli.non_negative_int,
                    default=15, help="epochs per corruption level")
    ap.add_argument("--batch-size", type=cli.positive_int, default=20,
                    help="minibatch size")
    ap.add_argument("--n-hidden", type=cli.positive_int, default=500,
                    help="hidden units")
    ap.add_argument("--corruption-levels", type=cli.probability_list,
                    default=[0.0, 0.3], help="one dA is trained per level")
    ap.add_argument("--seed", type=cli.non_negative_int, default=123,
                    help="seed of numpy.random.RandomState")
    ap.add_filters("each dA")
    return ap


def _main(args):
    ap = build_parser()
    a = ap.parse_args(args)
    with cli.precision(a.floatX):
        test_dA(learning_rate=a.learning_rate,
                training_epochs=a.training_epochs, dataset=a.dataset,
                batch_size=a.batch_size, output_folder=a.output_folder,
                seed=a.seed, n_hidden=a.n_hidden,
                corruption_levels=a.corruption_levels, quiet=a.quiet,
                mode=a.mode, n_filters=a.filters,
                filters_scale=a.filters_scale,
                progress_bar=False if a.no_progress_bar else None,
                **cli.data_options(a))
    return 0


def main(argv=None):
    """The command line; returns the exit status."""
    return cli.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
