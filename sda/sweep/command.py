"""``python -m sda.sweep SPACE``: a sweep from a YAML or JSON file, its table and plot."""

import argparse
import importlib
import json
from pathlib import Path

import yaml

from .. import cli
from ..errors import DataFileError
from .driver import SAMPLERS, run_sweep
from .report import results_table, table_text, write_results
from .trial import train_trial

__all__ = ["main"]


def main(argv=None):
    """``python -m sda.sweep SPACE [options]``: run a sweep from a YAML or
    JSON file and write its table and plot."""
    parser = argparse.ArgumentParser(
        prog="python -m sda.sweep",
        description="Run a hyperparameter sweep of sda.sweep.train_trial on "
                    "a Dask cluster, recorded by Optuna.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("space", type=cli.existing_path,
                        help="YAML or JSON file: {'space': {name: [values]}, "
                             "'fixed': {name: value}} or just the space")
    parser.add_argument("--trial", type=_trial_function,
                        default=train_trial,
                        help="the trial, as module:function (importable "
                             "on the workers too; default: "
                             "sda.sweep:train_trial)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="grid")
    parser.add_argument("--n-trials", type=cli.positive_int, default=None,
                        help="trials in all (default: the grid's size)")
    parser.add_argument("--storage", default="sqlite:///sweep.db",
                        help="Optuna storage URL")
    parser.add_argument("--study-name", default="sda")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address (default: "
                             "DASK_SCHEDULER_ADDRESS, else a local cluster)")
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--metric", default="valid_error")
    parser.add_argument("--output-folder", type=Path,
                        default=Path("sweep_output"))
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error")
    args = parser.parse_args(argv)

    def run(_):
        spec = _read_space(args.space)
        space, fixed = spec.get("space", spec), spec.get("fixed", {})
        study = run_sweep(space, trial=args.trial, sampler=args.sampler,
                          n_trials=args.n_trials, storage=args.storage,
                          study_name=args.study_name,
                          client=args.scheduler, retries=args.retries,
                          metric=args.metric, fixed=fixed,
                          say=lambda line: print(line, flush=True))
        rows = results_table(study, space)
        folder = write_results(rows, space, args.metric,
                                args.output_folder)
        print(table_text(rows, space, args.metric))
        print(f"Table and plot written to {folder.resolve()} (results.csv, "
              f"results.json, errors.png)")
        return 0
    return cli.run(run, ["--debug"] if args.debug else [])


def _trial_function(text):
    module, _, name = text.partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise argparse.ArgumentTypeError(
            f"must be module:function, importable; {text!r}: {e}") from None
    if not callable(function):
        raise argparse.ArgumentTypeError(f"{text!r} is not a function")
    return function


_trial_function.__name__ = "trial"


def _read_space(path):
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            spec = yaml.safe_load(text)
        else:
            spec = json.loads(text)
    except Exception as e:  # the parsers' own errors say where
        raise DataFileError(path, f"is not valid "
                                  f"{path.suffix[1:].upper() or 'JSON'}: "
                                  f"{e}") from None
    if not isinstance(spec, dict):
        raise DataFileError(path, "must hold a mapping of parameter names "
                                  "to lists of values")
    return spec
