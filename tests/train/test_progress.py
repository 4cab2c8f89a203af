"""What a long run shows: compile notices, a bar within epochs on terminals, epoch lines."""

import io
import re
import time

import numpy as np
import pytest

import sda
from sda.train.progress import ProgressPrinter, format_seconds
from sda.train import finetune, pretrain, run_epochs


class Terminal(io.StringIO):
    def isatty(self):
        return True


def small_run(printer):
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 6)), rng.integers(0, 2, 40)
    model = sda.SdA(np.random.RandomState(0), n_ins=6,
                    hidden_layers_sizes=[4], n_outs=2, corruption_levels=[0.1])
    history = pretrain(model, x, epochs=2, batch_size=4, progress=printer)
    finetune(model, [(x, y)] * 3, epochs=2, batch_size=4, history=history,
             progress=printer)


def test_compiling_is_announced_and_timed():
    out = io.StringIO()
    small_run(ProgressPrinter(1, stream=out, bar=False))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("... compiling the pretraining functions")
    assert re.fullmatch(r"\.\.\. compiled in [\d.]+s", lines[1])
    assert lines[2].startswith("Pre-training layer 0, epoch 1/2")
    assert any(line.startswith("... compiling the fine-tuning functions")
               for line in lines)


def test_the_compile_notice_says_what_the_backend_caches():
    from sda.train.loop import compiling
    for mode, note in (("CVM", "PyTensor caches the C code"),
                       ("JAX", "XLA compiles them again in every new "
                               "process")):
        out = io.StringIO()
        with compiling(ProgressPrinter(1, stream=out, bar=False),
                       "pretraining functions", mode):
            pass
        assert out.getvalue().startswith(
            "... compiling the pretraining functions (")
        assert note in out.getvalue(), (mode, out.getvalue())

    class OwnHook:  # a progress object of the older protocol: what only
        def compiling(self, what):
            self.what = what
            return io.StringIO()  # any context manager

    hook = OwnHook()
    with compiling(hook, "fine-tuning functions", "JAX"):
        pass
    assert hook.what == "fine-tuning functions"


def test_fine_tuning_lines_leave_out_the_test_error_without_a_test_set():
    printer, out = ProgressPrinter(1, bar=False), io.StringIO()
    printer.stream = out
    event = dict(phase="finetune", layer=None, epoch=0, epochs=3, cost=0.5,
                 validation_error=0.2, best_validation_error=0.2,
                 patience=100, iteration=10, elapsed=1.0)
    printer({**event, "test_error": float("nan")})
    printer({**event, "test_error": 0.25})
    without, with_test = out.getvalue().splitlines()
    assert "best 20.000 %" in without and "test" not in without
    assert "(test 25.000 %)" in with_test


def test_bar_shows_minibatches_rate_and_time_left(capsys):
    small_run(ProgressPrinter(1, stream=io.StringIO(), bar=True))
    bar = capsys.readouterr().err
    assert "layer 0 epoch 1/2" in bar and "fine-tuning epoch 2" in bar
    # steps slow enough for the bar to refresh (every 0.1 s) mid-epoch
    run_epochs(lambda i: time.sleep(0.03) or 1.0, 10, 1, phase="slow",
               progress=ProgressPrinter(bar=True, stream=io.StringIO()))
    bar = capsys.readouterr().err
    assert re.search(r"slow epoch 1/1: +\d+%.*\| [1-9]/10 "
                     r"\[[\d:]+<[\d:]+, +[\d.]+mb/s\]", bar), bar


def test_no_bar_unless_on_a_terminal(monkeypatch, capsys):
    assert not ProgressPrinter(stream=io.StringIO()).bar
    monkeypatch.setattr("sys.stderr", Terminal())
    assert ProgressPrinter(stream=Terminal()).bar
    assert not ProgressPrinter(stream=Terminal(), bar=False).bar
    small_run(ProgressPrinter(1, stream=io.StringIO()))
    assert capsys.readouterr().err == ""


def test_the_bar_passes_every_index_once_and_resumes_midway():
    printer = ProgressPrinter(bar=True, stream=io.StringIO())
    seen = []
    costs = run_epochs(lambda i: seen.append(i) or float(i), 5, 2,
                       progress=printer)
    assert seen == [0, 1, 2, 3, 4] * 2 and costs == [2.0, 2.0]
    assert list(printer.minibatches(range(3, 7), total=7, initial=3)) == [
        3, 4, 5, 6]


def test_a_plain_callable_still_works_as_progress():
    events = []
    small_run(events.append)
    assert [e["phase"] for e in events] == ["pretrain"] * 2 + ["finetune"] * 2


@pytest.mark.parametrize("seconds, text", [(5.25, "5.2s"), (75.3, "1m15s"),
                                           (4000, "1h07m"), (-1, "0.0s")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text
