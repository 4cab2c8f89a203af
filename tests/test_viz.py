"""Pictures: the tiling helper, filter images and learning curves."""

import numpy as np
import pytest
from PIL import Image

from sda.train import History
from sda.viz import plot_learning_curves, save_filters, tile_raster_images


def test_tiles_are_laid_out_row_by_row_with_spacing():
    X = np.arange(6 * 4, dtype=float).reshape(6, 4)  # six 2x2 images
    out = tile_raster_images(X, (2, 2), (2, 3), tile_spacing=(1, 1),
                             scale_rows_to_unit_interval=False,
                             output_pixel_vals=False)
    assert out.shape == (2 * 3 - 1, 3 * 3 - 1)
    np.testing.assert_array_equal(out[3:5, 6:8], X[5].reshape(2, 2))
    assert not out[2].any() and not out[:, 2].any()  # the spacing


def test_each_tile_is_stretched_to_full_range():
    X = np.array([[0.0, 1.0, 2.0, 3.0], [-5.0, -5.0, -5.0, 5.0]])
    out = tile_raster_images(X, (2, 2), (1, 2))
    assert out.dtype == np.uint8
    assert out[:, :2].min() == 0 and out[:, :2].max() == 255
    assert out[1, 3] == 255 and out[0, 2] == 0


def test_wrong_image_size_is_refused():
    with pytest.raises(ValueError, match=r"X must have one row of img_shape "
                                         r"\(28, 28\)"):
        tile_raster_images(np.zeros((3, 10)), (28, 28), (1, 3))


def test_filters_and_learning_curves_are_written(tmp_path):
    W = np.random.default_rng(0).normal(size=(784, 120))
    path = save_filters(W, tmp_path / "sub" / "filters.png")
    with Image.open(path) as im:
        assert im.size == (10 * 29 - 1, 10 * 29 - 1)
    history = History(pretraining_costs=[[3.0, 2.0], [5.0, 4.0]],
                      validation_errors=[(1, 0.1), (2, 0.08)],
                      test_errors=[(1, 0.11), (2, 0.09)])
    curves = plot_learning_curves(history, tmp_path / "curves.png")
    with Image.open(curves) as im:
        assert im.size[0] > 500 and im.size[1] > 200
