"""Saving and loading trained models: parameters by name in ``.npz``, no pickle.

A model file holds every parameter array under its name (``hidden0.W``,
``hidden0.b``, ``dA0.b_prime``, ..., ``logistic.W``, ``logistic.b``) and the
architecture as a JSON string under ``__architecture__``.  Files are written
atomically (temporary file, fsync, rename), so a crash mid-write leaves the
previous file intact, and read through :class:`sda.files.NpzArchive`:
without pickle, and with the architecture record checked against the
shapes the archive declares before a model is built or an array inflated.
Non-finite parameters are refused.

Getting the hidden representation of new data from a saved model::

    model = sda.load_model("SdA_output/model.npz")
    codes = model.encode(new_x)    # new_x: (n, 784), any float dtype
"""

import json
import numbers

import numpy as np
import pytensor

from ._checks import is_integer
from ._version import __version__
from .backend import to_host
from .errors import DataFileError
from .files import (NpzArchive, as_path, atomic_write, expected_shape,
                    finite_arrays)
from .models import SdA
from .models.msda import mDA, mSDA
from .models.da import LOSSES
from .models.noise import NOISES, from_record, noise_record

__all__ = ["save_model", "load_model", "load_params", "architecture",
           "check_architecture", "state_shapes", "model_state",
           "read_state", "apply_arrays"]

FORMAT = "sda.SdA/1"
MSDA_FORMAT = "sda.mSDA/1"
ARCHITECTURE = "__architecture__"


def architecture(model):
    """The constructor arguments and dtype that rebuild ``model``."""
    return {"format": FORMAT, "n_ins": model.n_ins,
            "hidden_layers_sizes": list(model.hidden_layers_sizes),
            "n_outs": model.n_outs,
            "corruption_levels": list(model.corruption_levels),
            "noise": [noise_record(n) for n in model.noise],
            "loss": list(model.loss),
            "emphasis": [None if e is None else list(e)
                         for e in model.emphasis],
            "tied": list(model.tied),
            "floatX": str(model.x.type.dtype), "sda_version": __version__}


def constructor_arguments(arch):
    """The keyword arguments of ``SdA`` recorded in ``arch`` (files written
    before noise, loss, emphasis and tied were recorded get the defaults)."""
    n = len(arch["hidden_layers_sizes"])
    kwargs = {"n_ins": arch["n_ins"],
              "hidden_layers_sizes": arch["hidden_layers_sizes"],
              "n_outs": arch["n_outs"],
              "corruption_levels": arch["corruption_levels"],
              "loss": arch.get("loss", ["cross_entropy"] * n),
              "emphasis": [None if e is None else tuple(e)
                           for e in arch.get("emphasis", [None] * n)],
              "tied": arch.get("tied", [True] * n)}
    kwargs["noise"] = [from_record(record) for record in
                       arch.get("noise", [{"name": "masking"}] * n)]
    return kwargs


def _positive_int(value):
    return is_integer(value) and value >= 1


def check_architecture(arch, path):
    """Check an architecture record's fields and types; DataFileError if not."""
    def bad(field, value, allowed):
        return DataFileError(path, f"has an invalid architecture record: "
                             f"{field} must be {allowed}, got {value!r}")
    if not isinstance(arch, dict):
        raise DataFileError(path, "has no architecture record")
    for field in ("n_ins", "n_outs"):
        if not _positive_int(arch.get(field)):
            raise bad(field, arch.get(field), "a positive integer")
    sizes = arch.get("hidden_layers_sizes")
    if not (isinstance(sizes, list) and sizes
            and all(_positive_int(s) for s in sizes)):
        raise bad("hidden_layers_sizes", sizes,
                  "a non-empty list of positive integers")
    levels = arch.get("corruption_levels")
    if not (isinstance(levels, list) and len(levels) == len(sizes) and all(
            isinstance(c, numbers.Real) and not isinstance(c, bool)
            and 0 <= c < float("inf") for c in levels)):
        raise bad("corruption_levels", levels,
                  f"a list of {len(sizes)} non-negative numbers")
    if arch.get("floatX") not in ("float32", "float64"):
        raise bad("floatX", arch.get("floatX"), "'float32' or 'float64'")
    _check_layer_options(arch, path, len(sizes), bad)
    return arch


def _check_layer_options(arch, path, n, bad):
    """The per-layer options, where recorded (older files have none)."""
    options = {
        "noise": (f"a list of {n} {{'name': ...}} records of known noises",
                  lambda v: isinstance(v, dict) and v.get("name") in NOISES),
        "loss": (f"a list of {n} of {LOSSES}", lambda v: v in LOSSES),
        "emphasis": (f"a list of {n} of null or [alpha, beta]",
                     lambda v: v is None or (isinstance(v, list)
                                             and len(v) == 2)),
        "tied": (f"a list of {n} of true or false",
                 lambda v: isinstance(v, bool)),
    }
    for field, (allowed, valid) in options.items():
        if field not in arch:
            continue
        values = arch[field]
        if not (isinstance(values, list) and len(values) == n
                and all(valid(v) for v in values)):
            raise bad(field, values, allowed)
    try:
        constructor_arguments(arch)["noise"]
    except (TypeError, ValueError) as e:
        raise DataFileError(path, f"has an invalid architecture record: "
                            f"noise ({e})") from None


def state_shapes(arch):
    """Name -> shape of every array a model of architecture ``arch`` holds."""
    widths = [arch["n_ins"]] + list(arch["hidden_layers_sizes"])
    tied = arch.get("tied", [True] * (len(widths) - 1))
    shapes = {}
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        shapes[f"hidden{i}.W"] = (n_in, n_out)
        shapes[f"hidden{i}.b"] = (n_out,)
        shapes[f"dA{i}.b_prime"] = (n_in,)
        if not tied[i]:
            shapes[f"dA{i}.W_prime"] = (n_out, n_in)
    shapes["logistic.W"] = (widths[-1], arch["n_outs"])
    shapes["logistic.b"] = (arch["n_outs"],)
    return shapes


def model_state(model):
    """Every shared variable of ``model`` by name: the MLP's and the dA's."""
    return {v.name: v for v in model.state_variables()}


def _check_model(model):
    if not isinstance(model, SdA):
        raise ValueError(f"model must be an sda.SdA, got "
                         f"{type(model).__name__}")


def save_model(model, path):
    """Write ``model``'s parameters and architecture to ``path`` (``.npz``).

    ``model``: an :class:`sda.SdA`, or a fitted :class:`sda.mSDA` (its
    layers' maps as ``layer0.W``, ``layer0.b``, ...).  Raises
    :class:`sda.OutputError` naming the file if it cannot be written (the
    previous file, if any, is kept).
    """
    path = as_path("path", path)
    if isinstance(model, mSDA):
        return _save_msda(model, path)
    _check_model(model)
    to_host(model)
    arrays = {name: v.get_value(borrow=True)
              for name, v in model_state(model).items()}
    arrays[ARCHITECTURE] = np.array(json.dumps(architecture(model)))
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def read_state(npz, arch, extra=None):
    """The model arrays of an open :class:`NpzArchive` for ``arch``, checked.

    Every member must be one the architecture names, with its shape and
    dtype, or one of ``extra`` (name -> (shape, dtype) or None for any
    shape of float64); the check uses the declared headers, so nothing is
    inflated before it passes.  The arrays read must be finite.
    """
    return _checked_arrays(npz, state_shapes(arch), arch["floatX"], extra)


def _checked_arrays(npz, shapes, dtype, extra=None):
    """The arrays ``shapes`` names (name -> shape, all of ``dtype``) and
    those of ``extra``, checked as :func:`read_state` says."""
    path, members = npz.path, npz.members
    for name, shape in shapes.items():
        expected_shape(path, name, shape, members, dtype)
    extra = extra or {}
    for name in members:
        if name in shapes or name == ARCHITECTURE:
            continue
        if name not in extra:
            raise DataFileError(path, f"holds an unexpected array {name!r}")
        if extra[name] is not None:
            shape, its_dtype = extra[name]
            expected_shape(path, name, shape, members, its_dtype)
    arrays = {name: npz.array(name) for name in members
              if name in shapes or name in extra}
    finite_arrays(path, arrays)
    return arrays


def _read(path, formats=FORMAT):
    """(architecture dict, {name: array}) of a model file, or DataFileError;
    with ``formats=(FORMAT, MSDA_FORMAT)``, an mSDA file gives the mSDA."""
    path = as_path("path", path)
    with NpzArchive(path) as npz:
        record = npz.record(ARCHITECTURE, formats, "an sda model file")
        if record["format"] == MSDA_FORMAT:
            return _load_msda(npz, record)
        arch = check_architecture(record, path)
        return arch, read_state(npz, arch)


def load_params(model, path):
    """Load the parameters saved at ``path`` into the existing ``model``.

    Raises
    ------
    DataFileError
        Naming the file and the mismatch, when its architecture, dtype or
        arrays do not fit ``model``, or it holds non-finite values.
    """
    _check_model(model)
    return apply_arrays(model, path, *_read(path))


def apply_arrays(model, path, arch, arrays):
    """Check ``arch`` against ``model`` and load its arrays by name."""
    mine = architecture(model)
    arch = dict(arch, tied=arch.get("tied", [True] * model.n_layers))
    for key in ("n_ins", "hidden_layers_sizes", "n_outs", "floatX", "tied"):
        if arch.get(key) != mine[key]:
            raise DataFileError(path, f"was saved with {key}={arch.get(key)}"
                                f" but the model has {key}={mine[key]}")
    state = model_state(model)
    for name, variable in state.items():
        current = variable.get_value(borrow=True)
        expected_shape(path, name, current.shape,
                       {k: (v.shape, v.dtype) for k, v in arrays.items()},
                       current.dtype)
    for name, variable in state.items():
        variable.set_value(arrays[name], borrow=True)
    return model


def _save_msda(model, path):
    if not model.layers:
        raise ValueError("model must be fitted before it is saved: call "
                         "fit(X) first")
    record = {"format": MSDA_FORMAT, "n_layers": model.n_layers,
              "noise": model.noise, "ridge": model.ridge,
              "n_features": model.n_features, "dtype": model.dtype.name,
              "sda_version": __version__}
    arrays = {ARCHITECTURE: np.array(json.dumps(record))}
    for k, layer in enumerate(model.layers):
        arrays[f"layer{k}.W"], arrays[f"layer{k}.b"] = layer.W, layer.b
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def _load_msda(npz, record):
    """The mSDA of an open archive whose record is ``record``, checked."""
    path = npz.path
    d, n = record.get("n_features"), record.get("n_layers")
    dtype = record.get("dtype")
    if not (_positive_int(d) and _positive_int(n)
            and dtype in ("float32", "float64")):
        raise DataFileError(path, f"has an invalid mSDA record: n_features "
                            f"and n_layers must be positive integers and "
                            f"dtype float32 or float64, got {d!r}, {n!r}, "
                            f"{dtype!r}")
    if len(npz.members) != 2 * n + 1:  # before n sizes anything
        raise DataFileError(path, f"holds {len(npz.members) - 1} arrays, "
                            f"an mSDA of {n} layers has {2 * n}")
    shapes = {}
    for k in range(n):
        shapes[f"layer{k}.W"], shapes[f"layer{k}.b"] = (d, d), (d,)
    try:
        model = mSDA(n_layers=n, noise=record.get("noise"),
                     ridge=record.get("ridge"), dtype=dtype)
    except ValueError as e:
        raise DataFileError(path, f"has an invalid mSDA record ({e})") \
            from None
    arrays = _checked_arrays(npz, shapes, dtype)
    for k in range(n):
        layer = mDA(model.noise, model.ridge, dtype)
        layer.W, layer.b = arrays[f"layer{k}.W"], arrays[f"layer{k}.b"]
        model.layers.append(layer)
    return model


def load_model(path):
    """Rebuild the ``SdA`` (or ``mSDA``) saved at ``path``, in the dtype it
    was saved in.

    The architecture is checked against the arrays before the model is
    built, so a small file cannot make sda build a huge model.
    """
    read = _read(path, (FORMAT, MSDA_FORMAT))
    if isinstance(read, mSDA):
        return read
    arch, arrays = read
    try:
        with pytensor.config.change_flags(floatX=arch["floatX"]):
            model = SdA(numpy_rng=np.random.RandomState(0), theano_rng=0,
                        **constructor_arguments(arch))
    except ValueError as e:  # a level that does not fit its noise, say
        raise DataFileError(path, f"has an invalid architecture record "
                            f"({e})") from None
    return apply_arrays(model, path, arch, arrays)
