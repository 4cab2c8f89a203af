"""Random numbers: seeding the NumPy side and the symbolic (PyTensor) side.

The tutorial draws its corruption masks from ``theano.tensor.shared_randomstreams
.RandomStreams``: each draw owns a random state that advances after every
call of a compiled function that uses it, without the caller listing an
update.  PyTensor 3 deprecates its ``RandomStream`` in favour of explicit
``shared_rng`` states, so :class:`RandomStreams` here rebuilds the tutorial's
behaviour on the new primitive.
"""

import numbers

import numpy as np
from pytensor.tensor.random.variable import shared_rng

from .._checks import is_integer
from .._compat import UniformBernoulliRV, set_default_update

__all__ = ["RandomStreams", "as_numpy_rng", "draw_seed"]

# Bernoulli draws through one Generator.random call (see sda._compat)
_bernoulli = UniformBernoulliRV()


def as_numpy_rng(numpy_rng, name="numpy_rng"):
    """Accept what the tutorial passes (``RandomState``), a ``Generator`` or a seed."""
    if isinstance(numpy_rng, (np.random.RandomState, np.random.Generator)):
        return numpy_rng
    if is_integer(numpy_rng):
        return np.random.RandomState(int(numpy_rng))
    raise ValueError(f"{name} must be a numpy.random.RandomState, a "
                     f"numpy.random.Generator or an integer seed, "
                     f"got {numpy_rng!r}")


def draw_seed(numpy_rng):
    """One seed in [0, 2**30) from either kind of NumPy generator.

    ``RandomState.randint(2 ** 30)`` is what the tutorial calls, so a
    ``RandomState`` advances exactly as it did there.
    """
    if isinstance(numpy_rng, np.random.RandomState):
        return int(numpy_rng.randint(2 ** 30))
    return int(numpy_rng.integers(2 ** 30))


class RandomStreams:
    """Symbolic random draws whose state advances on every call.

    Each draw gets its own shared ``numpy.random.Generator`` state, seeded
    from this object's seed sequence in the order the draws are made, so the
    same seed and the same construction order give the same numbers.

    Under JAX, a compiled function draws from its own copy of each state,
    taken when it is compiled (JAX takes no NumPy generator): its draws
    still change on every call and follow the seed, but :meth:`seed` after
    compiling does not reach it (compile again), the shared states do not
    advance, and the draws differ from the C and Numba backends' (JAX's own
    generator).

    Parameters
    ----------
    seed : int
        Seed of the whole stream.

    Examples
    --------
    >>> import pytensor, pytensor.tensor as pt
    >>> srng = RandomStreams(1234)
    >>> mask = srng.binomial(size=(2, 3), n=1, p=0.5)
    >>> f = pytensor.function([], mask)
    >>> bool((f() != f()).any() or (f() != f()).any())
    True
    """

    def __init__(self, seed):
        if not is_integer(seed):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self.seed_value = int(seed)
        self.state_updates = []
        self._seeds = np.random.SeedSequence(self.seed_value)

    def _new_state(self):
        child = self._seeds.spawn(1)[0]
        return shared_rng(np.random.default_rng(child))

    def binomial(self, size, n=1, p=0.5):
        """Draw ``Binomial(n, p)`` integers of shape ``size`` (int64).

        PyTensor refuses a float ``dtype`` for binomial draws; cast the
        result (``pytensor.tensor.cast(mask, floatX)``) where floats are
        needed.  ``n=1`` (a masking-noise mask) is drawn by comparing
        uniforms with ``p``, several times faster than NumPy's binomial.
        """
        rng = self._new_state()
        if isinstance(n, numbers.Integral) and n == 1:
            next_rng, draw = _bernoulli(p, size=size, rng=rng,
                                        return_next_rng=True)
        else:
            next_rng, draw = rng.binomial(n=n, p=p, size=size)
        return self._advancing(rng, next_rng, draw)

    def normal(self, size, avg=0.0, std=1.0, dtype=None):
        """Draw normal numbers of shape ``size``, of ``dtype`` (default:
        ``config.floatX``)."""
        rng = self._new_state()
        kwargs = {} if dtype is None else {"dtype": dtype}
        next_rng, draw = rng.normal(avg, std, size=size, **kwargs)
        return self._advancing(rng, next_rng, draw)

    def _advancing(self, rng, next_rng, draw):
        # The tutorial relies on the state advancing by itself; an explicit
        # entry in ``updates`` overrides it.
        set_default_update(rng, next_rng)
        self.state_updates.append((rng, next_rng))
        return draw

    def seed(self, seed):
        """Reseed every state drawn so far, as a fresh object with ``seed`` would.

        Functions compiled for JAX before the call keep their own states.
        """
        fresh = np.random.SeedSequence(int(seed))
        for rng, _ in self.state_updates:
            rng.set_value(np.random.default_rng(fresh.spawn(1)[0]),
                          borrow=True)
        self.seed_value = int(seed)
        self._seeds = fresh
