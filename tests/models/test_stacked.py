"""The stacked denoising autoencoder: tying, compiled functions, learning."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

import sda
from helpers import shared_slice, sigmoid
from sda.builders.finetuning import evaluation_batch_size


def small_sda(seed=1, sizes=(20, 15), n_ins=30, n_outs=4, **kwargs):
    return sda.SdA(numpy_rng=np.random.RandomState(seed), n_ins=n_ins,
                   hidden_layers_sizes=sizes, n_outs=n_outs,
                   corruption_levels=(0.1,) * len(sizes), **kwargs)


def random_sets(n_ins=30, n_outs=4, sizes=(40, 20, 20), seed=0):
    rng = np.random.default_rng(seed)
    return [sda.shared_dataset((rng.random((n, n_ins)),
                                rng.integers(0, n_outs, n)))
            for n in sizes]


def test_layers_are_tied_to_the_mlp(floatX):
    model = small_sda()
    assert model.n_layers == 2 and len(model.dA_layers) == 2
    for hidden, auto in zip(model.sigmoid_layers, model.dA_layers):
        assert auto.W is hidden.W and auto.b is hidden.b
        assert auto.b_prime not in model.params
    assert model.dA_layers[1].x is model.sigmoid_layers[0].output
    assert model.params == [model.sigmoid_layers[0].W,
                            model.sigmoid_layers[0].b,
                            model.sigmoid_layers[1].W,
                            model.sigmoid_layers[1].b,
                            model.logLayer.W, model.logLayer.b]
    assert all(p.get_value().dtype == floatX for p in model.params)
    assert model.x.type.dtype == floatX and model.y.type.dtype == "int32"
    names = [p.name for p in model.params]
    assert len(set(names)) == len(names)


def test_pretraining_writes_into_the_mlp_weights(floatX):
    model = small_sda()
    (train_x, _), _, _ = random_sets()
    fns = model.pretraining_functions(train_x, batch_size=10)
    assert len(fns) == 2
    before = [layer.W.get_value().copy() for layer in model.sigmoid_layers]
    cost = fns[1](index=0)  # defaults corruption=0.2, lr=0.1
    assert np.isfinite(cost) and np.asarray(cost).dtype == floatX
    W0, W1 = (layer.W.get_value() for layer in model.sigmoid_layers)
    np.testing.assert_array_equal(W0, before[0])  # lower layer frozen
    assert not np.allclose(W1, before[1])
    assert W1.dtype == floatX


@pytest.mark.parametrize("batch_size", [1, 8])
def test_pretraining_step_matches_numpy_without_corruption(float64,
                                                           batch_size):
    model = small_sda(sizes=(20,))
    (train_x, _), _, _ = random_sets()
    fn = model.pretraining_functions(train_x, batch_size=batch_size)[0]
    W, b = (p.get_value().copy() for p in model.sigmoid_layers[0].params)
    bp = model.dA_layers[0].b_prime.get_value().copy()
    x = train_x.get_value()[batch_size:2 * batch_size]
    h = sigmoid(x @ W + b)
    z = sigmoid(h @ W.T + bp)
    expected = -np.mean(np.sum(x * np.log(z) + (1 - x) * np.log(1 - z), 1))
    dz = (z - x) / batch_size
    dh = dz @ W * h * (1 - h)
    got = fn(index=1, corruption=0.0, lr=0.5)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    np.testing.assert_allclose(model.sigmoid_layers[0].W.get_value(),
                               W - 0.5 * (x.T @ dh + dz.T @ h), rtol=1e-10)


def blas_ops(fn):
    # sda runs them on its threads (sda.ops.blas): the same kernels
    return {type(n.op).__name__.removeprefix("Threaded")
            for n in fn.maker.fgraph.toposort()} & {
        "CGemv", "CGer", "Dot22", "Gemm", "Dot22Scalar", "Gemv", "Ger"}


def test_unfused_single_example_steps_use_matrix_vector_kernels(floatX):
    # one-row GEMM is several times slower than GEMV/GER in OpenBLAS
    model = small_sda()
    sets = random_sets()
    for cache in (False, True):
        fns = model.pretraining_functions(sets[0][0], 1, cache_inputs=cache,
                                          fused=False)
        for fn in fns:
            assert blas_ops(fn.function) == {"CGemv", "CGer"}
    train_fn, _, _ = model.build_finetune_functions(sets, 1, 0.1,
                                                    fused=False)
    assert blas_ops(train_fn.function) == {"CGemv", "CGer"}
    train_fn, _, _ = model.build_finetune_functions(sets, 4, 0.1)
    assert "CGer" not in blas_ops(train_fn.function)


@pytest.mark.parametrize("batch_size", [1, 5])
def test_cached_and_uncached_inputs_train_alike(float64, batch_size):
    def run(cache):
        model = small_sda(seed=11, sizes=(20, 15, 10))
        model.corruption_levels = (0.1, 0.2, 0.3)
        fns = model.pretraining_functions(random_sets()[0][0], batch_size,
                                          cache_inputs=cache)
        costs = [float(fn(i, corruption=0.25, lr=0.2)) for fn in fns
                 for epoch in range(2) for i in range(40 // batch_size)]
        params = [p.get_value() for p in model.params] + [
            d.b_prime.get_value() for d in model.dA_layers]
        return costs, params

    (cached, p_cached), (plain, p_plain) = run(True), run(False)
    np.testing.assert_allclose(cached, plain, rtol=1e-12)
    for a, b in zip(p_cached, p_plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_cached_inputs_follow_the_lower_layers(float64):
    model = small_sda(sizes=(20, 15))
    sets = random_sets()
    cached = model.pretraining_functions(sets[0][0], 5, cache_inputs=True)
    plain = model.pretraining_functions(sets[0][0], 5, cache_inputs=False)
    # a cost at corruption 0 and lr 0 is a pure function of the weights
    assert cached[1](0, 0.0, 0.0) == pytest.approx(plain[1](0, 0.0, 0.0))
    cached[0](3, 0.2, 0.5)  # layer 0 moves: layer 1's input must follow
    assert cached[1](0, 0.0, 0.0) == pytest.approx(plain[1](0, 0.0, 0.0))
    # changed by other means: stale until told
    W = model.sigmoid_layers[0].W
    W.set_value(W.get_value() * 1.5)
    model.invalidate_input_cache()
    assert cached[1](0, 0.0, 0.0) == pytest.approx(plain[1](0, 0.0, 0.0))


def test_finetuning_functions_follow_the_tutorial(floatX):
    model = small_sda()
    sets = random_sets()
    train_fn, valid_score, test_score = model.build_finetune_functions(
        sets, batch_size=10, learning_rate=0.1)
    before = [p.get_value().copy() for p in model.params]
    cost = train_fn(0)
    # zero logistic weights: uniform class probabilities, NLL = log(4)
    assert cost == pytest.approx(np.log(4), rel=1e-5)
    assert all(not np.array_equal(b, p.get_value())
               for b, p in zip(before, model.params[-2:]))
    valid, test = valid_score(), test_score()
    assert len(valid) == 1 and len(test) == 1  # 20 examples, 1 minibatch
    assert 0 <= np.mean(valid) <= 1 and 0 <= np.mean(test) <= 1


def test_scores_cover_every_example_in_equal_minibatches():
    assert evaluation_batch_size(10000, 300) == 1000
    assert evaluation_batch_size(10000, 1) == 1000
    assert evaluation_batch_size(10000, 3000) == 5000
    assert evaluation_batch_size(37, 5) == 37
    assert evaluation_batch_size(1200, 20, at_least=500) == 600


def test_validation_error_is_the_error_of_the_whole_set(float64):
    model = small_sda()
    rng = np.random.default_rng(9)
    for p in model.params:
        p.set_value(rng.normal(size=p.get_value().shape))
    sets = random_sets(sizes=(40, 1003, 20))  # 1003 = 17 * 59
    _, valid_score, _ = model.build_finetune_functions(sets, 7, 0.1)
    x, y = (v.get_value() for v in sets[1])
    h = x
    for layer in model.sigmoid_layers:
        h = sigmoid(h @ layer.W.get_value() + layer.b.get_value())
    pred = np.argmax(h @ model.logLayer.W.get_value()
                     + model.logLayer.b.get_value(), axis=1)
    assert np.mean(valid_score()) == pytest.approx(np.mean(pred != y))


def test_finetune_cost_gradient_matches_finite_differences(float64):
    model = small_sda(sizes=(5, 4), n_ins=6, n_outs=3)
    rng = np.random.default_rng(6)
    givens = {model.x: pt.constant(rng.random((5, 6))),
              model.y: pt.constant(rng.integers(0, 3, 5).astype("int32"))}
    cost = pytensor.graph.replace.clone_replace(model.finetune_cost, givens)
    params = model.params

    def f(*values):
        return pytensor.graph.replace.clone_replace(cost, dict(zip(params,
                                                                   values)))

    verify_grad(f, [rng.normal(size=p.get_value().shape) for p in params],
                rng=rng)


def run_briefly(seed):
    model = small_sda(seed=seed)
    sets = random_sets()
    pre = model.pretraining_functions(sets[0][0], batch_size=5)
    costs = [float(fn(i, corruption=0.3, lr=0.1)) for fn in pre
             for i in range(4)]
    train_fn, valid_score, _ = model.build_finetune_functions(sets, 5, 0.1)
    costs += [float(train_fn(i)) for i in range(8)]
    return costs, [p.get_value() for p in model.params], np.mean(
        valid_score())


def test_one_seed_reproduces_a_run_exactly():
    first, second, other = run_briefly(3), run_briefly(3), run_briefly(4)
    assert first[0] == second[0] and first[2] == second[2]
    for a, b in zip(first[1], second[1]):
        np.testing.assert_array_equal(a, b)
    assert first[0] != other[0]


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_layers_sizes": ()}, "hidden_layers_sizes must name at least "
                                  "one layer, got ()"),
    ({"hidden_layers_sizes": (10, 0), "corruption_levels": (0.1, 0.1)},
     r"hidden_layers_sizes\[1\] must be a positive integer, got 0"),
    ({"hidden_layers_sizes": (10, -5), "corruption_levels": (0.1, 0.1)},
     r"hidden_layers_sizes\[1\] must be a positive integer, got -5"),
    ({"corruption_levels": (0.1,)}, "corruption_levels must have one level "
                                    r"per hidden layer \(2\), got \(0.1,\)"),
    ({"corruption_levels": (0.1, 1.0)},
     r"corruption_levels\[1\] must be in \[0, 1\), got 1.0"),
    ({"corruption_levels": (-0.2, 0.1)},
     r"corruption_levels\[0\] must be in \[0, 1\), got -0.2"),
    ({"n_ins": 0}, "n_ins must be a positive integer, got 0"),
    ({"n_outs": 1.5}, "n_outs must be a positive integer, got 1.5"),
])
def test_bad_constructor_arguments_are_refused(kwargs, message):
    args = {"numpy_rng": np.random.RandomState(0), "n_ins": 30,
            "hidden_layers_sizes": (10, 10), "corruption_levels": (0.1, 0.2),
            **kwargs}
    with pytest.raises(ValueError, match=message):
        sda.SdA(**args)


@pytest.mark.parametrize("batch_size, message", [
    (0, "batch_size must be a positive integer, got 0"),
    (41, r"batch_size must be at most the number of examples \(40\), got 41"),
    (2.0, "batch_size must be a positive integer, got 2.0"),
])
def test_bad_batch_sizes_are_refused(batch_size, message):
    model = small_sda()
    sets = random_sets()
    with pytest.raises(ValueError, match=message):
        model.pretraining_functions(sets[0][0], batch_size)
    with pytest.raises(ValueError, match=message):
        model.build_finetune_functions(sets, batch_size, 0.1)


def test_bad_pretraining_step_arguments_are_refused():
    fn = small_sda().pretraining_functions(random_sets()[0][0], 5)[0]
    with pytest.raises(ValueError, match=r"corruption must be in \[0, 1\), "
                                         r"got 1.5"):
        fn(0, corruption=1.5)
    with pytest.raises(ValueError, match="lr must be a non-negative number, got 'fast'"):
        fn(0, lr="fast")
    with pytest.raises(TypeError):
        fn(2.5)
    assert np.isfinite(fn(np.int32(1), corruption=np.float32(0.3), lr=0))


def test_data_of_the_wrong_width_is_refused():
    model = small_sda()
    wide = random_sets(n_ins=31)
    with pytest.raises(ValueError, match=r"train_set_x must be a matrix with "
                                         r"30 columns .*got shape \(40, 31\)"):
        model.pretraining_functions(wide[0][0], 10)
    sets = random_sets()
    sets[2] = wide[2]
    with pytest.raises(ValueError, match="test_set_x must be a matrix with 30"):
        model.build_finetune_functions(sets, 10, 0.1)


# -- learning on real MNIST ---------------------------------------------------

@pytest.mark.slow
def test_pretraining_cost_falls_on_mnist(mnist_split):
    with pytensor.config.change_flags(floatX="float32"):
        train_x, _ = shared_slice(mnist_split, 0, 2000)
        model = sda.SdA(np.random.RandomState(89677), n_ins=784,
                        hidden_layers_sizes=(200, 100),
                        corruption_levels=(0.2, 0.2))
        fns = model.pretraining_functions(train_x, batch_size=20)
        for layer, fn in enumerate(fns):
            epochs = [np.mean([fn(i, corruption=0.2, lr=0.1)
                               for i in range(100)]) for _ in range(3)]
            assert epochs[2] < epochs[1] < epochs[0], (layer, epochs)
        assert epochs[0] - epochs[2] > 0.02 * epochs[0]


@pytest.mark.slow
def test_finetuning_on_a_few_thousand_images_learns_mnist(mnist_split):
    # 5,000 training images, scored on the whole validation and test sets
    with pytensor.config.change_flags(floatX="float32"):
        sets = [shared_slice(mnist_split, 0, 5000),
                shared_slice(mnist_split, 1, 10000),
                shared_slice(mnist_split, 2, 10000)]
        model = sda.SdA(np.random.RandomState(89677), n_ins=784,
                        hidden_layers_sizes=(300,), corruption_levels=(0.2,))
        pretrain = model.pretraining_functions(sets[0][0], batch_size=20)[0]
        for i in range(250):
            pretrain(i, corruption=0.2, lr=0.05)
        train_fn, valid_score, test_score = model.build_finetune_functions(
            sets, batch_size=10, learning_rate=0.5)
        valid = []
        for epoch in range(8):
            for i in range(500):
                train_fn(i)
            valid.append(np.mean(valid_score()))
        assert valid[-1] < 0.07, valid  # measured 5.2%
        assert valid[-1] < valid[0]
        assert np.mean(test_score()) < 0.08  # measured 6.0%


def test_numba_mode_trains_like_the_c_backend(float64):
    def run(mode):
        model = small_sda(seed=2, sizes=(12,))
        sets = random_sets()
        pre = model.pretraining_functions(sets[0][0], 4, mode=mode)[0]
        costs = [float(pre(i, corruption=0.3, lr=0.1)) for i in range(10)]
        train_fn, valid_score, _ = model.build_finetune_functions(
            sets, 4, 0.1, mode=mode)
        costs += [float(train_fn(i)) for i in range(10)]
        return costs, np.mean(valid_score())

    (c_costs, c_valid), (n_costs, n_valid) = run("CVM"), run("NUMBA")
    np.testing.assert_allclose(n_costs, c_costs, rtol=1e-9)
    assert n_valid == c_valid
