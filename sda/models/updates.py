"""Update rules: what the compiled training steps write back to the parameters."""

import numpy as np
import pytensor

__all__ = ["sgd"]


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
    list of (shared variable, new value) pairs, in the order of ``params``,
    ready for ``pytensor.function(..., updates=...)``.
    """
    grads = pytensor.grad(cost, params)
    if hasattr(learning_rate, "type"):
        return [(p, p - learning_rate * g) for p, g in zip(params, grads)]
    return [(p, p - np.asarray(learning_rate, dtype=p.dtype) * g)
            for p, g in zip(params, grads)]
