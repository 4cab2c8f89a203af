"""The estimators next to scikit-learn's on scikit-learn's bundled data sets.

For each data set and seed: a stratified 75/25 split (``random_state=seed``),
then each model at its defaults (``random_state=seed`` where it has one)
behind a ``MinMaxScaler`` and behind a ``StandardScaler``, fitted on the
three quarters and scored (accuracy) on the quarter held out:

* ``LR``: ``LogisticRegression()``;
* ``MLP``: ``MLPClassifier()``;
* ``SdA``: ``sda.sklearn.SdAClassifier()``;
* ``DA+LR``: ``DenoisingAutoencoder()`` codes fed to ``LogisticRegression()``.

It prints one row per data set and model: the mean and the standard
deviation of the test accuracy over the seeds (in points), and the longest
fit.  ``--mnist`` adds MNIST (the embedded copy: 60,000 training images,
the 10,000 test images; the split does not depend on the seed, and a
model takes minutes, so one seed is enough)::

    python benchmarks/sklearn_table.py                 # ~3 min on 2 cores
    python benchmarks/sklearn_table.py --datasets '' --mnist --seeds 0 \
        --scalers MinMax --floatX float32

``--floatX`` sets the sda models' dtype (PyTensor's ``floatX`` by default).
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
import pytensor
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sda.sklearn import DenoisingAutoencoder, SdAClassifier

DATASETS = ("breast_cancer", "digits", "wine", "iris")
SCALERS = {"MinMax": MinMaxScaler, "Standard": StandardScaler}
MODELS = {
    "LR": lambda seed: [LogisticRegression()],
    "MLP": lambda seed: [MLPClassifier(random_state=seed)],
    "SdA": lambda seed: [SdAClassifier(random_state=seed)],
    "DA+LR": lambda seed: [DenoisingAutoencoder(random_state=seed),
                           LogisticRegression()],
}


def load(name, seed):
    """``(X_fit, X_test, y_fit, y_test)`` of data set ``name``."""
    if name == "mnist":
        import sda
        (x, y), (vx, vy), (tx, ty) = sda.load_data(shared=False)
        return (np.concatenate([x, vx]), tx, np.concatenate([y, vy]), ty)
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y,
                            random_state=seed)


def score(name, model, scaler, seed):
    """(test accuracy, seconds of fit) of one pipeline on one split."""
    X, X_test, y, y_test = load(name, seed)
    pipe = make_pipeline(SCALERS[scaler](), *MODELS[model](seed))
    with warnings.catch_warnings():
        # MLPClassifier's defaults stop at max_iter on some of these
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        pipe.fit(X, y)
        seconds = time.perf_counter() - t0
    return pipe.score(X_test, y_test), seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(DATASETS),
                    help="comma-separated, of " + ", ".join(DATASETS))
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated, of " + ", ".join(MODELS))
    ap.add_argument("--scalers", default=",".join(SCALERS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--mnist", action="store_true",
                    help="add MNIST (minutes a model)")
    ap.add_argument("--floatX", choices=("float32", "float64"),
                    default=None, help="the sda models' dtype")
    a = ap.parse_args(argv)
    with pytensor.config.change_flags(floatX=a.floatX or
                                      pytensor.config.floatX):
        return _table(a)


def _table(a):
    names = [n for n in a.datasets.split(",") if n] + (
        ["mnist"] if a.mnist else [])
    seeds = [int(s) for s in a.seeds.split(",")]
    print(f"{'data set':14} {'scaler':9} {'model':6} {'accuracy %':>16} "
          f"{'longest fit':>12}")
    for name in names:
        for scaler in a.scalers.split(","):
            for model in a.models.split(","):
                runs = [score(name, model, scaler, s) for s in seeds]
                acc = [100 * r[0] for r in runs]
                spread = statistics.stdev(acc) if len(acc) > 1 else 0.0
                print(f"{name:14} {scaler:9} {model:6} "
                      f"{statistics.mean(acc):8.2f} ± {spread:5.2f} "
                      f"{max(r[1] for r in runs):10.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
