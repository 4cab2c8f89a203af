"""Helpers the tests share: reference functions, small data and models, the examples."""

import gzip
import importlib.util
import os
import signal
import struct
from pathlib import Path

import numpy as np

import sda

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: The four IDX files of an MNIST-format folder, without ".gz".
STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array):
    code = {np.dtype("uint8"): 0x08, np.dtype(">i4"): 0x0C}[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def write_idx_folder(folder, n_train=10005, n_test=7, shape=(2, 3),
                     compress=True, seed=0):
    """A small MNIST-format data set (not MNIST: checksums do not match)."""
    rng = np.random.default_rng(seed)
    arrays = {
        STEMS[0]: rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        STEMS[1]: rng.integers(0, 3, n_train, dtype=np.uint8),
        STEMS[2]: rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        STEMS[3]: rng.integers(0, 3, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, a in arrays.items():
        data = idx_bytes(a)
        if compress:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return arrays


def example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}",
                                                  EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_slice(split, part, n, start=0):
    """Shared variables holding ``n`` examples of one part, in floatX."""
    x, y = split[part]
    return sda.shared_dataset((x[start:start + n], y[start:start + n]))


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _py2_string(b):
    """Python 2's SHORT_BINSTRING/BINSTRING opcodes (a str, in Python 2)."""
    if len(b) < 256:
        return b"U" + bytes([len(b)]) + b
    return b"T" + struct.pack("<i", len(b)) + b


def _py2_array(a):
    """A NumPy array as Python 2's cPickle protocol 2 wrote it."""
    a = np.ascontiguousarray(a)
    shape = b"".join(b"J" + struct.pack("<i", d) for d in a.shape)
    shape += {1: b"\x85", 2: b"\x86"}[a.ndim]
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
            b"K\x00\x85" + _py2_string(b"b") + b"\x87R"
            b"(K\x01" + shape + b"cnumpy\ndtype\n"
            + _py2_string(a.dtype.str[1:].encode()) + b"K\x00K\x01\x87R"
            b"(K\x03" + _py2_string(b"<")
            + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
            b"\x89" + _py2_string(a.tobytes()) + b"tb")


def tutorial_pickle(path, mnist_arrays, n=(300, 200, 100)):
    """A slice of mnist.pkl.gz as the tutorial built it: x/256 float32, int64 y."""
    raw = mnist_arrays
    parts = [(raw["train_x"][:n[0]], raw["train_y"][:n[0]]),
             (raw["train_x"][50000:50000 + n[1]],
              raw["train_y"][50000:50000 + n[1]]),
             (raw["test_x"][:n[2]], raw["test_y"][:n[2]])]
    body = b"".join(_py2_array((x / 256.0).astype("<f4"))
                    + _py2_array(y.astype("<i8")) + b"\x86"
                    for x, y in parts)
    with gzip.open(path, "wb") as f:
        f.write(b"\x80\x02" + body + b"\x87.")
    return parts


def clustered_sets(n_ins, sizes, seed=0):
    """Train/valid/test sets of three separable clusters in [0, 1]."""
    rng = np.random.default_rng(seed)
    centers = rng.random((3, n_ins))
    sets = []
    for n in sizes:
        y = rng.integers(0, 3, n)
        x = np.clip(centers[y] + 0.2 * rng.normal(size=(n, n_ins)), 0, 1)
        sets.append(sda.shared_dataset((x, y)))
    return sets


def small_sda(seed, n_ins, corruption_levels, sizes=(8, 6)):
    return sda.SdA(np.random.RandomState(seed), n_ins=n_ins,
                   hidden_layers_sizes=sizes, n_outs=3,
                   corruption_levels=corruption_levels)


def softplus(a):
    return np.logaddexp(0, a)


def checkpointed_run(folder, interrupt_at=None, resume=False, *,
                     corruption=(0.2, 0.3), epochs=(3, 6), modes=(None, None),
                     update_rule=None):
    """A small pretrain + finetune run with checkpoints in ``folder``.

    SIGINT after the epoch ``interrupt_at`` (``(phase, layer, epoch)``);
    ``resume`` continues from the checkpoint; ``modes``: the compilation
    mode of each phase; ``update_rule`` that of both (the rates are SGD's,
    a tenth of them with another rule).  Returns the model and its history.
    """
    from sda.train import History, finetune, pretrain
    from sda.train.checkpoint import Checkpointer

    model = small_sda(3, 10, corruption)
    sets = clustered_sets(10, (40, 20, 20))
    cp = Checkpointer(folder, recipe={"test": 1})
    state = cp.load() if resume else None
    history = History.from_dict(state[0]["history"]) if resume else None

    def progress(event):
        if (event["phase"], event["layer"], event["epoch"]) == interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)

    scale = 1 if update_rule in (None, "sgd") else 0.1
    history = pretrain(model, sets[0][0], epochs=epochs[0], batch_size=4,
                       learning_rate=0.1 * scale, checkpointer=cp,
                       resume=state, history=history, progress=progress,
                       mode=modes[0], update_rule=update_rule)
    history = finetune(model, sets, epochs=epochs[1], batch_size=4,
                       learning_rate=0.3 * scale, checkpointer=cp,
                       resume=state, history=history, progress=progress,
                       mode=modes[1], update_rule=update_rule)
    return model, history
