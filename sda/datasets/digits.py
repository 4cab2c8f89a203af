"""The MNIST variations of Larochelle et al. (2007): basic, rot, bg-rand,
bg-img and rot-bg-img.

Each starts from the same draw of 62,000 of MNIST's 70,000 digits (a
permutation of the training and test images together, seeded), then

* rotates each digit by an angle uniform in [0, 2 pi) about the image
  centre (``rot``), with bilinear interpolation, pixels from outside the
  image being black;
* puts a background behind it (``bg-rand``: each pixel uniform in [0, 1];
  ``bg-img``: a patch of a photograph, :mod:`sda.datasets.patches`).  A
  pixel keeps the digit's value where the digit has ink and takes the
  background's elsewhere, so the digit's strokes stay as they are.

Pixels are in [0, 1], float64, before the cache quantises them.
"""

import numpy as np

from ..data.mnist import load_mnist
from . import patches

__all__ = ["mnist_digits", "rotate", "with_background", "make_digits",
           "DIGIT_SOURCES"]

SIDE = 28

#: The problems of this module and what each does to the digits.
DIGIT_SOURCES = {"basic": (False, None), "rot": (True, None),
                 "bg-rand": (False, "rand"), "bg-img": (False, "img"),
                 "rot-bg-img": (True, "img")}


def mnist_digits(n, rng, folder=None):
    """``n`` MNIST digits drawn without replacement from the training and
    test images together: (images in [0, 1], float64, one per row; labels,
    int32)."""
    arrays = load_mnist(folder)
    x = np.concatenate([arrays["train_x"], arrays["test_x"]])
    y = np.concatenate([arrays["train_y"], arrays["test_y"]])
    pick = rng.permutation(len(x))[:n]
    return x[pick] / 255.0, y[pick]


def rotate(images, angles):
    """Each 28x28 image (a row) turned by its angle (radians,
    counter-clockwise as the image is shown, row 0 on top, as
    ``scipy.ndimage.rotate``) about the image centre: bilinear, black
    outside."""
    images = images.reshape(-1, SIDE, SIDE)
    centre = (SIDE - 1) / 2
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64) - centre
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    # where each output pixel comes from: the inverse rotation
    src_r = cos * rows + sin * cols + centre
    src_c = cos * cols - sin * rows + centre
    r0, c0 = np.floor(src_r).astype(np.int64), np.floor(src_c).astype(np.int64)
    fr, fc = src_r - r0, src_c - c0
    n = np.arange(len(images))[:, None, None]
    out = np.zeros(images.shape)
    for dr, dc, weight in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc),
                           (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        r, c = r0 + dr, c0 + dc
        inside = (r >= 0) & (r < SIDE) & (c >= 0) & (c < SIDE)
        values = images[n, np.clip(r, 0, SIDE - 1), np.clip(c, 0, SIDE - 1)]
        out += np.where(inside, values, 0.0) * weight
    return np.clip(out, 0.0, 1.0).reshape(len(images), -1)


def with_background(images, backgrounds):
    """The digits over their backgrounds: the digit where it has ink, the
    background elsewhere."""
    return np.where(images > 0, images, backgrounds)


def make_digits(name, n, pick, rng, folder=None):
    """``n`` examples of the digit problem ``name``: (x, y), the digits
    drawn with the generator ``pick``, what is done to them with ``rng``."""
    turn, background = DIGIT_SOURCES[name]
    x, y = mnist_digits(n, pick, folder)
    if turn:
        angles = rng.uniform(0.0, 2 * np.pi, n)
        # in blocks: the interpolation's temporaries are 8 x 6 KB an image
        x = np.concatenate([rotate(x[i:i + 4096], angles[i:i + 4096])
                            for i in range(0, n, 4096)])
    if background == "rand":
        x = with_background(x, rng.uniform(0.0, 1.0, x.shape))
    elif background == "img":
        x = with_background(x, patches.sample(n, rng))
    return x, y
