"""Hostile and careless inputs: each is refused with an error naming the file or
argument, in bounded memory and time.

Decompression bombs and special files are read in child processes, whose
peak memory above an idle ``import sda`` is measured and whose run time is
bounded by a timeout, so a regression shows as a number, not as a machine
that swaps or a suite that hangs.  A cross-cutting suite: it feeds every
reader and entry point, so it stays at the top of ``tests/``.
"""

import errno
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from unittest import mock

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from helpers import clustered_sets, small_sda
from sda.train.checkpoint import Checkpointer, claim_folder
from sda.serialization import save_model
from sda.train import DivergenceError, History, finetune, pretrain
from helpers import example

MiB = 1 << 20


# -- child processes: peak memory and a time limit ------------------------------

def in_child(body, timeout=60):
    """Run ``body`` after ``import sda`` in a fresh interpreter.

    Returns (the error it raised as 'Type: message', or None; its peak
    resident memory above the resident memory right after the import, in
    MiB: Linux's high-water mark, reset after the import).
    """
    code = textwrap.dedent("""
        import sda, sda.files
        def status(key):
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) / 1024 for line in f
                            if line.startswith(key + ":"))
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the high-water mark VmHWM
        base, error = status("VmRSS"), None
        try:
        {body}
        except Exception as e:
            error = f"{{type(e).__name__}}: {{e}}"
        print(repr((error, status("VmHWM") - base)))
    """).format(body=textwrap.indent(textwrap.dedent(body), "    "))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])


def gzip_stream(path, head, extra_bytes):
    """A gzip file of ``head`` then ``extra_bytes`` zeros, written in chunks."""
    zeros = bytes(16 * MiB)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(head)
        for _ in range(extra_bytes // len(zeros)):
            f.write(zeros)
    return path


def idx_header(code, dims):
    return bytes([0, 0, code, len(dims)]) + b"".join(
        d.to_bytes(4, "big") for d in dims)


def mnist_like_folder(folder):
    """Four valid small IDX files (gzipped), to break one at a time."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 10)):
        images = rng.integers(0, 256, (n, 4, 4), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        for stem, a in ((f"{prefix}-images-idx3-ubyte", images),
                        (f"{prefix}-labels-idx1-ubyte", labels)):
            with gzip.open(folder / f"{stem}.gz", "wb") as f:
                f.write(idx_header(8, a.shape) + a.tobytes())
    return folder


# -- data files --------------------------------------------------------------------

def test_an_idx_gzip_inflating_past_its_header_is_refused_in_bounded_memory(
        tmp_path):
    # the MNIST training images' header, then 47 MB of pixels and 1 GiB more
    head = idx_header(8, (60000, 28, 28)) + bytes(60000 * 784)
    bomb = gzip_stream(tmp_path / "train-images-idx3-ubyte.gz", head,
                       1024 * MiB)
    assert bomb.stat().st_size < 8 * MiB
    for verify in ("True", "False"):
        error, peak = in_child(f"""
            sda.data.read_idx({str(bomb)!r},
                              sha256=None if not {verify} else 'x')
        """)
        assert error.startswith("DataFileError: ") and bomb.name in error
        assert "but the file has more: it is corrupt" in error
        assert peak < 100, peak  # the declared 47 MB, not the 1 GiB


def test_absurd_idx_dimensions_are_refused_before_allocating(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_header(8, (65536,) * 4))
    with pytest.raises(sda.DataFileError, match=r"train-images-idx3-ubyte: "
                       r"IDX header announces shape \(65536, 65536, 65536, "
                       r"65536\).*more than the limit"):
        sda.data.read_idx(path)
    path.write_bytes(idx_header(0x0E, (1 << 20, 1 << 20)))  # 8 TiB of float64
    with pytest.raises(sda.DataFileError, match="more than the limit"):
        sda.data.read_idx(path)


def test_a_pickle_bomb_stops_at_the_size_limit(tmp_path):
    bomb = gzip_stream(tmp_path / "mnist.pkl.gz", b"\x80\x02", 512 * MiB)
    error, peak = in_child(f"""
        sda.files.MAX_BYTES = 64 * 2 ** 20
        sda.load_data({str(bomb)!r})
    """)
    assert error.startswith("DataFileError: ") and "mnist.pkl.gz: inflates "\
        "to more than 67108864 bytes" in error
    assert peak < 100, peak  # the 64 MiB limit


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "folder", "socket"])
def test_special_files_are_refused_without_reading_or_blocking(tmp_path,
                                                               kind):
    folder = mnist_like_folder(tmp_path / "data")
    target = folder / "train-images-idx3-ubyte.gz"
    target.unlink()
    if kind == "/dev/zero":
        target.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        import socket
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
    started = time.monotonic()
    error, peak = in_child(f"sda.load_data({str(folder)!r}, verify=False)",
                           timeout=30)
    assert time.monotonic() - started < 30
    expected = {"/dev/zero": "a character device", "fifo": "a FIFO",
                "folder": "a folder", "socket": "a socket"}[kind]
    assert error == (f"DataFileError: {target}: is {expected}, not a regular "
                     f"file: refused")
    assert peak < 50, peak


# -- model files -------------------------------------------------------------------

def tiny_model(floatX="float64"):
    with pytensor.config.change_flags(floatX=floatX):
        return sda.SdA(np.random.RandomState(0), n_ins=6,
                       hidden_layers_sizes=[4], n_outs=2,
                       corruption_levels=[0.1])


def npz_with(path, arrays, architecture=None, compress=False):
    """Write an .npz holding ``arrays`` and an architecture record."""
    if architecture is not None:
        arrays = dict(arrays, __architecture__=np.array(json.dumps(
            architecture)))
    (np.savez_compressed if compress else np.savez)(path, **arrays)
    return path


def model_arrays(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def test_an_architecture_declaring_huge_layers_is_refused_before_building(
        tmp_path):
    arrays = model_arrays(save_model(tiny_model(), tmp_path / "m.npz"))
    arch = json.loads(str(arrays.pop("__architecture__")))
    arch["hidden_layers_sizes"] = [20000, 20000]
    arch["corruption_levels"] = [0.1, 0.1]
    for key in ("noise", "loss", "emphasis", "tied"):  # as in older files
        del arch[key]
    bad = npz_with(tmp_path / "huge.npz", arrays, arch)
    assert bad.stat().st_size < 4096
    error, peak = in_child(f"sda.load_model({str(bad)!r})")
    assert error == (f"DataFileError: {bad}: holds hidden0.W with shape "
                     f"(6, 4) and dtype float64, the model needs (6, 20000) "
                     f"float64")
    assert peak < 50, peak


def test_an_extra_member_is_refused_before_it_is_inflated(tmp_path):
    path = save_model(tiny_model(), tmp_path / "m.npz")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        with z.open("payload.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {
                "descr": "|u1", "fortran_order": False,
                "shape": (512 * MiB,)})
            zeros = bytes(16 * MiB)
            for _ in range(32):  # 512 MiB that deflate to 0.5 MB
                f.write(zeros)
    assert path.stat().st_size < 4 * MiB
    error, peak = in_child(f"sda.load_model({str(path)!r})")
    assert error == (f"DataFileError: {path}: holds an unexpected array "
                     f"'payload'")
    assert peak < 50, peak
    error, _ = in_child(f"""
        sda.files.MAX_BYTES = 2 ** 28
        sda.load_model({str(path)!r})
    """)
    assert "declares" in error and "more than 268435456" in error


@pytest.mark.parametrize("make, message", [
    (lambda p, a: npz_with(p, {**a, "hidden0.W": np.full((6, 4), np.nan)}),
     "holds NaN or infinite values in hidden0.W: refused"),
    (lambda p, a: npz_with(p, {**a, "logistic.b": np.array([np.inf, 0])}),
     "holds NaN or infinite values in logistic.b"),
    (lambda p, a: np.save(p.with_suffix(".npy"), a["hidden0.W"]) or
     p.with_suffix(".npy").rename(p), "is a single .npy array, not an sda "
     ".npz file"),
    (lambda p, a: p.write_bytes(np.random.default_rng(0).bytes(3000)),
     r"is not an .npz file \(it does not start as a zip archive\)"),
    (lambda p, a: npz_with(p, {k: v for k, v in a.items()
                               if k != "dA0.b_prime"}),
     "lacks the array dA0.b_prime"),
    (lambda p, a: npz_with(p, {**a, "__architecture__": np.array(
        json.dumps({**json.loads(str(a["__architecture__"])),
                    "n_ins": -6}))}),
     "has an invalid architecture record: n_ins must be a positive integer, "
     "got -6"),
    (lambda p, a: npz_with(p, {**a, "__architecture__": np.array(
        json.dumps({**json.loads(str(a["__architecture__"])),
                    "hidden_layers_sizes": "4"}))}),
     "has an invalid architecture record: hidden_layers_sizes must be a "
     "non-empty list of positive integers, got '4'"),
])
def test_bad_model_files_are_named(tmp_path, make, message):
    arrays = model_arrays(save_model(tiny_model(), tmp_path / "good.npz"))
    path = tmp_path / "bad.npz"
    make(path, arrays)
    with pytest.raises(sda.DataFileError, match=f"bad.npz: {message}"):
        sda.load_model(path)


# -- checkpoints -------------------------------------------------------------------

TINY_RUN = ["--hidden-layers-sizes", "8", "--corruption-levels", "0.1",
            "--pretraining-epochs", "1", "--training-epochs", "1",
            "--batch-size", "50", "--floatX", "float64", "--quiet"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, mnist_arrays):
    """A tiny finished run of examples/SdA.py on a 600-image pickle, its
    final checkpoint kept (as a kill before the results were written would
    leave it; a run that ends removes it)."""
    from helpers import tutorial_pickle
    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "mnist.pkl.gz"
    tutorial_pickle(data, mnist_arrays, n=(600, 100, 100))
    out = folder / "run"
    with pytensor.config.change_flags(floatX="float64"), \
            mock.patch.object(Checkpointer, "remove"):
        assert example("SdA").main(TINY_RUN + ["--dataset", str(data),
                                               "--output-folder",
                                               str(out)]) == 0
    return out


def edit_checkpoint(src, dst, meta=None, arrays=None):
    """Copy a checkpoint, changing its metadata and arrays."""
    original = model_arrays(src / "checkpoint.npz")
    record = json.loads(str(original.pop("__meta__")))
    if meta:
        meta(record)
    if arrays:
        arrays(original)
    dst.mkdir()
    np.savez(dst / "checkpoint.npz", __meta__=np.array(json.dumps(record)),
             **original)
    return dst


def pretraining_position(m):
    m["position"] = {"phase": "pretrain", "layer": 0, "epoch": 0,
                     "index": 1}


@pytest.mark.parametrize("meta, arrays, message", [
    (lambda m: m["recipe"].pop("floatX"), None,
     r"has a recipe that lacks \['floatX'\]"),
    (lambda m: m["recipe"].update(evil=1), None,
     r"unknown fields \['evil'\]"),
    (lambda m: m["recipe"].update(batch_size=0), None,
     "invalid recipe field batch_size: must be a positive integer, got '0'"),
    (lambda m: m["recipe"].update(hidden_layers_sizes="8"), None,
     "invalid recipe field hidden_layers_sizes"),
    (lambda m: m["position"].update(phase="bogus"), None,
     "invalid checkpoint field position.phase: must be one of"),
    (lambda m: m.update(position={"phase": "pretrain", "layer": 7,
                                  "epoch": 0, "index": 0}), None,
     r"position.layer: must be at most the number of layers \(1\), got 7"),
    (lambda m: m.update(position={"phase": "pretrain", "layer": 0,
                                  "epoch": 0, "index": 2000}),
     lambda a: a.update(partial_costs=np.ones(1)),
     "has 1 partial costs for position.index 2000: they must agree"),
    (lambda m: m.update(position={"phase": "pretrain", "layer": 0,
                                  "epoch": 0, "index": 2000}),
     lambda a: a.update(partial_costs=np.ones(2000)),
     "has position.index 2000, but this run has at most 12"),
    (lambda m: m.update(position={"phase": "pretrain", "layer": 0,
                                  "epoch": -1, "index": 0}), None,
     "position.epoch: must be a non-negative integer, got -1"),
    (lambda m: m.update(position={"phase": "finetune", "epoch": 0,
                                  "index": 1, "patience": 10,
                                  "stopped": False}),
     lambda a: a.update(partial_costs=np.ones(1)),
     r"position.epoch: must be at least 1 inside an epoch \(index > 0\)"),
    (pretraining_position, lambda a: a.update(partial_costs=np.array(
        [np.nan])), "holds NaN or infinite values in partial_costs"),
    (None, lambda a: a.update({"hidden0.W": a["hidden0.W"] * np.nan}),
     "holds NaN or infinite values in hidden0.W"),
    (lambda m: m.update(history={"epochs": 1, "evil": 2}), None,
     "invalid checkpoint field history"),
    (lambda m: m["architecture"].update(floatX="float16"), None,
     "floatX must be 'float32' or 'float64'"),
    (lambda m: m.pop("rng_states"), None, "rng_states: must be a list"),
])
def test_edited_checkpoints_are_refused_naming_the_field(
        finished_run, tmp_path, capsys, meta, arrays, message):
    folder = edit_checkpoint(finished_run, tmp_path / "edited", meta, arrays)
    with pytensor.config.change_flags(floatX="float64"):
        status = example("SdA").main(["--resume", str(folder)])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1, err
    assert err.startswith(f"error: {folder / 'checkpoint.npz'}: "), err
    assert re.search(message, err), err


def test_divergence_names_no_checkpoint_that_is_not_good(tmp_path, float64):
    model = small_sda(3, 10, (0.2, 0.3))
    sets = clustered_sets(10, (40, 20, 20))
    cp = Checkpointer(tmp_path)
    cp.folder.mkdir(exist_ok=True)
    # a checkpoint file that does not load (here: no valid metadata)
    np.savez(cp.path, __meta__=np.array("{}"))
    with pytest.raises(DivergenceError) as caught:
        pretrain(model, sets[0][0], epochs=1, batch_size=4,
                 learning_rate=1e6, checkpointer=cp)
    assert "last good checkpoint" not in str(caught.value)


def test_an_exploding_cost_stops_training(float64):
    model = small_sda(3, 10, (0.2, 0.3))
    sets = clustered_sets(10, (400, 20, 20))
    with pytest.raises(DivergenceError, match=r"pretraining layer 0, epoch 1, "
                       r"minibatch \d+: the cost [\d.e+]+ is more than 1000 "
                       r"times the first cost"):
        pretrain(model, sets[0][0], epochs=5, batch_size=4, learning_rate=1e6)
    with pytest.raises(DivergenceError, match="fine-tuning epoch 1"):
        finetune(small_sda(3, 10, (0.2, 0.3)), sets, epochs=5, batch_size=4,
                 learning_rate=1e6)
    # the guard can be turned off, leaving NaN and infinity to stop it
    pretrain(small_sda(3, 10, (0.2, 0.3)), sets[0][0], epochs=1,
             batch_size=4, learning_rate=1e3, divergence_factor=None)


def test_a_stop_on_the_last_minibatch_of_an_epoch_resumes_exactly(tmp_path,
                                                                   float64):
    sets = clustered_sets(10, (40, 20, 20))

    def run(folder, stop_at_epoch=None, resume=False):
        model = small_sda(3, 10, (0.2, 0.3))
        cp = Checkpointer(folder)
        state = cp.load() if resume else None
        history = History.from_dict(state[0]["history"]) if resume else None

        class LastMinibatch:  # Ctrl-C while the epoch's last step runs
            epoch = 0

            def __call__(self, event):
                pass

            def minibatches(self, indices, total, initial, desc):
                if not desc.startswith("fine-tuning"):
                    yield from indices
                    return
                self.epoch += 1
                for i in indices:
                    if self.epoch == stop_at_epoch and i == total - 1:
                        os.kill(os.getpid(), signal.SIGINT)
                    yield i

        history = finetune(model, sets, epochs=4, batch_size=4,
                           learning_rate=0.3, checkpointer=cp, resume=state,
                           history=history, progress=LastMinibatch())
        return model, history

    reference, ref_history = run(tmp_path / "straight")
    with pytest.raises(sda.TrainingInterrupted):
        run(tmp_path / "cut", stop_at_epoch=2)
    meta, _ = Checkpointer(tmp_path / "cut").load()
    assert meta["position"]["index"] == 10  # 40 / 4: all of the epoch's
    resumed, history = run(tmp_path / "cut", resume=True)
    for a, b in zip(reference.params, resumed.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())
    assert history.finetune_costs == ref_history.finetune_costs
    assert history.validation_errors == ref_history.validation_errors


# -- output folders ----------------------------------------------------------------

def test_a_second_run_on_a_held_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from sda.train.checkpoint import claim_folder
        with claim_folder({str(folder)!r}):
            print("holding", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert example("SdA").main(["--output-folder", str(folder),
                                    "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err == (f"error: {folder}: is in use by another run (it holds "
                       f"the lock .sda.lock); choose another output folder "
                       f"or wait for that run to end\n")
    finally:
        holder.send_signal(signal.SIGKILL)  # the lock dies with its holder
        holder.wait(timeout=30)
    with claim_folder(folder):
        pass


def test_a_fresh_run_never_replaces_another_runs_files(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("checkpoint.npz", "model.npz", "history.json"):
        (folder / name).write_text("old")
    (folder / ".checkpoint.npz.x1y2.tmp").write_text("killed mid-write")
    with pytest.raises(sda.OutputError, match=r"run: holds the files of "
                       r"another run \(checkpoint.npz, model.npz, "
                       r"history.json\): resume it, or overwrite them"):
        with claim_folder(folder):
            pass
    assert not (folder / ".checkpoint.npz.x1y2.tmp").exists()  # cleaned up
    with claim_folder(folder, resume=True):
        assert (folder / "checkpoint.npz").exists()
    with claim_folder(folder, overwrite=True):
        assert not any(p.name in ("checkpoint.npz", "model.npz",
                                  "history.json") for p in folder.iterdir())


def test_a_write_killed_half_way_leaves_a_temporary_the_next_write_removes(
        tmp_path):
    path = tmp_path / "model.npz"
    save_model(tiny_model(), path)
    before = path.read_bytes()
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, signal
        from sda.files import atomic_write
        def half(f):
            f.write(b"half a model"); f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        atomic_write({str(path)!r}, half)
    """)], timeout=120)
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and path.read_bytes() == before
    # a write in progress in a live process (here: this test's parent)
    host = left[0].name.split(".")[2].partition("~")[0]
    live = tmp_path / f".model.npz.{host}~{os.getppid()}.abc123.tmp"
    live.write_bytes(b"being written")
    save_model(tiny_model(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name,
                                                          "model.npz"]
    sda.load_model(path)


def test_an_output_folder_that_cannot_be_made_is_named_at_start(tmp_path,
                                                                 capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert example("SdA").main(["--output-folder", str(blocker / "run"),
                                "--quiet"]) == 1
    assert capsys.readouterr().err.startswith(
        f"error: {blocker / 'run'}: is not a folder sda can write to")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs where one can be mounted (root), else a folder whose
    writes fail with ENOSPC."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k",
                              "tmpfs", str(mount)],
                             capture_output=True).returncode == 0
    if mounted:
        yield mount, None
        subprocess.run(["umount", str(mount)], check=True)
    else:
        real_fsync = os.fsync

        def full(fd):
            if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(mount)):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_fsync(fd)
        yield mount, full


def test_a_full_disk_names_the_file_and_keeps_the_last_version(tiny_disk,
                                                               monkeypatch):
    disk, simulated = tiny_disk
    path = save_model(tiny_model(), disk / "model.npz")  # 2 KB: fits
    before = path.read_bytes()
    if simulated:
        monkeypatch.setattr(os, "fsync", simulated)
    with pytensor.config.change_flags(floatX="float64"):
        big = sda.SdA(np.random.RandomState(0), n_ins=100,
                      hidden_layers_sizes=[200], n_outs=2,
                      corruption_levels=[0.1])  # 160 KB
    with pytest.raises(sda.OutputError, match=f"{path}: cannot be written "
                       r"\(No space left on device\); any previous version "
                       r"is kept"):
        save_model(big, path)
    assert path.read_bytes() == before
    assert [p.name for p in disk.iterdir()] == ["model.npz"]  # no temporary


# -- arguments ---------------------------------------------------------------------

x_sym = pt.matrix("x")


@pytest.mark.parametrize("call, message", [
    (lambda: sda.dA(0, n_visible=6, n_hidden=4,
                    W=pytensor.shared(np.zeros((6, 5)))),
     r"W must have shape \(6, 4\), got \(6, 5\)"),
    (lambda: sda.dA(0, n_visible=6, n_hidden=4,
                    bhid=pytensor.shared(np.zeros(6))),
     r"bhid must have shape \(4,\), got \(6,\)"),
    (lambda: sda.dA(0, n_visible=6, n_hidden=4, W=[[0] * 4] * 6),
     "W must be a shared variable .to share it. or an array of shape"),
    (lambda: sda.HiddenLayer(0, None, 6, 4), "input must be a symbolic "
     "matrix"),
    (lambda: sda.HiddenLayer(0, "x", 6, 4), "input must be a symbolic"),
    (lambda: sda.HiddenLayer(0, x_sym, 6, 4, activation="tanh"),
     "activation must be a callable such as pytensor.tensor.tanh, or None, "
     "got 'tanh'"),
    (lambda: sda.SdA(0, hidden_layers_sizes=10),
     "hidden_layers_sizes must be a sequence .list or tuple. of positive "
     "integers, got 10"),
    (lambda: sda.SdA(0, hidden_layers_sizes="100"),
     "hidden_layers_sizes must be a sequence"),
    (lambda: sda.SdA(0, hidden_layers_sizes=[5], corruption_levels=None),
     "corruption_levels must be a sequence"),
    (lambda: sda.dA(0, n_visible=6, n_hidden=4).get_cost_updates(0.1, "a"),
     "learning_rate must be a non-negative number, got 'a'"),
    (lambda: sda.save_model(sda.dA(0, n_visible=6, n_hidden=4), "m.npz"),
     "model must be an sda.SdA, got dA"),
    (lambda: sda.save_model(None, "m.npz"), "model must be an sda.SdA, got "
     "NoneType"),
    (lambda: sda.save_model(tiny_model(), ""), "path must be a file path "
     r"\(str or pathlib.Path\), got ''"),
    (lambda: sda.load_data(123), "dataset must be a file path"),
    (lambda: sda.load_model(None), "path must be a file path"),
    (lambda: Checkpointer(None), "folder must be a file path"),
    (lambda: pretrain(tiny_model(), np.zeros((4, 6)), learning_rate=-5),
     "learning_rate must be a positive number, got -5"),
    (lambda: finetune(tiny_model(), [(np.zeros((4, 6)), [0, 1, 0, 1])] * 3,
                      learning_rate=float("nan")),
     "learning_rate must be a positive number, got nan"),
    (lambda: pretrain(tiny_model(), np.zeros((4, 6)), divergence_factor=0.5),
     "divergence_factor must be a number above 1 or None, got 0.5"),
])
def test_bad_arguments_are_named(call, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message):
        call()
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_arrays_are_accepted_as_initial_weights(float64):
    W = np.random.default_rng(0).random((6, 4))
    da = sda.dA(0, n_visible=6, n_hidden=4, W=W)
    np.testing.assert_array_equal(da.W.get_value(), W)
    assert da.W.get_value() is not W  # a copy: the array is not tied
    layer = sda.HiddenLayer(0, x_sym, 6, 4, W=W, b=np.ones(4))
    assert layer.b.get_value().tolist() == [1, 1, 1, 1]
    model = sda.SdA(0, n_ins=6, hidden_layers_sizes=[4, 3], n_outs=2,
                    corruption_levels=0.25)
    assert model.corruption_levels == (0.25, 0.25)



def test_the_script_will_not_start_over_a_finished_run(finished_run, capsys):
    before = (finished_run / "model.npz").read_bytes()
    assert example("SdA").main(["--output-folder", str(finished_run),
                                "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == (f"error: {finished_run}: holds the files of another run "
                   f"(checkpoint.npz, model.npz, history.json): resume it, "
                   f"or overwrite them (--resume or --overwrite on the "
                   f"command line)\n")
    assert (finished_run / "model.npz").read_bytes() == before
