"""Denoising autoencoders and stacked denoising autoencoders on PyTensor.

The classes and names of the Theano deep learning tutorial (``dA.py``,
``SdA.py``), after Vincent et al. (2008, 2010).  Importing ``sda`` gives the
whole public API: the models, data loading, the training loops
(``sda.train``), checkpoints, model files and pictures.

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

from ._version import __version__
from . import (backend, checkpoint, data, files, progress, serialization,
               train, viz)
from .backend import (MODES, SlowBackendWarning, blas_ldflags, compile_mode,
                      get_mode, set_mode, to_host)
from .checkpoint import Checkpointer
from .da import dA
from .data import load_data, load_mnist, shared_dataset
from .errors import DataFileError, OutputError, SdAError
from .layers import HiddenLayer, LogisticRegression
from .progress import ProgressPrinter
from .random import RandomStreams
from .serialization import load_model, save_model
from .stacked import SdA
from .train import (DivergenceError, History, TrainingInterrupted, finetune,
                    pretrain)

__all__ = ["dA", "HiddenLayer", "LogisticRegression", "SdA", "RandomStreams",
           "load_data", "load_mnist", "shared_dataset", "save_model",
           "load_model", "pretrain", "finetune", "History", "Checkpointer",
           "ProgressPrinter", "TrainingInterrupted", "DivergenceError",
           "DataFileError", "OutputError", "SdAError", "get_mode", "set_mode",
           "compile_mode", "to_host", "blas_ldflags", "MODES", "SlowBackendWarning",
           "backend", "checkpoint", "data", "files", "progress", "serialization",
           "train", "viz", "__version__"]
