"""One benchmark worker: times sda's compiled training steps in this process.

Speaks the line protocol of the reference workers in ``../shared/bench``
(``common.serve``), so that ``bench_sda.py`` drives sda and the references
alike, interleaved, in one run.  Requests on stdin, one JSON object a line:

    {"op": "init", "dtype": "float32", "n_train": 2560}
    {"op": "build", "step": "pretrain0", "batch": 20}    -> compile seconds
    {"op": "time", "step": ..., "batch": ..., "repeats": 1, "chunk_s": 0.1,
     "warmup_s": 0.1}                                     -> samples/s
    {"op": "info"}
    {"op": "quit"}

floatX and the backend come from the environment (``PYTENSOR_FLAGS``,
``SDA_MODE``), one configuration per process, as a user would set them.
"""

import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

STEPS = ("pretrain0", "pretrain1", "pretrain2", "finetune", "validate")
HIDDEN = (1000, 1000, 1000)
CORRUPTION = (0.1, 0.2, 0.3)
PRETRAIN_LR, FINETUNE_LR = 0.001, 0.1
SEED = 89677
_WARNINGS = []


def _record(message, category, *args, **kwargs):
    _WARNINGS.append(f"{category.__name__}: {str(message).splitlines()[0]}")


def mnist_rows(n):
    """The first ``n`` MNIST training images (in [0, 1)) and their labels."""
    import sda
    arrays = sda.load_mnist(verify=False)
    x = arrays["train_x"][:n] / 256.0
    return x, arrays["train_y"][:n]


class Bench:
    impl = "sda"

    def __init__(self, dtype, n_train):
        import pytensor
        if pytensor.config.floatX != dtype:
            raise ValueError(f"worker started with floatX="
                             f"{pytensor.config.floatX}, asked for {dtype}")
        import sda
        self.sda, self.pytensor = sda, pytensor
        x, y = mnist_rows(n_train)
        self.n_train = n_train
        self.X, self.Y = sda.shared_dataset((x, y))
        self.model = sda.SdA(np.random.RandomState(SEED), n_ins=784,
                             hidden_layers_sizes=HIDDEN, n_outs=10,
                             corruption_levels=CORRUPTION)
        self.fns = {}

    def build(self, step, batch):
        """-> (fn(i), number of minibatches, samples per call, compile s)."""
        key = (step, batch)
        if key in self.fns:
            return (*self.fns[key], 0.0)
        t0 = time.perf_counter()
        m = self.model
        data = [(self.X, self.Y)] * 3
        if "-" in step:  # pretrain0-gaussian: layer 0 with another noise
            step, noise = step.split("-", 1)
            m = self.sda.SdA(numpy_rng=np.random.RandomState(SEED),
                             n_ins=784, hidden_layers_sizes=HIDDEN[:1],
                             n_outs=10, corruption_levels=CORRUPTION[:1],
                             noise=noise)
        if step.startswith("pretrain"):
            k = int(step[-1])
            pre = m.pretraining_functions(self.X, batch)[k]
            level = CORRUPTION[k]

            def fn(i):
                return pre(i, level, PRETRAIN_LR)
        elif step == "finetune":
            fn, _, _ = m.build_finetune_functions(data, batch, FINETUNE_LR)
        elif step == "validate":
            fn = self.pytensor.function(
                [idx := self.pytensor.tensor.lscalar("i")], m.errors,
                # as the library takes a minibatch (a (1, n) row at batch
                # 1, static-length slices under JAX)
                givens={m.x: self.sda.data.minibatch(self.X, idx, batch),
                        m.y: self.sda.data.minibatch(self.Y, idx, batch)},
                mode=self.sda.compile_mode())
        else:
            raise ValueError(f"unknown step {step!r}")
        fn(0)
        self.fns[key] = (fn, self.n_train // batch, batch)
        return fn, self.n_train // batch, batch, time.perf_counter() - t0

    def info(self):
        pt = self.pytensor
        return {"sda": self.sda.__version__,
                "from": str(Path(self.sda.__file__).parent.parent),
                "pytensor": pt.__version__,
                "floatX": pt.config.floatX, "mode": self.sda.get_mode(),
                "blas": "scipy-openblas32" if "scipy_openblas" in
                self.sda.blas_ldflags() else "mkl (sequential)" if
                "mkl_sequential" in self.sda.blas_ldflags() else (
                    self.sda.blas_ldflags() or "none"),
                "warnings": sorted(set(_WARNINGS))}


def time_cell(fn, n_batches, samples_per_call, repeats, chunk_s, warmup_s,
              start, settle_s=0.0):
    """Warm up, then time ``repeats`` chunks of consecutive calls.

    The first call can recompute the cached layer inputs (after another
    layer was trained), a GEMM over the training set whose BLAS threads
    spin for a while afterwards; ``settle_s`` waits that out, since in
    training the recomputation happens once per layer, not once per cell.
    """
    fn(start % n_batches)
    start += 1
    time.sleep(settle_s)
    i, calls, t0 = start, 0, time.perf_counter()
    while True:
        fn(i % n_batches)
        i, calls = i + 1, calls + 1
        elapsed = time.perf_counter() - t0
        if (calls >= 3 and elapsed >= warmup_s) or elapsed > 5 * warmup_s + 2:
            break
    n_calls = max(2, int(chunk_s / (elapsed / calls)))
    rates = []
    pol0 = _policy()
    busy0, wall0 = _cpu_ticks(), time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n_calls):
            fn(i % n_batches)
            i += 1
        rates.append(n_calls * samples_per_call / (time.perf_counter() - t0))
    busy1, wall1 = _cpu_ticks(), time.perf_counter()
    hz = os.sysconf("SC_CLK_TCK")
    others = ((busy1[0] - busy0[0]) - (busy1[1] - busy0[1])) / hz / (
        wall1 - wall0)
    pol1 = _policy()
    return {"samples_per_s": statistics.median(rates), "rates": rates,
            "other_cpu_cores": max(0.0, others), "next": i,
            "policy": [pol0, pol1]}


def _policy():
    """(on several threads, trials so far) of sda's thread policy, or None
    (a checkout without one)."""
    try:
        from sda.ops.threads import policy
    except ImportError:
        return None
    p = policy()
    return [p["threaded"] and not p["trying"], p["trials"]]


def _cpu_ticks():
    """(busy ticks of the machine, ticks of this process)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return v[0] + v[1] + v[2] + v[5] + v[6], int(fields[11]) + int(
            fields[12])
    except (OSError, IndexError, ValueError):
        return 0, 0


def serve():
    out, sys.stdout = sys.stdout, sys.stderr  # keep chatter off the replies
    warnings.showwarning = _record
    bench, pos = None, {}
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "init":
                bench = Bench(req["dtype"], req["n_train"])
                rep = {"ok": True}
            elif op == "build":
                rep = {"ok": True,
                       "compile_s": bench.build(req["step"], req["batch"])[3]}
            elif op == "time":
                key = (req["step"], req["batch"])
                fn, nb, spc, _ = bench.build(*key)
                r = time_cell(fn, nb, spc, req["repeats"], req["chunk_s"],
                              req["warmup_s"], pos.get(key, 0),
                              req.get("settle_s", 0.0))
                pos[key] = r.pop("next")
                rep = {"ok": True, **r}
            elif op == "info":
                rep = {"ok": True, "impl": bench.impl, "config": bench.info()}
            elif op == "quit":
                break
            else:
                rep = {"ok": False, "error": f"unknown op {op}"}
        except Exception as e:  # reported to the driver, which decides
            rep = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(rep) + "\n")
        out.flush()


if __name__ == "__main__":
    # the checkout the driver chose (PYTHONPATH), else the one beside us
    sys.path.insert(0, os.environ.get("PYTHONPATH", "").split(os.pathsep)[0]
                    or str(Path(__file__).resolve().parent.parent))
    serve()
