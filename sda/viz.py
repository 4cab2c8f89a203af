"""Pictures: filter mosaics and learning curves.

Pillow writes the filter mosaics and Matplotlib the plots.  Plots are drawn
on a :class:`matplotlib.figure.Figure` with its own Agg canvas
(:func:`figure`), never through ``pyplot``, so that no backend is switched
and no figure is left open in a notebook or a GUI session.  Every picture
is written atomically, as every other output (:func:`sda.files.atomic_write`).
"""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from .files import as_path, atomic_write

__all__ = ["scale_to_unit_interval", "tile_raster_images", "save_filters",
           "plot_learning_curves", "figure", "save_figure"]


def scale_to_unit_interval(x, eps=1e-8):
    """Shift and scale ``x`` linearly into [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.min()
    return x / (x.max() + eps)


def tile_raster_images(X, img_shape, tile_shape, tile_spacing=(0, 0),
                       scale_rows_to_unit_interval=True,
                       output_pixel_vals=True):
    """Lay the rows of ``X`` out as a grid of images, as the tutorial's helper does.

    Parameters
    ----------
    X : array of shape (n_images, height * width)
        One flattened image per row (a weight matrix's transpose: one row per
        hidden unit).  Rows beyond the grid are ignored; missing rows are
        left black.
    img_shape : (height, width)
    tile_shape : (rows, columns) of the grid
    tile_spacing : (vertical, horizontal) pixels between tiles
    scale_rows_to_unit_interval : bool
        Stretch each image to the full range, so that weights of any scale
        show.
    output_pixel_vals : bool
        Return uint8 pixels (0-255) rather than floats in [0, 1].

    Returns
    -------
    2-D array, the mosaic.
    """
    X = np.asarray(X)
    (h, w), (rows, cols), (sh, sw) = img_shape, tile_shape, tile_spacing
    if X.ndim != 2 or X.shape[1] != h * w:
        raise ValueError(f"X must have one row of img_shape {img_shape} "
                         f"({h * w} values) per image, got shape {X.shape}")
    out_shape = (rows * (h + sh) - sh, cols * (w + sw) - sw)
    out = np.zeros(out_shape, dtype=np.float64)
    for k in range(min(rows * cols, len(X))):
        r, c = divmod(k, cols)
        tile = X[k].reshape(h, w).astype(np.float64)
        if scale_rows_to_unit_interval:
            tile = scale_to_unit_interval(tile)
        out[r * (h + sh):r * (h + sh) + h, c * (w + sw):c * (w + sw) + w] = \
            tile
    if output_pixel_vals:
        return (255 * np.clip(out, 0, 1)).round().astype(np.uint8)
    return out


def save_filters(W, path, img_shape=(28, 28), tile_shape=(10, 10),
                 tile_spacing=(1, 1)):
    """Write the first ``rows * columns`` filters of ``W`` (n_visible x n_hidden) as a PNG."""
    mosaic = tile_raster_images(np.asarray(W).T, img_shape, tile_shape,
                                tile_spacing)
    return atomic_write(as_path("path", path), lambda f: Image.fromarray(
        mosaic).save(f, format="PNG"))


def figure(**kwargs):
    """A Matplotlib ``Figure`` on an Agg canvas of its own (``kwargs`` go to
    ``Figure``): drawn off screen, whatever backend pyplot uses."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, dpi=100):
    """Write ``fig`` to ``path`` as a PNG, atomically; return the path."""
    return atomic_write(as_path("path", path), lambda f: fig.savefig(
        f, format="png", dpi=dpi))


def plot_learning_curves(history, path):
    """Pretraining cost per layer and epoch; validation and test error per epoch."""
    fig = figure(figsize=(11, 4))
    ax_pre, ax_fine = fig.subplots(1, 2)
    for layer, costs in enumerate(history.pretraining_costs):
        ax_pre.plot(range(1, len(costs) + 1), costs, marker="o",
                    label=f"layer {layer}")
    ax_pre.set(title="Pretraining", xlabel="epoch",
               ylabel="reconstruction cost")
    if history.pretraining_costs:
        ax_pre.legend()
    if history.validation_errors:
        epochs, errors = zip(*history.validation_errors)
        ax_fine.plot(epochs, 100 * np.asarray(errors), label="validation")
    if history.test_errors:
        epochs, errors = zip(*history.test_errors)
        ax_fine.plot(epochs, 100 * np.asarray(errors), "o",
                     label="test (best models)")
    ax_fine.set(title="Fine-tuning", xlabel="epoch", ylabel="error (%)")
    if history.validation_errors:
        ax_fine.legend()
    for ax in (ax_pre, ax_fine):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)
