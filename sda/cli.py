"""Command lines of the example scripts: typed flags, one-line errors.

Every flag is parsed by a type that checks it (a positive integer, a
probability, a comma-separated list of them, an existing path), so a wrong
value stops the script before any work with one line that names the flag,
and exit status 2, as ``argparse`` does for a usage error.  Mistakes found
later (a data file that is corrupt, a checkpoint that does not fit) end
with one ``error:`` line and status 1; ``--debug`` shows the traceback.

>>> parser = ArgumentParser(prog="demo")
>>> _ = parser.add_argument("--batch-size", type=positive_int, default=20,
...                         help="minibatch size")
>>> parser.parse_args(["--batch-size", "5"]).batch_size
5
"""

import argparse
import contextlib
import math
import os
import sys
from pathlib import Path

import pytensor

from . import datasets
from .backend import MODES, get_mode, resolve
from .errors import SdAError

__all__ = ["ArgumentParser", "HelpFormatter", "example_parser", "common_parser", "positive_int",
           "non_negative_int", "positive_float", "probability", "int_list",
           "probability_list", "existing_path", "data_options", "precision",
           "run"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each flag's default in ``--help``, unless its help already says
    what the default is (``(default: the MNIST shipped with sda)``) or the
    flag is off unless given (a default of None or False)."""

    def _get_help_string(self, action):
        if "(default" in (action.help or "") or action.default in (None,
                                                                    False):
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with defaults in ``--help`` and errors on
    one line (``prog: error: argument --flag: ...``), exit status 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    _quick = None

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def add_quick(self, preset, duration):
        """A ``--quick`` flag: ``preset`` (dest -> value) become the
        defaults, so flags given explicitly still win."""
        self._quick = dict(preset)
        self.add_argument("--quick", action="store_true",
                          help=f"{duration}: " + ", ".join(
                              f"--{k.replace('_', '-')} {v}"
                              for k, v in preset.items()))

    def add_filters(self, what):
        """``--filters N`` and ``--filters-scale S``: how many filters the
        pictures of ``what`` show, and how many pixels a weight takes."""
        self.add_argument("--filters", type=positive_int, default=100,
                          help=f"filters drawn for {what}")
        self.add_argument("--filters-scale", type=positive_int, default=1,
                          help="pixels a weight takes in the filter pictures")

    def parse_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        if self._quick and "--quick" in args:
            self.set_defaults(**self._quick)
        parsed = super().parse_args(args, namespace)
        if getattr(parsed, "mode", None) is None:
            get_mode()  # a bad SDA_MODE stops the run before any work
        return parsed


def example_parser(script, doc, output_folder):
    """The parser of an example script: named after ``script`` (its
    ``__file__``), described by the first line of ``doc``, with the flags
    every example shares (:func:`common_parser`)."""
    return ArgumentParser(prog=Path(script).name,
                          description=doc.splitlines()[0],
                          parents=[common_parser(output_folder)])


def _typed(description, convert, check):
    """An argparse type: ``convert`` the text, then ``check`` the value."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not check(value):
            raise argparse.ArgumentTypeError(
                f"must be {description}, got {text!r}")
        return value
    parse.__name__ = description  # argparse names the type in some errors
    return parse


positive_int = _typed("a positive integer", int, lambda v: v >= 1)
non_negative_int = _typed("a non-negative integer", int, lambda v: v >= 0)
positive_float = _typed("a positive number", float,
                        lambda v: math.isfinite(v) and v > 0)
probability = _typed("a number in [0, 1)", float, lambda v: 0 <= v < 1)


def _list_of(item, description):
    def convert(text):
        values = []
        for part in text.split(","):
            try:
                values.append(item(part.strip()))
            except argparse.ArgumentTypeError:
                return None
        return values
    return _typed(f"a comma-separated list of {description}", convert,
                  lambda v: len(v) > 0)


int_list = _list_of(positive_int, "positive integers")
probability_list = _list_of(probability, "numbers in [0, 1)")


def existing_path(text, what="an existing file or folder"):
    """An argparse type: ``text`` as a Path that exists (a name the file
    system refuses, such as one too long, is said to be so)."""
    try:
        if text and Path(text).exists():
            return Path(text)
        reason = ""
    except OSError as e:
        reason = f" ({e.strerror})"
    raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}{reason}")


def dataset(text):
    """An argparse type: a problem of :data:`sda.datasets.NAMES` by name,
    else ``text`` as a Path that exists (:func:`existing_path`)."""
    if datasets.is_problem(text):
        return text
    return existing_path(text, f"an existing file or folder or one of "
                               f"{', '.join(datasets.NAMES)}")


def common_parser(output_folder):
    """The flags every example shares, as an argparse parent."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--dataset", type=dataset, default=None,
                        help="folder of MNIST IDX files, the tutorial's "
                             "mnist.pkl.gz, or a benchmark problem by name ("
                             + ", ".join(datasets.NAMES) + "; "
                             "docs/benchmarks.md) (default: the MNIST "
                             "shipped with sda)")
    parent.add_argument("--no-verify", action="store_true",
                        help="read IDX files that are not MNIST's own (no "
                             "check against MNIST's checksums)")
    parent.add_argument("--n-valid", type=positive_int, default=None,
                        help="the last N training images of an IDX folder "
                             "form the validation set (default: 10000, "
                             "the tutorial's)")
    parent.add_argument("--output-folder", type=Path, default=output_folder,
                        help="where the results are written")
    parent.add_argument("--floatX", choices=("float32", "float64"),
                        default=None,
                        help=f"float precision (default: PyTensor's, now "
                             f"{pytensor.config.floatX})")
    parent.add_argument("--mode", default=None, type=_mode,
                        help=f"compilation mode of the run, one of "
                             f"{', '.join(MODES)} (default: the library's, "
                             f"now {_library_mode()})")
    parent.add_argument("--quiet", action="store_true",
                        help="print nothing but errors")
    parent.add_argument("--no-progress-bar", action="store_true",
                        help="no bar within epochs (it is shown only on a "
                             "terminal anyway)")
    parent.add_argument("--debug", action="store_true",
                        help="show the traceback of an error")
    return parent


def _library_mode():
    """:func:`sda.get_mode` for ``--help``, which must show even when
    ``SDA_MODE`` names no mode (the run itself then stops on it)."""
    try:
        return get_mode()
    except ValueError:
        return f"none: SDA_MODE={os.environ.get('SDA_MODE')!r} is no mode"


def _mode(text):
    """A mode name the library can compile in here (upper-cased): resolving
    it checks the name and that what it needs is installed."""
    try:
        return resolve(text).name
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be one of {', '.join(MODES)}, got {text!r}") from None
    except ImportError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


_mode.__name__ = "mode"


def data_options(args):
    """The keyword arguments of :func:`sda.load_data` that the flags
    ``--no-verify`` and ``--n-valid`` give (``args``: parsed flags)."""
    return {"verify": not args.no_verify, "n_valid": args.n_valid}


def precision(floatX):
    """A context in which models are built in ``floatX`` (``--floatX``;
    None: PyTensor's own), restored after: the scripts' ``main`` changes no
    setting of the process that calls it."""
    if not floatX:
        return contextlib.nullcontext()
    return pytensor.config.change_flags(floatX=floatX)


def run(main, argv=None):
    """``main(argv)``, with a user's mistake reported as one line.

    :class:`sda.SdAError` (bad data files, checkpoints, divergence) and
    ``ValueError`` (a value the library refused) end with ``error: ...`` on
    stderr and status 1, unless ``--debug`` is among the arguments.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        return main(args)
    except (SdAError, ValueError) as e:
        if "--debug" in args:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
