"""The original files of the variations: ``.amat`` text, one example a row.

A row is the 784 pixel values (in [0, 1]) then the label, separated by
white space; the files of Larochelle et al. (2007) were distributed this
way (``mnist_background_images_train.amat``, ...).  Some copies start with
a header line ``#size: 12000 785``, which is skipped.
"""

import io

import numpy as np
import pytensor

from .. import files
from ..errors import DataFileError

__all__ = ["load_amat", "save_amat", "MAX_AMAT_BYTES"]

#: The largest ``.amat`` file read (inflated): the 50,000-row test files of
#: the originals are about 600 MB of text.
MAX_AMAT_BYTES = 2 * 1024 ** 3


def load_amat(path, n_pixels=784, limit=None):
    """Read an ``.amat`` file (or a gzipped one) into ``(x, y)``.

    Parameters
    ----------
    path : str or Path
    n_pixels : int
        The values before the label on each row.
    limit : int, optional
        The largest content accepted, in bytes (:data:`MAX_AMAT_BYTES`).

    Returns
    -------
    x : ndarray (n, n_pixels) of ``pytensor.config.floatX``, in [0, 1]
    y : ndarray (n,) of int32

    Raises
    ------
    DataFileError
        Naming the file, for a file that cannot be read, is empty, has rows
        of another length, values that are not numbers, not finite or out
        of [0, 1], or labels that are not non-negative integers.
    """
    path = files.as_path("path", path)
    text = files.read_bounded(path, MAX_AMAT_BYTES if limit is None
                              else limit)
    lines = [line for line in text.split(b"\n")
             if line.strip() and not line.lstrip().startswith(b"#")]
    if not lines:
        raise DataFileError(path, "holds no examples")
    width = n_pixels + 1
    for number, line in enumerate(lines, 1):
        if len(line.split()) != width:
            raise DataFileError(path, f"row {number} has "
                                f"{len(line.split())} values, not {width} "
                                f"({n_pixels} pixels and a label)")
    try:
        values = np.loadtxt(io.BytesIO(b"\n".join(lines)), dtype=np.float64,
                            ndmin=2)
    except ValueError as e:
        raise DataFileError(path, f"holds a value that is not a number "
                            f"({e})") from None
    x, labels = values[:, :n_pixels], values[:, n_pixels]
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1)
                         | (x < 0).any(axis=1) | (x > 1).any(axis=1))
    if bad.size:
        raise DataFileError(path, f"row {bad[0] + 1} has pixels outside "
                            f"[0, 1] (or not finite)")
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0)
                         | ~np.isfinite(labels) | (labels > 2 ** 31 - 1))
    if bad.size:
        raise DataFileError(path, f"row {bad[0] + 1} has label "
                            f"{labels[bad[0]].tolist()!r}, not a non-negative integer")
    return x.astype(pytensor.config.floatX), labels.astype(np.int32)


def save_amat(path, x, y):
    """Write ``(x, y)`` as an ``.amat`` file (atomically), the format
    :func:`load_amat` reads."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    if x.ndim != 2 or y.shape != (len(x),):
        raise ValueError(f"x must be 2-d and y hold one label per row of x, "
                         f"got shapes {x.shape} and {y.shape}")
    table = np.column_stack([x, y])

    def write(f):
        np.savetxt(f, table, fmt=["%.8g"] * x.shape[1] + ["%d"])
    return files.atomic_write(path, write)
