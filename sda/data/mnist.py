"""Reading MNIST-format data: IDX files, the tutorial's pickle, its split.

Three sources are understood:

* the MNIST copy that ships with the package (the default; ``data/mnist/``
  in the repository, ``sda/_data/mnist/`` once installed);
* any folder with the four IDX files of an MNIST-format data set, gzipped or
  not (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``);
* the tutorial's ``mnist.pkl.gz`` (a Python 2 pickle), read by an unpickler
  that rebuilds NumPy arrays and refuses everything else.

The split is the tutorial's: training = the first 50,000 training images,
validation = the last 10,000, test = the 10,000 test images.  Pixels are
scaled by 1/256 (to [0, 255/256]) as in ``mnist.pkl.gz``, so that every
source gives the same numbers.  Nothing is downloaded and nothing is written.
"""

import hashlib
import io
import math
import pickle
from pathlib import Path

import numpy as np
import pytensor

from .. import files
from ..errors import DataFileError
from .arrays import shared_dataset

__all__ = ["load_data", "load_mnist", "read_idx", "load_pickle",
           "split_mnist", "DEFAULT_DATASET", "MNIST_SHA256", "PIXEL_SCALE",
           "N_VALID"]


def _embedded_mnist():
    """Where the shipped MNIST is: in the package once installed from a wheel
    (setup.py maps the repository's ``data/`` to ``sda/_data/``), beside it
    in a checkout or an editable install."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_data" / "mnist"
    return (installed if installed.is_dir()
            else package.parent / "data" / "mnist")


#: The MNIST copy shipped with the library (see data/mnist/README.md).
DEFAULT_DATASET = _embedded_mnist()

#: Published SHA-256 of the *decompressed* MNIST files.
MNIST_SHA256 = {
    "train-images-idx3-ubyte":
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte":
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte":
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte":
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Pixel values are divided by this (the scale of the tutorial's pickle).
PIXEL_SCALE = 256.0

#: Examples taken from the end of the training file for validation.
N_VALID = 10000

# IDX type codes -> big-endian NumPy dtypes
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4",
              0x0D: ">f4", 0x0E: ">f8"}

# What the tutorial's pickle may contain: NumPy arrays (old and new module
# paths) and the codec helper pickle protocol 2 uses for byte strings.
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


def read_idx(path, sha256=None, limit=None):
    """Read one IDX file (gzipped or raw) into a NumPy array.

    The file is read as a stream: its header first, then exactly the bytes
    the header announces (hashed on the way), so a file that inflates
    beyond them costs no more memory than an honest one.

    Parameters
    ----------
    path : str or Path
    sha256 : str, optional
        Expected SHA-256 of the decompressed content.
    limit : int, optional
        The largest content accepted, in bytes (:data:`sda.files.MAX_BYTES`).

    Raises
    ------
    DataFileError
        Naming the file, when it is missing, not a regular file, truncated,
        corrupt, larger than ``limit``, has a bad header or does not match
        ``sha256``.
    """
    path = Path(path)
    limit = files.MAX_BYTES if limit is None else limit
    hasher = hashlib.sha256()
    with files.open_data(path) as stream:
        magic = files.read_exactly(stream, 4, path, hasher).tobytes()
        if len(magic) < 4:
            raise DataFileError(path, f"too short for an IDX header "
                                f"({len(magic)} bytes)")
        code, ndim = magic[2], magic[3]
        if magic[:2] != b"\x00\x00" or code not in _IDX_TYPES or ndim == 0:
            raise DataFileError(path, f"not an IDX file (magic bytes "
                                f"{magic.hex()})")
        raw_dims = files.read_exactly(stream, 4 * ndim, path, hasher)
        if len(raw_dims) < 4 * ndim:
            raise DataFileError(path, "IDX header is truncated")
        dims = tuple(int.from_bytes(raw_dims[4 * i:4 * i + 4].tobytes(),
                                    "big") for i in range(ndim))
        dtype = np.dtype(_IDX_TYPES[code])
        header = 4 + 4 * ndim
        expected = header + math.prod(dims) * dtype.itemsize
        if expected > limit:
            raise DataFileError(
                path, f"IDX header announces shape {dims} ({expected} "
                f"bytes), more than the limit of {limit} bytes "
                f"(sda.files.MAX_BYTES): refused")
        body = files.read_exactly(stream, expected - header, path, hasher)
        if len(body) < expected - header:
            raise DataFileError(
                path, f"IDX header announces shape {dims} ({expected} bytes) "
                f"but the file has {header + len(body)} bytes: it is "
                f"truncated or corrupt")
        if len(files.read_exactly(stream, 1, path)):
            raise DataFileError(
                path, f"IDX header announces shape {dims} ({expected} bytes) "
                f"but the file has more: it is corrupt")
    if sha256 is not None and hasher.hexdigest() != sha256:
        raise DataFileError(
            path, f"content does not match the published checksum "
            f"(sha256 {hasher.hexdigest()}, expected {sha256}): the file is "
            f"corrupt, or not MNIST (to read another MNIST-format data "
            f"set, pass verify=False, or --no-verify to the examples)")
    return body.view(dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        path = folder / name
        if path.exists():
            return path
    raise DataFileError(folder / (stem + ".gz"),
                        f"no such file (nor {stem} uncompressed)")


def _images(path, sha256):
    x = read_idx(path, sha256)
    if x.ndim < 2:
        raise DataFileError(path, f"holds a {x.ndim}-d array, not images")
    return x.reshape(len(x), -1)


def _labels(path, sha256, n_images, images_path):
    y = read_idx(path, sha256)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataFileError(path, f"holds a {y.ndim}-d {y.dtype} array, not "
                            f"integer labels")
    if len(y) != n_images:
        raise DataFileError(path, f"has {len(y)} labels but "
                            f"{Path(images_path).name} has {n_images} images")
    return y.astype(np.int32)


def load_mnist(folder=None, verify=True):
    """The four arrays of an MNIST-format folder, unscaled.

    Parameters
    ----------
    folder : str or Path, optional
        Defaults to the embedded MNIST (:data:`DEFAULT_DATASET`).
    verify : bool
        Check each file against the published MNIST checksums.  Turn it off
        for other MNIST-format data sets.

    Returns
    -------
    dict with ``train_x``, ``test_x`` (uint8, one flattened image per row) and
    ``train_y``, ``test_y`` (int32).
    """
    folder = (DEFAULT_DATASET if folder is None
              else files.as_path("folder", folder))
    out = {}
    for part, prefix in (("train", "train"), ("test", "t10k")):
        stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        sums = [MNIST_SHA256[s] if verify else None for s in stems]
        img_path, lab_path = _find(folder, stems[0]), _find(folder, stems[1])
        x = _images(img_path, sums[0])
        out[f"{part}_x"] = x
        out[f"{part}_y"] = _labels(lab_path, sums[1], len(x), img_path)
    if out["train_x"].shape[1] != out["test_x"].shape[1]:
        raise DataFileError(folder, f"training images have "
                            f"{out['train_x'].shape[1]} pixels, test images "
                            f"{out['test_x'].shape[1]}")
    return out


def split_mnist(arrays, n_valid=N_VALID):
    """The tutorial's three sets from :func:`load_mnist`'s arrays, scaled to [0, 1).

    Returns ``[(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]`` as
    NumPy arrays, x in floatX.
    """
    n = len(arrays["train_x"])
    if isinstance(n_valid, bool) or not isinstance(
            n_valid, (int, np.integer)) or not 0 < n_valid < n:
        raise ValueError(f"n_valid must be between 1 and {n - 1} (the "
                         f"training file has {n} images), got {n_valid!r}")
    fx = pytensor.config.floatX

    def scale(x):
        return (x / np.asarray(PIXEL_SCALE, fx)).astype(fx, copy=False)

    cut = n - n_valid
    return [(scale(arrays["train_x"][:cut]), arrays["train_y"][:cut]),
            (scale(arrays["train_x"][cut:]), arrays["train_y"][cut:]),
            (scale(arrays["test_x"]), arrays["test_y"])]


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _PICKLE_ALLOWED:
            if module == "numpy.core.multiarray":  # numpy 1.x name
                module = "numpy._core.multiarray"
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refused to load {module}.{name}: only NumPy arrays are allowed")


def load_pickle(path):
    """Read the tutorial's ``mnist.pkl.gz`` (or an uncompressed ``.pkl``).

    Only NumPy arrays are rebuilt; any other object in the pickle makes the
    load fail before it is created, so the file cannot run code.

    Returns ``[(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]``
    with x in floatX and y int32.
    """
    content = files.read_bounded(path)
    try:
        obj = _ArraysOnlyUnpickler(io.BytesIO(content),
                                   encoding="latin1").load()
    except pickle.UnpicklingError as e:
        raise DataFileError(path, f"not loaded: {e}") from None
    except Exception as e:  # a corrupt pickle can fail in many ways
        raise DataFileError(path, f"is not a readable pickle "
                            f"({type(e).__name__}: {e})") from None
    if not (isinstance(obj, (tuple, list)) and len(obj) == 3 and all(
            isinstance(s, (tuple, list)) and len(s) == 2 for s in obj)):
        raise DataFileError(path, "does not hold the tutorial's three "
                            "(x, y) pairs")
    fx = pytensor.config.floatX
    sets = []
    for name, (x, y) in zip(("train", "valid", "test"), obj):
        if not (isinstance(x, np.ndarray) and x.ndim == 2
                and x.dtype.kind == "f" and isinstance(y, np.ndarray)
                and y.ndim == 1 and y.dtype.kind in "iuf" and len(x) == len(y)):
            raise DataFileError(path, f"its {name} set is not a float matrix "
                                f"with one label per row")
        sets.append((x.astype(fx), y.astype(np.int32)))
    return sets


def load_data(dataset=None, verify=True, *, shared=True, n_valid=None):
    """Load MNIST (or an MNIST-format data set) as the tutorial's shared variables.

    Parameters
    ----------
    dataset : str or Path, optional
        A folder of IDX files, or a ``mnist.pkl.gz`` file.  Defaults to the
        embedded MNIST (:data:`DEFAULT_DATASET`).
    verify : bool
        Check IDX files against the published MNIST checksums (turn off for
        other MNIST-format data sets).
    shared : bool
        Return shared variables, as the tutorial does; ``False`` gives the
        same NumPy arrays, which every sda function takes as well.
    n_valid : int, optional
        How many of the last training images of an IDX folder form the
        validation set (default :data:`N_VALID`, the tutorial's 10,000;
        a smaller data set needs fewer).  A pickle holds its own split.

    Returns
    -------
    [(train_set_x, train_set_y), (valid_set_x, valid_set_y), (test_set_x, test_set_y)]
        Shared variables (or arrays); x in floatX, y int32.

    Raises
    ------
    DataFileError
        Naming the file that is missing, truncated, corrupt or mismatched.
    """
    path = (DEFAULT_DATASET if dataset is None
            else files.as_path("dataset", dataset))
    try:
        is_dir = path.is_dir()
        exists = is_dir or path.exists()
    except OSError as e:  # a name too long for the file system, say
        raise DataFileError(path, f"cannot be read ({e.strerror})") from None
    if not exists:
        raise DataFileError(path, "no such file or folder (nothing is "
                            "downloaded: give a folder of MNIST IDX files or "
                            "mnist.pkl.gz)")
    if is_dir:
        arrays = load_mnist(path, verify=verify)
        sets = split_mnist(arrays, N_VALID if n_valid is None else n_valid)
    elif path.name.endswith((".pkl", ".pkl.gz", ".pickle")):
        if n_valid is not None:
            raise ValueError(f"n_valid splits an IDX folder's training "
                             f"images; {path} is a pickle with its own "
                             f"validation set, got n_valid={n_valid!r}")
        sets = load_pickle(path)
    else:
        raise DataFileError(path, "is neither a folder of IDX files nor a "
                            ".pkl.gz pickle")
    return [shared_dataset(s) for s in sets] if shared else sets
