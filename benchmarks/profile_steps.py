"""Where a training step's time goes: PyTensor's profile of each op.

Compiles the benchmark's steps (the tutorial's SdA, 784-1000-1000-1000-10,
as ``bench_sda.py`` times them) with profiling on, runs each for a while
and prints, per step and minibatch size, the share of the step's time each
kind of op takes (PyTensor's "Class" summary) and the time per call.

    python benchmarks/profile_steps.py                       # minibatch 20
    python benchmarks/profile_steps.py --batches 20,128 --steps finetune

The profiler times each node separately, which adds a few microseconds a
node: the shares are right, the absolute times a little high.
"""

import argparse
import collections
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="pretrain0,pretrain1,finetune,validate")
    ap.add_argument("--batches", default="20")
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="how long each step runs while profiled")
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args(argv)

    import pytensor
    # a script of its own: profiling is switched on for every function it
    # compiles (the library's modes are copied with it)
    pytensor.config.profile = True
    from sda_worker import Bench
    bench = Bench(pytensor.config.floatX, 2560)
    print(f"floatX={pytensor.config.floatX}, {os.cpu_count()} CPUs, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}\n")
    for batch in [int(b) for b in args.batches.split(",")]:
        for step in args.steps.split(","):
            fn, n_batches, per_call, _ = bench.build(step, batch)
            fns = _profiled_functions(fn)
            before = {id(f): _by_class(f.profile) for f in fns}
            calls, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.seconds:
                fn(calls % n_batches)
                calls += 1
            wall = time.perf_counter() - t0
            by_class = collections.Counter()
            for f in fns:
                for cls, t in _by_class(f.profile).items():
                    by_class[cls] += t - before[id(f)].get(cls, 0.0)
            total = sum(by_class.values())
            print(f"### {step}, minibatch {batch}: {1e6 * wall / calls:.0f} "
                  f"µs a call wall, {1e6 * total / calls:.0f} µs in ops "
                  f"({per_call * calls / wall:.0f} samples/s)\n")
            print("| op | share | µs a call |\n|---|---|---|")
            for cls, t in by_class.most_common(args.top):
                print(f"| {cls} | {100 * t / total:.1f} % | "
                      f"{1e6 * t / calls:.1f} |")
            rest = total - sum(t for _, t in by_class.most_common(args.top))
            if rest > 0:
                print(f"| (the rest) | {100 * rest / total:.1f} % | "
                      f"{1e6 * rest / calls:.1f} |")
            print()
    # the profiles were read here: PyTensor need not print them at exit
    from pytensor.compile.debug import profiling
    profiling._atexit_print_list.clear()
    return 0


def _profiled_functions(fn):
    """The compiled PyTensor functions behind one step (a step may be a
    Python closure over one or two of them)."""
    def is_function(f):  # a compiled function: it has a maker and a vm
        return hasattr(f, "maker") and hasattr(f, "vm")
    if is_function(fn):
        return [fn]
    found, todo, seen = [], [fn], set()
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        if is_function(f):
            found.append(f)
            continue
        for cell in getattr(f, "__closure__", None) or ():
            try:
                todo.append(cell.cell_contents)
            except ValueError:
                pass
        for v in getattr(f, "__dict__", {}).values():
            todo.append(v)
        if isinstance(f, (list, tuple)):
            todo.extend(f)
    return [f for f in found if getattr(f, "profile", None)]


def _by_class(profile):
    """Seconds so far per op class (element-wise ops by their scalar op)."""
    out = collections.Counter()
    for (_, node), t in profile.apply_time.items():
        op = node.op
        name = type(op).__name__
        if name == "Elemwise":
            name = f"Elemwise{{{op.scalar_op}}}"
        out[name] += t
    return out


if __name__ == "__main__":
    sys.exit(main())
