"""What the training loop's progress display costs per minibatch.

Times :func:`sda.train.run_epochs` over the tutorial's first pretraining step
at minibatch 1 (784-1000, float32, the fused C step: the cheapest real step
the library has, so the one where a per-minibatch cost would show) and over
a step that does nothing, with three kinds of ``progress``:

* ``none``: ``progress=None``;
* ``lines``: :class:`sda.ProgressPrinter` without its bar (one line an epoch);
* ``bar``: the same with the tqdm bar on (drawn to a null stream).

Rounds are interleaved and each figure is the median over rounds::

    python benchmarks/bench_loop.py            # ~1 min
    python benchmarks/bench_loop.py --rounds 9 --steps 4000
"""

import argparse
import contextlib
import io
import os
import statistics
import sys
import time

import numpy as np
import pytensor

pytensor.config.floatX = "float32"

import sda  # noqa: E402  (floatX first)
from sda.train import run_epochs  # noqa: E402

KINDS = ("none", "lines", "bar")


def progress(kind):
    quiet = io.StringIO()
    return {"none": None,
            "lines": sda.ProgressPrinter(stream=quiet, bar=False),
            "bar": sda.ProgressPrinter(stream=quiet, bar=True)}[kind]


def time_loop(step, n_steps, kind):
    """Seconds per minibatch of one epoch of ``n_steps``."""
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
        t0 = time.perf_counter()
        run_epochs(step, n_steps, 1, progress=progress(kind))
        return (time.perf_counter() - t0) / n_steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=3000,
                    help="minibatches per timed epoch")
    args = ap.parse_args(argv)

    x = sda.load_mnist()["train_x"][:args.steps] / 256.0
    model = sda.SdA(numpy_rng=89677, n_ins=784, hidden_layers_sizes=[1000],
                    n_outs=10, corruption_levels=[0.1])
    fused = model.pretraining_functions(x, batch_size=1)[0]

    def real(index):
        return fused(index, corruption=0.1, lr=0.001)

    steps = {"pretrain0, minibatch 1": real, "no-op step": lambda i: 0.0}
    samples = {(s, k): [] for s in steps for k in KINDS}
    for name, step in steps.items():  # warm up: caches, thread pacing
        time_loop(step, args.steps, "none")
    for _ in range(args.rounds):
        for name, step in steps.items():
            for kind in np.random.permutation(KINDS):
                samples[(name, kind)].append(
                    time_loop(step, args.steps, kind))

    print(f"Median over {args.rounds} interleaved rounds of "
          f"{args.steps} minibatches; {os.cpu_count()} CPUs.\n")
    print("| step | progress | µs per minibatch | vs none |")
    print("|---|---|---|---|")
    for name in steps:
        base = statistics.median(samples[(name, "none")])
        for kind in KINDS:
            t = statistics.median(samples[(name, kind)])
            print(f"| {name} | {kind} | {t * 1e6:.3f} | "
                  f"{t / base:.3f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
