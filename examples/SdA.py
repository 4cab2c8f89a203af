"""Pretrain and fine-tune a stacked denoising autoencoder on MNIST (the tutorial's SdA.py).

The tutorial's recipe: three hidden layers of 1000 sigmoid units, corruption
0.1, 0.2 and 0.3, ``numpy.random.RandomState(89677)``, 15 epochs of greedy
layer-wise pretraining (learning rate 0.001) and then fine-tuning (learning
rate 0.1) with early stopping, minibatches of one example.  It writes to
``--output-folder``: the trained model (``model.npz``), the run's history
(``history.json``), the learning curves (``learning_curves.png``) and the
first layer's filters (``filters_layer0.png``).

    python examples/SdA.py                 # the tutorial's recipe (hours)
    python examples/SdA.py --quick         # a few minutes
    python examples/SdA.py --resume SdA_output   # after Ctrl-C or a crash
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy
import pytensor

import sda
from sda.progress import ProgressPrinter, format_seconds
from sda.checkpoint import Checkpointer
from sda.serialization import atomic_write, save_model
from sda.train import (DivergenceError, History, TrainingInterrupted,
                       finetune, pretrain)
from sda.viz import plot_learning_curves, save_filters

QUICK = {"pretraining_epochs": 1, "training_epochs": 4, "batch_size": 20}


def test_SdA(finetune_lr=0.1, pretraining_epochs=15, pretrain_lr=0.001,
             training_epochs=1000, dataset=None, batch_size=1, *,
             hidden_layers_sizes=(1000, 1000, 1000),
             corruption_levels=(0.1, 0.2, 0.3), seed=89677,
             output_folder="SdA_output", quiet=False, mode=None,
             checkpoints=True, resume=False):
    """Run the recipe; return ``(model, history)``.

    The arguments before ``*`` are the tutorial's; the rest select the
    architecture, the seed, where the results go, and silence.  With
    ``checkpoints`` (and an ``output_folder``) the run's state is saved in
    ``output_folder/checkpoint.npz`` after every epoch and when Ctrl-C or
    SIGTERM stops it; ``resume=True`` continues from that checkpoint, which
    must come from the same recipe.
    """
    say = (lambda *a, **k: None) if quiet else print
    recipe = {"finetune_lr": finetune_lr,
              "pretraining_epochs": pretraining_epochs,
              "pretrain_lr": pretrain_lr, "training_epochs": training_epochs,
              "dataset": None if dataset is None else str(dataset),
              "batch_size": batch_size,
              "hidden_layers_sizes": list(hidden_layers_sizes),
              "corruption_levels": list(corruption_levels), "seed": seed,
              "floatX": pytensor.config.floatX}
    checkpointer = (Checkpointer(output_folder, recipe)
                    if checkpoints and output_folder is not None else None)
    state, history = None, None
    if resume:
        if checkpointer is None:
            raise ValueError("resume needs checkpoints and an output_folder")
        state = checkpointer.load()
        saved = state[0]["recipe"]
        if saved != recipe:
            changed = sorted(k for k in recipe if saved.get(k) != recipe[k])
            raise ValueError(f"the checkpoint in {output_folder} comes from "
                             f"another recipe (differs in {changed})")
        history = History.from_dict(state[0]["history"])
        say(f"... resuming from {checkpointer.path} "
            f"({state[0]['position']['phase']})")
    datasets = sda.load_data(dataset)
    train_set_x = datasets[0][0]
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size

    numpy_rng = numpy.random.RandomState(seed)
    say("... building the model")
    model = sda.SdA(numpy_rng=numpy_rng, n_ins=28 * 28,
                    hidden_layers_sizes=hidden_layers_sizes, n_outs=10,
                    corruption_levels=corruption_levels)
    progress = None if quiet else ProgressPrinter(model.n_layers)

    say("... pre-training the model")
    history = pretrain(model, train_set_x, epochs=pretraining_epochs,
                       batch_size=batch_size, learning_rate=pretrain_lr,
                       history=history, progress=progress, mode=mode,
                       checkpointer=checkpointer, resume=state)
    pretraining_time = sum(history.pretraining_times)
    say(f"The pretraining code ran for {pretraining_time / 60.0:.2f}m",
        file=sys.stderr)

    say(f"... fine-tuning the model ({n_train_batches} minibatches an epoch)")
    if progress is not None:
        progress.start = time.perf_counter()
    finetune(model, datasets, epochs=training_epochs, batch_size=batch_size,
             learning_rate=finetune_lr, history=history, progress=progress,
             mode=mode, checkpointer=checkpointer, resume=state)
    say(f"Optimization complete with best validation score of "
        f"{history.best_validation_error * 100.0:f} %, on iteration "
        f"{history.best_iteration + 1}, with test performance "
        f"{history.test_error * 100.0:f} %")
    say(f"The training code ran for {history.finetune_time / 60.0:.2f}m "
        f"(pretraining {format_seconds(pretraining_time)}, fine-tuning "
        f"{format_seconds(history.finetune_time)})", file=sys.stderr)

    if output_folder is not None:
        out = Path(output_folder)
        save_model(model, out / "model.npz")
        record = {"recipe": {**recipe, "mode": str(mode or sda.get_mode())},
                  "history": history.as_dict()}
        atomic_write(out / "history.json",
                     lambda f: f.write(json.dumps(record, indent=1).encode()))
        plot_learning_curves(history, out / "learning_curves.png")
        save_filters(model.sigmoid_layers[0].W.get_value(borrow=True),
                     out / "filters_layer0.png")
        say(f"Model, history and pictures written to {out}/")
    return model, history


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--finetune-lr", type=float, default=0.1)
    ap.add_argument("--pretraining-epochs", type=int, default=15)
    ap.add_argument("--pretrain-lr", type=float, default=0.001)
    ap.add_argument("--training-epochs", type=int, default=1000)
    ap.add_argument("--dataset", default=None,
                    help="folder of MNIST IDX files or mnist.pkl.gz "
                         "(default: the MNIST shipped in data/mnist)")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--hidden-layers-sizes", default="1000,1000,1000",
                    help="comma-separated widths")
    ap.add_argument("--corruption-levels", default="0.1,0.2,0.3",
                    help="comma-separated, one per layer")
    ap.add_argument("--seed", type=int, default=89677)
    ap.add_argument("--output-folder", default="SdA_output")
    ap.add_argument("--floatX", choices=("float32", "float64"), default=None,
                    help="default: PyTensor's floatX")
    ap.add_argument("--mode", default=None, help=f"compilation mode, one "
                    f"of {', '.join(sda.MODES)} (default {sda.get_mode()})")
    ap.add_argument("--quick", action="store_true",
                    help="a few minutes: " + ", ".join(
                        f"{k}={v}" for k, v in QUICK.items()))
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-checkpoints", action="store_true",
                    help="do not save the run's state after every epoch")
    ap.add_argument("--resume", metavar="DIR", default=None,
                    help="continue the run whose checkpoint is in DIR (its "
                         "recipe is read from there)")
    args = sys.argv[1:] if argv is None else argv
    if "--quick" in args:  # the preset's values, unless given explicitly
        ap.set_defaults(**QUICK)
    a = ap.parse_args(args)
    if a.mode:
        sda.set_mode(a.mode)
    if a.resume:
        meta, _ = Checkpointer(a.resume).load()
        kwargs = dict(meta["recipe"])
        pytensor.config.floatX = kwargs.pop("floatX")
        kwargs.update(output_folder=a.resume, resume=True)
    else:
        if a.floatX:
            pytensor.config.floatX = a.floatX
        kwargs = dict(
            finetune_lr=a.finetune_lr, pretraining_epochs=a.pretraining_epochs,
            pretrain_lr=a.pretrain_lr, training_epochs=a.training_epochs,
            dataset=a.dataset, batch_size=a.batch_size,
            hidden_layers_sizes=[int(s) for s in
                                 a.hidden_layers_sizes.split(",")],
            corruption_levels=[float(c) for c in
                               a.corruption_levels.split(",")],
            seed=a.seed, output_folder=a.output_folder,
            checkpoints=not a.no_checkpoints)
    try:
        test_SdA(quiet=a.quiet, **kwargs)
    except TrainingInterrupted as stop:
        print(stop, file=sys.stderr)
        return 130
    except DivergenceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
