"""Train a denoising autoencoder on MNIST and draw its filters (the tutorial's dA.py).

A 784-500 dA is trained twice with plain SGD on minibatches of 20: once
without corruption (a plain autoencoder) and once with 30% masking noise.
The cost of every epoch and the training time of each run are printed, and
the first 100 filters of each are written to ``output_folder`` as
``filters_corruption_0.png`` and ``filters_corruption_30.png``.

    python examples/dA.py                      # the tutorial's settings
    python examples/dA.py --training-epochs 1  # a quick look
"""

import argparse
import sys
import time
from pathlib import Path

import numpy
import pytensor
import pytensor.tensor as pt

import sda
from sda.train import run_epochs
from sda.viz import save_filters


def test_dA(learning_rate=0.1, training_epochs=15, dataset=None,
            batch_size=20, output_folder="dA_plots", *, seed=123, n_hidden=500,
            corruption_levels=(0.0, 0.3), quiet=False, mode=None):
    """Train one dA per corruption level; return their costs and times.

    Returns
    -------
    dict mapping the corruption level to ``{"costs": [...], "seconds": s,
    "filters": path}``.
    """
    say = (lambda *a, **k: None) if quiet else print
    datasets = sda.load_data(dataset)
    train_set_x = datasets[0][0]
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    output_folder = Path(output_folder)
    index = pt.lscalar("index")
    x = pt.matrix("x")
    results = {}
    for level in corruption_levels:
        rng = numpy.random.RandomState(seed)
        da = sda.dA(numpy_rng=rng, input=x, n_visible=28 * 28,
                    n_hidden=n_hidden)
        cost, updates = da.get_cost_updates(corruption_level=level,
                                            learning_rate=learning_rate)
        train_da = pytensor.function(
            [index], cost, updates=updates, mode=sda.backend.resolve_mode(
                mode),
            givens={x: train_set_x[index * batch_size:
                                   (index + 1) * batch_size]})
        start = time.perf_counter()

        def show(event):
            say(f"Training epoch {event['epoch']}, cost {event['cost']:.6f}"
                f" ({event['elapsed']:.1f}s)")
        costs = run_epochs(train_da, n_train_batches, training_epochs,
                           phase="dA", progress=show)
        seconds = time.perf_counter() - start
        percent = int(round(100 * level))
        say(f"The {percent}% corruption code ran for {seconds / 60.0:.2f}m",
            file=sys.stderr)
        path = save_filters(da.W.get_value(borrow=True),
                            output_folder / f"filters_corruption_{percent}.png")
        results[level] = {"costs": costs, "seconds": seconds,
                          "filters": path}
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learning-rate", type=float, default=0.1)
    ap.add_argument("--training-epochs", type=int, default=15)
    ap.add_argument("--dataset", default=None,
                    help="folder of MNIST IDX files or mnist.pkl.gz "
                         "(default: the MNIST shipped in data/mnist)")
    ap.add_argument("--batch-size", type=int, default=20)
    ap.add_argument("--output-folder", default="dA_plots")
    ap.add_argument("--n-hidden", type=int, default=500)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--floatX", choices=("float32", "float64"),
                    default=None, help="default: PyTensor's floatX")
    ap.add_argument("--mode", default=None, help=f"compilation mode, one "
                    f"of {', '.join(sda.MODES)} (default {sda.get_mode()})")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.floatX:
        pytensor.config.floatX = a.floatX
    if a.mode:
        sda.set_mode(a.mode)
    test_dA(learning_rate=a.learning_rate, training_epochs=a.training_epochs,
            dataset=a.dataset, batch_size=a.batch_size,
            output_folder=a.output_folder, seed=a.seed, n_hidden=a.n_hidden,
            quiet=a.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
