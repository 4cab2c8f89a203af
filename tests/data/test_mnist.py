"""Data loading: the embedded MNIST, other IDX folders, the tutorial's pickle, bad files."""

import gzip
import pickle

import numpy as np
import pytest
from helpers import STEMS, idx_bytes, tutorial_pickle, write_idx_folder

import sda
from sda.data import MNIST_SHA256, load_pickle, read_idx

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# -- the embedded MNIST --------------------------------------------------------

def test_embedded_mnist_has_the_tutorial_split(floatX, mnist_arrays):
    sets = sda.load_data()
    (tx, ty), (vx, vy), (sx, sy) = sets
    shapes = [(x.get_value().shape, y.get_value().shape) for x, y in sets]
    assert shapes == [((50000, 784), (50000,)), ((10000, 784), (10000,)),
                      ((10000, 784), (10000,))]
    for x, y in sets:
        assert x.get_value().dtype == floatX and y.get_value().dtype == "int32"
    raw = mnist_arrays
    np.testing.assert_array_equal(tx.get_value(), raw["train_x"][:50000] / 256)
    np.testing.assert_array_equal(vx.get_value(), raw["train_x"][50000:] / 256)
    np.testing.assert_array_equal(sx.get_value(), raw["test_x"] / 256)
    np.testing.assert_array_equal(vy.get_value(), raw["train_y"][50000:])
    assert tx.get_value().max() == np.float32(255 / 256)
    assert np.bincount(raw["train_y"]).tolist() == TRAIN_COUNTS
    assert np.bincount(sy.get_value()).tolist() == TEST_COUNTS


def test_raw_and_gzipped_idx_folders_read_the_same(tmp_path):
    arrays = write_idx_folder(tmp_path / "gz")
    write_idx_folder(tmp_path / "raw", compress=False)
    for stem, a in arrays.items():
        got = read_idx(tmp_path / "gz" / (stem + ".gz"))
        np.testing.assert_array_equal(got, a)
        np.testing.assert_array_equal(read_idx(tmp_path / "raw" / stem), a)
    a = sda.load_data(tmp_path / "gz", verify=False)
    b = sda.load_data(tmp_path / "raw", verify=False)
    for (ax, ay), (bx, by) in zip(a, b):
        np.testing.assert_array_equal(ax.get_value(), bx.get_value())
        np.testing.assert_array_equal(ay.get_value(), by.get_value())
    assert a[0][0].get_value().shape == (5, 6)  # 10005 - 10000, 2 x 3 pixels
    assert a[2][0].get_value().shape == (7, 6)


# -- the tutorial's mnist.pkl.gz ----------------------------------------------

def test_tutorial_pickle_matches_the_idx_files(tmp_path, floatX, mnist_arrays):
    path = tmp_path / "mnist.pkl.gz"
    parts = tutorial_pickle(path, mnist_arrays)
    sets = sda.load_data(path)
    for (x, y), (rx, ry) in zip(sets, parts):
        assert x.get_value().dtype == floatX and y.get_value().dtype == "int32"
        np.testing.assert_array_equal(x.get_value(), rx / 256)
        np.testing.assert_array_equal(y.get_value(), ry)


def test_python3_pickles_of_arrays_load_too(tmp_path):
    rng = np.random.default_rng(1)
    sets = tuple((rng.random((4, 5)).astype("float32"),
                  rng.integers(0, 10, 4)) for _ in range(3))
    path = tmp_path / "mine.pkl"
    path.write_bytes(pickle.dumps(sets, protocol=2))
    np.testing.assert_array_equal(load_pickle(path)[2][1], sets[2][1])


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(((_RunsCode(marker), 1), (2, 3), (4, 5)), f, protocol=2)
    with pytest.raises(sda.DataFileError, match=r"mnist.pkl.gz: not loaded: "
                                                r"refused to load .*system"):
        sda.load_data(path)
    assert not marker.exists()


def test_pickle_of_the_wrong_structure_is_refused(tmp_path):
    path = tmp_path / "odd.pkl"
    path.write_bytes(pickle.dumps((np.zeros(3), np.zeros(3))))
    with pytest.raises(sda.DataFileError, match="odd.pkl: does not hold the "
                                                "tutorial's three"):
        load_pickle(path)
    path.write_bytes(pickle.dumps(((np.zeros((2, 3)), np.zeros(3)),) * 3))
    with pytest.raises(sda.DataFileError, match="train set is not a float "
                                                "matrix with one label"):
        load_pickle(path)


# -- bad files ----------------------------------------------------------------

def test_missing_dataset_is_named(tmp_path):
    with pytest.raises(sda.DataFileError, match="nope.pkl.gz: no such file "
                                                ".*nothing is downloaded"):
        sda.load_data(tmp_path / "nope.pkl.gz")
    write_idx_folder(tmp_path / "d")
    (tmp_path / "d" / (STEMS[3] + ".gz")).unlink()
    with pytest.raises(sda.DataFileError,
                       match="t10k-labels-idx1-ubyte.gz: no such file"):
        sda.load_data(tmp_path / "d", verify=False)


def test_a_small_data_set_takes_its_own_validation_size(tmp_path,
                                                        mnist_arrays):
    write_idx_folder(tmp_path / "d", n_train=300, n_test=5)
    (tx, _), (vx, _), (sx, _) = sda.load_data(tmp_path / "d", verify=False,
                                              n_valid=100, shared=False)
    assert (len(tx), len(vx), len(sx)) == (200, 100, 5)
    for bad in (0, 300, 2.5, True, "100"):
        with pytest.raises(ValueError, match=r"n_valid must be between 1 and "
                           r"299 \(the training file has 300 images\), got "):
            sda.load_data(tmp_path / "d", verify=False, n_valid=bad)
    pickle_path = tmp_path / "mnist.pkl.gz"
    tutorial_pickle(pickle_path, mnist_arrays, n=(20, 10, 10))
    with pytest.raises(ValueError, match="mnist.pkl.gz is a pickle with its "
                       "own validation set, got n_valid=100"):
        sda.load_data(pickle_path, n_valid=100)


def test_a_path_too_long_for_the_file_system_is_named(tmp_path):
    long = tmp_path / ("a" * 300)
    with pytest.raises(sda.DataFileError, match=r"a{300}: cannot be read "
                       r"\(File name too long\)"):
        sda.load_data(long)


def test_other_data_is_refused_when_verified_as_mnist(tmp_path):
    write_idx_folder(tmp_path)
    with pytest.raises(sda.DataFileError, match=r"train-images-idx3-ubyte.gz: "
                       r"content does not match the published checksum.*"
                       r"verify=False"):
        sda.load_data(tmp_path)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:len(b) // 2], "gzip stream is truncated"),
    (lambda b: b[:5], "gzip stream is truncated"),
    (lambda b: b[:40] + bytes([b[40] ^ 0xFF]) + b[41:],
     "is not a valid gzip file|gzip stream is truncated"),
    (lambda b: b"\x1f\x8b" + bytes(range(7, 200)), "is not a valid gzip file"),
])
def test_damaged_gzip_files_are_named(tmp_path, damage, message):
    write_idx_folder(tmp_path)
    path = tmp_path / (STEMS[1] + ".gz")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(sda.DataFileError,
                       match=f"train-labels-idx1-ubyte.gz: ({message})"):
        sda.load_data(tmp_path, verify=False)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:-1], r"IDX header announces shape \(7, 2, 3\)"),
    (lambda b: b + b"\x00", "IDX header announces"),
    (lambda b: b"\x08\x03" + b[2:], "not an IDX file"),
    (lambda b: b[:2] + b"\x42" + b[3:], "not an IDX file"),
    (lambda b: b[:10], "IDX header is truncated"),
    (lambda b: b[:3], "too short for an IDX header"),
    (lambda b: idx_bytes(np.zeros(5, np.uint8)), "holds a 1-d array, not images"),
])
def test_damaged_idx_files_are_named(tmp_path, damage, message):
    write_idx_folder(tmp_path, compress=False)
    path = tmp_path / STEMS[2]
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(sda.DataFileError,
                       match=f"t10k-images-idx3-ubyte: {message}"):
        sda.load_data(tmp_path, verify=False)


def test_label_and_image_counts_must_agree(tmp_path):
    arrays = write_idx_folder(tmp_path, compress=False)
    (tmp_path / STEMS[3]).write_bytes(idx_bytes(arrays[STEMS[3]][:-1]))
    with pytest.raises(sda.DataFileError, match="t10k-labels-idx1-ubyte: has "
                                                "6 labels but t10k-images"):
        sda.load_data(tmp_path, verify=False)


def test_a_flipped_bit_in_embedded_mnist_fails_its_checksum(tmp_path):
    # a one-pixel change leaves a valid IDX file: only the checksum sees it
    src = sda.data.DEFAULT_DATASET
    for stem in STEMS:
        (tmp_path / (stem + ".gz")).write_bytes(
            (src / (stem + ".gz")).read_bytes())
    raw = bytearray(gzip.decompress((src / (STEMS[2] + ".gz")).read_bytes()))
    raw[5000] ^= 0x01
    (tmp_path / (STEMS[2] + ".gz")).write_bytes(gzip.compress(bytes(raw), 1))
    with pytest.raises(sda.DataFileError, match=f"{STEMS[2]}.gz: content does "
                                                "not match .*sha256"):
        sda.load_mnist(tmp_path)
    assert MNIST_SHA256[STEMS[2]].startswith("0fa7898d")


def test_a_file_that_is_neither_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(sda.DataFileError, match="data.csv: is neither"):
        sda.load_data(path)
