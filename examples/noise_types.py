"""Compare the noise types of Vincent et al. (2010): dA filters side by side, and SdA test errors.

Filters (the default): one 784-500 dA per noise type (masking, Gaussian,
salt-and-pepper) is pretrained on MNIST with the dA tutorial's settings
(cross-entropy, minibatches of 20, learning rate 0.1), and the first 100
filters of each are written side by side to ``filters_noise_types.png``.

Comparison (``--compare``): the tutorial's 784-1000-1000-1000-10 SdA is
pretrained with each noise type on every layer and fine-tuned with early
stopping, for each seed; the test error of each run and the mean and
standard deviation per noise type are printed as a table and written to
``noise_types.json``.

    python examples/noise_types.py --quick               # filters, ~1 min
    python examples/noise_types.py                       # filters, ~3 min
    python examples/noise_types.py --compare --seeds 1,2,3   # ~10 min a run
"""

import json
import statistics
import sys
import time
from pathlib import Path

import numpy
import pytensor

import sda
from sda import cli
from sda.files import atomic_write
from sda.train.progress import ProgressPrinter
from sda.viz import plot_mosaics, tile_raster_images

#: Each noise type with the level it is compared at: the fraction of
#: corrupted pixels, or the standard deviation of the Gaussian noise.
LEVELS = {"masking": 0.25, "gaussian": 0.5, "salt_and_pepper": 0.25}

#: --quick: six epochs already show each noise's kind of filter
QUICK = {"training_epochs": 6, "pretraining_epochs": 2,
         "fine_tuning_epochs": 4}

#: The comparison's budget: minibatches of 20 and the dA tutorial's
#: learning rate, about 10 minutes a run on 2 cores.
COMPARE = {"batch_size": 20, "pretrain_lr": 0.1, "finetune_lr": 0.1}


def filters(dataset, epochs, output_folder, seed=123, progress=None,
            say=print, mode=None, verify=True, n_valid=None):
    """Train one dA per noise type; write their filters side by side."""
    train_set_x = sda.load_data(dataset, verify, n_valid=n_valid)[0][0]
    tiles, costs = [], {}
    for noise, level in LEVELS.items():
        da = sda.dA(numpy_rng=numpy.random.RandomState(seed), n_visible=784,
                    n_hidden=500, noise=noise)
        step = da.training_function(train_set_x, 20, mode=mode)
        costs[noise] = sda.train.run_epochs(
            lambda index: step(index, corruption=level, lr=0.1),
            step.n_batches, epochs, phase=noise, progress=progress, model=da)
        tiles.append(tile_raster_images(da.W.get_value(borrow=True).T,
                                        (28, 28), (10, 10), (1, 1)))
        say(f"{noise} (level {level}): cost {costs[noise][-1]:.3f} after "
            f"{epochs} epochs")
    path = Path(output_folder) / "filters_noise_types.png"
    plot_mosaics(tiles, [f"{n} ({LEVELS[n]})" for n in LEVELS], path,
                 scale=1)
    say(f"Filters written to {path.resolve()}")
    return costs


def compare(dataset, seeds, pretraining_epochs, fine_tuning_epochs,
            output_folder, hidden_layers_sizes=(1000, 1000, 1000),
            progress_bar=None, say=print, mode=None, verify=True,
            n_valid=None):
    """Pretrain and fine-tune an SdA per noise type and seed."""
    datasets = sda.load_data(dataset, verify, n_valid=n_valid)
    path = Path(output_folder) / "noise_types.json"
    settings = {**COMPARE, "levels": LEVELS,
                "hidden_layers_sizes": list(hidden_layers_sizes),
                "pretraining_epochs": pretraining_epochs,
                "fine_tuning_epochs": fine_tuning_epochs,
                "floatX": pytensor.config.floatX}
    runs = []
    # seeds outermost: a comparison stopped early still covers every noise
    for seed in seeds:
        for noise, level in LEVELS.items():
            started = time.perf_counter()
            model = sda.SdA(numpy_rng=numpy.random.RandomState(seed),
                            n_ins=784,
                            hidden_layers_sizes=hidden_layers_sizes,
                            n_outs=10, corruption_levels=level, noise=noise)
            progress = ProgressPrinter(model.n_layers, bar=progress_bar) \
                if progress_bar is not False else None
            history = sda.train.pretrain(
                model, datasets[0][0], epochs=pretraining_epochs,
                batch_size=COMPARE["batch_size"],
                learning_rate=COMPARE["pretrain_lr"], progress=progress,
                mode=mode)
            sda.train.finetune(
                model, datasets, epochs=fine_tuning_epochs,
                batch_size=COMPARE["batch_size"],
                learning_rate=COMPARE["finetune_lr"], history=history,
                progress=progress, mode=mode)
            runs.append({"noise": noise, "level": level, "seed": seed,
                         "validation_error": history.best_validation_error,
                         "test_error": history.test_error,
                         "epochs": history.epochs,
                         "seconds": time.perf_counter() - started})
            say(f"{noise} seed {seed}: test error "
                f"{100 * history.test_error:.2f} % "
                f"({runs[-1]['seconds'] / 60:.1f} min)")
            _write(path, settings, runs)  # after each run: a stop keeps them
    say(table(runs))
    say(f"Runs written to {path.resolve()}")
    return runs


def _write(path, settings, runs):
    record = {"settings": settings, "runs": runs}
    atomic_write(path, lambda f: f.write(json.dumps(record, indent=1)
                                         .encode()))


def table(runs):
    """Markdown: test error mean ± sd per noise type."""
    lines = ["| noise | level | test error (%) | runs | minutes a run |",
             "|---|---|---|---|---|"]
    for noise, level in LEVELS.items():
        mine = [r for r in runs if r["noise"] == noise]
        if not mine:
            continue
        errors = [100 * r["test_error"] for r in mine]
        # one run has no spread to show
        sd = (f" ± {statistics.stdev(errors):.2f}" if len(errors) > 1
              else "")
        minutes = statistics.mean(r["seconds"] for r in mine) / 60
        lines.append(f"| {noise} | {level} | {statistics.mean(errors):.2f}"
                     f"{sd} | {len(mine)} | {minutes:.1f} |")
    return "\n".join(lines)


def build_parser():
    ap = cli.example_parser(__file__, __doc__, "noise_types_output")
    ap.add_quick(QUICK, "filters in about a minute; with --compare, "
                        "about 1.5 minutes a run")
    ap.add_argument("--training-epochs", type=cli.non_negative_int,
                    default=15, help="epochs of each dA (filters)")
    ap.add_argument("--compare", action="store_true",
                    help="compare SdA test errors instead of drawing filters")
    ap.add_argument("--seeds", type=cli.int_list, default=[1, 2, 3],
                    help="seeds of the comparison, one run per noise each")
    ap.add_argument("--pretraining-epochs", type=cli.non_negative_int,
                    default=15, help="comparison: pretraining epochs per "
                    "layer")
    ap.add_argument("--fine-tuning-epochs", type=cli.non_negative_int,
                    default=40, help="comparison: most fine-tuning epochs "
                    "(early stopping may end sooner)")
    ap.add_argument("--hidden-layers-sizes", type=cli.int_list,
                    default=[1000, 1000, 1000],
                    help="comparison: the SdA's hidden layers")
    return ap


def _main(args):
    a = build_parser().parse_args(args)
    say = (lambda *x, **k: None) if a.quiet else print
    bar = False if a.no_progress_bar or a.quiet else None
    with cli.precision(a.floatX):
        if a.compare:
            compare(a.dataset, a.seeds, a.pretraining_epochs,
                    a.fine_tuning_epochs, a.output_folder,
                    hidden_layers_sizes=a.hidden_layers_sizes,
                    progress_bar=bar, say=say, mode=a.mode,
                    **cli.data_options(a))
        else:
            filters(a.dataset, a.training_epochs, a.output_folder,
                    progress=None if a.quiet else _Lines(bar=bar), say=say,
                    mode=a.mode, **cli.data_options(a))
    return 0


class _Lines(ProgressPrinter):
    """One line per epoch of a dA, with ProgressPrinter's bar."""

    def __call__(self, event):
        self._print(f"{event['phase']} epoch {event['epoch'] + 1}/"
                    f"{event['epochs']}, cost {event['cost']:.4f}")


def main(argv=None):
    """The command line; returns the exit status."""
    return cli.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
