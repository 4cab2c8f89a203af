"""The example scripts: tiny runs through their command lines, and the tutorial's own calls.

A cross-cutting suite (the examples use the whole package), at the top of
``tests/``.
"""

import json
import os
import re
import signal

import numpy as np
import pytensor
import pytest
from PIL import Image

import sda
from sda.train import History
from helpers import EXAMPLES, example, tutorial_pickle, write_idx_folder

@pytest.fixture
def tiny_mnist(tmp_path, mnist_arrays):
    """A 600/200/200-image mnist.pkl.gz made from the embedded MNIST."""
    path = tmp_path / "mnist.pkl.gz"
    tutorial_pickle(path, mnist_arrays, n=(600, 200, 200))
    return path


@pytest.fixture(autouse=True)
def restore_floatX():
    with pytensor.config.change_flags(floatX=pytensor.config.floatX,
                                      mode=pytensor.config.mode):
        yield


def test_dA_script_prints_costs_and_writes_filters(tiny_mnist, tmp_path,
                                                   capsys):
    out = tmp_path / "plots"
    assert example("dA").main([
        "--dataset", str(tiny_mnist), "--training-epochs", "2",
        "--n-hidden", "100", "--output-folder", str(out),
        "--floatX", "float32"]) == 0
    printed = capsys.readouterr()
    costs = [float(c) for c in re.findall(r"Training epoch \d+, cost "
                                          r"([\d.]+)", printed.out)]
    assert len(costs) == 4 and costs[1] < costs[0] and costs[3] < costs[2]
    assert "The 0% corruption code ran for" in printed.err
    assert "The 30% corruption code ran for" in printed.err
    for name in ("filters_corruption_0.png", "filters_corruption_30.png"):
        with Image.open(out / name) as im:
            assert im.size == (289, 289)  # 10 x 10 tiles of 28 + 1 spacing


def test_SdA_script_reports_saves_and_reloads(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "run"
    assert example("SdA").main([
        "--dataset", str(tiny_mnist), "--pretraining-epochs", "2",
        "--training-epochs", "3", "--batch-size", "10",
        "--hidden-layers-sizes", "50,30", "--corruption-levels", "0.1,0.2",
        "--finetune-lr", "0.2", "--pretrain-lr", "0.01",
        "--output-folder", str(out), "--floatX", "float32", "--seed", "7"]) \
        == 0
    printed = capsys.readouterr().out
    assert re.search(r"Pre-training layer 1, epoch 2/2, cost [\d.]+ \["
                     r"[\d.ms]+ elapsed, ~[\d.ms]+ left\]", printed)
    done = re.search(r"Optimization complete with best validation score of "
                     r"([\d.]+) %, on iteration (\d+), with test performance "
                     r"([\d.]+) %", printed)
    assert done, printed
    record = json.loads((out / "history.json").read_text())
    h = record["history"]
    assert float(done.group(1)) == pytest.approx(
        100 * h["best_validation_error"], abs=1e-6)
    assert int(done.group(2)) == h["best_iteration"] + 1
    assert float(done.group(3)) == pytest.approx(100 * h["test_error"],
                                                 abs=1e-6)
    assert record["recipe"]["hidden_layers_sizes"] == [50, 30]
    assert len(h["pretraining_costs"]) == 2 and h["epochs"] == 3
    for name in ("learning_curves.png", "filters_layer0.png"):
        with Image.open(out / name) as im:
            assert im.size[0] > 200
    with Image.open(out / "filters_layer1.png") as im:  # its 30 filters
        assert im.size == (6 * 29 - 1, 5 * 29 - 1)
    # the saved model scores exactly what the run reported
    model = sda.serialization.load_model(out / "model.npz")
    assert model.x.dtype == "float32"
    with pytensor.config.change_flags(floatX="float32"):
        sets = sda.load_data(tiny_mnist)
    _, valid_score, test_score = model.build_finetune_functions(sets, 10, 0.1)
    assert np.mean(valid_score()) == pytest.approx(h["best_validation_error"])
    assert np.mean(test_score()) == pytest.approx(h["test_error"])
    # --replot redraws the pictures, larger, from the files alone
    again = tmp_path / "again"
    assert example("SdA").main(["--replot", str(out), "--output-folder",
                                str(again), "--filters", "20",
                                "--filters-scale", "2"]) == 0
    with Image.open(again / "filters_layer1.png") as im:  # 5 x 4, doubled
        assert im.size == (2 * (5 * 29 - 1), 2 * (4 * 29 - 1))
    with Image.open(again / "learning_curves.png") as im, \
            Image.open(out / "learning_curves.png") as first:
        assert im.size == first.size


def test_SdA_script_replots_from_a_history_alone_and_names_bad_files(
        tmp_path, capsys):
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"recipe": {}, "history": History(
        pretraining_costs=[[3.0, 2.0]], finetune_costs=[1.0, 0.5],
        validation_errors=[(1, 0.2), (2, 0.1)], test_errors=[(2, 0.1)],
        epochs=2).as_dict()}))
    assert example("SdA").main(["--replot", str(history), "--output-folder",
                                str(tmp_path / "p")]) == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "learning_curves.png"]  # no model.npz: no filters
    capsys.readouterr()
    history.write_text('{"history": [1, 2]}')
    assert example("SdA").main(["--replot", str(history)]) != 0
    err = capsys.readouterr().err
    assert str(history) in err and "is not a run's history.json" in err


def test_quick_preset_is_a_default_that_flags_override(monkeypatch):
    module = example("SdA")
    seen = {}
    monkeypatch.setattr(module, "test_SdA", lambda **kw: seen.update(kw))
    module.main(["--quick", "--batch-size", "50"])
    assert seen["pretraining_epochs"] == module.QUICK["pretraining_epochs"]
    assert seen["training_epochs"] == module.QUICK["training_epochs"]
    assert seen["batch_size"] == 50


def test_help_lists_every_argument(capsys):
    with pytest.raises(SystemExit):
        example("SdA").main(["--help"])
    text = capsys.readouterr().out
    for flag in ("--finetune-lr", "--pretraining-epochs", "--pretrain-lr",
                 "--training-epochs", "--dataset", "--batch-size",
                 "--floatX", "--mode", "--seed", "--output-folder", "--quick",
                 "--quiet"):
        assert flag in text
    with pytest.raises(SystemExit):
        example("dA").main(["--help"])
    text = capsys.readouterr().out
    for flag in ("--learning-rate", "--training-epochs", "--dataset",
                 "--batch-size", "--output-folder"):
        assert flag in text


# -- the calls of the original tutorial's test suite (code/test.py) -----------

@pytest.mark.slow
def test_tutorial_call_test_dA(tmp_path):
    results = example("dA").test_dA(training_epochs=1,
                                    output_folder=tmp_path, quiet=True)
    assert set(results) == {0.0, 0.3}
    # no corruption, the tutorial's seed and data: its first-epoch cost
    assert results[0.0]["costs"][0] == pytest.approx(63.2891694, abs=1e-4)
    assert (tmp_path / "filters_corruption_30.png").exists()


@pytest.mark.slow
def test_tutorial_call_test_SdA(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # the tutorial's call, on layers of 300 units rather than 1000: the
    # same code on the same data in a quarter of the time
    model, history = example("SdA").test_SdA(
        pretraining_epochs=1, training_epochs=1, batch_size=300, quiet=True,
        hidden_layers_sizes=(300, 300, 300))
    assert history.epochs == 1 and len(history.pretraining_costs) == 3
    assert history.best_validation_error < 0.3
    assert (tmp_path / "SdA_output" / "model.npz").exists()


def test_SdA_script_resumes_after_ctrl_c(tiny_mnist, tmp_path, monkeypatch,
                                         capsys):
    module = example("SdA")
    args = ["--dataset", str(tiny_mnist), "--pretraining-epochs", "2",
            "--training-epochs", "3", "--batch-size", "10",
            "--hidden-layers-sizes", "30,20", "--corruption-levels",
            "0.1,0.2", "--floatX", "float64", "--quiet"]
    assert module.main(args + ["--output-folder", str(tmp_path / "a")]) == 0

    class CtrlC:  # presses Ctrl-C after the first pretraining epoch
        def __init__(self, n_layers, **options):
            pass

        def __call__(self, event):
            if (event["phase"], event["layer"]) == ("pretrain", 1):
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(module, "ProgressPrinter", CtrlC)
    out = tmp_path / "b"
    capsys.readouterr()
    assert module.main([a for a in args if a != "--quiet"]
                       + ["--output-folder", str(out)]) == 130
    # the script as this process named it (pytest here): its full path
    assert (f"Resume with: python {EXAMPLES / 'SdA.py'} --resume {out}"
            in capsys.readouterr().err)
    assert not (out / "history.json").exists()
    assert module.main(["--resume", str(out), "--quiet"]) == 0
    assert not (tmp_path / "a" / "checkpoint.npz").exists()  # finished
    first = json.loads((tmp_path / "a" / "history.json").read_text())
    again = json.loads((out / "history.json").read_text())
    for key in ("pretraining_costs", "validation_errors", "test_error",
                "best_iteration"):
        assert again["history"][key] == first["history"][key]


def test_SdA_script_reads_other_mnist_format_data_with_no_verify(
        tmp_path, capsys):
    """An IDX folder that is not MNIST (500 training images of 28 x 28, 3
    classes): refused as not MNIST, then read with --no-verify and a
    validation set of --n-valid images; the finished run keeps its model and
    history, not its checkpoint, and its total time is the two phases'."""
    data = tmp_path / "digits"
    write_idx_folder(data, n_train=500, n_test=50, shape=(28, 28))
    args = ["--dataset", str(data), "--pretraining-epochs", "1",
            "--training-epochs", "2", "--batch-size", "25",
            "--hidden-layers-sizes", "20", "--corruption-levels", "0.1",
            "--floatX", "float32", "--no-progress-bar"]
    module = example("SdA")
    assert module.main(args + ["--output-folder", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not MNIST" in err and "--no-verify" in err
    assert module.main(args + ["--output-folder", str(tmp_path / "a"),
                               "--no-verify", "--n-valid", "60000"]) == 1
    assert "error: n_valid must be between 1 and 499" in capsys.readouterr().err
    out = tmp_path / "b"
    assert module.main(args + ["--no-verify", "--n-valid", "100",
                               "--output-folder", str(out)]) == 0
    printed = capsys.readouterr()
    record = json.loads((out / "history.json").read_text())
    assert record["recipe"]["verify"] is False
    assert record["recipe"]["n_valid"] == 100
    assert sorted(p.name for p in out.iterdir()
                  if p.name != ".sda.lock") == [
        "filters_layer0.png", "history.json", "learning_curves.png",
        "model.npz"]
    total = float(re.search(r"The training code ran for ([\d.]+)m",
                            printed.err).group(1))
    history = record["history"]
    both = (sum(history["pretraining_times"]) + history["finetune_time"]) / 60
    assert total == pytest.approx(both, abs=0.006)


def test_noise_types_draws_each_noises_filters_side_by_side(tiny_mnist,
                                                            tmp_path, capsys):
    out = tmp_path / "noise"
    assert example("noise_types").main([
        "--dataset", str(tiny_mnist), "--training-epochs", "1",
        "--output-folder", str(out), "--floatX", "float32"]) == 0
    printed = capsys.readouterr().out
    for noise in ("masking", "gaussian", "salt_and_pepper"):
        assert re.search(rf"{noise} \(level [\d.]+\): cost [\d.]+ after 1 "
                         rf"epochs", printed)
    with Image.open(out / "filters_noise_types.png") as im:  # three mosaics
        assert im.size[0] >= 3 * 289 and 289 < im.size[1] < 2 * 289


def test_noise_types_compares_sda_test_errors(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "compare"
    assert example("noise_types").main([
        "--dataset", str(tiny_mnist), "--compare", "--seeds", "1,2",
        "--pretraining-epochs", "1", "--fine-tuning-epochs", "2",
        "--hidden-layers-sizes", "30,20", "--output-folder", str(out),
        "--floatX", "float32", "--no-progress-bar"]) == 0
    printed = capsys.readouterr().out
    record = json.loads((out / "noise_types.json").read_text())
    assert len(record["runs"]) == 6
    assert {r["noise"] for r in record["runs"]} == {"masking", "gaussian",
                                                    "salt_and_pepper"}
    assert all(0 <= r["test_error"] < 1 for r in record["runs"])
    assert re.search(r"\| gaussian \| 0.5 \| [\d.]+ ± [\d.]+ \| 2 \|",
                     printed), printed


@pytest.mark.parametrize("grid", [False, pytest.param(True, marks=[
    pytest.mark.slow])], ids=["fit", "grid"])
def test_sklearn_pipeline_script(tiny_mnist, capsys, grid):
    pytest.importorskip("sklearn")
    args = ["--dataset", str(tiny_mnist), "--pretraining-epochs", "1",
            "--max-epochs", "2", "--hidden-layer-sizes", "30",
            "--no-progress-bar"] + (["--grid"] if grid else [])
    assert example("sklearn_pipeline").main(args) == 0
    printed = capsys.readouterr().out
    assert re.search(r"test error [\d.]+ % after [\d.]+ min \(\d+ "
                     r"fine-tuning epochs\)", printed), printed
    if grid:
        assert "grid search: best {'sdaclassifier__corruption_levels'" \
            in printed


def test_variations_script_reports_and_draws_each_problem(tmp_path,
                                                          monkeypatch, capsys):
    monkeypatch.setenv("SDA_DATASETS", str(tmp_path / "cache"))
    script = example("variations")
    assert script.main(["--names", "rect,bg-rand", "--per-row", "5",
                        "--output-folder", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "rect        train/valid/test 1000/200/50000" in out
    assert "bg-rand     train/valid/test 10000/2000/50000" in out
    picture = Image.open(tmp_path / "variations.png")
    assert picture.size == (5 * 30 - 2, 2 * 30 - 2)
    with pytest.raises(SystemExit):
        script.main(["--names", "mnist-rot"])
    assert "'mnist-rot' is not one of basic" in capsys.readouterr().err
