"""Pictures: the tiling helper, filter images and learning curves."""

import numpy as np
import pytest
from PIL import Image

from sda.train import History
from sda.viz import (layer_filters, plot_learning_curves, plot_mosaics,
                    save_filters, tile_raster_images)


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


def test_a_higher_layers_filters_combine_the_first_layers():
    import sda
    model = sda.SdA(numpy_rng=0, n_ins=16, hidden_layers_sizes=[6, 4],
                    n_outs=2)
    W0, W1 = (h.W.get_value() for h in model.sigmoid_layers)
    np.testing.assert_allclose(layer_filters(model, 0), W0.T)
    np.testing.assert_allclose(layer_filters(model, 1), (W0 @ W1).T)
    np.testing.assert_allclose(layer_filters(model, -1), (W0 @ W1).T)
    np.testing.assert_allclose(layer_filters(model.dA_layers[0]), W0.T)
    with pytest.raises(ValueError, match=r"layer must be an integer in "
                                         r"\[-2, 2\) for this model of 2 "
                                         r"hidden layers, got 2"):
        layer_filters(model, 2)
    with pytest.raises(ValueError, match="layer must be 0 for a single"):
        layer_filters(W0, 1)


def test_any_number_of_filters_at_any_scale(tmp_path):
    W = np.random.default_rng(0).normal(size=(784, 120))
    path = save_filters(W, tmp_path / "f.png", n=30, scale=3)
    with Image.open(path) as im:  # the squarest grid of 30: 5 x 6
        assert im.size == (3 * (6 * 29 - 1), 3 * (5 * 29 - 1))
    with Image.open(save_filters(W, tmp_path / "all.png", n=500)) as im:
        assert im.size == (11 * 29 - 1, 11 * 29 - 1)  # all 120
    for bad, message in [({"n": 0}, "n must be a positive integer, got 0"),
                         ({"scale": 1.5},
                          "scale must be a positive integer, got 1.5"),
                         ({"order": "size"},
                          "order must be 'unit' or 'norm', got 'size'")]:
        with pytest.raises(ValueError, match=message):
            save_filters(W, tmp_path / "bad.png", **bad)
    assert not (tmp_path / "bad.png").exists()


def test_filters_in_order_of_norm_put_the_strongest_first(tmp_path):
    W = np.zeros((4, 3))
    W[:, 2] = [0, 1, 2, 3]  # the only filter that is not flat
    path = save_filters(W, tmp_path / "f.png", img_shape=(2, 2), n=1,
                        order="norm")
    with Image.open(path) as im:
        assert np.asarray(im).tolist() == [[0, 85], [170, 255]]


def test_learning_curves_give_each_layer_its_own_panel(tmp_path):
    history = History(pretraining_costs=[[67.0, 59.0], [403.0, 385.0],
                                         [200.0, 190.0]],
                      finetune_costs=[0.5, 0.3],
                      validation_errors=[(1, 0.1), (2, 0.08)],
                      test_errors=[(2, 0.09)])
    path = plot_learning_curves(history, tmp_path / "curves.png")
    with Image.open(path) as im:  # four panels of 3.2 inches at 90 dpi
        assert im.size == (int(4 * 3.2 * 90), int(3.3 * 90))


def test_mosaics_side_by_side_need_a_title_each(tmp_path):
    tiles = [np.zeros((10, 20), np.uint8), np.full((10, 10), 255, np.uint8)]
    with Image.open(plot_mosaics(tiles, ["a", "b"], tmp_path / "m.png")) as im:
        assert im.size[0] > 60
    with pytest.raises(ValueError, match="titles must name each of the 2 "
                                         "mosaics, got 1"):
        plot_mosaics(tiles, ["a"], tmp_path / "n.png")
