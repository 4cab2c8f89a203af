"""The example command lines: every mistake is one line naming the flag, before any work."""

import os
import subprocess
import sys

import pytest

from sda import cli
from helpers import EXAMPLES, example


def refused(script, argv, capsys):
    """The exit status and stderr of a command line that must be refused."""
    with pytest.raises(SystemExit) as stop:
        example(script).main(argv)
    err = capsys.readouterr().err
    return stop.value.code, err


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "0"], "argument --batch-size: must be a positive "
     "integer, got '0'"),
    (["--hidden-layers-sizes", "500,abc"], "argument --hidden-layers-sizes: "
     "must be a comma-separated list of positive integers, got '500,abc'"),
    (["--hidden-layers-sizes", "500,0"], "--hidden-layers-sizes: must be"),
    (["--training-epochs", "-1"], "argument --training-epochs: must be a "
     "non-negative integer, got '-1'"),
    (["--pretrain-lr", "-5"], "argument --pretrain-lr: must be a positive "
     "number, got '-5'"),
    (["--finetune-lr", "nan"], "argument --finetune-lr: must be a positive "
     "number, got 'nan'"),
    (["--finetune-lr", "inf"], "argument --finetune-lr: must be a positive"),
    (["--corruption-levels", "0.1,1.5,0.3"], "argument --corruption-levels: "
     "must be a comma-separated list of numbers in [0, 1), got '0.1,1.5,0.3'"),
    (["--corruption-levels", "0.1,0.2"], "argument --corruption-levels: must "
     "have one level per hidden layer (3), got 2"),
    (["--dataset", "/no/such/folder"], "argument --dataset: must be an "
     "existing file or folder or one of basic, rot, bg-rand, bg-img, "
     "rot-bg-img, rect, rect-img, convex, got '/no/such/folder'"),
    (["--resume", "/no/such/run"], "argument --resume: must be an existing"),
    (["--floatX", "float16"], "argument --floatX: invalid choice"),
    (["--mode", "fast_compile"], "argument --mode: must be one of"),
    (["--seed", "x"], "argument --seed: must be a non-negative integer"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_sda_script_refuses_bad_flags_in_one_line(argv, message, capsys):
    code, err = refused("SdA", argv, capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert err.startswith("SdA.py: error: ")


@pytest.mark.parametrize("argv, flag", [
    (["--batch-size", "0"], "--batch-size"),
    (["--learning-rate", "0"], "--learning-rate"),
    (["--n-hidden", "-3"], "--n-hidden"),
    (["--training-epochs", "x"], "--training-epochs"),
    (["--corruption-levels", "1"], "--corruption-levels"),
])
def test_da_script_refuses_bad_flags_in_one_line(argv, flag, capsys):
    code, err = refused("dA", argv, capsys)
    assert code == 2 and err.count("\n") == 1 and f"argument {flag}: " in err


def test_help_shows_every_default(capsys):
    for script, defaults in (("SdA", ["--finetune-lr FINETUNE_LR", "(default: 0.1)",
                                      "(default: 15)", "(default: 0.001)",
                                      "(default: 1000)", "(default: 89677)",
                                      "(default: SdA_output)",
                                      "--pretraining-epochs 5, --pretrain-lr 0.1"]),
                             ("dA", ["(default: 0.1)", "(default: 15)",
                                     "(default: 20)", "(default: 500)",
                                     "(default: dA_plots)",
                                     "--training-epochs 6"])):
        with pytest.raises(SystemExit) as stop:
            example(script).main(["--help"])
        assert stop.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        for default in defaults:
            assert default in text, (script, default)


def test_a_bad_data_file_is_one_error_line_and_debug_shows_the_traceback(
        tmp_path, capsys):
    bogus = tmp_path / "mnist.pkl.gz"
    bogus.write_bytes(b"not a pickle")
    argv = ["--dataset", str(bogus), "--output-folder", str(tmp_path / "o")]
    assert example("SdA").main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(bogus) in err
    assert err.count("\n") == 1
    with pytest.raises(Exception, match="mnist.pkl.gz: not loaded"):
        example("SdA").main(argv + ["--debug"])


def test_as_a_script_there_is_no_traceback():
    run = subprocess.run([sys.executable, str(EXAMPLES / "SdA.py"),
                          "--batch-size", "0"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr == ("SdA.py: error: argument --batch-size: must be a "
                          "positive integer, got '0' (see --help)\n")


def test_help_gives_each_default_once(capsys):
    for script in ("SdA", "dA"):
        with pytest.raises(SystemExit):
            example(script).main(["--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "(default: None)" not in text
        for flag in ("--dataset", "--floatX", "--mode"):
            help_of = text.split(f"{flag} ", 2)[-1].split(" --")[0]
            assert help_of.count("(default") == 1, (script, flag, help_of)
        assert "--no-verify" in text and "--n-valid" in text


def test_a_path_too_long_for_the_file_system_is_one_line(capsys):
    long = "/tmp/" + "a" * 300
    code, err = refused("SdA", ["--dataset", long], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "argument --dataset: must be an existing file or folder" in err
    assert err.rstrip().endswith("(File name too long) (see --help)")


def test_a_bad_SDA_MODE_is_named_and_leaves_import_and_help_working(tmp_path):
    env = dict(os.environ, SDA_MODE="garbage")

    def run(*argv):
        return subprocess.run([sys.executable, *argv], capture_output=True,
                              text=True, timeout=120, env=env, cwd=tmp_path)

    assert run("-c", "import sda").returncode == 0
    shown = run(str(EXAMPLES / "dA.py"), "--help")
    assert shown.returncode == 0
    assert "SDA_MODE='garbage' is no mode" in " ".join(shown.stdout.split())
    stopped = run(str(EXAMPLES / "dA.py"), "--output-folder", "out")
    assert stopped.returncode == 1
    assert stopped.stderr == ("error: SDA_MODE must be one of CVM, NUMBA, JAX "
                              "(or another of PyTensor's mode names), got "
                              "'garbage'\n")
    assert not (tmp_path / "out").exists()  # stopped before any work


def test_list_types():
    assert cli.int_list("784, 500,10") == [784, 500, 10]
    assert cli.probability_list("0,0.5") == [0.0, 0.5]
    with pytest.raises(Exception, match="must be a comma-separated list"):
        cli.int_list("")
