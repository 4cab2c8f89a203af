r"""Corruption processes of the denoising autoencoder (Vincent et al., 2010, §4.1).

Each noise is a small object with one method, :meth:`Noise.corrupt`, that
turns a symbolic input :math:`x` into :math:`\tilde{x}` and says which
components it changed (for the emphasised loss).  A :class:`sda.dA` is given
one by name or as an object, so a new kind of noise needs a subclass and,
to be named by a string, :func:`register`; ``dA`` itself does not change.
Model files and pickled estimators store a noise by its name and
attributes (``vars(noise)``), so a registered noise can be saved too.

``corruption_level`` means the fraction :math:`\nu` of components corrupted
for masking and salt-and-pepper noise, and the standard deviation
:math:`\sigma` for Gaussian noise.
"""

import pytensor.tensor as pt

from .._checks import probability

__all__ = ["Noise", "MaskingNoise", "GaussianNoise", "SaltAndPepperNoise",
           "NOISES", "register", "as_noise", "noise_record", "from_record"]


class Noise:
    """A corruption process ``x -> x~``.

    Subclasses set :attr:`name` and implement :meth:`corrupt`.
    """

    #: The name :func:`as_noise` knows it by.
    name = None
    #: True if it corrupts every component (then no emphasis is possible).
    corrupts_all = False

    def corrupt(self, rng, x, level):
        """The corrupted input and the mask of the corrupted components.

        Parameters
        ----------
        rng : sda.RandomStreams
            Source of the random draws; a new draw on every call of the
            compiled function.
        x : TensorVariable
            The clean input (static dimensions are kept).
        level : scalar TensorVariable
            ``corruption_level``.

        Returns
        -------
        (tilde_x, corrupted)
            ``corrupted`` is a tensor of 0/1 of ``x``'s dtype (1 where the
            component was changed), or None when every component is.
            Both keep ``x``'s dtype, whatever ``config.floatX`` is.
        """
        raise NotImplementedError

    def check_level(self, name, value):
        """``value`` as a float, if it is a valid ``corruption_level``."""
        return probability(name, value)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self), tuple(sorted(vars(self).items()))))

    @staticmethod
    def _size(x):
        # static dimensions stay static (a single-example row keeps its
        # (1, n) shape, which PyTensor computes with GEMV and GER)
        return tuple(x.shape[i] if d is None else d
                     for i, d in enumerate(x.type.shape))


class MaskingNoise(Noise):
    r"""Masking noise: each component set to 0 with probability :math:`\nu`.

    .. math:: \tilde{x} = x \odot m, \quad m_k \sim \mathrm{Bernoulli}(1 - \nu)

    The tutorial's corruption, and the default.
    """

    name = "masking"

    def corrupt(self, rng, x, level):
        keep = pt.cast(rng.binomial(size=self._size(x), n=1, p=1 - level),
                       x.dtype)
        return keep * x, 1 - keep


class GaussianNoise(Noise):
    r"""Additive isotropic Gaussian noise of standard deviation :math:`\sigma`.

    .. math:: \tilde{x} = x + \epsilon, \quad \epsilon_k \sim \mathcal{N}(0, \sigma^2)

    For real-valued inputs, with the squared-error loss.
    """

    name = "gaussian"
    corrupts_all = True

    def check_level(self, name, value):
        """A standard deviation: a finite number >= 0."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = None
        if v is None or isinstance(value, bool) or not 0 <= v < float("inf"):
            raise ValueError(f"{name} must be a standard deviation >= 0 for "
                             f"Gaussian noise, got {value!r}")
        return v

    def corrupt(self, rng, x, level):
        eps = rng.normal(size=self._size(x), dtype=x.dtype)
        return x + level * eps, None


class SaltAndPepperNoise(Noise):
    r"""Salt-and-pepper noise: a fraction :math:`\nu` of the components set to
    the minimum or the maximum of the input range, with equal probability.

    Parameters
    ----------
    low, high : float
        The input range (0 and 1 for inputs in [0, 1]).
    """

    name = "salt_and_pepper"

    def __init__(self, low=0.0, high=1.0):
        low, high = float(low), float(high)
        if not low < high:
            raise ValueError(f"low must be below high, got low={low!r}, "
                             f"high={high!r}")
        self.low, self.high = low, high

    def __repr__(self):
        return f"SaltAndPepperNoise(low={self.low!r}, high={self.high!r})"

    def corrupt(self, rng, x, level):
        fx = x.dtype
        size = self._size(x)
        hit = pt.cast(rng.binomial(size=size, n=1, p=level), fx)
        salt = pt.cast(rng.binomial(size=size, n=1, p=0.5), fx)
        value = self.low + (self.high - self.low) * salt
        return x * (1 - hit) + hit * value, hit


#: The noises known by name.
NOISES = {}


def register(noise_class):
    """Make ``noise_class`` known to :func:`as_noise` by its ``name``."""
    if not (isinstance(noise_class, type) and issubclass(noise_class, Noise)
            and isinstance(noise_class.name, str)):
        raise ValueError(f"noise_class must be a Noise subclass with a name, "
                         f"got {noise_class!r}")
    NOISES[noise_class.name] = noise_class
    return noise_class


for _cls in (MaskingNoise, GaussianNoise, SaltAndPepperNoise):
    register(_cls)


def as_noise(noise, name="noise"):
    """A :class:`Noise` from a name in :data:`NOISES` or a Noise object."""
    if isinstance(noise, Noise):
        return noise
    if isinstance(noise, str) and noise in NOISES:
        return NOISES[noise]()
    raise ValueError(f"{name} must be one of {sorted(NOISES)} or an "
                     f"sda.noise.Noise, got {noise!r}")


def noise_record(noise):
    """A plain, JSON-ready record of ``noise``: its name and attributes."""
    return {"name": noise.name, **vars(noise)}


def from_record(record):
    """The noise of a :func:`noise_record` (KeyError, TypeError or
    ValueError if it names no registered noise or has wrong attributes)."""
    params = dict(record)
    return NOISES[params.pop("name")](**params)
