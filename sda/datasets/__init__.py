"""The benchmark problems of Vincent et al. (2010), Table 3, regenerated.

Larochelle et al. (ICML 2007, "An empirical evaluation of deep
architectures on problems with many factors of variation") built eight
problems of 28x28 images; their files cannot be downloaded here, so
:func:`make_variation` regenerates each from its published recipe
(:mod:`.digits`, :mod:`.shapes`, :mod:`.patches` say every choice made)
and :func:`load_amat` reads the original files for those who have them.

>>> from sda.datasets import make_variation, SIZES
>>> SIZES["rect"]
(1000, 200, 50000)

Generated sets are cached (see :func:`cache_folder`): the first call of a
name and seed generates and writes the file, later calls read it.
"""

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytensor

from .. import files
from ..data import mnist, shared_dataset
from .amat import load_amat, save_amat
from .digits import DIGIT_SOURCES, make_digits
from .shapes import make_convex, make_rect, make_rect_img

__all__ = ["make_variation", "load_data", "is_problem", "load_amat",
           "save_amat", "NAMES", "SIZES", "cache_folder", "FORMAT_VERSION"]

#: (training, validation, test) examples of each problem, as published;
#: the validation examples come after the training ones in the original
#: training files.
SIZES = {"basic": (10000, 2000, 50000), "rot": (10000, 2000, 50000),
         "bg-rand": (10000, 2000, 50000), "bg-img": (10000, 2000, 50000),
         "rot-bg-img": (10000, 2000, 50000), "rect": (1000, 200, 50000),
         "rect-img": (10000, 2000, 50000), "convex": (6000, 2000, 50000)}
NAMES = tuple(SIZES)

#: Part of the cache file's name: a change of any generator bumps it.
FORMAT_VERSION = 2

_SHAPES = {"rect": make_rect, "rect-img": make_rect_img,
           "convex": make_convex}


def cache_folder():
    """Where generated sets are kept: ``$SDA_DATASETS`` if set, else
    ``$XDG_CACHE_HOME/sda/datasets`` (``~/.cache/sda/datasets``)."""
    if os.environ.get("SDA_DATASETS"):
        return Path(os.environ["SDA_DATASETS"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sda" / "datasets"


def _generate(name, seed):
    """All examples of ``name`` under ``seed``: (x uint8, y int32)."""
    n = sum(SIZES[name])
    # one stream for drawing the digits (the same for every digit problem
    # of a seed), another per problem for what is done to them
    transform = np.random.default_rng([seed, 1 + NAMES.index(name)])
    if name in DIGIT_SOURCES:
        x, y = make_digits(name, n, np.random.default_rng([seed, 0]),
                           transform)
    else:
        x, y = _SHAPES[name](n, transform)
    return np.round(x * 255).astype(np.uint8), y.astype(np.int32)


def _digest(x, y):
    return hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()


def _read_cache(path, name):
    """The cached (x, y), or None when absent, unreadable or altered."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            x, y, digest = npz["x"], npz["y"], str(npz["sha256"])
    except (OSError, ValueError, KeyError, EOFError):
        return None
    n = sum(SIZES[name])
    if (x.shape != (n, 784) or x.dtype != np.uint8 or y.shape != (n,)
            or _digest(x, y) != digest):
        return None
    return x, y


def make_variation(name, seed=0, *, cache=True):
    """One of the eight problems: its training, validation and test sets.

    Parameters
    ----------
    name : {'basic', 'rot', 'bg-rand', 'bg-img', 'rot-bg-img', 'rect', \
'rect-img', 'convex'}
    seed : int
        The same seed gives the same arrays (with the same NumPy).
    cache : bool
        Read the set from :func:`cache_folder` when there, else write it
        there (atomically, with its SHA-256, checked on reading: an
        altered or truncated file is generated again).

    Returns
    -------
    [(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]
        x of ``pytensor.config.floatX`` in [0, 1] (multiples of 1/255), 784
        columns; y int32 (digits 0-9; 1 for tall rectangles, 1 for convex
        sets).
    """
    if name not in SIZES:
        raise ValueError(f"name must be one of {', '.join(NAMES)}, got "
                         f"{name!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got "
                         f"{seed!r}")
    seed = int(seed)
    path = cache_folder() / f"{name}-seed{seed}-v{FORMAT_VERSION}.npz"
    found = _read_cache(path, name) if cache else None
    if found is None:
        x, y = _generate(name, seed)
        if cache:
            buffer = io.BytesIO()
            np.savez(buffer, x=x, y=y, sha256=np.array(_digest(x, y)))
            files.atomic_write(path, lambda f: f.write(buffer.getvalue()))
    else:
        x, y = found
    n_train, n_valid, _ = SIZES[name]
    cuts = [0, n_train, n_train + n_valid, len(x)]
    dtype = pytensor.config.floatX
    return [((x[a:b] / np.asarray(255, dtype)).astype(dtype), y[a:b])
            for a, b in zip(cuts, cuts[1:])]


def is_problem(dataset):
    """Whether ``dataset`` names a problem of :data:`NAMES` (and no file or
    folder of that name exists, which is read as a file instead)."""
    if not (isinstance(dataset, str) and dataset in SIZES):
        return False
    try:
        return not Path(dataset).exists()
    except OSError:  # a name the file system refuses is no path
        return True


def load_data(dataset=None, verify=True, *, shared=True, n_valid=None):
    """:func:`sda.data.load_data`, or a problem of :data:`NAMES` by name.

    ``dataset`` may name one of the eight problems (``"rot"``, ...; seed 0,
    :func:`make_variation`) unless a file or folder of that name exists,
    which is read as before.  ``verify`` concerns MNIST's files only;
    ``n_valid`` is refused with a name: the problems have their published
    split.  This is :func:`sda.load_data`.
    """
    if is_problem(dataset):
        if n_valid is not None:
            raise ValueError(f"n_valid splits an IDX folder's training "
                             f"images; {dataset!r} has its published "
                             f"split, got n_valid={n_valid!r}")
        sets = make_variation(dataset)
        return [shared_dataset(s) for s in sets] if shared else sets
    return mnist.load_data(dataset, verify, shared=shared, n_valid=n_valid)
