"""The tutorial's SdA under JAX (GPU or CPU) and the C VM: same costs, and how fast.

Builds the tutorial architecture (784-1000-1000-1000-10, float32) twice from
one seed, one compiled for JAX and one for the C VM, and trains each for a
fixed number of steps of every phase (pretraining layers 0, 1, 2 and
fine-tuning) on MNIST at minibatches of 1, 128 and 1024, without
corruption so that both must compute the same costs.  JAX runs twice: one
call per minibatch, and ``--block`` minibatches per call
(``steps_per_call``, a compiled loop).  Prints, per phase and minibatch
size, the samples/s of each (median of ``--rounds`` timed blocks, after a
warm-up call that compiles), the ratios to the C VM, and the largest
difference between the JAX and C VM sequences of costs (relative to the
mean cost); exits with status 1 if that exceeds ``--rtol``.

JAX runs where JAX puts it: a CUDA build of jaxlib with a visible GPU runs it
there, otherwise it runs on the CPU (``jax.devices()`` is printed).

    python benchmarks/gpu_check.py                  # ~4 min on 2 CPU cores
    python benchmarks/gpu_check.py --batches 128 --json out.json
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np
import pytensor

pytensor.config.floatX = "float32"

import sda  # noqa: E402  (after floatX)

#: Steps timed per round, by minibatch size (rounded to whole blocks): a
#: few seconds a round on a CPU.
STEPS = {1: 400, 128: 16, 1024: 4}
PHASES = ("pretrain0", "pretrain1", "pretrain2", "finetune")


def build(mode, datasets, batch_size, seed, block=1):
    """The phases' step functions of a fresh tutorial SdA compiled in ``mode``."""
    model = sda.SdA(numpy_rng=np.random.RandomState(seed), n_ins=784,
                    hidden_layers_sizes=[1000, 1000, 1000], n_outs=10,
                    corruption_levels=0.0)
    pretrain = model.pretraining_functions(datasets[0][0], batch_size,
                                           mode=mode, steps_per_call=block)
    train_fn, _, _ = model.build_finetune_functions(
        datasets, batch_size, 0.1, mode=mode, steps_per_call=block)
    steps = {f"pretrain{k}": (lambda i, fn=fn: fn(i, corruption=0.0,
                                                  lr=0.001))
             for k, fn in enumerate(pretrain)}
    steps["finetune"] = train_fn
    return model, steps


def run(step, n_calls, calls, rounds, warm_calls=1):
    """Costs of ``warm_calls`` warm-up calls and ``rounds`` timed blocks of
    ``calls`` calls; the median seconds a call; the first call's seconds.

    Every variant of a cell trains the same minibatches in the same order,
    so that the phases after the first start from the same weights."""
    t0 = time.perf_counter()
    costs = list(np.atleast_1d(step(0)))  # compiles on first call
    warm = time.perf_counter() - t0
    for index in range(1, warm_calls):
        costs += list(np.atleast_1d(step(index)))
    times, index = [], warm_calls
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            costs += list(np.atleast_1d(step(index % n_calls)))
            index += 1
        times.append(time.perf_counter() - start)
    return np.array(costs, dtype=float), statistics.median(times) / calls, \
        warm


def max_relative_difference(costs, reference):
    """The largest difference of two cost sequences, relative to the mean
    cost (a single example's cost can be near 0, where float32 rounding
    makes element-wise ratios meaningless)."""
    n = min(len(costs), len(reference))
    return float(np.max(np.abs(costs[:n] - reference[:n]))
                 / max(np.mean(np.abs(reference[:n])), 1e-12))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,128,1024",
                        help="minibatch sizes (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed blocks per cell (default: %(default)s)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the steps of a block (default: 1)")
    parser.add_argument("--rtol", type=float, default=2e-3,
                        help="largest relative cost difference allowed "
                             "(default: %(default)s)")
    parser.add_argument("--block", type=int, default=64,
                        help="minibatches per call of the blocked JAX "
                             "functions (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=89677)
    parser.add_argument("--json", default=None,
                        help="also write the figures to this file")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]

    jax = sda.backend.require_jax()
    devices = jax.devices()
    print(f"JAX {jax.__version__} on {devices[0].platform}: "
          f"{', '.join(d.device_kind for d in devices)}; C VM BLAS: "
          f"{'scipy-openblas32' if sda.blas_ldflags() else 'none'}")
    datasets = sda.load_data()
    n_train = datasets[0][0].get_value(borrow=True).shape[0]

    rows, worst = [], 0.0
    print(f"{'phase':<10} {'batch':>5} {'C VM/s':>8} {'JAX/s':>8} "
          f"{'JAX/C':>6} {'block':>5} {'blocked/s':>9} {'blk/C':>6} "
          f"{'max rel diff':>12} {'JAX warm-up':>11}")
    for batch_size in batches:
        n_batches = n_train // batch_size
        block = max(1, min(args.block, n_batches // 2))
        # whole blocks, so that all variants train the same minibatches
        calls = max(1, round(STEPS.get(batch_size, 8) * args.scale / block))
        steps = calls * block
        _, c_steps = build("CVM", datasets, batch_size, args.seed)
        _, j_steps = build("JAX", datasets, batch_size, args.seed)
        _, b_steps = build("JAX", datasets, batch_size, args.seed, block)
        for phase in PHASES:
            c_costs, c_s, _ = run(c_steps[phase], n_batches, steps,
                                  args.rounds, block)
            j_costs, j_s, warm = run(j_steps[phase], n_batches, steps,
                                     args.rounds, block)
            b_costs, b_s, b_warm = run(b_steps[phase], n_batches // block,
                                       calls, args.rounds)
            diff = max(max_relative_difference(j_costs, c_costs),
                       max_relative_difference(b_costs, c_costs))
            worst = max(worst, diff)
            c_rate, j_rate = batch_size / c_s, batch_size / j_s
            b_rate = batch_size * block / b_s
            rows.append({"phase": phase, "batch_size": batch_size,
                         "steps": len(c_costs), "cvm_samples_per_s": c_rate,
                         "jax_samples_per_s": j_rate, "block": block,
                         "jax_blocked_samples_per_s": b_rate,
                         "max_relative_cost_difference": diff,
                         "jax_first_call_s": warm,
                         "jax_blocked_first_call_s": b_warm})
            print(f"{phase:<10} {batch_size:>5} {c_rate:>8.0f} "
                  f"{j_rate:>8.0f} {j_rate / c_rate:>6.2f} {block:>5} "
                  f"{b_rate:>9.0f} {b_rate / c_rate:>6.2f} {diff:>12.1e} "
                  f"{warm:>10.1f}s", flush=True)
    ok = worst <= args.rtol
    print(f"costs {'agree' if ok else 'DIFFER'}: largest relative "
          f"difference {worst:.1e} (allowed {args.rtol:g})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"jax": jax.__version__,
                       "devices": [d.device_kind for d in devices],
                       "platform": devices[0].platform, "rows": rows}, f,
                      indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
