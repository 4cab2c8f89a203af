"""Search spaces: each swept parameter and the list of its values.

Optuna stores a categorical choice as a primitive; lists (a layer layout)
are stored as their JSON text and decoded against the space.
"""

import itertools
import json
import numbers

from optuna.distributions import CategoricalDistribution

__all__ = ["check_space", "grid_points", "distributions", "encode",
           "decode", "key", "label"]


def primitive(value):
    """True for what Optuna stores as it is: None, bools, numbers, text."""
    return value is None or isinstance(value, (bool, numbers.Real, str))


def check_space(space):
    """``space`` as a dict of lists, if each name maps to a non-empty list."""
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
    return {name: list(values) for name, values in space.items()}


def encode(value):
    """A choice as Optuna stores it: primitives as they are, lists as JSON."""
    return value if primitive(value) else json.dumps(value)


def decode(value, choices):
    """The choice among ``choices`` that Optuna stored as ``value``."""
    for choice in choices:
        if encode(choice) == value:
            return choice
    raise ValueError(f"{value!r} is not among {choices!r}")


def distributions(space):
    """Optuna's distribution of each parameter: its values, encoded."""
    return {name: CategoricalDistribution([encode(v) for v in values])
            for name, values in space.items()}


def grid_points(space):
    """Every combination of the space's values, as parameter dicts."""
    space = check_space(space)
    names = list(space)
    return [dict(zip(names, combo))
            for combo in itertools.product(*(space[n] for n in names))]


def key(params, space):
    """What identifies a point of ``space``: its encoded values, in order."""
    return tuple(json.dumps(encode(params.get(n))) for n in space)


def label(value):
    """A choice as text, for tables and plots."""
    return str(value) if primitive(value) else json.dumps(value)
