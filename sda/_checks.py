"""Argument checks shared by the public constructors and builders.

Each raises ``ValueError`` naming the argument, the value it got and what is
allowed, so that a mistake is found where it is made, not deep inside a
compiled graph.
"""

import numbers

import numpy as np
import pytensor


def is_integer(value):
    """True for Python and NumPy integers; not for ``bool``, which Python
    counts as one."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name, value):
    """``value`` as an int, if it is an integer >= 1."""
    if not is_integer(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(name, value):
    """``value`` as an int, if it is an integer >= 0."""
    if not is_integer(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, "
                         f"got {value!r}")
    return int(value)


def non_negative_float(name, value):
    """``value`` as a float, if it is a finite number >= 0."""
    try:
        v = None if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        v = None
    if v is None or not 0 <= v < float("inf"):  # also refuses NaN
        raise ValueError(f"{name} must be a non-negative number, got "
                         f"{value!r}")
    return v


def probability(name, value):
    """``value`` as a float, if it lies in [0, 1)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), "
                         f"got {value!r}") from None
    if not 0.0 <= v < 1.0:  # also refuses NaN
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return v


def open_fraction(name, value):
    """``value`` as a float, if it is a number strictly between 0 and 1."""
    try:
        v = None if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        v = None
    if v is None or not 0 < v < 1:  # also refuses NaN
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return v


def batch_size(value, n_examples):
    """``value`` as an int, if 1 <= value <= n_examples."""
    b = positive_int("batch_size", value)
    if b > n_examples:
        raise ValueError(f"batch_size must be at most the number of examples "
                         f"({n_examples}), got {value!r}")
    return b


def width(name, values, expected):
    """Check that the array ``values`` is a matrix of ``expected`` columns."""
    shape = np.shape(values)
    if len(shape) != 2 or shape[1] != expected:
        raise ValueError(f"{name} must be a matrix with {expected} columns "
                         f"(one row per example), got shape {shape}")
    return shape[0]


def symbolic_width(name, variable, expected):
    """Check a symbolic input's static width where PyTensor knows it."""
    if variable.ndim != 2:
        raise ValueError(f"{name} must be a matrix (ndim 2), got "
                         f"{variable.type} with ndim {variable.ndim}")
    known = variable.type.shape[1]
    if known is not None and known != expected:
        raise ValueError(f"{name} must have {expected} columns, got a "
                         f"matrix with {known}")


def finite(name, values):
    """Check that a dataset's array holds no NaN or infinite value."""
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{name} holds NaN or infinite values (the first "
                         f"in row {row})")
    return values


def finite_cast(name, values, dtype, offset=0):
    """``values`` cast to ``dtype``, if every entry is finite there.

    The check runs after the cast, so a float64 value that overflows
    float32 (1e300, say) is refused like NaN and infinity are, with a
    message saying so; ``offset`` is added to the row shown (for arrays
    checked a chunk at a time).  One ``numpy.isfinite`` pass; nothing more
    when all is well.
    """
    with np.errstate(over="ignore"):  # the overflow is reported below
        cast = np.asarray(values, dtype)
    ok = np.isfinite(cast)
    if ok.all():
        return cast
    row, col = (int(i) for i in np.argwhere(~ok)[0])
    original = np.asarray(values)[row, col] if np.ndim(values) == 2 else None
    where = f"row {offset + row}"
    if original is not None and np.isfinite(original):
        raise ValueError(
            f"{name} holds values that overflow {np.dtype(dtype).name} "
            f"(the first in {where}: {float(original):.6g}; "
            f"{np.dtype(dtype).name} reaches {float(np.finfo(dtype).max):.6g}): "
            f"rescale it, with sklearn.preprocessing.StandardScaler say")
    raise ValueError(f"{name} holds NaN or infinite values ({where})")


def unit_interval(name, values):
    """Check that a dataset's array lies in [0, 1] (cross-entropy targets)."""
    finite(name, values)
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError(
            f"{name} must lie in [0, 1] for the cross-entropy reconstruction "
            f"cost, got values in [{values.min()}, {values.max()}]: rescale "
            f"it, or train a dA with loss='squared_error'")


def labels(name, values, n_classes, n_examples):
    """Check labels: one per example, class numbers in [0, n_classes).

    Any integer dtype is accepted, and floats holding whole numbers (the
    tutorial stores its labels as floatX for the GPU).
    """
    if values.ndim != 1 or len(values) != n_examples:
        raise ValueError(f"{name} must hold one label per example "
                         f"({n_examples}), got shape {values.shape}")
    if values.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold integer class numbers, got "
                         f"dtype {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= n_classes
                        or (values.dtype.kind == "f"
                            and (values != np.round(values)).any())):
        raise ValueError(f"{name} must hold class numbers in [0, "
                         f"{n_classes}), got values in [{values.min()}, "
                         f"{values.max()}]")


def sequence(name, value, what="values"):
    """``value`` as a tuple, if it is a list, tuple or 1-d array (not a str)."""
    if isinstance(value, (str, bytes)) or not isinstance(
            value, (list, tuple, np.ndarray)) or np.ndim(value) != 1:
        raise ValueError(f"{name} must be a sequence (list or tuple) of "
                         f"{what}, got {value!r}")
    return tuple(value)


def callable_or_none(name, value):
    """``value``, if it is callable or None."""
    if value is not None and not callable(value):
        raise ValueError(f"{name} must be a callable such as "
                         f"pytensor.tensor.tanh, or None, got {value!r}")
    return value


def symbolic_matrix(name, value, width):
    """Check a symbolic input: a TensorVariable matrix of ``width`` columns."""
    if not hasattr(value, "type") or not hasattr(value, "ndim"):
        raise ValueError(f"{name} must be a symbolic matrix "
                         f"(pytensor.tensor.matrix), got {value!r}")
    symbolic_width(name, value, width)
    return value


def learning_rate(name, value, zero=False):
    """``value`` as a float, if it is a positive finite number (or zero, if
    ``zero``: a compiled step at rate 0 measures a cost without training);
    a symbolic scalar is passed through."""
    if hasattr(value, "type"):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = None
    if v is None or isinstance(value, bool) or not (
            np.isfinite(v) and (v > 0 or (zero and v == 0))):
        allowed = "a non-negative" if zero else "a positive"
        raise ValueError(f"{name} must be {allowed} number, got {value!r}")
    return v


def parameter(name, value, shape, dtype):
    """An existing parameter given to a layer.

    A shared variable of ``shape`` is used as it is (so it is shared: this
    is how the SdA ties its dA and sigmoid layers); an array of ``shape``
    is copied into a new shared variable of ``dtype``.
    """
    if isinstance(value, pytensor.compile.SharedVariable):
        got = np.shape(value.get_value(borrow=True))
    elif isinstance(value, np.ndarray):
        got = value.shape
    else:
        raise ValueError(f"{name} must be a shared variable (to share it) or "
                         f"an array of shape {shape}, got {value!r}")
    if tuple(got) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got "
                         f"{tuple(got)}")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or not np.isfinite(value).all():
            raise ValueError(f"{name} must hold finite numbers")
        return pytensor.shared(value.astype(dtype), name=name, borrow=True)
    return value
