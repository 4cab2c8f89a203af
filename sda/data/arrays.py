"""Data sets in the form compiled functions index: shared variables, from arrays or expressions.

The builders and loops take shared variables as the tutorial makes them
(:func:`shared_dataset`), or arrays of any numeric dtype, converted once
(:func:`as_shared`, :func:`as_datasets`).  :func:`minibatch` is the
symbolic minibatch of the tutorial's ``givens``, in the form each backend
compiles.
"""

import numpy as np
import pytensor
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Constant
from pytensor.graph.traversal import graph_inputs

from ..backend import resolve

__all__ = ["shared_dataset", "as_shared", "as_datasets", "minibatch"]


def shared_dataset(data_xy, borrow=True):
    """Put ``(x, y)`` into shared variables: x in floatX, y int32.

    The data then stays in one place (the GPU, with the JAX backend) and
    compiled functions take minibatches of it by index.
    """
    x, y = data_xy
    shared_x = pytensor.shared(np.asarray(x, dtype=pytensor.config.floatX),
                               borrow=borrow)
    shared_y = pytensor.shared(np.asarray(y, dtype=np.int32), borrow=borrow)
    return shared_x, shared_y


def _evaluate(name, expression):
    """The value of a symbolic expression of shared variables and constants."""
    free = [v for v in graph_inputs([expression])
            if not isinstance(v, (Constant, pytensor.compile.SharedVariable))]
    if free:
        names = ", ".join(str(v) for v in free)
        raise ValueError(f"{name} is a symbolic expression of free inputs "
                         f"({names}); give a shared variable, an array, or "
                         f"an expression of shared variables only")
    # a one-off evaluation (a cast, a slice): not worth a C or Numba compile
    quick = Mode(linker="py", optimizer="fast_compile")
    return pytensor.function([], expression, mode=quick)()


def as_shared(name, data, dtype=None, *, labels=False):
    """A dataset in the form the compiled functions index: a shared variable.

    Parameters
    ----------
    name : str
        The argument's name, for error messages (``"train_set_x"``).
    data : shared variable, symbolic expression or array-like
        A shared variable is used as it is.  A symbolic expression of shared
        variables (the tutorial's labels, ``T.cast(shared_y, 'int32')``) is
        evaluated once, so later changes to the variables under it are not
        seen.  Anything NumPy makes an array of (arrays, lists, a pandas
        frame) is converted once and shared without a further copy.
    dtype : str, optional
        The inputs' dtype, the model's floatX (default: ``config.floatX``).
        A shared variable of another dtype is refused: converting it would
        copy it on every use.
    labels : bool
        ``data`` holds class labels: integers of any dtype (stored as int32
        when they fit) or floats holding whole numbers.

    Returns
    -------
    shared variable

    Examples
    --------
    >>> x = as_shared("train_set_x", [[0, 1], [1, 0]], "float32")
    >>> x.get_value().dtype
    dtype('float32')
    >>> as_shared("train_set_y", np.array([0, 1], dtype=np.uint8),
    ...           labels=True).get_value().dtype
    dtype('int32')
    """
    dtype = str(dtype or pytensor.config.floatX)
    if isinstance(data, pytensor.compile.SharedVariable):
        kind = data.type.dtype
        if not labels and kind != dtype:
            raise ValueError(f"{name} is a shared variable of {kind}, the "
                             f"model computes in {dtype}: store it as "
                             f"{dtype}, or pass the array and sda converts it")
        return data
    if isinstance(data, pytensor.graph.basic.Variable):
        data = _evaluate(name, data)
    try:
        values = np.asarray(data)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name} cannot be read as an array ({e})") from None
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got an array of "
                         f"{values.dtype}"
                         + (f" ({type(data).__name__})"
                            if values.dtype == object else ""))
    if labels:
        if values.dtype.kind in "iu" and values.size and (
                values.min() >= np.iinfo(np.int32).min
                and values.max() <= np.iinfo(np.int32).max):
            values = values.astype(np.int32, copy=False)
    else:
        values = values.astype(dtype, copy=False)
    return pytensor.shared(values, name=name, borrow=True)


def as_datasets(datasets, dtype=None):
    """``[(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]`` as
    shared variables, each part converted by :func:`as_shared`.

    The test set may be left out (two pairs) or be None: its place in the
    result is then None.
    """
    parts = ("train", "valid", "test")
    try:
        pairs = [None if pair is None else tuple(pair) for pair in datasets]
    except TypeError:
        pairs = None
    if pairs is not None and len(pairs) == 2:
        pairs.append(None)
    if pairs is None or len(pairs) != 3 or None in pairs[:2] or any(
            p is not None and len(p) != 2 for p in pairs):
        raise ValueError("datasets must be three (x, y) pairs, [(train_x, "
                         "train_y), (valid_x, valid_y), (test_x, test_y)], "
                         "or the first two (no test set), got "
                         f"{_describe(datasets, pairs)}")
    return [None if pair is None else
            (as_shared(f"{part}_set_x", pair[0], dtype),
             as_shared(f"{part}_set_y", pair[1], dtype, labels=True))
            for part, pair in zip(parts, pairs)]


def _describe(datasets, pairs):
    """What was passed as ``datasets``, without printing its arrays."""
    kind = type(datasets).__name__
    if pairs is None:
        return f"a {kind}"
    lengths = ", ".join("None" if p is None else str(len(p)) for p in pairs)
    return f"a {kind} of {len(pairs)} items, of lengths {lengths}"


def minibatch(data, index, size, mode=None):
    """Rows ``index * size`` to ``(index + 1) * size`` of a shared data set.

    The symbolic minibatch of the tutorial's ``givens``, in the form that
    suits the backend of ``mode`` (default: the library's;
    :meth:`sda.backend.Backend.minibatch`).

    * C and Numba: the slice ``data[index * size:(index + 1) * size]``, a
      view.  A minibatch of one example is taken as a row with a static
      shape of ``(1, n)``: PyTensor then computes its products with GEMV
      and GER, which OpenBLAS runs several times faster than a one-row GEMM.
    * JAX: ``data[index * size + arange(size)]``.  JAX compiles only slices
      of static length, and a slice whose bounds depend on ``index`` is not
      one to PyTensor (PyTensor issue #312); a gather of ``size`` rows is.
      A shared ``data`` is replaced by its copy on the device
      (:func:`sda.backend.on_device`), so that a call does not copy the
      whole data set there.  JAX clamps indices past the end instead of
      raising, so the library's JAX steps check ``index`` before the call.

    >>> import numpy, pytensor, pytensor.tensor as pt
    >>> data = pytensor.shared(numpy.arange(12.0).reshape(6, 2))
    >>> index = pt.lscalar("index")
    >>> pytensor.function([index], minibatch(data, index, 2))(1)
    array([[4., 5.],
           [6., 7.]])
    """
    return resolve(mode).minibatch(data, index, size)
