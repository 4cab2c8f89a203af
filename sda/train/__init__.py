"""Training: greedy layer-wise pretraining and fine-tuning with early stopping.

The tutorial's patience-based early stopping and its epochs of minibatches
are written once (:mod:`sda.train.loop`); the example scripts and user code
call :func:`pretrain` and :func:`finetune` and get back a :class:`History`
of what happened.

* :mod:`~sda.train.loop`: the one training loop, and :func:`run_epochs`
  for any compiled step;
* :mod:`~sda.train.pretraining`, :mod:`~sda.train.finetuning`: the two
  phases of the tutorial's recipe;
* :mod:`~sda.train.history`: :class:`History`;
* :mod:`~sda.train.progress`: what a run tells as it goes;
* :mod:`~sda.train.checkpoint`: checkpoints, and one run per output folder.
"""

from ..errors import DivergenceError, TrainingInterrupted
from . import checkpoint, finetuning, history, loop, pretraining, progress
from .finetuning import finetune
from .history import History
from .loop import DIVERGENCE_FACTOR, run_epochs
from .pretraining import pretrain

__all__ = ["History", "pretrain", "finetune", "run_epochs",
           "TrainingInterrupted", "DivergenceError", "DIVERGENCE_FACTOR",
           "checkpoint", "finetuning", "history", "loop", "pretraining",
           "progress"]
