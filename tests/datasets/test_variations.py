"""The eight problems of Larochelle et al. (2007) as make_variation builds
them, and the .amat reader of the original files."""

import gzip

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import Delaunay

from sda import datasets
from sda.datasets import NAMES, SIZES, load_amat, make_variation, save_amat
from sda.datasets import digits, patches, shapes
from sda.errors import DataFileError

SMALL = (60, 20, 40)


@pytest.fixture(autouse=True)
def cache_here(tmp_path, monkeypatch):
    """Every test caches in its own folder (the documented variable)."""
    monkeypatch.setenv("SDA_DATASETS", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def small(monkeypatch):
    """Every problem at 60 / 20 / 40 examples."""
    for name in NAMES:
        monkeypatch.setitem(SIZES, name, SMALL)


def test_the_published_sizes():
    assert SIZES == {
        "basic": (10000, 2000, 50000), "rot": (10000, 2000, 50000),
        "bg-rand": (10000, 2000, 50000), "bg-img": (10000, 2000, 50000),
        "rot-bg-img": (10000, 2000, 50000), "rect": (1000, 200, 50000),
        "rect-img": (10000, 2000, 50000), "convex": (6000, 2000, 50000)}


@pytest.mark.parametrize("name", NAMES)
def test_every_problem_has_its_sizes_values_and_labels(name, small, floatX):
    sets = make_variation(name)
    assert [len(x) for x, _ in sets] == list(SMALL)
    for x, y in sets:
        assert x.shape[1] == 784 and x.dtype == floatX
        assert 0 <= x.min() and x.max() <= 1
        assert np.allclose(x * 255, np.round(x * 255), atol=1e-3)
        assert y.dtype == np.int32 and len(y) == len(x)
    labels = np.concatenate([y for _, y in sets])
    assert set(labels) <= (set(range(10)) if name in digits.DIGIT_SOURCES
                           else {0, 1})
    assert len(set(labels)) > 1


def test_a_seed_gives_the_same_arrays_and_another_seed_others(small):
    first = make_variation("rot-bg-img", seed=3, cache=False)
    again = make_variation("rot-bg-img", seed=3, cache=False)
    other = make_variation("rot-bg-img", seed=4, cache=False)
    for (a, ya), (b, yb), (c, _) in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ya, yb)
        assert not np.array_equal(a, c)


def test_the_cache_is_written_once_read_after_and_rebuilt_when_altered(
        small, cache_here):
    made = make_variation("convex", seed=1)
    path = cache_here / f"convex-seed1-v{datasets.FORMAT_VERSION}.npz"
    assert path.is_file() and [p.name for p in cache_here.iterdir()] == [
        path.name]  # no temporary left behind
    written = path.stat().st_mtime_ns
    read = make_variation("convex", seed=1)
    assert path.stat().st_mtime_ns == written
    for (a, ya), (b, yb) in zip(made, read):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ya, yb)
    with np.load(path) as npz:  # a flipped pixel: the digest disagrees
        x, y, digest = npz["x"].copy(), npz["y"], npz["sha256"]
    x[0, 0] ^= 1
    np.savez(path, x=x, y=y, sha256=digest)
    rebuilt = make_variation("convex", seed=1)
    np.testing.assert_array_equal(rebuilt[0][0], made[0][0])
    path.write_bytes(b"truncated")
    np.testing.assert_array_equal(make_variation("convex", seed=1)[0][0],
                                  made[0][0])


def test_the_digit_problems_share_their_digits(small):
    basic = make_variation("basic")
    for name in ("bg-rand", "bg-img"):
        for (x, y), (b, by) in zip(make_variation(name), basic):
            np.testing.assert_array_equal(y, by)
            ink = b > 0
            np.testing.assert_array_equal(x[ink], b[ink])


def test_rotation_follows_the_recipe(small):
    """rot is basic's digits turned by angles uniform in [0, 2 pi) drawn
    from the problem's own stream."""
    n = sum(SMALL)
    pick = np.random.default_rng([0, 0])
    x, _ = digits.mnist_digits(n, pick)
    angles = np.random.default_rng([0, 1 + NAMES.index("rot")]).uniform(
        0, 2 * np.pi, n)
    expected = np.round(digits.rotate(x, angles) * 255) / 255
    got = np.concatenate([s for s, _ in make_variation("rot")])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_rotate_agrees_with_scipy(mnist_arrays):
    x = mnist_arrays["train_x"][:20] / 255.0
    for degrees in (30.0, 90.0, 200.0):
        ours = digits.rotate(x, np.full(20, np.radians(degrees)))
        theirs = np.stack([ndimage.rotate(im.reshape(28, 28), degrees,
                                          reshape=False, order=1)
                           for im in x]).reshape(20, -1)
        assert np.abs(ours - np.clip(theirs, 0, 1)).max() < 1e-6


def test_random_backgrounds_are_uniform_behind_the_digit(small,
                                                         monkeypatch):
    monkeypatch.setitem(SIZES, "bg-rand", (3000, 0, 0))
    monkeypatch.setitem(SIZES, "basic", (3000, 0, 0))
    x = make_variation("bg-rand")[0][0]
    background = x[make_variation("basic")[0][0] == 0]
    assert abs(background.mean() - 0.5) < 0.01
    assert abs(background.var() - 1 / 12) < 0.002
    counts = np.histogram(background, bins=10, range=(0, 1))[0]
    assert counts.min() > 0.95 * counts.mean()


def test_image_patches_are_photographs_without_flat_ones():
    rng = np.random.default_rng(0)
    drawn = patches.sample(500, rng)
    assert drawn.shape == (500, 784)
    assert 0 <= drawn.min() and drawn.max() <= 1
    assert (drawn.std(axis=1) >= patches.MIN_STD).all()
    # they are cut from the photographs, not made up
    image = patches.photographs()[0]
    assert any(np.allclose(d.reshape(28, 28), image[r:r + 28, c:c + 28])
               for d in drawn[:1] for r in range(image.shape[0] - 27)
               for c in range(image.shape[1] - 27)) or any(
        np.allclose(drawn[0].reshape(28, 28), im[r:r + 28, c:c + 28])
        for im in patches.photographs()[1:]
        for r in range(im.shape[0] - 27) for c in range(im.shape[1] - 27))


def test_rectangle_labels_agree_with_the_bounding_boxes():
    x, y = shapes.make_rect(5000, np.random.default_rng(0))
    images = x.reshape(-1, 28, 28) > 0
    rows, cols = images.any(axis=2), images.any(axis=1)
    height = 28 - rows.argmax(1) - rows[:, ::-1].argmax(1)
    width = 28 - cols.argmax(1) - cols[:, ::-1].argmax(1)
    assert (abs(height - width) >= shapes.MIN_DIFFERENCE).all()
    np.testing.assert_array_equal(y, (height > width).astype(np.int32))
    # outlines: a box's inside is dark
    inside = images[:, 1:-1, 1:-1].sum(axis=(1, 2))
    assert (inside <= 2 * 26 + 2 * 26).all()
    assert abs(y.mean() - 0.5) < 0.03


def _hull_holds_only_lit(mask):
    """Independent of shapes.is_convex: a Delaunay triangulation of the lit
    pixel centres says which pixel centres are in their hull."""
    centres = np.indices((28, 28)).reshape(2, -1).T + 0.5
    inside = Delaunay(centres[mask]).find_simplex(centres, tol=1e-9) >= 0
    return bool((inside == mask).all())


def test_convex_examples_are_convex_and_the_others_are_not():
    x, y = shapes.make_convex(600, np.random.default_rng(0))
    masks = x > 0
    verdicts = np.array([_hull_holds_only_lit(m) for m in masks])
    np.testing.assert_array_equal(verdicts, y == 1)
    assert y.sum() == 300
    lit = masks.sum(axis=1)
    assert shapes.MIN_LIT <= lit.min() and lit.max() <= shapes.MAX_LIT
    # the classes have the same mean number of lit pixels, within a bin
    bin_width = (shapes.MAX_LIT - shapes.MIN_LIT) / shapes.AREA_BINS
    assert abs(lit[y == 1].mean() - lit[y == 0].mean()) < bin_width / 2


def test_a_bad_name_or_seed_is_refused():
    with pytest.raises(ValueError, match="name must be one of basic, rot"):
        make_variation("mnist-rot")
    for seed in (-1, 1.5, True, "0"):
        with pytest.raises(ValueError, match="seed must be a non-negative"):
            make_variation("rect", seed=seed)


# -- .amat files ----------------------------------------------------------------

def test_amat_round_trips_plain_and_gzipped(tmp_path, floatX):
    rng = np.random.default_rng(0)
    x, y = np.round(rng.random((7, 784)), 6), rng.integers(0, 10, 7)
    path = save_amat(tmp_path / "set.amat", x, y)
    got_x, got_y = load_amat(path)
    assert got_x.dtype == floatX and got_y.dtype == np.int32
    np.testing.assert_allclose(got_x, x, atol=1e-6)
    np.testing.assert_array_equal(got_y, y)
    packed = tmp_path / "set.amat.gz"
    packed.write_bytes(gzip.compress(b"#size: 7 785\n" + path.read_bytes()))
    np.testing.assert_array_equal(load_amat(packed)[1], y)


@pytest.mark.parametrize("content, problem", [
    (b"", "holds no examples"),
    (b"0.5 " * 783 + b"1\n", "row 1 has 784 values, not 785"),
    (b"0.5 " * 784 + b"1\n" + b"0.5 " * 785 + b"1\n", "row 2 has 786"),
    (b"x " * 784 + b"1\n", "not a number"),
    (b"0.5 " * 783 + b"1.5 1\n", "row 1 has pixels outside"),
    (b"0.5 " * 783 + b"nan 1\n", "row 1 has pixels outside"),
    (b"0.5 " * 784 + b"2.5\n", "row 1 has label 2.5"),
    (b"0.5 " * 784 + b"-1\n", "row 1 has label -1.0"),
])
def test_broken_amat_files_are_refused_by_name(tmp_path, content, problem):
    path = tmp_path / "broken.amat"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=problem) as caught:
        load_amat(path)
    assert str(path) in str(caught.value)


def test_a_missing_or_oversized_amat_file_is_refused(tmp_path):
    with pytest.raises(DataFileError, match="missing.amat"):
        load_amat(tmp_path / "missing.amat")
    path = save_amat(tmp_path / "big.amat", np.zeros((3, 784)), [0, 1, 2])
    with pytest.raises(DataFileError, match="more than 100 bytes"):
        load_amat(path, limit=100)


# -- by name, where MNIST is read --------------------------------------------------

def test_load_data_takes_a_problem_by_name(small, floatX):
    import sda
    sets = sda.load_data("bg-rand")
    assert [s[0].get_value().shape for s in sets] == [(n, 784) for n in SMALL]
    np.testing.assert_array_equal(sets[0][0].get_value(),
                                  make_variation("bg-rand")[0][0])
    arrays = sda.load_data("rect", shared=False)
    assert [len(x) for x, _ in arrays] == list(SMALL)
    with pytest.raises(ValueError, match="'rect' has its published split"):
        sda.load_data("rect", n_valid=10)


def test_a_folder_of_that_name_is_still_read_as_before(tmp_path,
                                                       monkeypatch):
    import sda
    (tmp_path / "rot").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataFileError, match="rot/train-images-idx3-ubyte"):
        sda.load_data("rot")


def test_the_example_scripts_take_the_names_as_dataset(capsys):
    from sda import cli
    parser = cli.common_parser("out")
    assert parser.parse_args(["--dataset", "convex"]).dataset == "convex"
    with pytest.raises(SystemExit):
        parser.parse_args(["--dataset", "no-such-problem"])
    err = capsys.readouterr().err
    assert "must be an existing file or folder or one of basic, rot, " \
           "bg-rand, bg-img, rot-bg-img, rect, rect-img, convex, got " \
           "'no-such-problem'" in err
