"""Random streams: masks advance on every call, follow the seed, and reseed exactly."""

import numpy as np
import pytensor
import pytest

from sda.models.random import RandomStreams, as_numpy_rng, draw_seed


def masks(srng, n_draws=2, shape=(4, 50), p=0.3):
    """A compiled function of ``n_draws`` masks from ``srng``."""
    draws = [srng.binomial(size=shape, n=1, p=p) for _ in range(n_draws)]
    return pytensor.function([], draws)


def test_each_call_draws_new_masks_and_draws_differ():
    f = masks(RandomStreams(7))
    a1, b1 = f()
    a2, b2 = f()
    assert (a1 != a2).any() and (b1 != b2).any()
    assert (a1 != b1).any()  # two draws, two states
    assert set(np.unique(a1)) <= {0, 1}


def test_the_same_seed_and_order_give_the_same_masks():
    first, second = masks(RandomStreams(7)), masks(RandomStreams(7))
    for _ in range(3):
        for a, b in zip(first(), second()):
            np.testing.assert_array_equal(a, b)
    other = masks(RandomStreams(8))()
    assert any((a != b).any() for a, b in zip(other, masks(RandomStreams(7))()))


def test_seed_resets_every_state_as_a_fresh_stream_would():
    srng = RandomStreams(1)
    f = masks(srng)
    f(), f()  # advance
    srng.seed(7)
    fresh = masks(RandomStreams(7))
    for _ in range(2):
        for a, b in zip(f(), fresh()):
            np.testing.assert_array_equal(a, b)
    assert srng.seed_value == 7


def test_keep_probability_is_one_minus_p_on_large_samples():
    f = pytensor.function([], RandomStreams(3).binomial(size=(1000, 1000),
                                                        n=1, p=0.25))
    assert f().mean() == pytest.approx(0.25, abs=0.003)


def test_binomial_with_more_trials():
    f = pytensor.function([], RandomStreams(3).binomial(size=(20000,), n=4,
                                                        p=0.5))
    draws = f()
    assert draws.min() >= 0 and draws.max() <= 4
    assert draws.mean() == pytest.approx(2.0, abs=0.05)


def test_numpy_generators_and_seeds():
    rs = np.random.RandomState(123)
    assert draw_seed(np.random.RandomState(123)) == rs.randint(2 ** 30)
    assert isinstance(as_numpy_rng(5), np.random.RandomState)
    g = np.random.default_rng(0)
    assert as_numpy_rng(g) is g
    assert 0 <= draw_seed(g) < 2 ** 30
    with pytest.raises(ValueError, match="numpy_rng must be a numpy.random"):
        as_numpy_rng(True)
    with pytest.raises(ValueError, match="seed must be an integer, got 1.5"):
        RandomStreams(1.5)
