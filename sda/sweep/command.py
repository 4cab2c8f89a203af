"""``python -m sda.sweep SPACE``: a sweep from a YAML or JSON file, its table and plot.

Everything is checked before the first trial: the file (at most
:data:`MAX_SPACE_BYTES`, UTF-8, YAML without aliases), the space, the
parameter names, the output folder and the storage.  A mistake ends with
one ``error:`` line and status 1; Ctrl-C with one line that says how to
finish the sweep, and status 130.
"""

import argparse
import importlib
import json
import shlex
import sys
from pathlib import Path

import yaml

from .. import cli
from ..errors import DataFileError
from ..files import check_writable, open_regular
from .driver import SAMPLERS, run_sweep
from .report import results_table, table_text, write_results

__all__ = ["main", "MAX_SPACE_BYTES"]

#: The largest space file read: a real space is a few hundred bytes.
MAX_SPACE_BYTES = 1 << 20


def main(argv=None):
    """``python -m sda.sweep SPACE [options]``: run a sweep from a YAML or
    JSON file and write its table and plot."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = cli.ArgumentParser(
        prog="python -m sda.sweep",
        description="Run a hyperparameter sweep of sda.sweep.train_trial on "
                    "a Dask cluster, recorded by Optuna.")
    parser.add_argument("space", type=cli.existing_path,
                        help="YAML or JSON file: {'space': {name: [values]}, "
                             "'fixed': {name: value}} or just the space")
    parser.add_argument("--trial", type=_trial_function,
                        default="sda.sweep:train_trial",
                        help="the trial, as module:function (importable "
                             "on the workers too)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="grid",
                        help="grid: every combination once; random, tpe: "
                             "--n-trials of them")
    parser.add_argument("--n-trials", type=cli.positive_int, default=None,
                        help="trials in all (default: the grid's size)")
    parser.add_argument("--storage", default=None,
                        help="Optuna storage URL (default: "
                             "sqlite:///OUTPUT_FOLDER/sweep.db)")
    parser.add_argument("--study-name", default="sda",
                        help="the study in the storage; the same name "
                             "finishes a sweep that was stopped")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address (default: "
                             "DASK_SCHEDULER_ADDRESS, else a local cluster)")
    parser.add_argument("--retries", type=cli.non_negative_int, default=1,
                        help="runs again of a trial that raised (not of a "
                             "ValueError or TypeError)")
    parser.add_argument("--metric", default="valid_error",
                        help="the metric minimised")
    parser.add_argument("--output-folder", type=Path,
                        default=Path("sweep_output"),
                        help="where results.csv, results.json, errors.png "
                             "and the default storage go")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error")
    args = parser.parse_args(argv)

    def run(_):
        spec = _read_space(args.space)
        space, fixed = spec.get("space", spec), spec.get("fixed", {})
        folder = check_writable(args.output_folder)
        storage = args.storage or f"sqlite:///{folder / 'sweep.db'}"
        try:
            study = run_sweep(space, trial=args.trial, sampler=args.sampler,
                              n_trials=args.n_trials, storage=storage,
                              study_name=args.study_name,
                              client=args.scheduler, retries=args.retries,
                              metric=args.metric, fixed=fixed,
                              say=lambda line: print(line, flush=True))
        except KeyboardInterrupt:
            print(f"stopped: the finished trials are kept in {storage}; "
                  f"to finish the sweep, run again: "
                  f"{shlex.join(['python', '-m', 'sda.sweep', *argv])}",
                  file=sys.stderr)
            return 130
        rows = results_table(study, space)
        write_results(rows, space, args.metric, folder)
        print(table_text(rows, space, args.metric))
        print(f"Table and plot written to {folder.resolve()} (results.csv, "
              f"results.json, errors.png)")
        if not any(r["state"] == "COMPLETE" for r in rows):
            reasons = sorted({r.get("error", "?") for r in rows})
            print(f"error: no trial completed; {len(rows)} failed: "
                  f"{'; '.join(reasons)}", file=sys.stderr)
            return 1
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


class _NoAliases(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases: nine levels of ten
    aliases make 10^9 nodes of a file of 500 bytes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"line {mark.line + 1}: aliases (*name) are "
                                 f"not allowed in a sweep space")
        return super().compose_node(parent, index)


def _read_space(path):
    """The mapping in a space file, read with bounded memory and time."""
    # a regular file only: a FIFO would block, a folder raise
    with open_regular(path) as f:
        data = f.read(MAX_SPACE_BYTES + 1)
    if len(data) > MAX_SPACE_BYTES:
        raise DataFileError(path, f"is larger than "
                                  f"sda.sweep.command.MAX_SPACE_BYTES = "
                                  f"{MAX_SPACE_BYTES} bytes; a space is a "
                                  f"few hundred")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataFileError(path, f"is not UTF-8 text (byte "
                                  f"{data[e.start]:#04x} at offset "
                                  f"{e.start})") from None
    kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
    try:
        spec = (yaml.load(text, Loader=_NoAliases) if kind == "YAML"
                else json.loads(text))
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        # the parsers' own errors say where
        raise DataFileError(path, f"is not valid {kind}: "
                                  f"{' '.join(str(e).split())}") from None
    if not isinstance(spec, dict):
        raise DataFileError(path, "must hold a mapping of parameter names "
                                  "to lists of values")
    if "space" in spec:
        extra = sorted(set(spec) - {"space", "fixed"}, key=str)
        if extra:
            raise DataFileError(path, f"holds {extra} besides 'space' and "
                                      f"'fixed'")
        if not isinstance(spec.get("fixed", {}), dict):
            raise DataFileError(path, f"'fixed' must be a mapping of "
                                      f"parameter names to values, got "
                                      f"{spec['fixed']!r}")
    return spec
