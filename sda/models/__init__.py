"""The models: symbolic graphs over shared variables, as in the tutorial.

In the order of the paper (Vincent et al., 2008, 2010):

* :mod:`~sda.models.init`: the initial weights;
* :mod:`~sda.models.random`: random streams for the corruption;
* :mod:`~sda.models.noise`: the corruption processes;
* :mod:`~sda.models.updates`: stochastic gradient descent;
* :mod:`~sda.models.layers`: ``HiddenLayer`` and ``LogisticRegression``;
* :mod:`~sda.models.da`: the denoising autoencoder ``dA``;
* :mod:`~sda.models.stacked`: the stacked denoising autoencoder ``SdA``;
* :mod:`~sda.models.msda`: its closed-form successor, the marginalized
  ``mDA`` and ``mSDA`` (Chen et al., 2012), fitted with NumPy, no graph.

A model builds expressions and owns its parameters; compiling them is the
builders' job (:mod:`sda.builders`), to which the tutorial-named methods
delegate.  No model touches files or prints.
"""

from . import da, init, layers, msda, noise, random, stacked, updates
from .da import dA
from .layers import HiddenLayer, LogisticRegression
from .msda import mDA, mSDA
from .random import RandomStreams
from .stacked import SdA

__all__ = ["dA", "SdA", "HiddenLayer", "LogisticRegression", "RandomStreams",
           "mDA", "mSDA", "da", "init", "layers", "msda", "noise", "random",
           "stacked", "updates"]
