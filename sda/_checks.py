"""Argument checks shared by the public constructors and builders.

Each raises ``ValueError`` naming the argument, the value it got and what is
allowed, so that a mistake is found where it is made, not deep inside a
compiled graph.
"""

import numbers

import numpy as np


def positive_int(name, value):
    """``value`` as an int, if it is an integer >= 1."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or value < 1):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


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
