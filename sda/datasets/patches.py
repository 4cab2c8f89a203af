"""Patches of photographs: the backgrounds of bg-img, rot-bg-img and
rect-img.

Larochelle et al. (2007) cut their backgrounds from 20 photographs of their
own; those are not distributed.  The photographs here are the two that
scikit-learn ships inside its wheel (``sklearn.datasets.load_sample_images``:
a temple in China and a flower), turned to grey levels in [0, 1] (the mean
of the three channels) and halved in each direction (2x2 means; our
choice, so that a 28x28 patch shows a larger part of a scene).  A patch
is a square at a uniformly random place in a random photograph; patches
whose pixels have a standard deviation under :data:`MIN_STD` (sky, flat
walls) are drawn again, as the paper rejects low-variance patches.
Needs the ``sklearn`` extra (and Pillow, which scikit-learn uses to read
the JPEG files).
"""

import functools

import numpy as np

__all__ = ["photographs", "sample", "MIN_STD"]

#: Patches whose pixel standard deviation is below this are rejected.
MIN_STD = 0.1


@functools.lru_cache(maxsize=1)
def photographs():
    """The grey, halved photographs: a tuple of 2-d float64 arrays."""
    try:
        from sklearn.datasets import load_sample_images
    except ImportError:  # pragma: no cover - the extra is installed in CI
        raise ImportError("the image backgrounds (bg-img, rot-bg-img, "
                          "rect-img) cut patches from scikit-learn's sample "
                          "photographs: pip install 'sda[sklearn]'") from None
    out = []
    for image in load_sample_images().images:
        grey = image.astype(np.float64).mean(axis=2) / 255.0
        h, w = (grey.shape[0] // 2) * 2, (grey.shape[1] // 2) * 2
        halved = grey[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        halved.setflags(write=False)
        out.append(halved)
    return tuple(out)


def sample(n, rng, side=28):
    """``n`` patches of ``side`` x ``side`` pixels, flattened, each with a
    pixel standard deviation of at least :data:`MIN_STD`."""
    images = photographs()
    out = np.empty((n, side * side))
    filled = 0
    while filled < n:
        want = n - filled
        which = rng.integers(0, len(images), want)
        batch = np.empty((want, side, side))
        for k, image in enumerate(images):
            chosen = np.flatnonzero(which == k)
            r = rng.integers(0, image.shape[0] - side + 1, len(chosen))
            c = rng.integers(0, image.shape[1] - side + 1, len(chosen))
            grid = np.arange(side)
            batch[chosen] = image[(r[:, None] + grid)[:, :, None],
                                  (c[:, None] + grid)[:, None, :]]
        batch = batch.reshape(want, -1)
        keep = batch[batch.std(axis=1) >= MIN_STD]
        out[filled:filled + len(keep)] = keep
        filled += len(keep)
    return out
