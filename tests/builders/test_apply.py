"""Using a trained model on arrays: encode, predict_proba, predict, reconstruct, repr."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from helpers import sigmoid


def trained(floatX):
    rng = np.random.default_rng(1)
    x, y = rng.random((50, 9)), rng.integers(0, 4, 50)
    with pytensor.config.change_flags(floatX=floatX):
        m = sda.SdA(np.random.RandomState(3), n_ins=9,
                    hidden_layers_sizes=[6, 5], n_outs=4,
                    corruption_levels=[0.1, 0.1])
    sda.train.pretrain(m, x, epochs=1, batch_size=5, learning_rate=0.1)
    sda.train.finetune(m, [(x, y)] * 3, epochs=2, batch_size=5)
    return m, x


def numpy_forward(m, x):
    """Hidden codes and class probabilities, in float64 NumPy."""
    codes = []
    for layer in m.sigmoid_layers:
        x = sigmoid(x @ layer.W.get_value() + layer.b.get_value())
        codes.append(x)
    a = x @ m.logLayer.W.get_value() + m.logLayer.b.get_value()
    p = np.exp(a - a.max(axis=1, keepdims=True))
    return codes, p / p.sum(axis=1, keepdims=True)


def test_methods_match_numpy_with_the_models_dtype(floatX):
    m, x = trained(floatX)
    codes, proba = numpy_forward(m, x)
    tol = 1e-5 if floatX == "float32" else 1e-12
    for layer in (0, 1, -1, -2):
        got = m.encode(x, layer)
        assert got.dtype == floatX and got.shape == codes[layer].shape
        np.testing.assert_allclose(got, codes[layer], rtol=tol, atol=tol)
    p = m.predict_proba(x)
    assert p.dtype == floatX and p.shape == (50, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=tol)
    np.testing.assert_allclose(p, proba, rtol=tol, atol=tol)
    np.testing.assert_array_equal(m.predict(x), np.argmax(p, axis=1))


def test_reconstruct_goes_up_every_da_and_back_down(float64):
    m, x = trained("float64")
    codes, _ = numpy_forward(m, x)
    h = codes[-1]
    for auto in reversed(m.dA_layers):
        h = sigmoid(h @ auto.W.get_value().T + auto.b_prime.get_value())
    got = m.reconstruct(x)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, h, rtol=1e-12)


def test_float64_input_into_a_float32_model_in_small_chunks():
    m, x = trained("float32")
    whole = m.encode(x.astype("float32"))
    for chunk_rows in (1, 7, 50, 1000):
        got = m.encode(x, chunk_rows=chunk_rows)  # float64 in
        assert got.dtype == "float32"
        np.testing.assert_array_equal(got, whole)
        np.testing.assert_array_equal(m.predict(x, chunk_rows=chunk_rows),
                                      m.predict(x))
    assert m.predict(x[:0]).shape == (0,)
    assert m.predict_proba(x[:0]).shape == (0, 4)


def test_each_function_is_compiled_once_and_sees_new_weights(float64):
    m, x = trained("float64")
    first = m.predict_proba(x)
    m.predict_proba(x[:3])
    m.encode(x)
    m.encode(x, -1)  # the same layer as the last: no new function
    assert len(m._compiled) == 2
    m.logLayer.b.set_value(m.logLayer.b.get_value() + [50, 0, 0, 0])
    assert not np.allclose(m.predict_proba(x), first)
    np.testing.assert_array_equal(m.predict(x), 0)


def test_da_encode_and_reconstruct(floatX):
    rng = np.random.default_rng(0)
    with pytensor.config.change_flags(floatX=floatX):
        da = sda.dA(np.random.RandomState(2), n_visible=9, n_hidden=4)
    x = rng.random((30, 9))
    W, b, bp = (p.get_value().astype(float) for p in da.params)
    tol = 1e-5 if floatX == "float32" else 1e-12
    code = da.encode(x)
    assert code.dtype == floatX
    np.testing.assert_allclose(code, sigmoid(x @ W + b), rtol=tol)
    np.testing.assert_allclose(da.reconstruct(x, chunk_rows=4),
                               sigmoid(sigmoid(x @ W + b) @ W.T + bp),
                               rtol=tol)
    with pytensor.config.change_flags(floatX=floatX):
        linear = sda.dA(np.random.RandomState(2), n_visible=9, n_hidden=4,
                        loss="squared_error")
    # an affine output near 0 has no relative precision: absolute tolerance
    np.testing.assert_allclose(linear.reconstruct(x),
                               sigmoid(x @ W + b) @ W.T + bp, rtol=tol,
                               atol=tol)


@pytest.mark.parametrize("call, message", [
    (lambda m, x: m.predict(x[0]), r"X must be a matrix with 9 columns .* "
     r"X.reshape\(1, -1\)"),
    (lambda m, x: m.encode(x[:, :4]), "X must be a matrix with 9 columns"),
    (lambda m, x: m.encode(x, layer=2), r"layer must be an integer in "
     r"\[-2, 2\), got 2"),
    (lambda m, x: m.encode(x, layer=1.0), "layer must be an integer"),
    (lambda m, x: m.predict(np.array([["a"] * 9])), "X must be numeric"),
    (lambda m, x: m.reconstruct(x, chunk_rows=0),
     "chunk_rows must be a positive integer, got 0"),
])
def test_bad_arguments_are_named(call, message):
    m = sda.SdA(np.random.RandomState(3), n_ins=9, hidden_layers_sizes=[6, 5],
                n_outs=4, corruption_levels=[0.1, 0.1])
    with pytest.raises(ValueError, match=message):
        call(m, np.random.default_rng(0).random((5, 9)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", ["predict", "predict_proba", "encode",
                                    "reconstruct"])
def test_array_methods_refuse_non_finite_rows_by_row(floatX, method, bad):
    """A NaN row used to come back as class 0 or as NaN, silently."""
    with pytensor.config.change_flags(floatX=floatX):
        m = sda.SdA(np.random.RandomState(3), n_ins=9,
                    hidden_layers_sizes=[6, 5], n_outs=4,
                    corruption_levels=[0.1, 0.1])
    x = np.random.default_rng(0).random((10, 9))
    x[7, 2] = bad
    # row 7 lies in the second chunk: the row shown counts from the start
    with pytest.raises(ValueError, match=r"^X holds NaN or infinite values "
                       r"\(row 7\)$"):
        getattr(m, method)(x, chunk_rows=4)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "encode",
                                    "reconstruct"])
def test_float64_values_that_overflow_a_float32_model_are_refused(method):
    with pytensor.config.change_flags(floatX="float32"):
        m = sda.SdA(np.random.RandomState(3), n_ins=9,
                    hidden_layers_sizes=[6, 5], n_outs=4,
                    corruption_levels=[0.1, 0.1])
    x = np.random.default_rng(0).random((5, 9))
    x[3, 0] = 1e300
    with pytest.raises(ValueError, match=r"X holds values that overflow "
                       r"float32 \(the first in row 3: 1e\+300"):
        getattr(m, method)(x)
    with pytensor.config.change_flags(floatX="float64"):
        wide = sda.SdA(np.random.RandomState(3), n_ins=9,
                       hidden_layers_sizes=[6, 5], n_outs=4,
                       corruption_levels=[0.1, 0.1])
    assert np.isfinite(getattr(wide, method)(x)).all()  # finite in float64


def test_da_methods_refuse_non_finite_inputs_and_codes(floatX):
    with pytensor.config.change_flags(floatX=floatX):
        da = sda.dA(np.random.RandomState(2), n_visible=9, n_hidden=4)
    x = np.random.default_rng(0).random((6, 9))
    x[5, 8] = np.nan
    for method in (da.encode, da.reconstruct):
        with pytest.raises(ValueError, match=r"X holds NaN or infinite "
                           r"values \(row 5\)"):
            method(x)
    codes = np.full((3, 4), 0.5)
    codes[1, 0] = np.inf
    with pytest.raises(ValueError, match=r"H holds NaN or infinite values "
                       r"\(row 1\)"):
        da.decode(codes)


def test_reprs_say_the_architecture():
    with pytensor.config.change_flags(floatX="float32"):
        m = sda.SdA(np.random.RandomState(3), n_ins=9,
                    hidden_layers_sizes=[6, 5], n_outs=4,
                    corruption_levels=[0.1, 0.2])
        x = pt.matrix("x")
        tanh = sda.HiddenLayer(np.random.RandomState(0), x, 9, 3)
    assert repr(m) == ("SdA(n_ins=9, hidden_layers_sizes=[6, 5], n_outs=4, "
                       "corruption_levels=[0.1, 0.2], floatX='float32')")
    assert repr(m.dA_layers[1]) == ("dA(n_visible=6, n_hidden=5, "
                                    "loss='cross_entropy', floatX='float32')")
    assert repr(m.sigmoid_layers[0]) == ("HiddenLayer(n_in=9, n_out=6, "
                                         "activation=sigmoid, "
                                         "floatX='float32')")
    assert repr(tanh) == ("HiddenLayer(n_in=9, n_out=3, activation=tanh, "
                          "floatX='float32')")
    assert repr(m.logLayer) == ("LogisticRegression(n_in=5, n_out=4, "
                                "floatX='float32')")
