"""The denoising variants of Vincent et al. (2010): noise types, emphasis, untied decoders."""

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from helpers import sigmoid, softplus
from sda.models.noise import GaussianNoise, MaskingNoise, SaltAndPepperNoise

NOISES = ("masking", "gaussian", "salt_and_pepper")


def draw(noise, x, level, seed=0):
    """Compiled (tilde_x, corrupted) of ``x`` under ``noise``."""
    da = sda.dA(0, theano_rng=seed, n_visible=x.shape[1], n_hidden=2,
                noise=noise)
    xs = pt.matrix("x")
    tilde, corrupted = da._corrupt(xs, level)
    outs = [tilde] + ([corrupted] if corrupted is not None else [])
    return pytensor.function([xs], outs)


# -- statistics ------------------------------------------------------------------

def test_masking_zeroes_a_fraction_nu(float64):
    x = np.full((400, 500), 0.5)
    tilde, corrupted = draw("masking", x, 0.3)(x)
    assert (tilde == 0).mean() == pytest.approx(0.3, abs=0.005)
    np.testing.assert_array_equal(corrupted, tilde == 0)
    np.testing.assert_array_equal(tilde[tilde != 0], 0.5)


def test_gaussian_noise_has_mean_zero_and_the_given_deviation(float64):
    x = np.random.default_rng(0).random((400, 500))
    (tilde,) = draw("gaussian", x, 0.7)(x)
    eps = tilde - x
    assert eps.mean() == pytest.approx(0, abs=0.005)
    assert eps.std() == pytest.approx(0.7, rel=0.005)
    assert (eps != 0).all()


def test_salt_and_pepper_sets_a_fraction_to_the_range_ends_evenly(float64):
    x = np.full((400, 500), 0.5)
    tilde, corrupted = draw("salt_and_pepper", x, 0.2)(x)
    hit = tilde != 0.5
    assert hit.mean() == pytest.approx(0.2, abs=0.005)
    np.testing.assert_array_equal(corrupted, hit)
    assert set(np.unique(tilde[hit])) == {0.0, 1.0}
    assert (tilde[hit] == 1).mean() == pytest.approx(0.5, abs=0.01)
    wide = SaltAndPepperNoise(low=-2, high=3)
    tilde, _ = draw(wide, x, 0.5)(x)
    assert set(np.unique(tilde)) == {-2.0, 0.5, 3.0}


@pytest.mark.parametrize("noise", NOISES)
def test_draws_follow_the_seed_and_change_on_every_call(float64, noise):
    x = np.random.default_rng(0).random((20, 30))
    level = 0.3
    first, again = draw(noise, x, level, seed=5), draw(noise, x, level, seed=5)
    a1, a2 = first(x)[0], first(x)[0]
    assert (a1 != a2).any()
    np.testing.assert_array_equal(again(x)[0], a1)
    np.testing.assert_array_equal(again(x)[0], a2)
    assert (draw(noise, x, level, seed=6)(x)[0] != a1).any()


# -- the emphasised loss ---------------------------------------------------------

@pytest.mark.parametrize("loss, noise", [("cross_entropy", "masking"),
                                         ("cross_entropy", "salt_and_pepper"),
                                         ("squared_error", "masking")])
def test_emphasised_loss_matches_numpy(float64, loss, noise):
    rng = np.random.default_rng(1)
    x = rng.random((7, 6))
    da = sda.dA(3, theano_rng=4, n_visible=6, n_hidden=4, loss=loss,
                noise=noise, emphasis=(2.0, 0.25))
    xs = pt.matrix("x")
    tilde, corrupted = da._corrupt(xs, 0.4)
    cost = da.reconstruction_cost(xs, da.get_hidden_values(tilde), corrupted)
    c, t, m = pytensor.function([xs], [cost, tilde, corrupted])(x)
    W, b, bp = (p.get_value() for p in da.params)
    a = sigmoid(t @ W + b) @ W.T + bp
    terms = (softplus(a) - x * a if loss == "cross_entropy"
             else (x - a) ** 2)
    weights = np.where(m == 1, 2.0, 0.25)
    assert 0 < m.sum() < m.size
    assert c == pytest.approx((weights * terms).sum(axis=1).mean(), rel=1e-12)


def test_emphasis_is_refused_for_gaussian_noise_and_checked():
    with pytest.raises(ValueError, match="emphasis needs a noise that leaves "
                       "some components alone; gaussian noise corrupts every"):
        sda.dA(0, n_visible=4, n_hidden=2, noise="gaussian",
               emphasis=(1, 0.5))
    for bad in ((1,), (-1, 1), (0, 0), "ab", (1, float("nan"))):
        with pytest.raises(ValueError, match="emphasis must be None or "
                           r"\(alpha, beta\)"):
            sda.dA(0, n_visible=4, n_hidden=2, emphasis=bad)


# -- gradients -------------------------------------------------------------------

def numeric_gradient_check(da, x, tilde, corrupted):
    """Symbolic gradients of the cost for fixed x, x~ and mask, against
    central differences in every parameter."""
    xs, ts, ms = pt.matrix("x"), pt.matrix("t"), pt.matrix("m")
    cost = da.reconstruction_cost(xs, da.get_hidden_values(ts),
                                  ms if da.emphasis is not None else None)
    f = pytensor.function([xs, ts, ms], cost, on_unused_input="ignore")
    g = pytensor.function([xs, ts, ms], pytensor.grad(cost, da.params),
                          on_unused_input="ignore")
    symbolic = g(x, tilde, corrupted)
    h = 1e-6
    for p, grad in zip(da.params, symbolic):
        value = p.get_value()
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            for sign in (1, -1):
                v = value.copy()
                v[idx] += sign * h
                p.set_value(v)
                numeric[idx] += sign * f(x, tilde, corrupted) / (2 * h)
        p.set_value(value)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7,
                                   err_msg=p.name)


@pytest.mark.parametrize("loss, noise, tied, emphasis", [
    (loss, noise, tied, emphasis)
    for loss, noise, tied, emphasis in itertools.product(
        ("cross_entropy", "squared_error"), NOISES, (True, False),
        (None, (1.5, 0.5)))
    if not (noise == "gaussian" and emphasis)])
def test_gradients_of_every_loss_noise_and_decoder(float64, loss, noise, tied,
                                                   emphasis):
    rng = np.random.default_rng(2)
    x = rng.random((5, 6))
    da = sda.dA(rng.integers(100), theano_rng=1, n_visible=6, n_hidden=4,
                loss=loss, noise=noise, tied=tied, emphasis=emphasis)
    tilde, *mask = draw(da.noise, x, 0.3)(x)
    corrupted = mask[0] if mask else np.ones_like(x)
    assert len(da.params) == (3 if tied else 4)
    numeric_gradient_check(da, x, tilde, corrupted)


# -- untied decoders -------------------------------------------------------------

def test_untied_decoder_starts_as_w_transposed_and_trains_apart(float64):
    da = sda.dA(0, n_visible=6, n_hidden=4, tied=False)
    np.testing.assert_array_equal(da.W_prime.get_value(), da.W.get_value().T)
    cost, updates = da.get_cost_updates(0.2, 0.5)
    f = pytensor.function([da.x], cost, updates=updates)
    f(np.random.default_rng(0).random((10, 6)))
    assert not np.allclose(da.W_prime.get_value(), da.W.get_value().T)


# -- in the SdA ------------------------------------------------------------------

def test_sda_takes_one_option_for_all_layers_or_one_per_layer(float64):
    model = sda.SdA(0, n_ins=6, hidden_layers_sizes=[5, 4, 3], n_outs=2,
                    corruption_levels=[0.5, 0.2, 0.1],
                    noise=["gaussian", "salt_and_pepper", "masking"],
                    loss=["squared_error", "cross_entropy", "cross_entropy"],
                    emphasis=[None, (1, 0.5), None], tied=False)
    assert [d.noise.name for d in model.dA_layers] == ["gaussian",
                                                       "salt_and_pepper",
                                                       "masking"]
    assert [d.tied for d in model.dA_layers] == [False] * 3
    assert model.dA_layers[1].emphasis == (1.0, 0.5)
    assert model.dA_layers[0].loss == "squared_error"
    same = sda.SdA(0, n_ins=6, hidden_layers_sizes=[5, 4], n_outs=2,
                   noise="salt_and_pepper", emphasis=(2, 1))
    assert all(d.emphasis == (2.0, 1.0) for d in same.dA_layers)


@pytest.mark.parametrize("kwargs, message", [
    ({"noise": "pink"}, r"noise\[0\] must be one of \['gaussian', 'masking', "
     r"'salt_and_pepper'\] or an sda.noise.Noise, got 'pink'"),
    ({"noise": ["masking"]}, r"noise must be one value, or one per hidden "
     r"layer \(2\)"),
    ({"loss": ["cross_entropy", "l1"]}, r"loss\[1\] must be one of"),
    ({"tied": "yes"}, r"tied\[0\] must be True or False, got 'yes'"),
    ({"emphasis": [None, (1, -1)]}, r"emphasis\[1\] must be None or"),
    ({"noise": "gaussian", "emphasis": (1, 0.5)}, r"emphasis\[0\] needs a "
     "noise"),
    ({"noise": "masking", "corruption_levels": [1.5, 0.1]},
     r"corruption_levels\[0\] must be in \[0, 1\), got 1.5"),
    ({"noise": "gaussian", "corruption_levels": [-1, 0.1]},
     r"corruption_levels\[0\] must be a standard deviation >= 0"),
])
def test_sda_options_are_checked_naming_the_layer(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sda.SdA(0, n_ins=6, hidden_layers_sizes=[5, 4], n_outs=2,
                **{"corruption_levels": [0.1, 0.1], **kwargs})


def test_gaussian_levels_may_exceed_one(float64):
    model = sda.SdA(0, n_ins=6, hidden_layers_sizes=[5], n_outs=2,
                    corruption_levels=[1.5], noise="gaussian",
                    loss="squared_error")
    x = np.random.default_rng(0).normal(size=(10, 6))  # not in [0, 1]
    fns = model.pretraining_functions(x, batch_size=5)
    assert np.isfinite(fns[0](0, corruption=2.5, lr=0.01))
    with pytest.raises(ValueError, match="corruption must be a standard "
                       "deviation >= 0 for Gaussian noise, got -1"):
        fns[0](0, corruption=-1, lr=0.01)


def test_fused_steps_cover_tied_cross_entropy_of_any_noise(float64):
    x = np.random.default_rng(0).random((10, 6))

    def op_names(**options):
        model = sda.SdA(0, n_ins=6, hidden_layers_sizes=[5], n_outs=2,
                        corruption_levels=[0.2], **options)
        fn = model.pretraining_functions(x, batch_size=1)[0]
        return {type(n.op).__name__
                for n in fn.function.maker.fgraph.toposort()}
    for noise in NOISES:
        assert "DenoisingSGDStep" in op_names(noise=noise)
    for options in ({"tied": False}, {"emphasis": (1, 0.5)},
                    {"loss": "squared_error"}):
        assert "DenoisingSGDStep" not in op_names(**options), options


def test_model_files_record_every_option_and_old_files_still_load(tmp_path,
                                                                  float64):
    model = sda.SdA(0, n_ins=6, hidden_layers_sizes=[5, 4], n_outs=2,
                    corruption_levels=[0.5, 0.2],
                    noise=["gaussian", SaltAndPepperNoise(-1, 1)],
                    loss=["squared_error", "cross_entropy"],
                    emphasis=[None, (1, 0.5)], tied=[False, True])
    x = np.random.default_rng(0).normal(size=(8, 6))
    sda.train.pretrain(model, x, epochs=1, batch_size=4, learning_rate=0.01)
    loaded = sda.load_model(sda.save_model(model, tmp_path / "m.npz"))
    assert repr(loaded) == repr(model)
    assert loaded.dA_layers[1].noise == SaltAndPepperNoise(-1, 1)
    np.testing.assert_array_equal(loaded.dA_layers[0].W_prime.get_value(),
                                  model.dA_layers[0].W_prime.get_value())
    np.testing.assert_array_equal(loaded.reconstruct(x), model.reconstruct(x))
    # a file of the first format, without the per-layer options
    plain = sda.SdA(0, n_ins=6, hidden_layers_sizes=[5], n_outs=2,
                    corruption_levels=[0.1])
    path = sda.save_model(plain, tmp_path / "old.npz")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    import json
    arch = json.loads(str(arrays["__architecture__"]))
    for key in ("noise", "loss", "emphasis", "tied"):
        del arch[key]
    arrays["__architecture__"] = np.array(json.dumps(arch))
    np.savez(path, **arrays)
    assert repr(sda.load_model(path)) == repr(plain)


def test_a_squared_error_da_with_gaussian_noise_learns_real_valued_data(
        mnist_arrays):
    """Standardised MNIST pixels (mean 0, deviation 1 per pixel)."""
    x = mnist_arrays["train_x"][:2000] / 256.0
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 1e-3, sd, 1)
    with pytensor.config.change_flags(floatX="float32"):
        da = sda.dA(0, n_visible=784, n_hidden=100, noise="gaussian",
                    loss="squared_error")
        model_x = sda.data.as_shared("x", z)
        index = pt.lscalar("index")
        cost, updates = da.get_cost_updates(
            0.5, 0.01, input=model_x[index * 20:(index + 1) * 20])
        step = pytensor.function([index], cost, updates=updates,
                                 mode=sda.compile_mode())

    def error():  # of the clean reconstruction
        return float(((da.reconstruct(z) - z) ** 2).sum(axis=1).mean())
    before = error()
    for _ in range(3):
        for i in range(100):
            step(i)
    after = error()
    predict_the_mean = float((z ** 2).sum(axis=1).mean())
    # measured: 1526 before, 365 after; outputting the mean scores 637
    assert after < 0.3 * before
    assert after < 0.7 * predict_the_mean, (after, predict_the_mean)


def test_noise_objects_and_registration():
    class Dropout(MaskingNoise):
        name = "dropout_test"
    sda.noise.register(Dropout)
    try:
        assert isinstance(sda.dA(0, n_visible=4, n_hidden=2,
                                 noise="dropout_test").noise, Dropout)
    finally:
        del sda.noise.NOISES["dropout_test"]
    with pytest.raises(ValueError, match="noise_class must be a Noise "
                       "subclass"):
        sda.noise.register(int)
    assert GaussianNoise() == GaussianNoise() != MaskingNoise()
    with pytest.raises(ValueError, match="low must be below high"):
        SaltAndPepperNoise(1, 0)
