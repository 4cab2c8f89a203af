"""The builders: a single dA's step as the tutorial compiles it, in the model's dtype, nothing global touched."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from helpers import clustered_sets, small_sda
from sda.models.noise import MaskingNoise


def da_and_data(seed=4, n=40, width=12):
    x = np.random.default_rng(seed).random((n, width))
    da = sda.dA(numpy_rng=np.random.RandomState(seed), n_visible=width,
                n_hidden=5)
    return da, x


@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_da_trains_as_the_tutorials_hand_built_step(float64, batch_size):
    # the tutorial's dA.py: get_cost_updates and a givens slice, by hand
    theirs, x = da_and_data()
    shared_x = sda.shared_dataset((x, np.zeros(len(x))))[0]
    index = pt.lscalar("index")
    cost, updates = theirs.get_cost_updates(corruption_level=0.3,
                                            learning_rate=0.1)
    hand = pytensor.function(
        [index], cost, updates=updates, mode=sda.compile_mode(),
        givens={theirs.x: shared_x[index * batch_size:
                                   (index + 1) * batch_size]})
    ours, _ = da_and_data()
    step = ours.training_function(x, batch_size, fused=False)
    n = len(x) // batch_size
    for i in range(2 * n):
        np.testing.assert_allclose(step(i % n, corruption=0.3, lr=0.1),
                                   hand(i % n), rtol=1e-12)
    for a, b in zip(ours.params, theirs.params):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=1e-12)
    assert ours.backend is sda.backend.resolve()


def test_a_da_fused_step_and_blocks_train_alike(float64):
    runs = {}
    for name, options in (("graph", dict(fused=False)),
                          ("fused", dict(fused=True)),
                          ("blocks", dict(steps_per_call=4))):
        da, x = da_and_data()
        step = da.training_function(x, 1, **options)
        if name == "blocks":
            costs = np.concatenate([step(k, 0.2, 0.1) for k in range(10)])
        else:
            costs = np.array([step(i, 0.2, 0.1) for i in range(40)])
        runs[name] = costs, [p.get_value() for p in da.params]
    for name in ("fused", "blocks"):
        np.testing.assert_allclose(runs[name][0], runs["graph"][0],
                                   rtol=1e-10)
        for a, b in zip(runs[name][1], runs["graph"][1]):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_da_step_refuses_what_the_sda_step_refuses():
    da, x = da_and_data()
    with pytest.raises(ValueError, match="train_set_x must be a matrix "
                                         "with 12 columns"):
        da.training_function(x[:, :5], 4)
    with pytest.raises(ValueError, match="batch_size must be at most"):
        da.training_function(x, 41)
    with pytest.raises(ValueError, match=r"train_set_x must lie in \[0, 1\]"):
        da.training_function(x * 3, 4)
    step = da.training_function(x, 4)
    with pytest.raises(ValueError, match=r"corruption must be in \[0, 1\)"):
        step(0, corruption=1.5)


class RecordingNoise(MaskingNoise):
    """Masking noise that notes the global floatX when its graph is built."""

    name = "recording"
    seen = []

    def corrupt(self, rng, x, level):
        RecordingNoise.seen.append(pytensor.config.floatX)
        return super().corrupt(rng, x, level)


def test_builders_use_the_models_dtype_and_leave_floatx_alone():
    with pytensor.config.change_flags(floatX="float32"):
        model = sda.SdA(numpy_rng=1, n_ins=10, hidden_layers_sizes=[6, 4],
                        n_outs=3, corruption_levels=0.2,
                        noise=RecordingNoise())
        da = sda.dA(numpy_rng=1, n_visible=10, n_hidden=3,
                    noise=RecordingNoise())
    sets = clustered_sets(10, (24, 12, 12))
    RecordingNoise.seen.clear()
    with pytensor.config.change_flags(floatX="float64"):
        fns = model.pretraining_functions(sets[0][0].get_value(), 4)
        train_fn, valid, _ = model.build_finetune_functions(
            [(x.get_value(), y.get_value()) for x, y in sets], 4, 0.1)
        step = da.training_function(sets[0][0].get_value(), 4)
        assert RecordingNoise.seen == ["float64"] * 3  # never switched
        assert pytensor.config.floatX == "float64"
    costs = [fn(0) for fn in fns] + [train_fn(0), step(0)]
    assert all(np.asarray(c).dtype == "float32" for c in costs)
    assert all(p.get_value().dtype == "float32"
               for p in model.state_variables() + da.params)


def test_a_model_remembers_its_backend_for_its_convenience_methods():
    model = small_sda(2, 10, 0.2)
    sets = clustered_sets(10, (24, 12, 12))
    X = sets[1][0].get_value()
    assert model.backend is None
    default = model.predict_proba(X)
    model.pretraining_functions(sets[0][0], 4, mode="NUMBA")
    numba = sda.backend.resolve("NUMBA")
    assert model.backend is numba
    np.testing.assert_allclose(model.predict_proba(X), default, rtol=1e-6)
    assert ("predict_proba", numba) in model._compiled._functions
    # asked for another: used for this call, not remembered
    model.predict_proba(X, mode="CVM")
    assert model.backend is numba


def test_a_blocks_inner_steps_compile_in_the_blocks_mode():
    # the scan's inner graph would otherwise compile in PyTensor's default
    # mode (Numba), not the backend's
    from pytensor.scan.op import Scan
    da, x = da_and_data()
    for mode in ("CVM", "NUMBA"):
        block = da.training_function(x, 2, mode=mode, steps_per_call=5)
        (scan,) = [n.op for n in block.function.maker.fgraph.apply_nodes
                   if isinstance(n.op, Scan)]
        assert scan.mode is sda.compile_mode(mode) or \
            scan.mode == sda.compile_mode(mode)
