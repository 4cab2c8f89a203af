"""Denoising autoencoders and stacked denoising autoencoders on PyTensor.

The classes and names of the Theano deep learning tutorial (``dA.py``,
``SdA.py``), after Vincent et al. (2008, 2010)::

    import numpy
    import sda

    datasets = sda.load_data()            # the MNIST that ships with sda
    train_set_x = datasets[0][0]
    model = sda.SdA(numpy_rng=numpy.random.RandomState(89677), n_ins=784,
                    hidden_layers_sizes=[1000, 1000, 1000], n_outs=10)
    pretrain_fns = model.pretraining_functions(train_set_x, batch_size=20)
    cost = pretrain_fns[0](index=0, corruption=0.1, lr=0.001)
"""

from .backend import (MODES, SlowBackendWarning, blas_ldflags, compile_mode,
                      get_mode, set_mode)
from .da import dA
from .data import load_data, load_mnist, shared_dataset
from .errors import DataFileError, SdAError
from .layers import HiddenLayer, LogisticRegression
from .random import RandomStreams
from .serialization import load_model, save_model
from .stacked import SdA

__version__ = "0.1.0"

__all__ = ["dA", "HiddenLayer", "LogisticRegression", "SdA", "RandomStreams",
           "load_data", "load_mnist", "shared_dataset", "save_model", "load_model", "DataFileError",
           "SdAError", "get_mode", "set_mode", "compile_mode", "blas_ldflags", "MODES",
           "SlowBackendWarning", "__version__"]
