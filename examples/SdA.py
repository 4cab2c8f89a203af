"""Pretrain and fine-tune a stacked denoising autoencoder on MNIST (the tutorial's SdA.py).

The tutorial's recipe: three hidden layers of 1000 sigmoid units, corruption
0.1, 0.2 and 0.3, ``numpy.random.RandomState(89677)``, 15 epochs of greedy
layer-wise pretraining (learning rate 0.001) and then fine-tuning (learning
rate 0.1) with early stopping, minibatches of one example.  It writes to
``--output-folder``: the trained model (``model.npz``), the run's history
(``history.json``), the learning curves (``learning_curves.png``) and the
filters of each layer (``filters_layer0.png``, ...; ``--filters`` of them,
``--filters-scale`` pixels a weight; a higher layer's units drawn as the
combinations of first-layer filters that their weights make).

    python examples/SdA.py                 # the tutorial's recipe (~30 min)
    python examples/SdA.py --quick         # about 2 minutes on 2 cores
    python examples/SdA.py --resume SdA_output   # after Ctrl-C or a crash
    python examples/SdA.py --replot SdA_output --filters 400 --filters-scale 2
"""

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy
import pytensor

import sda
from sda import cli
from sda.files import atomic_write
from sda.serialization import load_model, save_model
from sda.train import History, TrainingInterrupted, finetune, pretrain
from sda.train.checkpoint import Checkpointer, claim_folder
from sda.train.progress import ProgressPrinter, format_seconds
from sda.viz import layer_filters, plot_learning_curves, save_filters

#: --quick: minibatches of 20 and the dA tutorial's learning rate; measured
#: on 2 cores: 1:38 quiet, 2:18 with another CPU-bound process running;
#: first-layer filters with strokes and blobs, 3.0 % test error
#: (tests/test_examples.py checks the preset, docs/reproduction.md has the
#: run)
QUICK = {"pretraining_epochs": 5, "pretrain_lr": 0.1, "training_epochs": 4,
         "batch_size": 20}


def test_SdA(finetune_lr=0.1, pretraining_epochs=15, pretrain_lr=0.001,
             training_epochs=1000, dataset=None, batch_size=1, *,
             hidden_layers_sizes=(1000, 1000, 1000),
             corruption_levels=(0.1, 0.2, 0.3), seed=89677,
             output_folder="SdA_output", quiet=False, mode=None,
             checkpoints=True, resume=False, overwrite=False,
             progress_bar=None, steps_per_call=1, verify=True, n_valid=None,
             n_filters=100, filters_scale=1):
    """Run the recipe; return ``(model, history)``.

    The arguments before ``*`` are the tutorial's; the rest select the
    architecture, the seed, where the results go, silence and the progress
    bar (None: on a terminal only).  With
    ``checkpoints`` (and an ``output_folder``) the run's state is saved in
    ``output_folder/checkpoint.npz`` after every epoch and when Ctrl-C or
    SIGTERM stops it; ``resume=True`` continues from that checkpoint, which
    must come from the same recipe.  The run holds ``output_folder`` (a
    second run there is refused) and refuses to replace another run's
    files unless ``overwrite``.  ``steps_per_call`` minibatches are trained
    per call of a compiled function (worth it under JAX, see
    ``sda.train.pretrain``).  ``verify`` and ``n_valid`` are
    :func:`sda.load_data`'s.  A run that finishes leaves its model and
    history, not its checkpoint.
    """
    folder = (contextlib.nullcontext() if output_folder is None else
              claim_folder(output_folder, resume=resume, overwrite=overwrite))
    with folder:
        say = (lambda *a, **k: None) if quiet else print
        recipe = {"finetune_lr": finetune_lr,
                  "pretraining_epochs": pretraining_epochs,
                  "pretrain_lr": pretrain_lr, "training_epochs": training_epochs,
                  "dataset": None if dataset is None else str(dataset),
                  "batch_size": batch_size,
                  "hidden_layers_sizes": list(hidden_layers_sizes),
                  "corruption_levels": list(corruption_levels), "seed": seed,
                  "floatX": pytensor.config.floatX}
        # recorded only when not the defaults: older checkpoints still fit
        if not verify:
            recipe["verify"] = False
        if n_valid is not None:
            recipe["n_valid"] = n_valid
        checkpointer = (Checkpointer(output_folder, recipe, resume_hint=(
            f"python {_script()} --resume {output_folder}"))
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
        datasets = sda.load_data(dataset, verify, n_valid=n_valid)
        train_set_x = datasets[0][0]

        numpy_rng = numpy.random.RandomState(seed)
        say("... building the model")
        model = sda.SdA(numpy_rng=numpy_rng, n_ins=28 * 28,
                        hidden_layers_sizes=hidden_layers_sizes, n_outs=10,
                        corruption_levels=corruption_levels)
        progress = None if quiet else ProgressPrinter(model.n_layers,
                                                      bar=progress_bar)

        say("... pre-training the model")
        history = pretrain(model, train_set_x, epochs=pretraining_epochs,
                           batch_size=batch_size, learning_rate=pretrain_lr,
                           history=history, progress=progress, mode=mode,
                           checkpointer=checkpointer, resume=state,
                           steps_per_call=steps_per_call)
        pretraining_time = sum(history.pretraining_times)
        say(f"The pretraining code ran for {pretraining_time / 60.0:.2f}m",
            file=sys.stderr)

        say("... fine-tuning the model")
        if progress is not None:
            progress.start = time.perf_counter()
        finetune(model, datasets, epochs=training_epochs, batch_size=batch_size,
                 learning_rate=finetune_lr, history=history, progress=progress,
                 mode=mode, checkpointer=checkpointer, resume=state,
                 steps_per_call=steps_per_call)
        say(f"Optimization complete with best validation score of "
            f"{history.best_validation_error * 100.0:f} %, on iteration "
            f"{history.best_iteration + 1}, with test performance "
            f"{history.test_error * 100.0:f} %")
        say(f"The training code ran for "
            f"{(pretraining_time + history.finetune_time) / 60.0:.2f}m "
            f"(pretraining {format_seconds(pretraining_time)}, fine-tuning "
            f"{format_seconds(history.finetune_time)})", file=sys.stderr)

        if output_folder is not None:
            out = Path(output_folder)
            save_model(model, out / "model.npz")
            record = {"recipe": {**recipe, "mode": model.backend.name},
                      "history": history.as_dict()}
            atomic_write(out / "history.json",
                         lambda f: f.write(json.dumps(record, indent=1).encode()))
            draw_pictures(history, model, out, n_filters, filters_scale)
            if checkpointer is not None:
                checkpointer.remove()
            say(f"Written to {out.resolve()}/: model.npz (sda.load_model), "
                f"history.json, learning_curves.png, filters_layer0.png to "
                f"filters_layer{len(model.sigmoid_layers) - 1}.png")
        return model, history


def draw_pictures(history, model, folder, n_filters=100, filters_scale=1):
    """Write a run's ``learning_curves.png`` and, with a ``model``, the
    ``filters_layer{k}.png`` of every layer into ``folder``; return the
    paths.  A higher layer's units are drawn as the combinations of
    first-layer filters that their weights make."""
    folder = Path(folder)
    written = [plot_learning_curves(history, folder / "learning_curves.png")]
    for k in range(0 if model is None else len(model.sigmoid_layers)):
        written.append(save_filters(layer_filters(model, k).T,
                                    folder / f"filters_layer{k}.png",
                                    n=n_filters, scale=filters_scale))
    return written


def replot(run, output_folder, n_filters=100, filters_scale=1):
    """Redraw a finished run's pictures without training; return the paths.

    ``run`` is the run's folder or its ``history.json``: the learning curves
    are drawn from the history, the filters from the ``model.npz`` beside it
    when there is one, into ``output_folder``.
    """
    run = Path(run)
    source = run / "history.json" if run.is_dir() else run
    try:
        record = json.loads(source.read_bytes())
        history = History.from_dict(record["history"])
    except FileNotFoundError:
        raise sda.DataFileError(source, "does not exist: --replot needs a "
                                "finished run's folder or its history.json")\
            from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise sda.DataFileError(source, f"is not a run's history.json "
                                f"({type(e).__name__}: {e})") from None
    saved = source.parent / "model.npz"
    model = load_model(saved) if saved.exists() else None
    return draw_pictures(history, model, output_folder, n_filters,
                         filters_scale)


def _script():
    """This script as the user named it on the command line (else its
    path), for the command that resumes a run."""
    typed = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    here = Path(__file__)
    if typed is not None and typed.exists() and typed.resolve() == \
            here.resolve():
        return str(typed)
    return str(here.resolve())


#: The fields of a checkpoint's recipe, each checked as its flag would be.
RECIPE = {"finetune_lr": cli.positive_float,
          "pretraining_epochs": cli.non_negative_int,
          "pretrain_lr": cli.positive_float,
          "training_epochs": cli.non_negative_int,
          "batch_size": cli.positive_int,
          "hidden_layers_sizes": cli.int_list,
          "corruption_levels": cli.probability_list,
          "seed": cli.non_negative_int}


def recipe_of(checkpointer):
    """The keyword arguments of ``test_SdA`` saved in a checkpoint, checked.

    Raises DataFileError naming the checkpoint and the field for a missing,
    unknown or invalid field: a checkpoint may have been edited.
    """
    meta, _ = checkpointer.load()
    recipe, path = dict(meta["recipe"]), checkpointer.path
    known = set(RECIPE) | {"dataset", "floatX"}
    optional = {"verify", "n_valid"}  # absent: the defaults
    if not known <= set(recipe) <= known | optional:
        missing = sorted(known - set(recipe))
        unknown = sorted(set(recipe) - known - optional)
        raise sda.DataFileError(path, f"has a recipe that lacks {missing} "
                                f"or has unknown fields {unknown}")
    for key, parse in RECIPE.items():
        value = recipe[key]
        text = (",".join(map(str, value)) if isinstance(value, list)
                else str(value))
        try:
            listed = parse in (cli.int_list, cli.probability_list)
            if isinstance(value, (bool, dict)) or listed != isinstance(
                    value, list):
                raise argparse.ArgumentTypeError(f"got {value!r}")
            recipe[key] = parse(text)
        except argparse.ArgumentTypeError as e:
            raise sda.DataFileError(path, f"has an invalid recipe field "
                                    f"{key}: {e}") from None
    if len(recipe["corruption_levels"]) != len(recipe["hidden_layers_sizes"]):
        raise sda.DataFileError(path, "has a recipe with one corruption "
                                "level per hidden layer missing")
    if recipe["floatX"] not in ("float32", "float64"):
        raise sda.DataFileError(path, f"has an invalid recipe field floatX: "
                                f"{recipe['floatX']!r}")
    if recipe.get("verify", False) is not False:
        raise sda.DataFileError(path, f"has an invalid recipe field verify: "
                                f"{recipe['verify']!r}")
    n_valid = recipe.get("n_valid")
    if n_valid is not None and (isinstance(n_valid, bool) or not isinstance(
            n_valid, int) or n_valid < 1):
        raise sda.DataFileError(path, f"has an invalid recipe field n_valid: "
                                f"{n_valid!r}")
    if not (recipe["dataset"] is None or isinstance(recipe["dataset"], str)):
        raise sda.DataFileError(path, f"has an invalid recipe field dataset: "
                                f"{recipe['dataset']!r}")
    return recipe


def build_parser():
    ap = cli.example_parser(__file__, __doc__, "SdA_output")
    ap.add_quick(QUICK, "about 2 minutes")
    ap.add_argument("--finetune-lr", type=cli.positive_float, default=0.1,
                    help="fine-tuning learning rate")
    ap.add_argument("--pretraining-epochs", type=cli.non_negative_int,
                    default=15, help="pretraining epochs per layer")
    ap.add_argument("--pretrain-lr", type=cli.positive_float, default=0.001,
                    help="pretraining learning rate")
    ap.add_argument("--training-epochs", type=cli.non_negative_int,
                    default=1000, help="most fine-tuning epochs (early "
                    "stopping usually ends sooner)")
    ap.add_argument("--batch-size", type=cli.positive_int, default=1,
                    help="minibatch size")
    ap.add_argument("--hidden-layers-sizes", type=cli.int_list,
                    default=[1000, 1000, 1000],
                    help="comma-separated widths, e.g. 1000,1000,1000")
    ap.add_argument("--corruption-levels", type=cli.probability_list,
                    default=[0.1, 0.2, 0.3],
                    help="comma-separated, one per hidden layer")
    ap.add_argument("--seed", type=cli.non_negative_int, default=89677,
                    help="seed of numpy.random.RandomState")
    ap.add_argument("--no-checkpoints", action="store_true",
                    help="do not save the run's state after every epoch")
    ap.add_argument("--resume", metavar="DIR", type=cli.existing_path,
                    default=None, help="continue the run whose checkpoint "
                    "is in DIR (its recipe is read from there)")
    ap.add_argument("--steps-per-call", type=cli.positive_int, default=1,
                    help="minibatches trained per call of a compiled "
                         "function; blocks help JAX at small minibatches")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace the files of an earlier run in the output "
                         "folder (refused otherwise)")
    ap.add_filters("each layer (higher layers as combinations of the first "
                   "layer's filters)")
    ap.add_argument("--replot", metavar="RUN", type=cli.existing_path,
                    default=None, help="train nothing: redraw the pictures "
                    "of the finished run RUN (its folder or its history.json) "
                    "into the output folder, with --filters and "
                    "--filters-scale")
    return ap


def _main(args):
    ap = build_parser()
    a = ap.parse_args(args)
    if not a.resume and len(a.corruption_levels) != len(
            a.hidden_layers_sizes):
        ap.error(f"argument --corruption-levels: must have one level per "
                 f"hidden layer ({len(a.hidden_layers_sizes)}), got "
                 f"{len(a.corruption_levels)}")
    if a.replot:
        for path in replot(a.replot, a.output_folder, a.filters,
                           a.filters_scale):
            print(f"Written {path}")
        return 0
    floatX = a.floatX
    if a.resume:
        kwargs = recipe_of(Checkpointer(a.resume))
        floatX = kwargs.pop("floatX")
        kwargs.update(output_folder=a.resume, resume=True)
    else:
        kwargs = dict(
            finetune_lr=a.finetune_lr, pretraining_epochs=a.pretraining_epochs,
            pretrain_lr=a.pretrain_lr, training_epochs=a.training_epochs,
            dataset=a.dataset, batch_size=a.batch_size,
            hidden_layers_sizes=a.hidden_layers_sizes,
            corruption_levels=a.corruption_levels, seed=a.seed,
            output_folder=a.output_folder, checkpoints=not a.no_checkpoints,
            overwrite=a.overwrite, **cli.data_options(a))
    try:
        with cli.precision(floatX):
            test_SdA(quiet=a.quiet, mode=a.mode, n_filters=a.filters,
                     filters_scale=a.filters_scale,
                     progress_bar=False if a.no_progress_bar else None,
                     steps_per_call=a.steps_per_call, **kwargs)
    except TrainingInterrupted as stop:
        print(stop, file=sys.stderr)
        return 130
    return 0


def main(argv=None):
    """The command line; returns the exit status."""
    return cli.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
