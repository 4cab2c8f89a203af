"""The training loops: pretraining history, early stopping, best model restored."""

import io

import numpy as np
import pytest

from helpers import clustered_sets, small_sda
from sda.train.progress import ProgressPrinter
from sda.train import (DivergenceError, History, finetune, pretrain,
                       run_epochs)


def model_and_sets(seed=0, n=(60, 40, 40)):
    return small_sda(seed, 12, (0.1, 0.2)), clustered_sets(12, n, seed)


def test_run_epochs_returns_the_mean_cost_of_each_epoch():
    events = []
    costs = run_epochs(lambda i: float(i), 4, 2, phase="x", layer=1,
                       progress=events.append)
    assert costs == [1.5, 1.5]
    assert [e["epoch"] for e in events] == [0, 1]
    assert events[0]["layer"] == 1 and events[0]["epochs"] == 2


def test_pretraining_records_each_layer_and_epoch():
    model, sets = model_and_sets()
    history = pretrain(model, sets[0][0], epochs=3, batch_size=5,
                       learning_rate=0.1)
    assert len(history.pretraining_costs) == 2
    assert all(len(c) == 3 for c in history.pretraining_costs)
    assert len(history.pretraining_times) == 2
    assert all(np.isfinite(c).all() for c in history.pretraining_costs)


def test_pretraining_uses_the_given_corruption_levels():
    model, sets = model_and_sets()
    with pytest.raises(ValueError, match=r"corruption_levels\[1\] must be in"):
        pretrain(model, sets[0][0], epochs=1, batch_size=5,
                 corruption_levels=(0.1, 1.2))
    with pytest.raises(ValueError, match="one level per layer"):
        pretrain(model, sets[0][0], epochs=1, corruption_levels=(0.1,))
    # the loops name their own arguments
    with pytest.raises(ValueError, match="^epochs must be a "
                                         "non-negative integer, got -1"):
        pretrain(model, sets[0][0], epochs=-1)
    with pytest.raises(ValueError, match="^epochs must be a "
                                         "non-negative integer, got -1"):
        finetune(model, sets, epochs=-1)
    with pytest.raises(ValueError, match="^epochs must be a "
                                         "non-negative integer, got -2"):
        run_epochs(lambda i: 0.0, 3, -2)


def test_finetuning_keeps_the_best_model_and_its_scores():
    model, sets = model_and_sets()
    history = finetune(model, sets, epochs=30, batch_size=5,
                       learning_rate=0.5)
    assert history.epochs == len(history.finetune_costs) <= 30
    assert history.iterations == history.epochs * 12 or history.stopped_early
    assert len(history.validation_errors) == history.iterations // 12
    best = min(e for _, e in history.validation_errors)
    assert history.best_validation_error == best
    assert history.best_validation_error < 0.2  # separable clusters
    # the parameters in place are the best model's: scoring them again
    # gives its validation and test errors
    _, valid_score, test_score = model.build_finetune_functions(sets, 5, 0.0)
    assert np.mean(valid_score()) == pytest.approx(best)
    assert np.mean(test_score()) == pytest.approx(history.test_error)
    assert history.test_errors[-1] == (history.best_epoch,
                                       history.test_error)


def test_patience_stops_training_early():
    model, sets = model_and_sets()
    history = finetune(model, sets, epochs=1000, batch_size=5,
                       learning_rate=0.5, patience=24)
    # patience grows to 2x the iteration of each clear improvement
    assert history.stopped_early
    assert history.epochs < 1000
    assert history.iterations <= max(24, 2 * (history.best_iteration + 1)) + 1


def test_history_is_plain_json():
    import json
    model, sets = model_and_sets()
    history = pretrain(model, sets[0][0], epochs=1, batch_size=10)
    finetune(model, sets, epochs=2, batch_size=10, history=history)
    record = json.loads(json.dumps(history.as_dict()))
    assert record["epochs"] == 2 and len(record["pretraining_costs"]) == 2
    assert isinstance(History().as_dict()["best_validation_error"], float)


def test_progress_lines_show_elapsed_time_and_time_left():
    model, sets = model_and_sets()
    out = io.StringIO()
    printer = ProgressPrinter(model.n_layers, stream=out)
    history = pretrain(model, sets[0][0], epochs=2, batch_size=10,
                       progress=printer)
    finetune(model, sets, epochs=2, batch_size=10, history=history,
             progress=printer)
    lines = [line for line in out.getvalue().splitlines()
             if not line.startswith("... compil")]
    assert len(lines) == 6
    assert lines[0].startswith("Pre-training layer 0, epoch 1/2, cost ")
    assert "elapsed, ~" in lines[0] and lines[0].endswith("left]")
    assert lines[-1].startswith("Fine-tuning epoch 2, cost ")
    assert "validation error" in lines[-1] and "(test " in lines[-1]


def test_a_cost_beyond_float32s_range_is_named_whatever_the_factor():
    from sda.train.loop import Guard
    for guard in (Guard(None), Guard(None, 0.1)):
        assert not guard.ok(1e39)
        message = str(guard.diverged(1e39, "dA epoch 0, minibatch 3"))
        assert message.startswith("dA epoch 0, minibatch 3: the cost 1e+39 "
                                  "is beyond float32's range")
    with pytest.raises(DivergenceError, match="dA epoch 1, minibatch 1: "
                                              "the cost is nan") as caught:
        run_epochs(lambda i: [1.0, np.nan][i], 2, 1, phase="dA")
    assert caught.value.first_cost == 1.0  # the cost before any step
    with pytest.raises(DivergenceError) as caught:
        run_epochs(lambda i: np.inf, 2, 1, phase="dA")
    assert caught.value.first_cost == np.inf  # the first was the bad one
