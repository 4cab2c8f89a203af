"""Saving and loading trained models: parameters by name in ``.npz``, no pickle.

A model file holds every parameter array under its name (``hidden0.W``,
``hidden0.b``, ``dA0.b_prime``, ..., ``logistic.W``, ``logistic.b``) and the
architecture as a JSON string under ``__architecture__``.  Files are read
with ``allow_pickle=False``, so loading one never runs code, and written
atomically (temporary file, fsync, rename), so a crash mid-write leaves the
previous file intact.

Getting the hidden representation of new data from a saved model::

    model = sda.load_model("SdA_output/model.npz")
    codes = model.encode(new_x)    # new_x: (n, 784), any float dtype
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytensor

from .errors import DataFileError

__all__ = ["save_model", "load_model", "load_params", "architecture",
           "model_state", "atomic_write", "read_npz", "apply_arrays"]

FORMAT = "sda.SdA/1"


def architecture(model):
    """The constructor arguments and dtype that rebuild ``model``."""
    from . import __version__
    return {"format": FORMAT, "n_ins": model.n_ins,
            "hidden_layers_sizes": list(model.hidden_layers_sizes),
            "n_outs": model.n_outs,
            "corruption_levels": list(model.corruption_levels),
            "floatX": str(model.x.type.dtype), "sda_version": __version__}


def model_state(model):
    """Every shared variable of ``model`` by name: the MLP's and the dA's."""
    variables = list(model.params) + [d.b_prime for d in model.dA_layers]
    return {v.name: v for v in variables}


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file, then move it to ``path``.

    The temporary file is fsynced and renamed over ``path``, so readers see
    the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is for secrets
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def save_model(model, path):
    """Write ``model``'s parameters and architecture to ``path`` (``.npz``)."""
    arrays = {name: v.get_value(borrow=True)
              for name, v in model_state(model).items()}
    arrays["__architecture__"] = np.array(json.dumps(architecture(model)))
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def read_npz(path):
    """Every array of an ``.npz`` file, read without pickle, or DataFileError."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(path, "no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise DataFileError(path, "is a single .npy array, not an "
                                    "sda .npz file")
            return {k: data[k] for k in data.files}
    except DataFileError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise DataFileError(path, "holds pickled objects; it is refused, "
                                "not loaded (sda files are plain .npz)") \
                from None
        raise DataFileError(path, f"is not a readable .npz file ({e})") \
            from None
    except Exception as e:  # zip, zlib, OS errors of a damaged archive
        raise DataFileError(path, f"is truncated or corrupt "
                            f"({type(e).__name__}: {e})") from None


def _read(path):
    """(architecture dict, {name: array}) of a model file, or DataFileError."""
    arrays = read_npz(path)
    arch = pop_record(arrays, "__architecture__", FORMAT, path,
                      "an sda model file")
    return arch, arrays


def pop_record(arrays, key, fmt, path, what):
    """Take the JSON record ``key`` out of ``arrays``; check its format."""
    raw = arrays.pop(key, None)
    try:
        record = json.loads(str(raw)) if raw is not None else None
    except ValueError:
        record = None
    if not isinstance(record, dict) or record.get("format") != fmt:
        raise DataFileError(path, f"is not {what} (no '{fmt}' record)")
    return record


def load_params(model, path):
    """Load the parameters saved at ``path`` into the existing ``model``.

    Raises
    ------
    DataFileError
        Naming the file and the mismatch, when its architecture, dtype or
        arrays do not fit ``model``.
    """
    return apply_arrays(model, path, *_read(path))


def apply_arrays(model, path, arch, arrays):
    """Check ``arch`` against ``model`` and load its arrays by name."""
    mine = architecture(model)
    for key in ("n_ins", "hidden_layers_sizes", "n_outs", "floatX"):
        if arch.get(key) != mine[key]:
            raise DataFileError(path, f"was saved with {key}={arch.get(key)}"
                                f" but the model has {key}={mine[key]}")
    state = model_state(model)
    missing = sorted(set(state) - set(arrays))
    if missing:
        raise DataFileError(path, f"lacks parameters {missing}")
    for name, variable in state.items():
        value = arrays[name]
        current = variable.get_value(borrow=True)
        if value.shape != current.shape or value.dtype != current.dtype:
            raise DataFileError(path, f"holds {name} with shape "
                                f"{value.shape} and dtype {value.dtype}, the "
                                f"model needs {current.shape} {current.dtype}")
    for name, variable in state.items():
        variable.set_value(arrays[name], borrow=True)
    return model


def load_model(path):
    """Rebuild the ``SdA`` saved at ``path``, in the dtype it was saved in."""
    from .stacked import SdA

    arch, arrays = _read(path)
    try:
        with pytensor.config.change_flags(floatX=arch["floatX"]):
            model = SdA(numpy_rng=np.random.RandomState(0), theano_rng=0,
                        n_ins=arch["n_ins"],
                        hidden_layers_sizes=arch["hidden_layers_sizes"],
                        n_outs=arch["n_outs"],
                        corruption_levels=arch["corruption_levels"])
    except (KeyError, TypeError, ValueError) as e:
        raise DataFileError(path, f"has an invalid architecture record "
                            f"({e})") from None
    return apply_arrays(model, path, arch, arrays)
