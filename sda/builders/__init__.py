"""Compile strategies: from a model's symbolic graphs to the functions that train and apply it.

The models (:mod:`sda.models`) build expressions; compiling them is this
package's job, and the models' tutorial-named methods
(:meth:`sda.SdA.pretraining_functions`,
:meth:`sda.SdA.build_finetune_functions`, :meth:`sda.dA.training_function`,
``encode``, ``predict``, ...) delegate here.  Each builder takes a
:class:`sda.backend.Backend` and asks it whatever differs between backends.

* :mod:`~sda.builders.pretraining`: one SGD step of a dA, for each layer
  of an SdA or for a single dA;
* :mod:`~sda.builders.finetuning`: the step of the whole network and the
  validation and test scorers;
* :mod:`~sda.builders.steps`: what steps share (their symbolic input, one
  step and a block of them);
* :mod:`~sda.builders.blocks`: many steps per call, as a scan;
* :mod:`~sda.builders.cache`: cached layer inputs for pretraining;
* :mod:`~sda.builders.apply`: a model applied to arrays, in chunks.

Nothing here imports a model: the builders work on whatever has a model's
attributes.
"""

from . import apply, blocks, cache, finetuning, pretraining, steps

__all__ = ["apply", "blocks", "cache", "finetuning", "pretraining", "steps"]
