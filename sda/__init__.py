"""Denoising autoencoders and stacked denoising autoencoders on PyTensor.

The classes and names of the Theano deep learning tutorial (``dA.py``,
``SdA.py``), after Vincent et al. (2008, 2010).  Importing ``sda`` gives the
whole public API: the models, data loading, the training loops
(``sda.train``), checkpoints, model files and pictures.  It changes no
setting of PyTensor, JAX or Matplotlib but one: PyTensor's
``blas__ldflags``, when the user gave none (:mod:`sda.backend.blas`).

The package, layer by layer (each imports only from those before it):

* :mod:`sda.errors`, :mod:`sda.files`: exceptions; bounded reads and
  atomic writes;
* :mod:`sda.ops`: sda's own C ops (vectorised element-wise, fused steps);
* :mod:`sda.backend`: how functions are compiled and run (C VM, Numba,
  JAX);
* :mod:`sda.data`: MNIST-format files, and data sets as shared variables;
* :mod:`sda.datasets`: the benchmark problems of Vincent et al. (2010),
  regenerated, and the reader of their original files;
* :mod:`sda.builders`: the compiled functions of a model;
* :mod:`sda.models`: ``dA``, ``HiddenLayer``, ``LogisticRegression``,
  ``SdA`` and their parts;
* :mod:`sda.serialization`, :mod:`sda.train`, :mod:`sda.viz`,
  :mod:`sda.cli`: model files, training, pictures, command lines;
* :mod:`sda.sklearn`, :mod:`sda.sweep`: the extras.

>>> import numpy, sda
>>> rng = numpy.random.default_rng(0)
>>> X, y = rng.random((100, 20)), rng.integers(0, 2, 100)
>>> model = sda.SdA(numpy_rng=0, n_ins=20, hidden_layers_sizes=[8], n_outs=2,
...                 corruption_levels=[0.1])
>>> history = sda.train.pretrain(model, X, epochs=1, batch_size=10)
>>> history = sda.train.finetune(model, [(X, y)] * 3, epochs=2, batch_size=10)
>>> model.predict(X[:5]).shape
(5,)
"""

import sys

from ._version import __version__
from . import (backend, builders, data, datasets, errors, files, models,
               ops, serialization, train, viz)
from .backend import (MODES, blas_ldflags, compile_mode, get_mode, set_mode,
                      to_host)
from .data import load_mnist, shared_dataset
from .datasets import load_data
from .errors import (DataFileError, DivergenceError, OutputError, SdAError,
                     SlowBackendWarning, TrainingInterrupted)
from .models import (HiddenLayer, LogisticRegression, RandomStreams, SdA,
                     dA, mDA, mSDA)
from .serialization import load_model, save_model
from .train import History, finetune, pretrain
from .train.checkpoint import Checkpointer
from .train.progress import ProgressPrinter

__all__ = ["dA", "HiddenLayer", "LogisticRegression", "SdA", "RandomStreams",
           "mDA", "mSDA",
           "load_data", "load_mnist", "shared_dataset", "save_model",
           "load_model", "pretrain", "finetune", "History", "Checkpointer",
           "ProgressPrinter", "TrainingInterrupted", "DivergenceError",
           "DataFileError", "OutputError", "SdAError", "get_mode", "set_mode",
           "compile_mode", "to_host", "blas_ldflags", "MODES",
           "SlowBackendWarning", "backend", "builders", "data", "datasets",
           "errors", "files", "models", "ops", "serialization", "train",
           "viz", "__version__"]

#: The flat module paths of sda 0.1 (``sda.noise``, ``sda.checkpoint``,
#: ...), kept as names of the modules that hold their code now, so that
#: ``import sda.noise`` and pickles that name them keep working.
MOVED = {"noise": models.noise, "layers": models.layers, "da": models.da,
         "stacked": models.stacked, "init": models.init,
         "random": models.random, "updates": models.updates,
         "elementwise": ops.elementwise, "fused": ops.fused,
         "csource": ops.csource, "blocks": builders.blocks,
         "cache": builders.cache, "inference": builders.apply,
         "checkpoint": train.checkpoint, "progress": train.progress}
for _name, _module in MOVED.items():
    sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module
del _name, _module
