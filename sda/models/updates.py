"""Update rules: what the compiled training steps write back to the parameters.

Each rule takes ``(cost, params, learning_rate)`` and returns the list of
``(shared variable, new value)`` pairs of one step, ready for
``pytensor.function(..., updates=...)``: first the parameters, in the order
of ``params``, then the rule's own state (velocities, moment estimates,
step count), which it keeps in shared variables it creates.  A training
step built with a rule therefore carries that state from call to call;
:func:`state_of` picks it out of the updates (a checkpoint saves it).

* :func:`sgd`: the tutorial's plain stochastic gradient descent;
* :func:`momentum`: heavy-ball or Nesterov momentum;
* :func:`adam`: Adam (Kingma and Ba, 2015), scikit-learn's ``MLPClassifier``
  solver.

A rule is named by a string of :data:`RULES` wherever the library takes one
(``update_rule="adam"``), or given as a function with the same signature;
:func:`get_rule` turns either into the function.
"""

import functools

import numpy as np
import pytensor
import pytensor.tensor as pt

# the builders save a step's state in checkpoints, below this module
from ..builders.steps import state_of

__all__ = ["sgd", "momentum", "adam", "RULES", "get_rule", "fused_for",
           "state_of"]


def _rate(learning_rate, dtype):
    """A Python number cast to ``dtype``, so that float32 graphs stay
    float32; a symbolic rate as it is."""
    if hasattr(learning_rate, "type"):
        return pt.cast(learning_rate, dtype)
    return np.asarray(learning_rate, dtype=dtype)


def _zeros_like(p, suffix):
    value = p.get_value(borrow=True)
    return pytensor.shared(np.zeros(value.shape, dtype=value.dtype),
                           name=f"{p.name}_{suffix}")


def sgd(cost, params, learning_rate):
    """Plain stochastic gradient descent, ``p <- p - learning_rate * dcost/dp``.

    Parameters
    ----------
    cost : scalar TensorVariable
    params : list of shared variables
    learning_rate : float or scalar TensorVariable
        A Python number is cast to each parameter's dtype, so that float32
        graphs stay float32.

    Returns
    -------
    list of (shared variable, new value) pairs, in the order of ``params``;
    SGD keeps no state.
    """
    grads = pytensor.grad(cost, params)
    return [(p, p - _rate(learning_rate, p.dtype) * g)
            for p, g in zip(params, grads)]


def momentum(cost, params, learning_rate, momentum=0.9, nesterov=False):
    """SGD with momentum: a velocity per parameter, initially zero,

    .. math::

        v \\leftarrow \\mu v - \\eta \\nabla_p C, \\qquad
        p \\leftarrow p + v

    or, with ``nesterov=True``, :math:`p \\leftarrow p + \\mu v - \\eta
    \\nabla_p C` (the gradient taken at the looked-ahead point, in the form
    of Sutskever et al., 2013, that needs no second gradient).

    Parameters
    ----------
    cost, params, learning_rate
        As for :func:`sgd`.
    momentum : float in [0, 1)
        :math:`\\mu`; 0 is plain SGD (with a useless velocity).
    nesterov : bool

    Returns
    -------
    list of (shared variable, new value) pairs: the parameters, then their
    velocities (named ``<param>_velocity``).
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    grads = pytensor.grad(cost, params)
    steps, state = [], []
    for p, g in zip(params, grads):
        v = _zeros_like(p, "velocity")
        mu = np.asarray(momentum, dtype=p.dtype)
        new_v = mu * v - _rate(learning_rate, p.dtype) * g
        step = (mu * new_v - _rate(learning_rate, p.dtype) * g
                if nesterov else new_v)
        steps.append((p, p + step))
        state.append((v, new_v))
    return steps + state


def adam(cost, params, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam (Kingma and Ba, 2015): steps scaled by running moment estimates.

    With the step count :math:`t` (from 1), the gradient :math:`g` and
    both moments initially zero,

    .. math::

        m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2, \\quad
        p \\leftarrow p - \\eta \\frac{\\sqrt{1 - \\beta_2^t}}
        {1 - \\beta_1^t} \\frac{m}{\\sqrt{v} + \\epsilon}

    (the paper's bias correction folded into the rate, as scikit-learn's
    ``MLPClassifier`` computes it).  ``learning_rate`` is :math:`\\eta`, the
    largest step a component takes; 0.001 is the paper's and scikit-learn's
    default.

    Returns
    -------
    list of (shared variable, new value) pairs: the parameters, then the
    step count (``adam_t``) and each parameter's moments (``<param>_m``,
    ``<param>_v``).
    """
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0 <= beta < 1:
            raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon!r}")
    grads = pytensor.grad(cost, params)
    dtype = params[0].dtype
    t = pytensor.shared(np.asarray(0, dtype=dtype), name="adam_t")
    t_new = t + np.asarray(1, dtype=dtype)
    b1, b2 = np.asarray(beta1, dtype=dtype), np.asarray(beta2, dtype=dtype)
    one = np.asarray(1, dtype=dtype)
    rate = (_rate(learning_rate, dtype) * pt.sqrt(one - b2 ** t_new)
            / (one - b1 ** t_new))
    steps, state = [], [(t, t_new)]
    for p, g in zip(params, grads):
        m, v = _zeros_like(p, "m"), _zeros_like(p, "v")
        new_m = b1 * m + (one - b1) * g
        new_v = b2 * v + (one - b2) * pt.sqr(g)
        eps = np.asarray(epsilon, dtype=p.dtype)
        steps.append((p, p - pt.cast(rate, p.dtype) * new_m
                      / (pt.sqrt(new_v) + eps)))
        state += [(m, new_m), (v, new_v)]
    return steps + state


#: The rules by name, as ``update_rule`` takes them.
RULES = {"sgd": sgd, "momentum": momentum, "nesterov": functools.partial(
    momentum, nesterov=True), "adam": adam}


def get_rule(update_rule):
    """The rule function of ``update_rule``: a name of :data:`RULES`, a
    callable ``(cost, params, learning_rate) -> updates``, or None (SGD)."""
    if update_rule is None:
        return sgd
    if callable(update_rule):
        return update_rule
    if isinstance(update_rule, str) and update_rule in RULES:
        return RULES[update_rule]
    raise ValueError(f"update_rule must be one of {', '.join(RULES)} or a "
                     f"function (cost, params, learning_rate) -> updates, "
                     f"got {update_rule!r}")


def fused_for(update_rule, fused):
    """``fused`` as the builders take it, given the rule: the fused C steps
    compute plain SGD, so another rule compiles the gradient graph (None,
    the backend's choice, becomes False; True is refused)."""
    if get_rule(update_rule) is sgd:
        return fused
    if fused:
        raise ValueError(f"fused steps are plain SGD: use fused=None or "
                         f"False with update_rule={update_rule!r}")
    return False

