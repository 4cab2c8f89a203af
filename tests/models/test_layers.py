"""HiddenLayer and LogisticRegression: initialisation, forward pass, NLL, errors."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

import sda
from helpers import sigmoid


def test_hidden_layer_init_range_and_forward(floatX):
    x = pt.matrix("x")
    tanh = sda.HiddenLayer(np.random.RandomState(1), x, 30, 20)
    sig = sda.HiddenLayer(np.random.RandomState(1), x, 30, 20,
                          activation=pt.sigmoid)
    bound = np.sqrt(6.0 / 50)
    W = tanh.W.get_value()
    assert W.dtype == floatX and W.shape == (30, 20)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.9 * bound
    # same draws, four times wider for sigmoid units
    np.testing.assert_allclose(sig.W.get_value(), 4 * W, rtol=1e-6)
    assert not tanh.b.get_value().any()
    assert tanh.params == [tanh.W, tanh.b]

    sig.b.set_value(np.linspace(-1, 1, 20).astype(floatX))
    xv = np.random.default_rng(0).random((5, 30)).astype(floatX)
    out = pytensor.function([x], sig.output)(xv)
    assert out.dtype == floatX
    expected = sigmoid(xv.astype(float) @ sig.W.get_value().astype(float)
                       + sig.b.get_value())
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_hidden_layer_shares_given_parameters():
    x = pt.matrix("x")
    first = sda.HiddenLayer(np.random.RandomState(1), x, 4, 3)
    second = sda.HiddenLayer(None, x, 4, 3, W=first.W, b=first.b)
    assert second.W is first.W and second.b is first.b


def test_hidden_layer_linear_when_activation_is_none(float64):
    x = pt.matrix("x")
    layer = sda.HiddenLayer(np.random.RandomState(2), x, 3, 2,
                            activation=None)
    xv = np.ones((1, 3))
    out = pytensor.function([x], layer.output)(xv)
    np.testing.assert_allclose(out, xv @ layer.W.get_value())


def test_logistic_regression_forward_nll_and_errors(floatX):
    x, y = pt.matrix("x"), pt.ivector("y")
    clf = sda.LogisticRegression(x, n_in=6, n_out=4)
    assert not clf.W.get_value().any() and clf.W.get_value().dtype == floatX
    rng = np.random.default_rng(3)
    W = rng.normal(size=(6, 4)).astype(floatX)
    b = rng.normal(size=4).astype(floatX)
    clf.W.set_value(W)
    clf.b.set_value(b)
    xv = rng.normal(size=(7, 6)).astype(floatX)
    yv = rng.integers(0, 4, 7).astype("int32")
    f = pytensor.function([x, y], [clf.p_y_given_x, clf.y_pred,
                                   clf.negative_log_likelihood(y),
                                   clf.errors(y)])
    p, pred, nll, err = f(xv, yv)
    a = xv.astype(float) @ W + b
    p_ref = np.exp(a - a.max(1, keepdims=True))
    p_ref /= p_ref.sum(1, keepdims=True)
    np.testing.assert_allclose(p, p_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)  # row-wise
    np.testing.assert_array_equal(pred, p_ref.argmax(1))
    np.testing.assert_allclose(nll, -np.log(p_ref[np.arange(7), yv]).mean(),
                               rtol=1e-4)
    assert err == pytest.approx(np.mean(p_ref.argmax(1) != yv))
    assert nll.dtype == floatX


def test_nll_stays_finite_when_softmax_saturates(floatX):
    x, y = pt.matrix("x"), pt.ivector("y")
    clf = sda.LogisticRegression(x, n_in=3, n_out=3)
    clf.W.set_value(np.eye(3, dtype=floatX))
    cost = clf.negative_log_likelihood(y)
    f = pytensor.function([x, y], [cost, *pytensor.grad(cost, clf.params)],
                          mode=sda.get_mode())
    xv = np.array([[200, -200, 0], [-50, 50, 0]], dtype=floatX)
    values = f(xv, np.array([1, 0], dtype="int32"))
    assert values[0] == pytest.approx(250.0)
    assert all(np.isfinite(v).all() for v in values)


def test_nll_gradient_matches_finite_differences(float64):
    rng = np.random.default_rng(4)
    clf = sda.LogisticRegression(pt.constant(rng.normal(size=(5, 6))), 6, 3)
    cost = clf.negative_log_likelihood(
        pt.constant(np.array([0, 1, 2, 1, 0], dtype="int32")))

    def nll(W, b):  # the layer's own expression, at the verifier's points
        return pytensor.graph.replace.clone_replace(cost, {clf.W: W, clf.b: b})

    verify_grad(nll, [rng.normal(size=(6, 3)), rng.normal(size=3)], rng=rng)


@pytest.mark.parametrize("y, problem", [
    (pt.imatrix("y"), "ndim 2"),
    (pt.dvector("y"), "dtype float64"),
])
def test_labels_of_the_wrong_kind_are_refused(y, problem):
    clf = sda.LogisticRegression(pt.matrix("x"), 3, 2)
    for method in (clf.errors, clf.negative_log_likelihood):
        with pytest.raises(TypeError, match=f"y must .*{problem}"):
            method(y)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_in": 0}, "n_in must be a positive integer, got 0"),
    ({"n_out": -3}, "n_out must be a positive integer, got -3"),
    ({"n_in": 2.5}, "n_in must be a positive integer, got 2.5"),
])
def test_bad_sizes_are_refused(kwargs, message):
    args = {"n_in": 3, "n_out": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        sda.LogisticRegression(pt.matrix("x"), **args)
    with pytest.raises(ValueError, match=message):
        sda.HiddenLayer(np.random.RandomState(0), pt.matrix("x"), **args)


def test_input_of_the_wrong_width_is_refused():
    x = pt.tensor("x", shape=(None, 5))
    with pytest.raises(ValueError, match="input must have 3 columns, got a "
                                         "matrix with 5"):
        sda.HiddenLayer(np.random.RandomState(0), x, 3, 2)
    with pytest.raises(ValueError, match="input must be a matrix"):
        sda.LogisticRegression(pt.vector("x"), 3, 2)
