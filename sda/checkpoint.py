"""Training checkpoints: everything needed to continue a run exactly.

A checkpoint is one ``.npz`` file, written atomically (temporary file,
fsync, rename) so that a crash mid-write leaves the previous one intact, and
read with ``allow_pickle=False``.  It holds

* every shared variable of the model by name (as a model file does),
* the best parameters found so far in fine-tuning (``best/<name>``),
* the costs of the minibatches of the unfinished epoch (``partial_costs``),
* JSON metadata under ``__meta__``: the architecture, the recipe of the run,
  the position in training (phase, layer, epoch, next minibatch and the
  early-stopping state), the corruption streams' generator states and the
  history so far.
"""

import json
from pathlib import Path

import numpy as np

from .errors import DataFileError
from .serialization import (apply_arrays, architecture, atomic_write,
                            model_state, pop_record, read_npz)

__all__ = ["Checkpointer", "CHECKPOINT_NAME"]

FORMAT = "sda.checkpoint/1"
CHECKPOINT_NAME = "checkpoint.npz"


def rng_states(model):
    """The bit-generator state of every corruption stream of ``model``."""
    updates = getattr(model.theano_rng, "state_updates", [])
    return [rng.get_value(borrow=True).bit_generator.state
            for rng, _ in updates]


def set_rng_states(model, states, path):
    updates = getattr(model.theano_rng, "state_updates", [])
    if len(states) > len(updates):
        raise DataFileError(path, f"holds {len(states)} random streams but "
                            f"the model has {len(updates)}")
    for (rng, _), state in zip(updates, states):
        generator = np.random.default_rng()
        try:
            generator.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as e:
            raise DataFileError(path, f"holds an invalid random state "
                                f"({e})") from None
        rng.set_value(generator, borrow=True)


class Checkpointer:
    """Saves and loads the checkpoint of one training run in ``folder``.

    Parameters
    ----------
    folder : str or Path
        Where ``checkpoint.npz`` lives.
    recipe : dict, optional
        The arguments of the run (JSON values), stored so that a resumed run
        can be rebuilt with the same settings.
    """

    def __init__(self, folder, recipe=None):
        self.folder = Path(folder)
        self.recipe = dict(recipe or {})

    @property
    def path(self):
        return self.folder / CHECKPOINT_NAME

    def exists(self):
        return self.path.exists()

    def save(self, model, history, position, best_params=None,
             partial_costs=()):
        """Write the state of a run atomically; return the file's path."""
        arrays = {name: v.get_value(borrow=True)
                  for name, v in model_state(model).items()}
        if best_params is not None:
            for p, value in zip(model.params, best_params):
                arrays[f"best/{p.name}"] = value
        arrays["partial_costs"] = np.asarray(partial_costs, dtype=np.float64)
        meta = {"format": FORMAT, "architecture": architecture(model),
                "recipe": self.recipe, "position": position,
                "rng_states": rng_states(model),
                "history": history.as_dict()}
        arrays["__meta__"] = np.array(json.dumps(meta))
        return atomic_write(self.path, lambda f: np.savez(f, **arrays))

    def load(self):
        """``(meta, arrays)`` of the checkpoint, or :class:`DataFileError`."""
        arrays = read_npz(self.path)
        meta = pop_record(arrays, "__meta__", FORMAT, self.path,
                          "an sda checkpoint")
        return meta, arrays

    def restore(self, model, meta, arrays):
        """Put the checkpoint's parameters and random states into ``model``.

        Returns the best parameters saved for fine-tuning (or None).
        """
        apply_arrays(model, self.path, meta["architecture"], arrays)
        set_rng_states(model, meta.get("rng_states", []), self.path)
        best = [arrays.get(f"best/{p.name}") for p in model.params]
        return None if any(b is None for b in best) else best
