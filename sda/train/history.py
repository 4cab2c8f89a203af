"""What a training run did, epoch by epoch: :class:`History`."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["History"]


@dataclass
class History:
    """What a training run did, epoch by epoch.

    Attributes
    ----------
    pretraining_costs : list of list of float
        ``pretraining_costs[layer][epoch]``: mean reconstruction cost.
    pretraining_times : list of float
        Seconds spent on each layer.
    finetune_costs : list of float
        Mean training NLL per fine-tuning epoch.
    validation_errors, test_errors : list of (epoch, error)
        Validation error after each validated epoch; test error of each new
        best model (the tutorial only scores the test set then).
    best_validation_error, test_error : float
        Of the best model, whose parameters are restored at the end.
    best_iteration, best_epoch : int
    iterations, epochs : int
        Minibatch steps and epochs done in fine-tuning.
    finetune_time : float
        Seconds.
    stopped_early : bool
        True when patience ran out (also when that was in the last epoch).
    """

    pretraining_costs: list = field(default_factory=list)
    pretraining_times: list = field(default_factory=list)
    finetune_costs: list = field(default_factory=list)
    validation_errors: list = field(default_factory=list)
    test_errors: list = field(default_factory=list)
    best_validation_error: float = np.inf
    test_error: float = np.nan
    best_iteration: int = -1
    best_epoch: int = -1
    iterations: int = 0
    epochs: int = 0
    finetune_time: float = 0.0
    stopped_early: bool = False

    @classmethod
    def from_dict(cls, values):
        """The inverse of :meth:`as_dict`."""
        values = dict(values)
        for key in ("validation_errors", "test_errors"):
            values[key] = [tuple(v) for v in values.get(key, [])]
        return cls(**values)

    def as_dict(self):
        """Plain JSON-ready values."""
        def plain(v):
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, (np.floating, np.integer)):
                return v.item()
            return v
        return {k: plain(v) for k, v in self.__dict__.items()}
