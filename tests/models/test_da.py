"""The denoising autoencoder: parameters, corruption, forward pass, cost, gradient."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

import sda
from helpers import sigmoid


def make_dA(n_visible=12, n_hidden=7, seed=0, **kwargs):
    return sda.dA(numpy_rng=np.random.RandomState(seed), theano_rng=seed + 1,
                  n_visible=n_visible, n_hidden=n_hidden, **kwargs)


def test_parameters_follow_the_tutorial(floatX):
    da = make_dA()
    W = da.W.get_value()
    bound = 4 * np.sqrt(6.0 / (12 + 7))
    assert W.shape == (12, 7) and W.dtype == floatX
    assert bound * 0.8 < np.abs(W).max() <= bound
    assert da.b.get_value().shape == (7,) and not da.b.get_value().any()
    assert da.b_prime.get_value().shape == (12,)
    assert not da.b_prime.get_value().any()
    assert da.params == [da.W, da.b, da.b_prime]
    assert da.n_visible == 12 and da.n_hidden == 7
    assert da.x.type.dtype == floatX and da.x.ndim == 2
    np.testing.assert_array_equal(da.W_prime.eval(), W.T)


def test_tutorial_seed_order_gives_the_tutorial_weights(float64):
    # the tutorial draws the stream seed first, then W, from one RandomState
    rs = np.random.RandomState(123)
    rs.randint(2 ** 30)
    bound = 4 * np.sqrt(6.0 / (784 + 500))
    expected = rs.uniform(-bound, bound, size=(784, 500))
    da = sda.dA(numpy_rng=np.random.RandomState(123))
    np.testing.assert_array_equal(da.W.get_value(), expected)


def test_given_shared_variables_are_shared_not_copied():
    first = make_dA()
    second = sda.dA(np.random.RandomState(5), n_visible=12, n_hidden=7,
                    W=first.W, bhid=first.b, bvis=first.b_prime)
    assert second.W is first.W
    assert second.b is first.b and second.b_prime is first.b_prime


def test_corruption_keeps_entries_with_probability_one_minus_level(floatX):
    da = make_dA()
    x = pt.matrix("x")
    corrupt = pytensor.function([x], da.get_corrupted_input(x, 0.3))
    ones = np.ones((200, 50), dtype=floatX)
    first, second = corrupt(ones), corrupt(ones)
    assert first.dtype == floatX
    assert set(np.unique(first)) <= {0.0, 1.0}
    assert abs(first.mean() - 0.7) < 0.02 and abs(second.mean() - 0.7) < 0.02
    # a new mask on every call, without the caller adding updates
    assert (first != second).any()
    values = np.random.default_rng(0).random((4, 50)).astype(floatX)
    kept = corrupt(values)
    assert np.all((kept == values) | (kept == 0))


def test_corruption_level_zero_is_the_identity():
    da = make_dA()
    x = pt.matrix("x")
    values = np.random.default_rng(1).random((3, 12)).astype(
        pytensor.config.floatX)
    out = pytensor.function([x], da.get_corrupted_input(x, 0.0))(values)
    np.testing.assert_array_equal(out, values)


def test_hidden_and_reconstruction_match_numpy(floatX):
    da = make_dA()
    da.b.set_value(np.linspace(-1, 1, 7).astype(floatX))
    da.b_prime.set_value(np.linspace(1, -1, 12).astype(floatX))
    x = pt.matrix("x")
    f = pytensor.function([x], [da.get_hidden_values(x),
                                da.get_reconstructed_input(
                                    da.get_hidden_values(x))])
    xv = np.random.default_rng(2).random((5, 12)).astype(floatX)
    h, z = f(xv)
    W, b, bp = (p.get_value().astype(float) for p in da.params)
    h_ref = sigmoid(xv @ W + b)
    np.testing.assert_allclose(h, h_ref, rtol=1e-5)
    np.testing.assert_allclose(z, sigmoid(h_ref @ W.T + bp), rtol=1e-5)
    assert h.dtype == z.dtype == floatX


def numpy_step(W, b, bp, x, lr):
    """The tutorial's dA step without corruption, in plain NumPy."""
    h = sigmoid(x @ W + b)
    z = sigmoid(h @ W.T + bp)
    cost = -np.mean(np.sum(x * np.log(z) + (1 - x) * np.log(1 - z), axis=1))
    dz = (z - x) / len(x)
    dh = dz @ W * h * (1 - h)
    gW = x.T @ dh + dz.T @ h
    return cost, W - lr * gW, b - lr * dh.sum(0), bp - lr * dz.sum(0)


def test_cost_and_sgd_updates_match_numpy(floatX):
    da = make_dA()
    xv = np.random.default_rng(3).random((6, 12)).astype(floatX)
    cost, updates = da.get_cost_updates(corruption_level=0.0,
                                        learning_rate=0.5)
    assert [p for p, _ in updates] == da.params
    expected = numpy_step(*(p.get_value().astype(float) for p in da.params),
                          xv.astype(float), 0.5)
    step = pytensor.function([da.x], cost, updates=updates,
                             mode=sda.get_mode())
    got = step(xv)
    assert got.dtype == floatX
    tol = 1e-4 if floatX == "float32" else 1e-10
    np.testing.assert_allclose(got, expected[0], rtol=tol)
    for p, want in zip(da.params, expected[1:]):
        assert p.get_value().dtype == floatX
        np.testing.assert_allclose(p.get_value(), want, rtol=tol, atol=tol)


def test_cost_gradient_matches_finite_differences(float64):
    xv = np.random.default_rng(4).random((4, 5))
    da = make_dA(n_visible=5, n_hidden=3, input=pt.constant(xv))
    cost, _ = da.get_cost_updates(corruption_level=0.0, learning_rate=0.1)

    def f(W, b, bp):  # the dA's own expression, at the verifier's points
        return pytensor.graph.replace.clone_replace(cost, {da.W: W, da.b: b,
                                             da.b_prime: bp})

    rng = np.random.default_rng(5)
    verify_grad(f, [rng.normal(size=(5, 3)), rng.normal(size=3),
                    rng.normal(size=5)], rng=rng)


def test_squared_error_uses_an_affine_decoder(float64):
    da = make_dA(loss="squared_error")
    xv = np.random.default_rng(6).normal(size=(4, 12))
    cost, _ = da.get_cost_updates(0.0, 0.1)
    got = pytensor.function([da.x], cost)(xv)
    W = da.W.get_value()
    z = sigmoid(xv @ W) @ W.T
    np.testing.assert_allclose(got, np.mean(np.sum((xv - z) ** 2, axis=1)))


def test_cost_stays_finite_when_the_decoder_saturates(floatX):
    # pre-activations of +-50 and +-200: the naive log(sigmoid) gives nan/inf
    da = make_dA(n_visible=4, n_hidden=1)
    da.W.set_value(np.zeros((4, 1), dtype=floatX))
    da.b_prime.set_value(np.array([50, -50, 200, -200], dtype=floatX))
    cost, updates = da.get_cost_updates(0.0, 0.1)
    f = pytensor.function([da.x], [cost, *pytensor.grad(cost, da.params)],
                          mode=sda.get_mode())
    out = f(np.array([[0, 1, 0, 1]], dtype=floatX))
    assert out[0] == pytest.approx(500.0)
    assert all(np.isfinite(v).all() for v in out)
    # gradient of the visible bias is z - x
    np.testing.assert_allclose(out[3], [1, -1, 1, -1])


def test_cost_is_finite_with_large_weights_in_float32():
    with pytensor.config.change_flags(floatX="float32"):
        da = make_dA(n_visible=20, n_hidden=10)
        da.W.set_value(da.W.get_value() * 40)  # |W| up to ~40
        cost, _ = da.get_cost_updates(0.2, 0.1)
        xv = np.random.default_rng(7).random((8, 20)).astype("float32")
        assert np.isfinite(pytensor.function([da.x], cost)(xv))


@pytest.mark.parametrize("kwargs, message", [
    ({"n_visible": 0}, "n_visible must be a positive integer, got 0"),
    ({"n_hidden": -1}, "n_hidden must be a positive integer, got -1"),
    ({"loss": "hinge"}, "loss must be one of"),
    ({"numpy_rng": "seed"}, "numpy_rng must be a numpy.random.RandomState"),
    ({"theano_rng": 1.5}, "theano_rng must be None, an integer seed"),
    ({"input": pt.tensor("x", shape=(None, 3))},
     "input must have 784 columns, got a matrix with 3"),
])
def test_bad_arguments_are_refused(kwargs, message):
    args = {"numpy_rng": np.random.RandomState(0), **kwargs}
    with pytest.raises(ValueError, match=message):
        sda.dA(**args)


@pytest.mark.parametrize("level", [1.0, 1.5, -0.1, float("nan"), "high"])
def test_bad_corruption_level_is_refused(level):
    da = make_dA()
    with pytest.raises(ValueError, match=r"corruption_level must be .*"
                                         r"\[0, 1\), got"):
        da.get_corrupted_input(da.x, level)
