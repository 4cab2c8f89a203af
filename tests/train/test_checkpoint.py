"""Interrupted, diverging and resumed training; damaged files of every kind."""

import gzip

import numpy as np
import pytensor
import pytest

import sda
from helpers import (checkpointed_run, clustered_sets, small_sda,
                     tutorial_pickle)
from sda.train.checkpoint import Checkpointer
from sda.data import load_pickle, read_idx
from sda.serialization import load_model, save_model
from sda.train import (DivergenceError, TrainingInterrupted, finetune,
                       pretrain)


def model_and_sets(seed=3):
    return small_sda(seed, 10, (0.2, 0.3)), clustered_sets(10, (40, 20, 20))


def run(folder, interrupt_at=None, resume=False, update_rule=None):
    """A small run with checkpoints; SIGINT after the epoch ``interrupt_at``."""
    return checkpointed_run(folder, interrupt_at, resume,
                            update_rule=update_rule)


@pytest.mark.parametrize("update_rule", [None, "adam", "momentum"])
@pytest.mark.parametrize("interrupt_at", [("pretrain", 1, 0),
                                          ("finetune", None, 2)])
def test_an_interrupted_run_resumes_to_the_same_result(tmp_path, float64,
                                                        interrupt_at,
                                                        update_rule):
    """Adam's moments and momentum's velocities are saved with the rest:
    without them a resumed run would take other steps."""
    reference, ref_history = run(tmp_path / "straight",
                                 update_rule=update_rule)
    with pytest.raises(TrainingInterrupted,
                       match=r"SIGINT: training stopped; its state is saved "
                             r"in .*checkpoint.npz. Resume with: resume="
                             r"Checkpointer\('.*cut'\).load\(\) for pretrain "
                             r"and finetune"):
        run(tmp_path / "cut", interrupt_at, update_rule=update_rule)
    meta, arrays = Checkpointer(tmp_path / "cut").load()
    assert meta["position"]["phase"] == interrupt_at[0]
    assert meta["position"]["index"] == 1  # stopped inside an epoch
    saved = [name for name, _ in meta["rule_state"]]
    assert bool(saved) == (update_rule is not None)
    if update_rule == "adam":
        assert saved[0] == "adam_t" and arrays["rule/0"] > 0
    resumed, history = run(tmp_path / "cut", resume=True,
                           update_rule=update_rule)
    for a, b in zip(reference.params, resumed.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())
    assert history.pretraining_costs == ref_history.pretraining_costs
    assert history.validation_errors == ref_history.validation_errors
    assert history.test_error == ref_history.test_error
    assert history.epochs == ref_history.epochs


def test_a_run_resumed_with_another_update_rule_is_refused(tmp_path,
                                                           float64):
    with pytest.raises(TrainingInterrupted):
        run(tmp_path, ("finetune", None, 2), update_rule="adam")
    with pytest.raises(sda.DataFileError, match=r"holds the update rule "
                       r"state \[adam_t, hidden0.W_m, .*\] but this run's "
                       r"rule has \[hidden0.W_velocity, .*resume with the "
                       r"update rule of the run that wrote it"):
        run(tmp_path, resume=True, update_rule="momentum")


def test_a_finished_run_resumes_to_its_best_model(tmp_path, float64):
    reference, _ = run(tmp_path)
    again, history = run(tmp_path, resume=True)
    for a, b in zip(reference.params, again.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())
    assert Checkpointer(tmp_path).load()[0]["position"]["phase"] == "done"


def test_divergence_names_where_it_happened(tmp_path, float64):
    model, sets = model_and_sets()
    cp = Checkpointer(tmp_path)
    pretrain(model, sets[0][0], epochs=1, batch_size=4, checkpointer=cp)
    before = cp.path.read_bytes()
    model.dA_layers[1].b_prime.set_value(np.full(8, np.inf))
    with pytest.raises(DivergenceError, match=r"pretraining layer 1, epoch 1,"
                       r" minibatch 0: the cost is nan; training diverged. "
                       r"Try a smaller learning rate than 0.5; the last good "
                       r"checkpoint stays in .*checkpoint.npz"):
        pretrain(model, sets[0][0], epochs=1, batch_size=4,
                 learning_rate=0.5, checkpointer=cp)
    # layer 0's epoch ended with a state holding inf: not written over the
    # last good checkpoint
    assert cp.path.read_bytes() == before
    model.logLayer.W.set_value(np.full((6, 3), np.nan))
    with pytest.raises(DivergenceError, match="fine-tuning epoch 1, "
                                              "minibatch 0: the cost is nan"):
        finetune(model, sets, epochs=2, batch_size=4)


def test_bad_training_data_is_refused(float64):
    model, sets = model_and_sets()
    x = sets[0][0].get_value()
    for bad, message in ((np.nan, r"train_set_x holds NaN or infinite "
                                  r"values \(the first in row 2\)"),
                         (1.5, r"train_set_x must lie in \[0, 1\] for the "
                               r"cross-entropy")):
        broken = x.copy()
        broken[2, 3] = bad
        with pytest.raises(ValueError, match=message):
            model.pretraining_functions(pytensor.shared(broken), 4)
    y = sets[1][1].get_value().copy()
    y[0] = 3
    with pytest.raises(ValueError, match=r"valid_set_y must hold class "
                                         r"numbers in \[0, 3\), got values "
                                         r"in \[0, 3\]"):
        model.build_finetune_functions(
            [sets[0], (sets[1][0], pytensor.shared(y)), sets[2]], 4, 0.1)
    with pytest.raises(ValueError, match=r"test_set_y must hold one label per "
                                         r"example \(20\)"):
        model.build_finetune_functions(
            [sets[0], sets[1], (sets[2][0], sets[0][1])], 4, 0.1)


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path, float64):
    run(tmp_path)
    other = sda.SdA(np.random.RandomState(0), n_ins=10,
                    hidden_layers_sizes=(8, 5), n_outs=3,
                    corruption_levels=(0.2, 0.3))
    cp = Checkpointer(tmp_path)
    meta, arrays = cp.load()
    with pytest.raises(sda.DataFileError, match=r"checkpoint.npz: was saved "
                       r"with hidden_layers_sizes=\[8, 6\]"):
        cp.restore(other, meta, arrays)


# -- every reader, fed damaged files --------------------------------------------

def damaged(data, rng):
    """A truncated, bit-flipped or header-mangled copy of ``data``."""
    kind = rng.integers(3)
    if kind == 0:
        return data[:rng.integers(len(data))]
    out = bytearray(data)
    if kind == 1:
        for _ in range(rng.integers(1, 4)):
            out[rng.integers(len(out))] ^= 1 << int(rng.integers(8))
    else:
        stop = min(len(out), 32)
        out[:stop] = rng.integers(0, 256, stop, dtype=np.uint8).tobytes()
    return bytes(out)


def test_damaged_files_end_in_the_librarys_own_error(tmp_path, mnist_arrays):
    """300 seeded cases over the IDX, pickle, model and checkpoint readers."""
    rng = np.random.default_rng(2026)
    idx = tmp_path / "t10k-labels-idx1-ubyte.gz"
    idx.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 50])
                                  + bytes(range(50))))
    pkl = tmp_path / "mnist.pkl.gz"
    tutorial_pickle(pkl, mnist_arrays, n=(30, 10, 10))
    model_path = save_model(model_and_sets()[0], tmp_path / "model.npz")
    run(tmp_path / "run")
    ckpt = tmp_path / "run" / "checkpoint.npz"
    readers = [(idx, read_idx), (pkl, load_pickle), (model_path, load_model),
               (ckpt, lambda p: Checkpointer(p.parent).load())]
    originals = {path: path.read_bytes() for path, _ in readers}
    outcomes = {"refused": 0, "unharmed": 0}
    for case in range(300):
        path, read = readers[case % len(readers)]
        path.write_bytes(damaged(originals[path], rng))
        try:
            read(path)
        except sda.DataFileError as e:
            assert path.name in str(e)
            outcomes["refused"] += 1
        else:
            # a flip in a field nothing reads (a gzip time stamp, say)
            outcomes["unharmed"] += 1
        finally:
            path.write_bytes(originals[path])
    assert outcomes["refused"] > 250, outcomes
