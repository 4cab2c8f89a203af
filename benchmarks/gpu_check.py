"""The tutorial's SdA under JAX (GPU or CPU) and the C VM: same costs, and how fast.

Builds the tutorial architecture (784-1000-1000-1000-10, float32) twice from
one seed, one compiled for JAX and one for the C VM, and trains each for a
fixed number of steps of every phase (pretraining layers 0, 1, 2 and
fine-tuning) on MNIST at minibatches of 1, 128 and 1024, without
corruption so that both must compute the same costs.  Prints, per phase and
minibatch size, the samples/s of each backend (median of ``--rounds`` timed
blocks, after a warm-up call that compiles), their ratio, and the largest
relative difference between the two sequences of costs; exits with status 1
if that exceeds ``--rtol``.

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

#: Steps timed per block, by minibatch size: a few seconds a block on a CPU.
STEPS = {1: 400, 128: 16, 1024: 4}
PHASES = ("pretrain0", "pretrain1", "pretrain2", "finetune")


def build(mode, datasets, batch_size, seed):
    """The phases' step functions of a fresh tutorial SdA compiled in ``mode``."""
    model = sda.SdA(numpy_rng=np.random.RandomState(seed), n_ins=784,
                    hidden_layers_sizes=[1000, 1000, 1000], n_outs=10,
                    corruption_levels=0.0)
    pretrain = model.pretraining_functions(datasets[0][0], batch_size,
                                           mode=mode)
    train_fn, _, _ = model.build_finetune_functions(datasets, batch_size,
                                                    0.1, mode=mode)
    steps = {f"pretrain{k}": (lambda i, fn=fn: fn(i, corruption=0.0,
                                                  lr=0.001))
             for k, fn in enumerate(pretrain)}
    steps["finetune"] = train_fn
    return model, steps


def run(step, n_batches, steps, rounds):
    """Costs of ``rounds`` blocks of ``steps`` calls, and samples... per s."""
    t0 = time.perf_counter()
    costs = [float(step(0))]  # compiles on first call
    warm = time.perf_counter() - t0
    times, index = [], 1
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            costs.append(float(step(index % n_batches)))
            index += 1
        times.append(time.perf_counter() - start)
    return costs, statistics.median(times) / steps, warm


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
    print(f"{'phase':<10} {'batch':>5} {'C VM/s':>10} {'JAX/s':>10} "
          f"{'JAX/C':>7} {'max rel diff':>12} {'JAX warm-up':>11}")
    for batch_size in batches:
        steps = max(1, int(STEPS.get(batch_size, 8) * args.scale))
        _, c_steps = build("CVM", datasets, batch_size, args.seed)
        _, j_steps = build("JAX", datasets, batch_size, args.seed)
        for phase in PHASES:
            c_costs, c_s, _ = run(c_steps[phase], n_train // batch_size,
                                  steps, args.rounds)
            j_costs, j_s, warm = run(j_steps[phase], n_train // batch_size,
                                     steps, args.rounds)
            diff = float(np.max(np.abs(np.subtract(j_costs, c_costs))
                                / np.maximum(np.abs(c_costs), 1e-12)))
            worst = max(worst, diff)
            row = {"phase": phase, "batch_size": batch_size,
                   "steps": len(c_costs), "cvm_samples_per_s":
                   batch_size / c_s, "jax_samples_per_s": batch_size / j_s,
                   "max_relative_cost_difference": diff,
                   "jax_first_call_s": warm}
            rows.append(row)
            print(f"{phase:<10} {batch_size:>5} {batch_size / c_s:>10.0f} "
                  f"{batch_size / j_s:>10.0f} {c_s / j_s:>7.2f} "
                  f"{diff:>12.1e} {warm:>10.1f}s", flush=True)
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
