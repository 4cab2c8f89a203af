"""Throughput of sda's training steps, side by side with reference implementations.

Times one SGD step of each dA layer (``pretrain0/1/2``), one fine-tuning step
and one validation minibatch of the tutorial's SdA (784-1000-1000-1000-10,
sigmoid, tied weights, masking noise, cross-entropy, plain SGD) at several
minibatch sizes, in float32 and float64, and prints samples/s as the median
of interleaved rounds, each as a fraction of this machine's limit (measured
GEMM GFLOP/s for the work of a step, or memory bandwidth for its weight
traffic, whichever binds) and as a ratio to every reference configuration.

Every configuration runs in its own worker process (floatX and the backend
are process-wide settings), and within a round every worker times the same
cell back to back in a shuffled order, so that all see the same machine.
Samples during which other processes used more than ``--max-other`` cores
are retried and, when quiet ones exist, left out.

``--load N`` measures sda on a busy machine instead: it times every cell
quiet, then with N foreign CPU-bound processes running (busy loops it
starts and stops itself), both with sda's defaults and with one thread
(``sda-1thread``), and prints the three side by side, with how often sda
ran on several threads while it was timed under load.  ``--processes K``
times everything in K fresh sets of worker processes and pools their
samples: under load the same configuration's cell moved by up to 25 % from
one worker process to the next, for every configuration alike.

Configurations:

* ``sda``             the library as installed: its default mode and BLAS
* ``sda-numba``       ``SDA_MODE=NUMBA`` (PyTensor 3's own default backend)
* ``sda-cvm-noblas``  the C backend with ``blas__ldflags=`` (a plain PyTensor
                      install: its BLAS detection fails)
* ``sda-pt-sigmoid``  sda on the C backend with PyTensor's own element-wise
                      sigmoid and softplus (``optimizer_excluding=
                      sda_vectorised``), to measure :mod:`sda.elementwise`
* ``sda-jax``         ``SDA_MODE=JAX``: XLA on this CPU (when JAX is installed)
* ``sda-mkl``         ``SDA_BLAS=mkl``: MKL's sequential layer in place of
                      OpenBLAS (when the ``mkl`` wheel, ``sda[mkl]``, is
                      installed); ``SDA_BLAS=mkl python benchmarks/...``
                      makes it the ``sda`` column, compared with the rest
* ``sda-1thread``     ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``: sda with
                      every thread taken away (only with ``--configs``, and
                      in the ``--load`` table)
* references from ``--refs`` (default ``../shared/bench`` beside the
  checkout), run with ``--ref-python`` (an interpreter with torch):
  ``torch``, ``pt-ref-openblas`` (the tutorial written plainly in PyTensor,
  C backend linked to OpenBLAS), ``pt-ref-numba``, ``pt-ref-noblas``.

Examples::

    python benchmarks/bench_sda.py --quick                # ~3 min
    python benchmarks/bench_sda.py --steps pretrain0 --batches 1 \\
        --dtypes float32 --configs sda,sda-numba,sda-cvm-noblas
    python benchmarks/bench_sda.py --ref-python .bench-venv/bin/python
    python benchmarks/bench_sda.py --quick --base ../sda-before   # A/B
    python benchmarks/bench_sda.py --load 1 --dtypes float32 \\
        --batches 1,20,128 --rounds 3 --processes 3   # on a busy machine
    python benchmarks/bench_sda.py --steps pretrain0,pretrain0-gaussian,\\
        pretrain0-salt_and_pepper --batches 1,128 --dtypes float32 \\
        --configs sda                          # the cost of each noise
"""

import argparse
import glob
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STEPS = ("pretrain0", "pretrain1", "pretrain2", "finetune", "validate")
#: The first layer's step with the other noises of sda.noise (sda only;
#: masking noise is pretrain0): ask for them with --steps.
NOISE_STEPS = ("pretrain0-gaussian", "pretrain0-salt_and_pepper")
ALL_STEPS = STEPS + NOISE_STEPS
SIZES = (784, 1000, 1000, 1000)
N_OUT = 10


# -- what the machine can do ---------------------------------------------------

def _base(step):
    """The step whose work a noise variant does (pretrain0-gaussian ->
    pretrain0)."""
    return step.split("-")[0]


def flops_per_sample(step, cached_inputs=False):
    """Multiply-adds x 2 of one training sample (element-wise work ignored).

    A dA step costs 5 products of its weight matrix (encode, decode, the
    decoder's weight gradient, the back-propagated error, the encoder's
    weight gradient), plus the forward pass through the layers below unless
    their outputs are cached.  Fine-tuning: forward, weight gradients and
    input gradients for all but the first layer.
    """
    step = _base(step)
    mats = [SIZES[i] * SIZES[i + 1] for i in range(len(SIZES) - 1)]
    if step.startswith("pretrain"):
        k = int(step[-1])
        return 2 * (0 if cached_inputs else sum(mats[:k])) + 10 * mats[k]
    mats.append(SIZES[-1] * N_OUT)
    if step == "finetune":
        return 4 * sum(mats) + 2 * sum(mats[1:])
    return 2 * sum(mats)  # validate


def weight_bytes_per_step(step, itemsize, cached_inputs=False):
    """Weight traffic of one step, whatever its minibatch: each matrix read
    once per product pass, and read and written once by its update."""
    step = _base(step)
    mats = [SIZES[i] * SIZES[i + 1] for i in range(len(SIZES) - 1)]
    if step.startswith("pretrain"):
        k = int(step[-1])
        lower = 0 if cached_inputs else sum(mats[:k])
        return itemsize * (lower + 5 * mats[k])
    mats.append(SIZES[-1] * N_OUT)
    if step == "finetune":
        return itemsize * (3 * mats[0] + 4 * sum(mats[1:]))
    return itemsize * sum(mats)


def _best_rate(fn, work, seconds=0.3, repeats=5):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.05:
        fn()
        n += 1
    inner = max(1, int(seconds / repeats / ((time.perf_counter() - t0) / n)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        rates.append(work * inner / (time.perf_counter() - t0))
    return statistics.median(rates)


def machine_limits(dtype):
    """GEMM GFLOP/s (1000^3 and 128x1000x1000, the better) and GEMV GB/s."""
    rng = np.random.default_rng(0)
    a = rng.random((1000, 1000)).astype(dtype)
    b = rng.random((1000, 1000)).astype(dtype)
    c = np.empty_like(a)
    gemm = max(_best_rate(lambda: np.matmul(a, b, out=c), 2e-9 * 1000 ** 3),
               _best_rate(lambda: np.matmul(a[:128], b, out=c[:128]),
                          2e-9 * 128 * 1000 ** 2))
    v, y = rng.random(1000).astype(dtype), np.empty(1000, dtype)
    gemv = _best_rate(lambda: np.matmul(a, v, out=y), a.nbytes / 1e9)
    return {"gflops": gemm, "gbytes": gemv}


def limit(step, batch, dtype, limits, cached_inputs=False):
    """Upper bound on samples/s: compute time or weight traffic, whichever
    is longer.  The references recompute the lower layers for every
    minibatch of a pretraining step; sda reads them from its cache, so its
    bound (``cached_inputs``) leaves that work out."""
    itemsize = np.dtype(dtype).itemsize
    t_compute = flops_per_sample(step, cached_inputs) / (
        limits["gflops"] * 1e9)
    t_memory = weight_bytes_per_step(step, itemsize, cached_inputs) / (
        limits["gbytes"] * 1e9) / batch
    return 1.0 / max(t_compute, t_memory)


#: The configurations sda is compared with, one ratio column each.
BASELINES = ("torch", "sda-jax", "sda-mkl", "pt-ref-openblas", "sda-numba",
             "sda-cvm-noblas", "sda-pt-sigmoid", "sda-base")


# -- workers -----------------------------------------------------------------

def configurations(refs, ref_python, base=None):
    """label -> (argv, extra environment, PYTENSOR_FLAGS beyond floatX)."""
    worker = [sys.executable, str(HERE / "sda_worker.py")]
    plan = {
        "sda": (worker, {}, ""),
        "sda-numba": (worker, {"SDA_MODE": "NUMBA"}, ""),
        "sda-cvm-noblas": (worker, {"SDA_MODE": "CVM"}, "blas__ldflags="),
        "sda-pt-sigmoid": (worker, {}, "optimizer_excluding=sda_vectorised"),
        # what a user gets by taking every thread away (the load table's
        # reference); not a column of the main table unless asked for
        "sda-1thread": (worker, {"OMP_NUM_THREADS": "1",
                                 "OPENBLAS_NUM_THREADS": "1"}, ""),
    }
    if importlib.util.find_spec("jax") is not None:  # XLA on the same CPU
        plan["sda-jax"] = (worker, {"SDA_MODE": "JAX"}, "")
    # the mkl wheel's libraries, as sda.backend.blas.mkl_ldflags finds them
    mkl = glob.glob(os.path.join(sys.prefix, "lib", "libmkl_sequential.so.*"))
    if mkl and os.environ.get("SDA_BLAS", "").lower() != "mkl":
        plan["sda-mkl"] = (worker, {"SDA_BLAS": "mkl"}, "")
    if base:  # another checkout of sda (e.g. a git worktree of the last
        # release), timed by this worker: a before/after A/B in one run
        plan["sda-base"] = (worker, {"SDA_ROOT": str(Path(base).resolve())},
                            "")
    if refs and (refs / "pytensor_ref.py").exists():
        py = ref_python or sys.executable
        openblas = subprocess.run(
            [py, str(refs / "common.py"), "scipy-openblas-ldflags"],
            capture_output=True, text=True).stdout.strip()
        ref = [py, str(refs / "pytensor_ref.py"), "--serve"]
        plan["torch"] = ([py, str(refs / "torch_ref.py"), "--serve"], {}, None)
        if openblas:
            plan["pt-ref-openblas"] = (ref, {}, "mode=CVM,blas__ldflags="
                                       + openblas)
        plan["pt-ref-numba"] = (ref, {}, "")
        plan["pt-ref-noblas"] = (ref, {}, "mode=CVM,blas__ldflags=")
    return plan


class Worker:
    def __init__(self, label, argv, env_extra, flags, dtype, n_train, log):
        env = dict(os.environ)
        env.pop("PYTENSOR_FLAGS", None)
        env.pop("SDA_MODE", None)
        env.update(env_extra)
        root = env.pop("SDA_ROOT", str(ROOT))
        if flags is not None:
            env["PYTENSOR_FLAGS"] = ",".join(
                f for f in (f"floatX={dtype}", flags) if f)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (root, env.get("PYTHONPATH")) if p)
        self.label, self.error = label, None
        self.proc = subprocess.Popen(argv, env=env, text=True, stderr=log,
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.alive = True
        rep = self.request({"op": "init", "dtype": dtype, "n_train": n_train})
        if not rep.get("ok"):
            self.alive, self.error = False, rep.get("error")

    def request(self, req):
        if not self.alive:
            return {"ok": False, "error": self.error}
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError as e:
            line, self.error = "", str(e)
        if not line:
            self.alive = False
            self.error = self.error or "worker exited (see the log)"
            return {"ok": False, "error": self.error}
        return json.loads(line)

    def close(self):
        if self.alive:
            self.request({"op": "quit"})
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def run(args, plan, dtype, log):
    """Samples of every (label, step, batch) cell for one dtype."""
    batches = [int(b) for b in args.batches.split(",")]
    steps = args.steps.split(",")
    workers = {}
    for label, (argv, env, flags) in plan.items():
        w = Worker(label, argv, env, flags, dtype, args.n_train, log)
        if not w.alive:
            progress(f"  {label} {dtype}: not started: {w.error}")
            continue
        workers[label] = w
    cells = [(s, b) for s in steps for b in batches]
    info, compile_s = {}, {}
    for label, w in workers.items():
        for step, b in cells:
            rep = w.request({"op": "build", "step": step, "batch": b})
            if rep.get("ok"):
                compile_s[(label, step, b)] = rep["compile_s"]
            else:
                progress(f"  {label} {step} b={b}: {rep.get('error')}")
        rep = w.request({"op": "info"})
        info[label] = rep.get("config", rep.get("error"))
        progress(f"  built {label} {dtype}")
    samples, threads = {}, {}
    rng = random.Random(12345)

    def sample(label, step, b):
        # Thread pools spin for a while after their last task (OpenBLAS
        # about 0.1 s, OpenMP runtimes up to 0.2 s): let the previous
        # worker's go idle, so that no cell is timed against them.
        time.sleep(args.settle_s)
        rep = workers[label].request({
            "op": "time", "step": step, "batch": b, "repeats": 1,
            "chunk_s": args.chunk_s, "warmup_s": args.warmup_s,
            "settle_s": args.settle_s})
        if rep.get("ok"):
            samples.setdefault((label, step, b), []).append(
                (rep["samples_per_s"], rep["other_cpu_cores"]))
            if rep.get("policy"):  # sda's threads while the chunk ran
                (on0, tried0), (on1, tried1) = rep["policy"]
                ways = threads.setdefault(label, [0, 0, 0])
                ways[0] += 1
                ways[1] += on0 and on1
                ways[2] += tried1 - tried0

    for r in range(args.rounds):
        for step, b in cells:
            labels = [l for l in workers if (l, step, b) in compile_s]
            rng.shuffle(labels)
            for label in labels:
                sample(label, step, b)
        progress(f"  {dtype} round {r + 1}/{args.rounds}")
    for _ in range(3):  # retry noisy cells
        todo = [key for key, ss in samples.items()
                if sum(o <= args.max_other for _, o in ss) < args.rounds]
        for key in todo:
            sample(*key)
    for w in workers.values():
        w.close()
    return samples, info, compile_s, threads


def run_processes(args, plan, dtype, log):
    """:func:`run` in ``args.processes`` fresh sets of workers, one after
    another, its samples pooled: how fast a process runs a cell also
    depends on the process (under load, the same configuration's cell
    moved by up to 25 % from one process to the next, for reasons not
    pinned down), which rounds within one process do not average out."""
    samples, info, compile_s, threads = {}, {}, {}, {}
    for p in range(args.processes):
        if args.processes > 1:
            progress(f"  {dtype}: worker processes {p + 1}/{args.processes}")
        more, info_, compile_, threads_ = run(args, plan, dtype, log)
        for key, ss in more.items():
            samples.setdefault(key, []).extend(ss)
        for label, counts in threads_.items():
            mine = threads.setdefault(label, [0, 0, 0])
            for i, c in enumerate(counts):
                mine[i] += c
        info = info or info_
        compile_s = compile_s or compile_
    return samples, info, compile_s, threads


def _rounds(args):
    """How the medians were taken, for a table's heading."""
    rounds = f"{args.rounds} interleaved rounds"
    return (rounds if args.processes == 1 else
            f"{rounds} in each of {args.processes} sets of worker processes")


def summarise(samples, max_other):
    out = {}
    for key, ss in samples.items():
        quiet = [r for r, o in ss if o <= max_other]
        out[key] = (statistics.median(quiet or [r for r, _ in ss]),
                    bool(quiet))
    return out


def table(summary, labels, dtype, limits, baselines):
    keys = sorted({(s, b) for (_, s, b) in summary},
                  key=lambda k: (ALL_STEPS.index(k[0]), k[1]))
    head = ["step", "batch", *labels, "limit", "limit (sda)"]
    head += [f"sda / {b}" for b in baselines]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for step, b in keys:
        lim = limit(step, b, dtype, limits)
        lim_sda = limit(step, b, dtype, limits, cached_inputs=True)
        row = [step, str(b)]
        for label in labels:
            v = summary.get((label, step, b))
            own = lim_sda if label.startswith("sda") else lim
            row.append("–" if v is None else
                       f"{v[0]:.0f}{'' if v[1] else '*'} "
                       f"({100 * v[0] / own:.0f}%)")
        row += [f"{lim:.0f}", f"{lim_sda:.0f}"]
        mine = summary.get(("sda", step, b))
        for base in baselines:
            ref = summary.get((base, step, b))
            row.append("–" if not (mine and ref) else
                       f"{mine[0] / ref[0]:.2f}×")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def describe(info):
    """The few settings that tell configurations apart, on one line."""
    if not isinstance(info, dict):
        return str(info)
    keys = ("sda", "from", "torch", "pytensor", "floatX", "mode", "config_mode",
            "resolved_linker", "blas", "threads", "blas__ldflags")
    short = {k: info[k] for k in keys if info.get(k) not in (None, "")}
    if "blas__ldflags" in short:
        short["blas__ldflags"] = short["blas__ldflags"][:50] + "…"
    return json.dumps(short)


# -- on a busy machine ---------------------------------------------------------

def _foreign_processes(n):
    """n busy loops, as another user's job would be."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(n)]


def load_report(args, plan):
    """sda's samples/s quiet, under ``args.load`` foreign processes, and
    under them on one thread, as markdown tables (one per dtype)."""
    log = open(os.devnull, "w")
    # under load a cell gets a longer warm-up: sda's thread policy (one
    # thread or all) settles in a few tenths of a second
    loaded = argparse.Namespace(**{
        **vars(args), "max_other": args.load + 0.5,
        "warmup_s": max(args.warmup_s, 0.5), "chunk_s": max(args.chunk_s, 0.3)})
    report, t0 = [], time.perf_counter()
    base = int("sda-base" in plan)  # the checkout of --base, under load
    for dtype in args.dtypes.split(","):
        progress(f"{dtype}: quiet")
        quiet, info, _, _ = run_processes(args, {"sda": plan["sda"]},
                                          dtype, log)
        progress(f"{dtype}: {args.load} foreign process(es)")
        foreign = _foreign_processes(args.load)
        try:
            time.sleep(1.0)
            busy, _, _, threads = run_processes(
                loaded, {k: plan[k] for k in ("sda", "sda-1thread",
                                              "sda-base") if k in plan},
                dtype, log)
        finally:
            for proc in foreign:
                proc.kill()
                proc.wait()
        q = summarise(quiet, args.max_other)
        b = summarise(busy, loaded.max_other)
        report += [f"### {dtype}: samples/s, median of {_rounds(args)}; "
                   f"quiet, then with {args.load} foreign CPU-bound "
                   f"process(es) on {os.cpu_count()} CPUs", "",
                   "| step | batch | quiet | under load | under load, one "
                   "thread | load / quiet | load / one thread |"
                   + (" sda-base under load |" if base else ""),
                   "|---" * (7 + base) + "|"]
        for step, batch in sorted({(s_, b_) for (_, s_, b_) in q},
                                  key=lambda k: (ALL_STEPS.index(k[0]), k[1])):
            vq = q.get(("sda", step, batch), (0,))[0]
            vl = b.get(("sda", step, batch), (0,))[0]
            v1 = b.get(("sda-1thread", step, batch), (0,))[0]
            vb = b.get(("sda-base", step, batch), (0,))[0]
            report.append(
                f"| {step} | {batch} | {vq:.0f} | {vl:.0f} | {v1:.0f} | "
                f"{vl / vq if vq else 0:.0%} | {vl / v1 if v1 else 0:.2f}× |"
                + (f" {vb:.0f} |" if base else ""))
        report += ["", f"- sda: {describe(info.get('sda'))}"]
        if "sda" in threads:
            n, several, trials = threads["sda"]
            report.append(f"- sda's thread policy under load: several "
                          f"threads throughout {several} of {n} timed "
                          f"chunks, {trials} trials of the other way "
                          f"during them")
        report.append("")
    report.append(f"Wall time {time.perf_counter() - t0:.0f} s.")
    return "\n".join(report)


def report_from_json(dump, args):
    """The tables of an earlier run, from its ``--json`` file."""
    lines = []
    for dtype, run_ in dump.items():
        samples = {}
        for key, values in run_["samples"].items():
            label, step, batch = key.split("|")
            samples[(label, step, int(batch))] = [tuple(v) for v in values]
        summary = summarise(samples, args.max_other)
        labels = list(dict.fromkeys(k[0] for k in samples))
        baselines = [b for b in BASELINES if b in labels]
        lim = run_["limits"]
        lines += [f"### {dtype} (GEMM {lim['gflops']:.1f} GFLOP/s, GEMV "
                  f"{lim['gbytes']:.1f} GB/s)", "",
                  table(summary, labels, dtype, lim, baselines), ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default=",".join(STEPS),
                    help=f"comma list of {', '.join(ALL_STEPS)}")
    ap.add_argument("--batches", default=None,
                    help="comma list of minibatch sizes (default 1,20,128; "
                         "1,20 with --quick)")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--configs", default="",
                    help="comma list of configuration labels (default all)")
    ap.add_argument("--refs", default=str(ROOT.parent / "shared" / "bench"),
                    help="folder of the reference implementations")
    ap.add_argument("--ref-python", default=None,
                    help="interpreter for the references (one with torch)")
    ap.add_argument("--base", metavar="DIR", default=None,
                    help="also time the sda of another checkout (e.g. 'git "
                         "worktree add ../base HEAD~3') as 'sda-base'")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--processes", type=int, default=1,
                    help="time in this many fresh sets of worker processes, "
                         "one after another, and pool their samples")
    ap.add_argument("--chunk-s", type=float, default=0.1)
    ap.add_argument("--warmup-s", type=float, default=0.06)
    ap.add_argument("--settle-s", type=float, default=0.25,
                    help="pause before each timed cell, for the thread "
                         "pools of the previous one to go idle")
    ap.add_argument("--n-train", type=int, default=2560)
    ap.add_argument("--max-other", type=float, default=0.4)
    ap.add_argument("--quick", action="store_true",
                    help="3 rounds, float32, minibatches 1 and 20 (unless "
                         "--batches says)")
    ap.add_argument("--load", type=int, default=0, metavar="N",
                    help="time sda quiet, then with N foreign CPU-bound "
                         "processes, with its defaults and on one thread")
    ap.add_argument("--json", help="also write every sample here")
    ap.add_argument("--from-json", metavar="FILE",
                    help="print the tables of an earlier --json run")
    args = ap.parse_args(argv)
    if args.from_json:
        print(report_from_json(json.loads(Path(args.from_json).read_text()),
                               args))
        return 0
    if args.quick:
        args.rounds, args.dtypes = 3, "float32"
        args.batches = args.batches or "1,20"
    plan = configurations(Path(args.refs), args.ref_python, args.base)
    args.batches = args.batches or "1,20,128"
    if args.load:
        print(load_report(args, plan))
        return 0
    if args.configs:
        plan = {k: plan[k] for k in args.configs.split(",") if k in plan}
    else:
        plan.pop("sda-1thread")
    baselines = [b for b in BASELINES if b in plan]
    t0 = time.perf_counter()
    report, dump = [], {}
    log = open(os.devnull, "w") if not os.environ.get("BENCH_LOG") else \
        open(os.environ["BENCH_LOG"], "a")
    for dtype in args.dtypes.split(","):
        limits = machine_limits(dtype)
        progress(f"{dtype}: GEMM {limits['gflops']:.1f} GFLOP/s, GEMV "
                 f"{limits['gbytes']:.1f} GB/s")
        samples, info, compile_s, _ = run_processes(args, plan, dtype, log)
        summary = summarise(samples, args.max_other)
        labels = [l for l in plan if any(k[0] == l for k in summary)]
        report += [f"### {dtype}: samples/s, median of {_rounds(args)} "
                   f"(% of the machine's limit)", "",
                   f"Limits measured now: GEMM {limits['gflops']:.1f} "
                   f"GFLOP/s, GEMV {limits['gbytes']:.1f} GB/s; * = no quiet "
                   f"sample. sda's percentages are of 'limit (sda)', which "
                   f"leaves out the lower layers' forward pass its cache "
                   f"saves in pretraining.", "",
                   table(summary, labels, dtype, limits, baselines), ""]
        report += [f"- {label}: {describe(info.get(label))}"
                   for label in labels] + [""]
        dump[dtype] = {"limits": limits, "info": info,
                       "samples": {"|".join(map(str, k)): v
                                   for k, v in samples.items()},
                       "compile_s": {"|".join(map(str, k)): v
                                     for k, v in compile_s.items()}}
    report.append(f"Wall time {time.perf_counter() - t0:.0f} s, "
                  f"{os.cpu_count()} CPUs.")
    print("\n".join(report))
    if args.json:
        Path(args.json).write_text(json.dumps(dump, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
