"""Search spaces: each swept parameter and the list of its values.

Optuna stores a categorical choice as a primitive; lists (a layer layout)
are stored as their JSON text and decoded against the space.  So are the
numbers of a parameter whose values compare equal across types (``[1, 1.0,
True]``: Optuna would store all three as ``1``), so that each stays itself.
"""

import itertools
import json
import math
import numbers

from optuna.distributions import CategoricalDistribution

__all__ = ["MAX_GRID", "check_space", "grid_size", "check_grid_size",
           "grid_points", "distributions", "encode", "decode", "key",
           "label"]

#: The most points a grid may have (its size is computed, never built
#: first); a larger space is sampled with ``sampler="random"`` or ``"tpe"``.
MAX_GRID = 100_000


def primitive(value):
    """True for what Optuna stores as it is: None, bools, numbers, text."""
    return value is None or isinstance(value, (bool, numbers.Real, str))


def _has_nan(value):
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (list, tuple)):
        return any(map(_has_nan, value))
    if isinstance(value, dict):
        return any(map(_has_nan, value.values()))
    return False


def check_space(space):
    """``space`` as a dict of lists, if each name maps to a non-empty list
    of distinct values without NaN."""
    if not isinstance(space, dict) or not space:
        raise ValueError(f"space must be a non-empty dict mapping each "
                         f"parameter to a list of values, got {space!r}")
    for name, values in space.items():
        if not isinstance(name, str):
            raise ValueError(f"space keys must be parameter names, got "
                             f"{name!r}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"space[{name!r}] must be a non-empty list of "
                             f"values, got {values!r}")
        if any(map(_has_nan, values)):
            # NaN equals nothing, not even itself: its trials could never
            # be matched to their point again
            raise ValueError(f"space[{name!r}] must not hold NaN, got "
                             f"{values!r}")
        try:
            encoded = [json.dumps(encode(v, values)) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"space[{name!r}] must hold numbers, text, "
                             f"booleans, None or lists of them, got "
                             f"{values!r}") from None
        if len(set(encoded)) < len(encoded):
            raise ValueError(f"space[{name!r}] must not hold a value twice, "
                             f"got {values!r}")
    return {name: list(values) for name, values in space.items()}


def _ambiguous(choices):
    """True if two of ``choices`` are different types that compare equal
    (1, 1.0, True: equal values have equal hashes)."""
    numbers_ = [c for c in choices if isinstance(c, numbers.Real)]
    return len(set(numbers_)) < len(numbers_)


def encode(value, choices=()):
    """A choice as Optuna stores it: primitives as they are, lists (and the
    numbers of an ambiguous parameter, see :func:`_ambiguous`) as JSON."""
    if primitive(value) and not (isinstance(value, numbers.Real)
                                 and _ambiguous(choices)):
        return value
    return json.dumps(value)


def decode(value, choices):
    """The choice among ``choices`` that Optuna stored as ``value``."""
    for choice in choices:
        stored = encode(choice, choices)
        # type too: 1 == 1.0 == True
        if type(stored) is type(value) and stored == value:
            return choice
    raise ValueError(f"{value!r} is not among {choices!r}")


def distributions(space):
    """Optuna's distribution of each parameter: its values, encoded."""
    return {name: CategoricalDistribution([encode(v, values)
                                           for v in values])
            for name, values in space.items()}


def grid_size(space):
    """How many points the grid of ``space`` has, without building it."""
    return math.prod(len(values) for values in check_space(space).values())


def check_grid_size(space, limit=MAX_GRID):
    """The number of points of the grid of ``space``, if at most ``limit``."""
    size = grid_size(space)
    if size > limit:
        raise ValueError(
            f"the grid of the space has {size} points ("
            f"{' x '.join(str(len(v)) for v in space.values())}), more "
            f"than sda.sweep.space.MAX_GRID = {limit}; sweep fewer values, "
            f"or draw n_trials of them with sampler 'random' or 'tpe'")
    return size


def grid_points(space, limit=MAX_GRID):
    """Every combination of the space's values, as parameter dicts (an
    iterator), if there are at most ``limit``."""
    check_grid_size(space, limit)
    names = list(space)
    return (dict(zip(names, combo))
            for combo in itertools.product(*(space[n] for n in names)))


def key(params, space):
    """What identifies a point of ``space``: its encoded values, in order
    (``params`` encoded already, as Optuna stores them)."""
    return tuple(json.dumps(params.get(n)) for n in space)


def label(value):
    """A choice as text, for tables and plots."""
    return str(value) if primitive(value) else json.dumps(value)
