"""Data: MNIST-format files in, shared variables (or arrays) out.

* :mod:`~sda.data.mnist`: the IDX files and the tutorial's
  ``mnist.pkl.gz``, read within bounds, and the tutorial's split;
* :mod:`~sda.data.arrays`: shared variables from arrays or expressions,
  and the symbolic minibatch of each backend.

Nothing is downloaded and nothing is written.
"""

from . import arrays, mnist
from .arrays import as_datasets, as_shared, minibatch, shared_dataset
from .mnist import (DEFAULT_DATASET, MNIST_SHA256, N_VALID, PIXEL_SCALE,
                    load_data, load_mnist, load_pickle, read_idx, split_mnist)

__all__ = ["load_data", "load_mnist", "read_idx", "load_pickle",
           "shared_dataset", "as_shared", "as_datasets", "split_mnist",
           "minibatch", "DEFAULT_DATASET", "MNIST_SHA256", "PIXEL_SCALE",
           "N_VALID", "arrays", "mnist"]
