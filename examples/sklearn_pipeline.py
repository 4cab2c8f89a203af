"""Classify MNIST with scikit-learn: a scaler and sda's SdAClassifier in a Pipeline.

The pipeline scales the pixels to [0, 1] (``MinMaxScaler``) and fits an
``sda.sklearn.SdAClassifier`` (the tutorial's 784-1000-1000-1000 network
and recipe: plain SGD, minibatches of 20), which pretrains its layers and
fine-tunes them with the tutorial's early stopping on a tenth of the
training set; the test error on the MNIST
test set and the time are printed.  With ``--grid`` a ``GridSearchCV`` over
the corruption level runs first, on a slice, with two jobs.  Needs the
extra: ``pip install -e '.[sklearn]'``.

    python examples/sklearn_pipeline.py --quick     # ~2 min on 2 cores
    python examples/sklearn_pipeline.py             # ~10 min
"""

import sys
import time

import numpy
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import sda
from sda import cli
from sda.sklearn import SdAClassifier

#: --quick: the budget of examples/SdA.py --quick
QUICK = {"pretraining_epochs": 5, "max_epochs": 4}


def build_parser():
    ap = cli.example_parser(__file__, __doc__, "sklearn_output")
    ap.add_quick(QUICK, "about 2 minutes")
    ap.add_argument("--pretraining-epochs", type=cli.non_negative_int,
                    default=15, help="pretraining epochs per layer")
    ap.add_argument("--max-epochs", type=cli.non_negative_int, default=40,
                    help="most fine-tuning epochs (early stopping)")
    ap.add_argument("--hidden-layer-sizes", type=cli.int_list,
                    default=[1000, 1000, 1000], help="hidden layers")
    ap.add_argument("--seed", type=cli.non_negative_int, default=0,
                    help="random_state of the classifier")
    ap.add_argument("--grid", action="store_true",
                    help="first a 2-job grid search over corruption levels "
                         "on 5000 examples")
    return ap


def _main(args):
    a = build_parser().parse_args(args)
    with cli.precision(a.floatX):
        return _run(a)


def _run(a):
    say = (lambda *x, **k: None) if a.quiet else print
    (train_x, train_y), valid, (test_x, test_y) = sda.load_data(
        a.dataset, shared=False, **cli.data_options(a))
    # the classifier keeps its own validation split: give it all 60,000
    X = numpy.concatenate([train_x, valid[0]])
    y = numpy.concatenate([train_y, valid[1]])
    clf = SdAClassifier(hidden_layer_sizes=tuple(a.hidden_layer_sizes),
                        corruption_levels=(0.1, 0.2, 0.3)[
                            :len(a.hidden_layer_sizes)]
                        if len(a.hidden_layer_sizes) <= 3 else 0.1,
                        pretraining_epochs=a.pretraining_epochs,
                        solver="sgd", pretrain_learning_rate=0.1,
                        finetune_learning_rate=0.1, max_epochs=a.max_epochs,
                        batch_size=20, early_stopping=True,
                        n_iter_no_change=None, random_state=a.seed,
                        verbose=not a.quiet, mode=a.mode)
    if a.grid:
        search = GridSearchCV(make_pipeline(MinMaxScaler(), clf.set_params(
            verbose=False)), {"sdaclassifier__corruption_levels":
                              [0.0, 0.1, 0.3]}, cv=2, n_jobs=2)
        search.fit(X[:5000], y[:5000])
        say(f"grid search: best {search.best_params_}, accuracy "
            f"{search.best_score_:.4f}")
        clf.set_params(verbose=not a.quiet, corruption_levels=search
                       .best_params_["sdaclassifier__corruption_levels"])
    pipe = make_pipeline(MinMaxScaler(), clf)
    started = time.perf_counter()
    pipe.fit(X, y)
    minutes = (time.perf_counter() - started) / 60
    error = 1 - pipe.score(test_x, test_y)
    say(f"test error {100 * error:.2f} % after {minutes:.1f} min "
        f"({pipe[-1].n_iter_} fine-tuning epochs)")
    return 0


def main(argv=None):
    """The command line; returns the exit status."""
    return cli.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
