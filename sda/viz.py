"""Pictures: filter mosaics, learning curves and sweep plots.

Every picture is drawn here, by one stack: mosaics are arrays of pixels
written as PNGs (:func:`save_image`, exact, one pixel a weight or a
magnified block of ``scale`` x ``scale``), and plots are Matplotlib figures
on an Agg canvas of their own (:func:`figure`), never through ``pyplot``,
so that no backend is switched and no figure is left open in a notebook or
a GUI session.  Every picture is written atomically, as every other output
(:func:`sda.files.atomic_write`).  In a notebook, show a written picture
with ``IPython.display.Image(path)``.
"""

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from ._checks import is_integer, positive_int
from .files import as_path, atomic_write

__all__ = ["scale_to_unit_interval", "tile_raster_images", "layer_filters",
           "save_filters", "save_image", "plot_mosaics",
           "plot_learning_curves", "plot_sweep", "figure", "save_figure"]


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


def _value(W):
    return np.asarray(W.get_value() if hasattr(W, "get_value") else W)


def layer_filters(model, layer=0):
    r"""The filters of a model's hidden layer, as images in input space.

    A unit of the first layer is drawn as its weights, a column of
    :math:`W_0`.  A unit of a higher layer ``k`` sees the input through the
    layers below; it is drawn as the linear combination of first-layer
    filters that its weights make, the column of

    .. math:: W_0 W_1 \cdots W_k,

    what it would respond to most if the sigmoids below were linear (the
    sign and scale of each filter are not meaningful once stretched).

    Parameters
    ----------
    model : SdA, dA, HiddenLayer or array
        An :class:`sda.SdA` (its ``sigmoid_layers``), a layer with ``W``,
        or a weight matrix of shape (n_visible, n_hidden).
    layer : int
        Which hidden layer of an SdA, from 0; negative counts from the top.

    Returns
    -------
    ndarray of shape (n_hidden, n_visible)
        One filter a row, as :func:`tile_raster_images` takes them.
    """
    if hasattr(model, "sigmoid_layers"):
        n = len(model.sigmoid_layers)
        if not is_integer(layer) or not -n <= layer < n:
            raise ValueError(f"layer must be an integer in [{-n}, {n}) for "
                             f"this model of {n} hidden layers, got {layer!r}")
        weights = [_value(h.W) for h in model.sigmoid_layers[:layer % n + 1]]
    else:
        if layer != 0:
            raise ValueError(f"layer must be 0 for a single layer or weight "
                             f"matrix, got {layer!r}")
        weights = [_value(getattr(model, "W", model))]
    if weights[0].ndim != 2:
        raise ValueError(f"the weights must be a matrix (n_visible, n_hidden),"
                         f" got shape {weights[0].shape}")
    filters = weights[0].astype(np.float64)
    for W in weights[1:]:
        filters = filters @ W
    return filters.T


def _grid(n):
    """The squarest grid of at least ``n`` tiles, wider than tall."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def _magnify(pixels, scale):
    return np.kron(pixels, np.ones((scale, scale), dtype=pixels.dtype))


def save_image(pixels, path, scale=1):
    """Write a 2-D array of uint8 pixels (a mosaic) as a grey PNG, each
    pixel a block of ``scale`` x ``scale``; return the path."""
    scale = positive_int("scale", scale)
    pixels = _magnify(np.asarray(pixels, dtype=np.uint8), scale)
    return atomic_write(as_path("path", path), lambda f: Image.fromarray(
        pixels).save(f, format="PNG"))


def save_filters(W, path, img_shape=(28, 28), tile_shape=None,
                 tile_spacing=(1, 1), *, n=None, scale=1, order="unit"):
    """Write filters as a mosaic PNG; return the path.

    Parameters
    ----------
    W : array of shape (n_visible, n_hidden), or a model
        The weights (one filter a column), or anything
        :func:`layer_filters` takes (then its first layer; call
        ``layer_filters(model, k).T`` for another).
    path : str or Path
    img_shape : (height, width) of a filter
    tile_shape : (rows, columns), optional
        The grid: by default the squarest that holds ``n``, or 10 x 10.
    tile_spacing : (vertical, horizontal) pixels between tiles
    n : int, optional
        How many filters to draw (default: as many as the grid holds).
    scale : int
        Each weight drawn as ``scale`` x ``scale`` pixels.
    order : {"unit", "norm"}
        The first filters by unit number, or those of the largest norm
        (the units that moved furthest from their small initial weights
        first).
    """
    filters = (layer_filters(W) if hasattr(W, "sigmoid_layers")
               or hasattr(W, "W") else _value(W).T)
    if n is not None:
        n = min(positive_int("n", n), len(filters))
    if tile_shape is None:
        tile_shape = (10, 10) if n is None else _grid(n)
    if order not in ("unit", "norm"):
        raise ValueError(f"order must be 'unit' or 'norm', got {order!r}")
    if order == "norm":
        filters = filters[np.argsort(-np.linalg.norm(filters, axis=1),
                                     kind="stable")]
    count = tile_shape[0] * tile_shape[1] if n is None else n
    mosaic = tile_raster_images(filters[:count], img_shape, tile_shape,
                                tile_spacing)
    return save_image(mosaic, path, scale)


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


def plot_mosaics(mosaics, titles, path, scale=2):
    """Mosaics (2-D uint8 arrays) side by side under their titles, each
    pixel ``scale`` x ``scale`` points at 100 dpi; return the path."""
    if len(mosaics) != len(titles):
        raise ValueError(f"titles must name each of the {len(mosaics)} "
                         f"mosaics, got {len(titles)}")
    scale = positive_int("scale", scale)
    # each mosaic placed at its exact size in inches (100 dpi), with a gap
    # between them and a band above for the titles: nothing is resampled
    # or clipped, whatever the number of mosaics
    gap, band = 0.15, 0.3
    sizes = [(m.shape[1] * scale / 100, m.shape[0] * scale / 100)
             for m in mosaics]
    width = sum(w for w, _ in sizes) + gap * (len(mosaics) + 1)
    height = max(h for _, h in sizes) + band + gap
    fig = figure(figsize=(width, height))
    left = gap
    for (w, h), mosaic, title in zip(sizes, mosaics, titles):
        ax = fig.add_axes([left / width, gap / height, w / width,
                           h / height])
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=255,
                  interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
        left += w + gap
    return save_figure(fig, path)


def plot_learning_curves(history, path):
    """The learning curves of a :class:`sda.train.History`; return the path.

    One panel per pretraining layer, each on its own axis (the layers'
    costs differ in scale: 60 against 400 on MNIST, so a shared axis flattens
    all but one), then fine-tuning: the training NLL on the left axis, the
    validation error (and the test error of each new best model) in % on
    the right.
    """
    layers = history.pretraining_costs
    fig = figure(figsize=(3.2 * (len(layers) + 1), 3.3))
    axes = fig.subplots(1, len(layers) + 1, squeeze=False)[0]
    for k, (ax, costs) in enumerate(zip(axes, layers)):
        ax.plot(range(1, len(costs) + 1), costs, "o-", color=f"C{k}",
                markersize=3)
        ax.set(title=f"pretraining, layer {k}", xlabel="epoch")
        if k == 0:
            ax.set_ylabel("reconstruction cost")
    ax = axes[-1]
    ax.set(title="fine-tuning", xlabel="epoch")
    if history.finetune_costs:
        costs = history.finetune_costs
        ax.plot(range(1, len(costs) + 1), costs, color="0.4",
                label="training NLL")
        ax.set_ylabel("training NLL")
    errors = ax.twinx()
    if history.validation_errors:
        epochs, values = zip(*history.validation_errors)
        errors.plot(epochs, 100 * np.asarray(values), color="C3",
                    label="validation error")
    if history.test_errors:
        epochs, values = zip(*history.test_errors)
        errors.plot(epochs, 100 * np.asarray(values), "o", color="C2",
                    markersize=3, label="test error (best models)")
    errors.set_ylabel("error (%)")
    handles = (ax.get_legend_handles_labels()[0]
               + errors.get_legend_handles_labels()[0])
    if handles:
        errors.legend(handles=handles, fontsize=7)
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def plot_sweep(rows, space, metric, path, label=str):
    """A sweep's results: one panel per swept parameter, ``metric`` against
    its values, a line per setting of the other parameters; return the path.

    ``rows``: dicts with ``state`` and the parameters and metrics of each
    trial (:func:`sda.sweep.results_table`); ``label`` names a value.
    """
    names = list(space)
    fig = figure(figsize=(4.5 * len(names), 3.4))
    axes = fig.subplots(1, len(names), squeeze=False)
    done = [r for r in rows if r["state"] == "COMPLETE"]
    for ax, name in zip(axes[0], names):
        labels = [label(v) for v in space[name]]
        others = [n for n in names if n != name]
        groups = {}
        for row in done:
            key = tuple(label(row.get(n)) for n in others)
            groups.setdefault(key, []).append(
                (labels.index(label(row[name])), row[metric]))
        for key, points in sorted(groups.items()):
            points.sort()
            ax.plot(*zip(*points), "o-", alpha=0.8,
                    label=", ".join(f"{n}={k}" for n, k in zip(others, key)))
        ax.set_xticks(range(len(labels)), labels, rotation=20)
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if others and 1 < len(groups) <= 10:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
