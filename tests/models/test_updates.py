"""The update rules of sda.updates: each against a NumPy transcription of
its equations, dtypes kept, state carried, bad hyper-parameters named."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from sda.models import updates


def quadratic(dtype, seed=0):
    """Shared ``w`` and the cost ``sum(a * w**2) / 2`` (gradient ``a * w``)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, 5).astype(dtype)
    w = pytensor.shared(rng.normal(size=5).astype(dtype), name="w")
    return w, a, 0.5 * pt.sum(a * w ** 2)


def run(rule, steps, dtype="float64", **kwargs):
    w, a, cost = quadratic(dtype)
    step = pytensor.function([], cost, updates=rule(cost, [w], **kwargs))
    for _ in range(steps):
        step()
    return w.get_value(), a, quadratic(dtype)[0].get_value()


def test_sgd_is_the_tutorials_step():
    got, a, w = run(updates.sgd, 3, learning_rate=0.1)
    for _ in range(3):
        w = w - 0.1 * a * w
    np.testing.assert_allclose(got, w, rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_follows_its_equations(nesterov):
    got, a, w = run(updates.momentum, 4, learning_rate=0.1, momentum=0.9,
                    nesterov=nesterov)
    v = np.zeros_like(w)
    for _ in range(4):
        g = a * w
        v = 0.9 * v - 0.1 * g
        w = w + (0.9 * v - 0.1 * g if nesterov else v)
    np.testing.assert_allclose(got, w, rtol=1e-12)


def test_adam_follows_kingma_and_ba():
    got, a, w = run(updates.adam, 5, learning_rate=0.01)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, 6):
        g = a * w
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
        # the rate-folded form differs from this one by epsilon's place
        w = w - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8 / np.sqrt(
            1 - 0.999 ** t))
    np.testing.assert_allclose(got, w, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(updates.RULES))
def test_each_rule_keeps_float32_float32_and_names_its_state(name):
    w, _, cost = quadratic("float32")
    pairs = updates.get_rule(name)(cost, [w], np.float32(0.01))
    assert pairs[0][0] is w
    assert all(new.dtype == var.dtype for var, new in pairs)
    state = updates.state_of(pairs, [w])
    assert [v.name for v in state] == {
        "sgd": [], "momentum": ["w_velocity"], "nesterov": ["w_velocity"],
        "adam": ["adam_t", "w_m", "w_v"]}[name]
    lr = pt.scalar("lr", dtype="float32")  # a symbolic rate too
    step = pytensor.function([lr], cost, updates=updates.get_rule(name)(
        cost, [w], lr))
    assert np.isfinite(step(np.float32(0.01)))


def test_an_sda_trains_with_every_rule(float64):
    """The builders take the rule by name: pretraining and fine-tuning a
    small SdA lowers its cost with each, and keeps each rule's state."""
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 8)), (rng.random(60) > 0.5).astype(int)
    X[y == 1, :4] += 0.5
    X /= X.max()
    for name, rate in (("momentum", 0.01), ("nesterov", 0.01),
                       ("adam", 0.01)):
        model = sda.SdA(numpy_rng=1, n_ins=8, hidden_layers_sizes=[6],
                        n_outs=2, corruption_levels=[0.1])
        fns = model.pretraining_functions(X, 10, update_rule=name)
        costs = [np.mean([fns[0](i, lr=rate) for i in range(6)])
                 for _ in range(5)]
        assert costs[-1] < costs[0]
        assert fns[0].state
        history = sda.train.finetune(model, [(X, y)] * 2, epochs=20,
                                     batch_size=10, learning_rate=rate,
                                     update_rule=name)
        assert history.finetune_costs[-1] < history.finetune_costs[0]


def test_bad_rules_and_hyper_parameters_are_named():
    w, _, cost = quadratic("float64")
    with pytest.raises(ValueError, match=r"update_rule must be one of sgd, "
                       r"momentum, nesterov, adam or a function .*got 'adamw'"):
        updates.get_rule("adamw")
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), "
                       r"got 1.5"):
        updates.momentum(cost, [w], 0.1, momentum=1.5)
    with pytest.raises(ValueError, match=r"beta2 must be in \[0, 1\), got 1"):
        updates.adam(cost, [w], 0.1, beta2=1)
    with pytest.raises(ValueError, match=r"epsilon must be positive, got 0"):
        updates.adam(cost, [w], 0.1, epsilon=0)
    model = sda.SdA(numpy_rng=1, n_ins=4, hidden_layers_sizes=[3], n_outs=2,
                    corruption_levels=[0.1])
    X = np.random.default_rng(0).random((10, 4))
    with pytest.raises(ValueError, match=r"fused steps are plain SGD: use "
                       r"fused=None or False with update_rule='adam'"):
        model.pretraining_functions(X, 1, update_rule="adam", fused=True)
    with pytest.raises(ValueError, match="update_rule must be one of"):
        sda.train.pretrain(model, X, epochs=1, update_rule="rmsprop")
