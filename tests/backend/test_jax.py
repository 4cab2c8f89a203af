"""The JAX backend: the same numbers as the C VM and Numba, masks that follow
the seed, and models that move between backends (the JAX extra, sda[jax])."""

import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from sda import cli
from helpers import checkpointed_run, clustered_sets, small_sda
from sda.train import TrainingInterrupted, finetune, pretrain

pytest.importorskip("jax", reason="the JAX tests need the extra sda[jax]")

BACKENDS = ["CVM", "NUMBA", "JAX"]


def tolerance(floatX):
    return {"float32": dict(rtol=2e-4, atol=2e-5),
            "float64": dict(rtol=1e-9, atol=1e-11)}[floatX]


def run_steps(mode, batch_size=4, *, calls=6, steps_per_call=1,
              corruption=0.0, **options):
    """Costs (each step's, then the validation error) and final parameters
    after ``calls`` calls of each pretraining function and of the
    fine-tuning step, ``steps_per_call`` minibatches a call; ``options``
    go to the SdA (noise, loss, tied, emphasis)."""
    model = sda.SdA(np.random.RandomState(5), n_ins=10,
                    hidden_layers_sizes=[8, 6], n_outs=3,
                    corruption_levels=corruption, **options)
    sets = clustered_sets(10, (24, 12, 12), seed=1)
    n_calls = 24 // batch_size // steps_per_call
    costs = []
    for fn in model.pretraining_functions(sets[0][0], batch_size, mode=mode,
                                          steps_per_call=steps_per_call):
        costs += [np.atleast_1d(fn(i % n_calls, corruption=corruption,
                                   lr=0.1)) for i in range(calls)]
    train_fn, valid, _ = model.build_finetune_functions(
        sets, batch_size, 0.2, mode=mode, steps_per_call=steps_per_call)
    costs += [np.atleast_1d(train_fn(i % n_calls)) for i in range(calls)]
    costs.append([np.mean(valid())])
    sda.to_host(model)
    return (np.concatenate(costs).astype(float),
            [v.get_value() for v in model.state_variables()])


@pytest.mark.parametrize("batch_size", [1, 4])
def test_steps_agree_across_backends(floatX, batch_size):
    # batch_size 1 also compares the C VM's fused steps with JAX's graph
    results = {mode: run_steps(mode, batch_size) for mode in BACKENDS}
    ref_costs, ref_params = results["CVM"]
    for mode in ("NUMBA", "JAX"):
        costs, params = results[mode]
        np.testing.assert_allclose(costs, ref_costs, **tolerance(floatX),
                                   err_msg=mode)
        for a, b in zip(params, ref_params):
            assert a.dtype == b.dtype == floatX
            np.testing.assert_allclose(a, b, **tolerance(floatX),
                                       err_msg=mode)


@pytest.mark.parametrize("options", [
    dict(noise="gaussian", loss="squared_error", tied=False),
    dict(noise="salt_and_pepper", emphasis=(1.0, 0.5)),
    dict(noise=["masking", "salt_and_pepper"],
         loss=["squared_error", "cross_entropy"], tied=[True, False]),
], ids=["gaussian-squared-untied", "salt-emphasis", "per-layer"])
def test_every_noise_and_loss_compiles_and_agrees(float64, options):
    costs, params = run_steps("JAX", **options)
    ref_costs, ref_params = run_steps("CVM", **options)
    np.testing.assert_allclose(costs, ref_costs, **tolerance("float64"))
    for a, b in zip(params, ref_params):
        np.testing.assert_allclose(a, b, **tolerance("float64"))


def corrupted(noise, level, seed, shape=(200, 1000)):
    """A JAX function returning fresh corruptions of a matrix of 0.5."""
    x = pt.matrix("x")
    da = sda.dA(numpy_rng=0, theano_rng=seed, input=x, n_visible=shape[1],
                n_hidden=2, noise=noise)
    f = sda.backend.function([x], da.get_corrupted_input(x, level),
                             mode="JAX")
    data = np.full(shape, 0.5, dtype=pytensor.config.floatX)
    return lambda: np.asarray(f(data))


def test_masks_under_jax_have_their_statistics_and_change_per_call(float64):
    draw = corrupted("masking", 0.3, seed=7)
    first, second = draw(), draw()
    assert abs((first == 0).mean() - 0.3) < 0.005  # 200,000 components
    assert set(np.unique(first)) == {0.0, 0.5}
    assert (first != second).any()
    # the same seed gives the same sequence; another seed another one
    again = corrupted("masking", 0.3, seed=7)
    np.testing.assert_array_equal(again(), first)
    np.testing.assert_array_equal(again(), second)
    assert (corrupted("masking", 0.3, seed=8)() != first).any()

    noisy = corrupted("gaussian", 0.2, seed=7)() - 0.5
    assert abs(noisy.mean()) < 0.002 and abs(noisy.std() - 0.2) < 0.002
    salted = corrupted("salt_and_pepper", 0.4, seed=7)()
    assert abs((salted != 0.5).mean() - 0.4) < 0.005
    assert abs((salted == 1).mean() - (salted == 0).mean()) < 0.005


def test_a_jax_trained_model_works_in_c_and_numba_functions(float64):
    # pymc issue #8360: JAX leaves read-only jax.Arrays in the shared
    # variables, which C and Numba functions cannot take
    model = small_sda(2, 10, 0.2)
    sets = clustered_sets(10, (24, 12, 12))
    c_step = model.pretraining_functions(sets[0][0], 4, mode="CVM")[0]
    jax_step = model.pretraining_functions(sets[0][0], 4, mode="JAX")[0]
    jax_train = model.build_finetune_functions(sets, 4, 0.1, mode="JAX")[0]
    jax_step(0)
    jax_train(1)
    assert not isinstance(model.params[0].get_value(borrow=True), np.ndarray)
    assert np.isfinite(c_step(2))  # compiled before JAX ran: it gives back
    for step in (jax_step, jax_train):
        step(3)
    assert np.isfinite(model.pretraining_functions(
        sets[0][0], 1, mode="NUMBA")[1](0))
    jax_train(0)
    train_fn, valid, _ = model.build_finetune_functions(sets, 1, 0.1,
                                                        mode="CVM")
    assert np.isfinite(train_fn(0)) and 0 <= np.mean(valid()) <= 1
    jax_step(0)
    assert model.predict(sets[1][0].get_value()).shape == (12,)
    jax_step(0)
    moved = sda.to_host(model)
    assert moved == 3  # the first layer's W, b and b_prime
    for v in model.state_variables():
        value = v.get_value(borrow=True)
        assert isinstance(value, np.ndarray) and value.flags.writeable
    own = pytensor.function([], model.params[0].sum(), mode="NUMBA")
    assert np.isfinite(own())


def test_loops_and_files_hand_back_numpy(tmp_path, float64):
    before = str(pytensor.config.mode)
    model = small_sda(2, 10, 0.2)
    sets = clustered_sets(10, (24, 12, 12))
    pretrain(model, sets[0][0], epochs=1, batch_size=4, mode="JAX")
    finetune(model, sets, epochs=2, batch_size=4, mode="JAX")
    for v in model.state_variables():
        assert isinstance(v.get_value(borrow=True), np.ndarray)
    sda.save_model(model, tmp_path / "m.npz")
    loaded = sda.load_model(tmp_path / "m.npz")
    # the trained model predicts in the backend it was trained in, JAX; a
    # loaded one in the library's, the C VM, and so does the trained one
    # when asked (no global mode set in either case)
    assert model.backend.name == "JAX" and loaded.backend is None
    assert str(pytensor.config.mode) == before
    X = sets[2][0].get_value()
    in_c = model.predict_proba(X, mode="CVM")
    np.testing.assert_array_equal(loaded.predict_proba(X), in_c)
    np.testing.assert_allclose(model.predict_proba(X), in_c, rtol=1e-12)
    assert ("predict_proba", sda.backend.resolve("JAX")) in \
        model._compiled._functions


def resumable_run(folder, modes, interrupt_at=None, resume=False):
    """A checkpointed run without corruption, so that backends must agree,
    in ``modes`` (one for each phase)."""
    return checkpointed_run(folder, interrupt_at, resume, corruption=0.0,
                            epochs=(2, 4), modes=modes)


@pytest.mark.slow
@pytest.mark.parametrize("first, then", [("JAX", "CVM"), ("CVM", "JAX")])
@pytest.mark.parametrize("interrupt_at", [("pretrain", 1, 0),
                                          ("finetune", None, 1)])
def test_a_checkpoint_resumes_under_the_other_backend(tmp_path, float64,
                                                      first, then,
                                                      interrupt_at):
    reference, ref_history = resumable_run(tmp_path / "straight",
                                           ("CVM", "CVM"))
    with pytest.raises(TrainingInterrupted):
        resumable_run(tmp_path / "cut", (first, first), interrupt_at)
    resumed, history = resumable_run(tmp_path / "cut", (then, then),
                                     resume=True)
    for a, b in zip(resumed.params, reference.params):
        np.testing.assert_allclose(a.get_value(), b.get_value(),
                                   **tolerance("float64"))
    np.testing.assert_allclose(history.finetune_costs,
                               ref_history.finetune_costs, rtol=1e-9)
    assert history.epochs == ref_history.epochs


def test_jax_refuses_what_it_cannot_do(float64):
    model = small_sda(2, 10, 0.2)
    sets = clustered_sets(10, (24, 12, 12))
    step = model.pretraining_functions(sets[0][0], 4, mode="JAX")[0]
    # JAX would clamp the index to the last minibatch
    with pytest.raises(IndexError, match="index 6 is out of range: there "
                                         "are 6 minibatches"):
        step(6)
    with pytest.raises(ValueError, match="fused steps are C code"):
        model.pretraining_functions(sets[0][0], 1, mode="JAX", fused=True)


def test_jax_is_chosen_by_name_everywhere(tmp_path):
    code = ("import sda, pytensor; print(sda.get_mode(), "
            "sda.backend.uses_jax())")
    env = dict(os.environ, SDA_MODE="jax")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["JAX", "True"]
    parser = cli.example_parser("x.py", "doc", tmp_path)
    assert parser.parse_args(["--mode", "jax"]).mode == "JAX"


def test_jax_missing_is_said_plainly(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ImportError, match=r"mode 'JAX' needs JAX: pip "
                                          r"install 'sda\[jax\]'"):
        sda.set_mode("JAX")
    with pytest.raises(SystemExit):
        cli.example_parser("x.py", "doc", tmp_path).parse_args(["--mode", "JAX"])
    assert "needs JAX" in capsys.readouterr().err


def test_sklearn_estimators_train_under_jax(float64):
    sklearn = pytest.importorskip("sda.sklearn")
    X = np.random.default_rng(0).random((40, 10))
    y = (X[:, 0] > 0.5).astype(int)
    ae = sklearn.DenoisingAutoencoder(n_hidden=4, n_epochs=2, batch_size=10,
                                      random_state=0, mode="jax")
    codes = ae.fit(X).transform(X)
    assert codes.shape == (40, 4) and isinstance(codes, np.ndarray)
    assert isinstance(ae.dA_.W.get_value(borrow=True), np.ndarray)
    clf = sklearn.SdAClassifier(hidden_layer_sizes=(6,), pretraining_epochs=1,
                                max_epochs=3, batch_size=10, random_state=0,
                                mode="JAX").fit(X, y)
    assert set(clf.predict(X)) <= {0, 1} and clf.history_.epochs == 3
    assert isinstance(clf.sda_.params[0].get_value(borrow=True), np.ndarray)
    with pytest.raises(ValueError, match="mode must not be 'FAST_COMPILE'"):
        sklearn.DenoisingAutoencoder(mode="fast_compile").fit(X)
    # under a JAX default mode too
    with pytensor.config.change_flags(mode="JAX"):
        assert sklearn.DenoisingAutoencoder(
            n_hidden=4, n_epochs=1, batch_size=10).fit_transform(X).shape \
            == (40, 4)


@pytest.mark.parametrize("mode, corruption", [("CVM", 0.3), ("JAX", 0.0)])
def test_a_block_of_steps_computes_what_single_steps_do(float64, mode,
                                                        corruption):
    # under the C VM masks included: the random states advance at every
    # step of a block; JAX blocks draw from streams of their own
    costs, params = run_steps(mode, calls=6, corruption=corruption)
    blocked, blocked_params = run_steps(mode, calls=2, steps_per_call=3,
                                        corruption=corruption)
    assert blocked.shape == (19,)  # 2 calls of 3, for 3 functions; valid
    np.testing.assert_allclose(blocked, costs, rtol=1e-12)
    for a, b in zip(blocked_params, params):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_steps_per_call_is_checked(float64):
    model = small_sda(2, 10, 0.2)
    sets = clustered_sets(10, (24, 12, 12))
    for value, message in [(0, "steps_per_call must be a positive integer"),
                           (7, r"steps_per_call must be at most the number "
                               r"of minibatches \(6\), got 7")]:
        with pytest.raises(ValueError, match=message):
            model.pretraining_functions(sets[0][0], 4,
                                        steps_per_call=value)
        with pytest.raises(ValueError, match=message):
            model.build_finetune_functions(sets, 4, 0.1,
                                           steps_per_call=value)
    with pytest.raises(ValueError, match="fused steps take one minibatch"):
        model.pretraining_functions(sets[0][0], 1, fused=True,
                                    steps_per_call=2)
    step = model.pretraining_functions(sets[0][0], 4, mode="JAX",
                                       steps_per_call=3)[0]
    with pytest.raises(IndexError, match="there are 2 minibatches"):
        step(2)


def looped(mode, steps_per_call, corruption):
    """A pretraining and fine-tuning run through the library's loops."""
    model = small_sda(4, 10, corruption)
    sets = clustered_sets(10, (40, 20, 20), seed=2)  # 10 minibatches of 4
    history = pretrain(model, sets[0][0], epochs=2, batch_size=4,
                       learning_rate=0.1, mode=mode,
                       steps_per_call=steps_per_call)
    # validations every 4 minibatches and a short patience: blocks of 3
    # must stop short of both
    finetune(model, sets, epochs=6, batch_size=4, learning_rate=0.3,
             patience=13, validation_frequency=4, history=history,
             mode=mode, steps_per_call=steps_per_call)
    return history, [v.get_value() for v in model.state_variables()]


@pytest.mark.slow
@pytest.mark.parametrize("mode, corruption", [("CVM", 0.3), ("JAX", 0.0)])
def test_the_loops_in_blocks_train_as_they_do_step_by_step(float64, mode,
                                                           corruption):
    # under JAX, single steps and blocks draw from streams of their own, so
    # only an uncorrupted run must be identical there
    history, params = looped(mode, 1, corruption)
    blocked, blocked_params = looped(mode, 3, corruption)
    np.testing.assert_allclose(blocked.pretraining_costs,
                               history.pretraining_costs, rtol=1e-12)
    assert blocked.finetune_costs == pytest.approx(history.finetune_costs,
                                                   rel=1e-12)
    assert blocked.validation_errors == history.validation_errors
    assert (blocked.iterations, blocked.epochs, blocked.test_error) == (
        history.iterations, history.epochs, history.test_error)
    assert history.stopped_early and history.iterations < 60
    for a, b in zip(blocked_params, params):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_jax_blocks_and_single_steps_draw_different_masks(float64):
    model = small_sda(4, 10, 0.3)
    sets = clustered_sets(10, (40, 20, 20), seed=2)
    block = model.pretraining_functions(sets[0][0], 4, mode="JAX",
                                        steps_per_call=3)[0]
    before = [v.get_value() for v in model.state_variables()]
    first = block.single(0, corruption=0.3, lr=0.1)
    for v, value in zip(model.state_variables(), before):
        v.set_value(value)
    # the same minibatch and weights, from the block: another mask
    assert block(0, corruption=0.3, lr=0.1)[0] != first


def test_convenience_methods_under_a_jax_default_mode(float64):
    model = small_sda(2, 10, 0.2)
    X = clustered_sets(10, (24, 12, 12))[0][0].get_value()
    x = pt.matrix("x")
    da = sda.dA(numpy_rng=3, input=x, n_visible=10, n_hidden=4)
    methods = [model.predict_proba, model.encode, model.reconstruct,
               da.encode, da.reconstruct]
    in_c = [f(X) for f in methods]
    with pytensor.config.change_flags(mode="JAX"):
        in_jax = [f(X, chunk_rows=7) for f in methods]  # chunks of 7 rows
    for a, b in zip(in_jax, in_c):
        assert isinstance(a, np.ndarray)
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), in_c[0].argmax(axis=1))


def test_a_float64_model_computes_in_float64_whatever_the_x64_flag(float64):
    # PyTensor sets jax_enable_x64 after floatX when its JAX dispatch is
    # first imported; the library's JAX calls turn it on for themselves
    # only, so the process-wide flag stays as it was and nothing computes
    # in float32 by accident
    import jax
    before = jax.config.jax_enable_x64
    try:
        jax.config.update("jax_enable_x64", False)
        costs, params = run_steps("JAX", calls=2)
        assert jax.config.jax_enable_x64 is False
    finally:
        jax.config.update("jax_enable_x64", before)
    ref_costs, ref_params = run_steps("CVM", calls=2)
    np.testing.assert_allclose(costs, ref_costs, **tolerance("float64"))
    for a, b in zip(params, ref_params):
        assert a.dtype == "float64"
        np.testing.assert_allclose(a, b, **tolerance("float64"))
