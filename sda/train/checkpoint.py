"""Training checkpoints, and one run per output folder.

A checkpoint is one ``.npz`` file, written atomically (temporary file,
fsync, rename) so that a crash mid-write leaves the previous one intact,
and read through :class:`sda.files.NpzArchive` (no pickle, sizes checked
before inflating).  It holds

* every shared variable of the model by name (as a model file does),
* the best parameters found so far in fine-tuning (``best/<name>``),
* the costs of the minibatches of the unfinished epoch (``partial_costs``),
* the update rule's state of the step being trained (``rule/<i>``: Adam's
  moments, momentum's velocities; none for SGD), its names and shapes in
  the metadata,
* JSON metadata under ``__meta__``: the architecture, the recipe of the run,
  the position in training (phase, layer, epoch, next minibatch and the
  early-stopping state), the corruption streams' generator states and the
  history so far.

:meth:`Checkpointer.load` validates the whole file before anything runs:
every field's type and range, the arrays against the architecture, the
partial costs against the position, finite values.  The training loops
then check the position against the data and the number of epochs.

:func:`claim_folder` holds a lock on a run's output folder for the run, so
two runs cannot write into one folder, and refuses to start a fresh run over
another run's files.
"""

import contextlib
import json

import numpy as np
from filelock import FileLock, Timeout

from .._checks import is_integer
from ..backend import to_host
from ..errors import DataFileError, OutputError
from ..files import (NpzArchive, as_path, atomic_write, check_writable,
                     remove_stale_temporaries)
from ..serialization import (apply_arrays, architecture, check_architecture,
                             model_state, read_state, state_shapes)
from .history import History

__all__ = ["Checkpointer", "CHECKPOINT_NAME", "claim_folder", "LOCK_NAME"]

FORMAT = "sda.checkpoint/1"
CHECKPOINT_NAME = "checkpoint.npz"
LOCK_NAME = ".sda.lock"
PHASES = ("pretrain", "finetune", "done")


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


def _names(rule_state):
    return "[" + ", ".join(name for name, _ in rule_state) + "]"


def _count(value):
    return is_integer(value) and value >= 0


def check_meta(meta, path):
    """Check the fields of a checkpoint's metadata; DataFileError naming the
    field if one is missing, of the wrong type or out of range."""
    def bad(field, value, allowed):
        return DataFileError(path, f"has an invalid checkpoint field "
                             f"{field}: must be {allowed}, got {value!r}")
    arch = check_architecture(meta.get("architecture"), path)
    if not isinstance(meta.get("recipe"), dict):
        raise bad("recipe", meta.get("recipe"), "a dict")
    if not isinstance(meta.get("history"), dict):
        raise bad("history", meta.get("history"), "a dict")
    states = meta.get("rng_states")
    if not (isinstance(states, list)
            and all(isinstance(s, dict) for s in states)):
        raise bad("rng_states", states, "a list of generator states")
    rule = meta.setdefault("rule_state", [])
    if not (isinstance(rule, list) and all(
            isinstance(r, list) and len(r) == 2 and isinstance(r[0], str)
            and isinstance(r[1], list) and all(_count(n) for n in r[1])
            for r in rule)):
        raise bad("rule_state", rule, "a list of [name, shape] pairs")
    position = meta.get("position")
    if not isinstance(position, dict):
        raise bad("position", position, "a dict")
    phase = position.get("phase")
    if phase not in PHASES:
        raise bad("position.phase", phase, f"one of {PHASES}")
    fields = {"pretrain": ("layer", "epoch", "index"),
              "finetune": ("epoch", "index", "patience"), "done": ()}[phase]
    for field in fields:
        if not _count(position.get(field)) and not (
                field == "patience"
                and isinstance(position.get(field), float)
                and np.isfinite(position[field])
                and position[field] >= 0):
            raise bad(f"position.{field}", position.get(field),
                      "a non-negative integer")
    n_layers = len(arch["hidden_layers_sizes"])
    if phase == "pretrain" and position["layer"] > n_layers:
        raise bad("position.layer", position["layer"],
                  f"at most the number of layers ({n_layers})")
    if phase == "finetune" and not _count(position.get("stall", 0)):
        raise bad("position.stall", position["stall"],
                  "a non-negative integer")
    best = position.get("best_monitored")
    if phase == "finetune" and best is not None and not (
            isinstance(best, (int, float)) and not isinstance(best, bool)
            and np.isfinite(best)):
        raise bad("position.best_monitored", best, "a finite number or null")
    if phase == "finetune" and not isinstance(position.get("stopped"), bool):
        raise bad("position.stopped", position.get("stopped"), "true or false")
    if phase == "finetune" and position["index"] and not position["epoch"]:
        # fine-tuning epochs count from 1: inside an epoch, at least 1
        raise bad("position.epoch", position["epoch"],
                  "at least 1 inside an epoch (index > 0)")
    try:  # the history's own constructor checks it
        History.from_dict(meta["history"])
    except (TypeError, ValueError) as e:
        raise DataFileError(path, f"has an invalid checkpoint field "
                            f"history ({e})") from None
    return meta


class Checkpointer:
    """Saves and loads the checkpoint of one training run in ``folder``.

    Parameters
    ----------
    folder : str or Path
        Where ``checkpoint.npz`` lives.
    recipe : dict, optional
        The arguments of the run (JSON values), stored so that a resumed run
        can be rebuilt with the same settings.
    resume_hint : str, optional
        What the stop message tells the user to run to resume, e.g. the
        script's command line (default: the library call).
    """

    def __init__(self, folder, recipe=None, resume_hint=None):
        self.folder = as_path("folder", folder)
        self.recipe = dict(recipe or {})
        self.resume_hint = resume_hint

    def __repr__(self):
        return f"Checkpointer({str(self.folder)!r})"

    @property
    def path(self):
        return self.folder / CHECKPOINT_NAME

    def exists(self):
        return self.path.exists()

    def remove(self):
        """Delete the checkpoint, once the run it would resume has written
        its results (it is about twice the size of the model file)."""
        self.path.unlink(missing_ok=True)

    def save(self, model, history, position, best_params=None,
             partial_costs=(), state=()):
        """Write the state of a run atomically; return the file's path.

        A state holding NaN or infinite values is not written (None is
        returned): the previous checkpoint stays the last good one.  Raises
        :class:`sda.OutputError` naming the file if it cannot be written;
        the previous checkpoint is kept then too.  ``state`` is the update
        rule's shared variables of the step at ``position``.
        """
        to_host(model)
        arrays = {name: v.get_value(borrow=True)
                  for name, v in model_state(model).items()}
        if best_params is not None:
            for p, value in zip(model.params, best_params):
                arrays[f"best/{p.name}"] = np.asarray(value)
        arrays["partial_costs"] = np.asarray(partial_costs, dtype=np.float64)
        for i, variable in enumerate(state):
            arrays[f"rule/{i}"] = variable.get_value()
        if not all(np.isfinite(a).all() for a in arrays.values()):
            return None
        meta = {"format": FORMAT, "architecture": architecture(model),
                "recipe": self.recipe, "position": position,
                "rng_states": rng_states(model),
                "rule_state": [[v.name, list(v.get_value(borrow=True).shape)]
                               for v in state],
                "history": history.as_dict()}
        arrays["__meta__"] = np.array(json.dumps(meta))
        return atomic_write(self.path, lambda f: np.savez(f, **arrays))

    def load(self):
        """``(meta, arrays)`` of the checkpoint, validated as a whole.

        Raises
        ------
        DataFileError
            Naming the file and the field, for any missing, mistyped,
            inconsistent or non-finite part.
        """
        with NpzArchive(self.path) as npz:
            meta = check_meta(npz.record("__meta__", FORMAT,
                                         "an sda checkpoint"), self.path)
            arch = meta["architecture"]
            # the best parameters are the MLP's: every array but the dA biases
            best = {f"best/{name}": (shape, arch["floatX"])
                    for name, shape in state_shapes(arch).items()
                    if not name.startswith("dA")}
            rule = {f"rule/{i}": (tuple(shape), arch["floatX"])
                    for i, (_, shape) in enumerate(meta["rule_state"])}
            arrays = read_state(npz, arch, {"partial_costs": None,
                                            "__meta__": None, **best,
                                            **rule})
        missing = [name for name in rule if name not in arrays]
        if missing:
            raise DataFileError(self.path, f"lacks the update rule's state "
                                f"{missing[0]!r} its metadata lists")
        arrays.pop("__meta__", None)
        present = [n for n in best if n in arrays]
        if present and len(present) != len(best):
            raise DataFileError(self.path, f"holds only some of the best "
                                f"parameters ({len(present)} of {len(best)})")
        costs = arrays.get("partial_costs")
        index = meta["position"].get("index", 0)
        if costs is None or costs.ndim != 1 or len(costs) != index:
            n = 0 if costs is None else costs.size
            raise DataFileError(self.path, f"has {n} partial costs for "
                                f"position.index {index}: they must agree")
        return meta, arrays

    def is_good(self):
        """True if the checkpoint file exists and loads (finite, valid)."""
        try:
            self.load()
        except DataFileError:
            return False
        return True

    def restore(self, model, meta, arrays, state=()):
        """Put the checkpoint's parameters and random states into ``model``,
        and its update rule's state into the shared variables ``state`` (of
        the step that goes on).

        Returns the best parameters saved for fine-tuning (or None).
        """
        saved = meta["rule_state"]
        mine = [[v.name, list(v.get_value(borrow=True).shape)]
                for v in state]
        # none saved: the step starts its rule afresh (a checkpoint at the
        # start of a layer, or of a file written before rules had state)
        if saved and saved != mine:
            raise DataFileError(self.path, f"holds the update rule state "
                                f"{_names(saved)} but this run's rule has "
                                f"{_names(mine)}: resume with the update "
                                f"rule of the run that wrote it")
        apply_arrays(model, self.path, meta["architecture"], arrays)
        set_rng_states(model, meta.get("rng_states", []), self.path)
        for i, variable in enumerate(state if saved else ()):
            variable.set_value(arrays[f"rule/{i}"])
        best = [arrays.get(f"best/{p.name}") for p in model.params]
        return None if any(b is None for b in best) else best


@contextlib.contextmanager
def claim_folder(folder, *, resume=False, overwrite=False,
                 results=("model.npz", "history.json")):
    """Hold ``folder`` for one run: locked, writable, and not another run's.

    The lock (``.sda.lock``, an OS file lock that dies with the process)
    makes a second run on the same folder fail at once.  Temporary files
    of writes interrupted by a kill are removed.  A fresh run (not
    ``resume``) is refused when the folder holds a checkpoint or any of
    ``results`` of another run, unless ``overwrite``, which deletes them.

    Raises
    ------
    OutputError
        Naming the folder: not writable, in use, or holding another run.
    """
    folder = check_writable(as_path("folder", folder))
    lock = FileLock(str(folder / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputError(folder, "is in use by another run (it holds the "
                          f"lock {LOCK_NAME}); choose another output "
                          "folder or wait for that run to end") from None
    try:
        remove_stale_temporaries(folder)
        if not resume:
            existing = [folder / name for name in (CHECKPOINT_NAME,) +
                        tuple(results) if (folder / name).exists()]
            if existing and not overwrite:
                names = ", ".join(p.name for p in existing)
                raise OutputError(folder, f"holds the files of another run "
                                  f"({names}): resume it, or overwrite them "
                                  f"(--resume or --overwrite on the command "
                                  f"line)")
            for path in existing:
                path.unlink()
        yield folder
    finally:
        lock.release()
