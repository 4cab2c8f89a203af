"""Marginalized denoising autoencoders: the closed form is the limit of
sampled corruption, its own optimum, stable on constant pixels, exact to
reload, and bounded in memory by the scatter matrix."""

import tracemalloc
import warnings

import numpy as np
import pytensor
import pytest

import sda
from sda.models.msda import marginalized_loss, mDA, mSDA


def inputs(n=400, d=12, seed=0):
    X = np.random.default_rng(seed).random((n, d))
    X[:, 3] = 0.0          # a pixel that is always off
    X[:, 7] = X[:, 6]      # two that always agree: Q is singular without ridge
    return X


def test_the_marginalized_loss_is_the_limit_of_sampled_masks():
    X, p = inputs(), 0.4
    layer = mDA(noise=p, dtype="float64").fit(X)
    exact = marginalized_loss(X, layer.W, layer.b, p)
    rng = np.random.default_rng(1)
    sampled = [np.mean(np.sum((X - ((X * (rng.random(X.shape) >= p))
                                    @ layer.W + layer.b)) ** 2, axis=1))
               for _ in range(4000)]
    spread = np.std(sampled) / np.sqrt(len(sampled))
    assert abs(np.mean(sampled) - exact) < 4 * spread
    assert spread < 1e-3 * exact  # the comparison is a tight one


@pytest.mark.parametrize("ridge", [0.0, 1e-5])
def test_the_closed_form_beats_every_perturbation_of_it(ridge):
    X, p = np.random.default_rng(2).random((300, 10)), 0.5
    layer = mDA(noise=p, ridge=ridge, dtype="float64").fit(X)
    best = marginalized_loss(X, layer.W, layer.b, p)
    rng = np.random.default_rng(3)
    for eps in (1e-1, 1e-2, 1e-3):
        for _ in range(20):
            worse = marginalized_loss(
                X, layer.W + eps * rng.standard_normal(layer.W.shape),
                layer.b + eps * rng.standard_normal(layer.b.shape), p)
            assert worse > best


def test_no_corruption_and_no_ridge_reconstructs_exactly():
    X = np.random.default_rng(4).random((50, 6))
    layer = mDA(noise=0.0, ridge=0.0, dtype="float64").fit(X)
    np.testing.assert_allclose(layer.reconstruct(X), X, atol=1e-8)


def test_constant_and_duplicated_pixels_of_mnist_are_solved_without_warnings():
    x = sda.load_data(shared=False)[0][0][:2000]
    assert (x.max(axis=0) == 0).sum() > 50   # MNIST's empty border pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = mSDA(n_layers=2, noise=0.5).fit(x)
        features = model.transform(x[:100])
    assert np.isfinite(features).all()
    for layer in model.layers:
        assert np.isfinite(layer.W).all() and np.abs(layer.W).max() < 1e3


@pytest.mark.parametrize("floatX", ["float32", "float64"])
def test_shapes_and_dtypes_follow_floatX(floatX):
    X = inputs(n=100, d=9).astype(np.float16)  # any float dtype in
    with pytensor.config.change_flags(floatX=floatX):
        model = sda.mSDA(n_layers=3, noise=0.3).fit(X)
    concat, top = model.transform(X), model.transform(X, features="top")
    assert concat.shape == (100, 9 * 4) and top.shape == (100, 9)
    assert concat.dtype == top.dtype == model.layers[0].W.dtype == floatX
    np.testing.assert_array_equal(concat[:, :9], X.astype(floatX))
    np.testing.assert_array_equal(concat[:, -9:], top)
    assert np.abs(top).max() < 1  # tanh


def test_fitting_is_deterministic_and_independent_of_the_chunk_size():
    X = inputs(n=1000)
    a = mSDA(n_layers=2, dtype="float64").fit(X)
    b = mSDA(n_layers=2, dtype="float64").fit(X)
    c = mSDA(n_layers=2, dtype="float64").fit(X, chunk_size=97)
    for la, lb, lc in zip(a.layers, b.layers, c.layers):
        np.testing.assert_array_equal(la.W, lb.W)
        np.testing.assert_allclose(la.W, lc.W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.transform(X), c.transform(X, chunk_size=33),
                               rtol=1e-9, atol=1e-12)


def test_memory_is_bounded_by_the_scatter_matrix_not_the_rows():
    rows = np.random.default_rng(5).integers(0, 255, (400_000, 30),
                                             dtype=np.uint8)
    model = mSDA(n_layers=2, noise=0.5, dtype="float64")
    tracemalloc.start()
    try:
        model.fit(rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    as_floats = rows.size * 8  # 96 MB: what one cast of all rows takes
    assert peak < as_floats / 10, f"{peak / 1e6:.1f} MB at the peak"


def test_a_fitted_stack_reloads_exactly(tmp_path):
    X = inputs()
    model = mSDA(n_layers=2, noise=0.2, dtype="float32").fit(X)
    path = sda.save_model(model, tmp_path / "msda.npz")
    again = sda.load_model(path)
    assert isinstance(again, mSDA) and again.noise == 0.2
    np.testing.assert_array_equal(again.transform(X), model.transform(X))


def test_bad_model_files_are_refused_naming_the_file(tmp_path):
    model = mSDA(n_layers=2, dtype="float64").fit(inputs())
    path = sda.save_model(model, tmp_path / "msda.npz")
    with np.load(path) as npz:
        arrays = dict(npz)
    bad = dict(arrays)
    bad["layer1.W"] = np.full((12, 12), np.nan)
    np.savez(tmp_path / "nan.npz", **bad)
    with pytest.raises(sda.DataFileError, match="nan.npz.*NaN"):
        sda.load_model(tmp_path / "nan.npz")
    short = {k: v for k, v in arrays.items() if k != "layer1.b"}
    np.savez(tmp_path / "short.npz", **short)
    with pytest.raises(sda.DataFileError, match="short.npz.*3 arrays"):
        sda.load_model(tmp_path / "short.npz")
    record = str(arrays["__architecture__"]).replace('"n_layers": 2',
                                                     '"n_layers": 10000000')
    np.savez(tmp_path / "huge.npz", **dict(arrays, __architecture__=np.array(
        record)))
    with pytest.raises(sda.DataFileError, match="huge.npz"):
        sda.load_model(tmp_path / "huge.npz")
    with pytest.raises(ValueError, match="fitted"):
        sda.save_model(mSDA(), tmp_path / "unfitted.npz")
    assert not (tmp_path / "unfitted.npz").exists()


@pytest.mark.parametrize("make, message", [
    (lambda: mSDA(noise=1.0), r"noise must be in \[0, 1\), got 1.0"),
    (lambda: mSDA(n_layers=0), "n_layers must be a positive integer, got 0"),
    (lambda: mSDA(ridge=-1), "ridge must be a non-negative number, got -1"),
    (lambda: mSDA(dtype="int32"), "dtype must be float32 or float64"),
    (lambda: mDA(noise="lots"), r"noise must be a number in \[0, 1\)"),
])
def test_bad_parameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_are_named():
    model = mSDA(n_layers=1)
    with pytest.raises(ValueError, match=r"X must be a 2-D array .* \(5,\)"):
        model.fit(np.zeros(5))
    with pytest.raises(ValueError, match="X must hold numbers"):
        model.fit(np.array([["a", "b"]]))
    X = inputs()
    X[17, 2] = np.nan
    with pytest.raises(ValueError, match=r"X holds NaN .*row 17"):
        model.fit(X, chunk_size=5)
    with pytest.raises(ValueError, match="not fitted yet"):
        model.transform(X)
    model.fit(inputs())
    with pytest.raises(ValueError, match="X must have 12 columns .* got 4"):
        model.transform(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="features must be one of"):
        model.transform(inputs(), features="all")
