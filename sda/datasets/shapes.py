"""The shape problems of Larochelle et al. (2007): rect, rect-img, convex.

Pixel ``(i, j)`` of a 28x28 image is the point ``(i + 0.5, j + 0.5)``.

* ``rect``: the one-pixel outline of a rectangle, white on black; height
  and width integers uniform in [3, 26], both drawn again when they
  differ by less than :data:`MIN_DIFFERENCE` (3) pixels, the rectangle
  placed uniformly where it fits.  Label 1 when it
  is taller than wide, 0 when wider than tall.
* ``rect-img``: a filled rectangle (sides in [6, 26]) whose inside is one
  photograph patch and whose outside is another (:mod:`.patches`); same
  labels.
* ``convex``: the lit pixels are the pixel centres inside a convex set, an
  intersection of 3 to 8 half-planes around a random centre (label 1), or
  inside a union of 2 to 4 such sets whose lit pixels are not a convex set:
  some pixel centre in the convex hull of the lit ones is dark (label 0).
  Both classes hold between :data:`MIN_LIT` and :data:`MAX_LIT` lit
  pixels, in the same number of examples for each of :data:`AREA_BINS`
  equal bins of that range, so their numbers of lit pixels have the same
  distribution (within a bin) and about the same mean.
"""

import numpy as np

from . import patches

__all__ = ["make_rect", "make_rect_img", "make_convex", "is_convex",
           "MIN_LIT", "MAX_LIT", "AREA_BINS", "MIN_DIFFERENCE"]

SIDE = 28
_CENTRES = (np.indices((SIDE, SIDE)).reshape(2, -1).T + 0.5)

MIN_LIT, MAX_LIT, AREA_BINS = 60, 400, 10

#: Rectangles nearer to squares are drawn again (both sides redrawn).
MIN_DIFFERENCE = 3


def _boxes(n, rng, low, high):
    """``n`` rectangles whose height and width differ by at least
    :data:`MIN_DIFFERENCE`: (top, left, height, width)."""
    h = rng.integers(low, high + 1, n)
    w = rng.integers(low, high + 1, n)
    while (close := np.flatnonzero(abs(h - w) < MIN_DIFFERENCE)).size:
        h[close] = rng.integers(low, high + 1, close.size)
        w[close] = rng.integers(low, high + 1, close.size)
    top = (rng.random(n) * (SIDE - h + 1)).astype(np.int64)
    left = (rng.random(n) * (SIDE - w + 1)).astype(np.int64)
    return top, left, h, w


def _inside(top, left, h, w, border=False):
    """Masks (n, 28, 28) of the rectangles, or of their outlines."""
    r = np.arange(SIDE)[None, :, None]
    c = np.arange(SIDE)[None, None, :]
    t, lf = top[:, None, None], left[:, None, None]
    b, rt = t + h[:, None, None] - 1, lf + w[:, None, None] - 1
    filled = (r >= t) & (r <= b) & (c >= lf) & (c <= rt)
    if not border:
        return filled
    edge = (r == t) | (r == b) | (c == lf) | (c == rt)
    return filled & edge


def make_rect(n, rng):
    """``n`` rectangle outlines: (x, y), y = 1 for tall ones."""
    top, left, h, w = _boxes(n, rng, 3, 26)
    x = _inside(top, left, h, w, border=True).reshape(n, -1).astype(float)
    return x, (h > w).astype(np.int32)


def make_rect_img(n, rng):
    """``n`` rectangles of one patch on another: (x, y), y = 1 for tall."""
    top, left, h, w = _boxes(n, rng, 6, 26)
    mask = _inside(top, left, h, w).reshape(n, -1)
    x = np.where(mask, patches.sample(n, rng), patches.sample(n, rng))
    return x, (h > w).astype(np.int32)


def _convex_masks(n, rng, reach):
    """``n`` intersections of 3 to 8 half-planes: masks (n, 784)."""
    centre = rng.uniform(6.0, 22.0, (n, 1, 2))
    k = 8
    theta = rng.uniform(0.0, 2 * np.pi, (n, k))
    normal = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    offset = rng.uniform(reach[0], reach[1], (n, k))
    used = np.arange(k)[None, :] < rng.integers(3, k + 1, n)[:, None]
    offset = np.where(used, offset, np.inf)  # an unused half-plane is all
    proj = np.einsum("npd,nkd->npk", _CENTRES[None] - centre, normal)
    return (proj <= offset[:, None, :]).all(axis=2)


def is_convex(mask):
    """Whether the lit pixels of a mask (784,) are every pixel centre in
    their convex hull (a hull of at least 3 points not on a line)."""
    # here, not at the top: scipy.spatial would add a sixth to the time
    # of ``import sda``
    from scipy.spatial import ConvexHull
    hull = ConvexHull(_CENTRES[mask])
    inside = (_CENTRES @ hull.equations[:, :2].T
              + hull.equations[:, 2] <= 1e-9).all(axis=1)
    return bool((inside == mask).all())


def _fill_bins(n, draw):
    """``n`` masks from batches of ``draw(size)``, as many in each lit-pixel
    bin as in the others (the first ``n % AREA_BINS`` bins one more)."""
    edges = np.linspace(MIN_LIT, MAX_LIT + 1, AREA_BINS + 1)
    quota = np.full(AREA_BINS, n // AREA_BINS)
    quota[:n % AREA_BINS] += 1
    taken = [[] for _ in range(AREA_BINS)]
    while quota.any():
        for mask in draw(max(256, int(quota.sum()))):
            area = int(mask.sum())
            if not MIN_LIT <= area <= MAX_LIT:
                continue
            b = int(np.searchsorted(edges, area, side="right")) - 1
            if quota[b]:
                taken[b].append(mask)
                quota[b] -= 1
    return np.array([m for bin_ in taken for m in bin_])


def make_convex(n, rng):
    """``n`` convex and non-convex sets, half of each, shuffled: (x, y),
    y = 1 for convex."""
    n_convex = n // 2

    def convex(size):
        return _convex_masks(size, rng, (2.0, 12.0))

    def unions(size):
        parts = rng.integers(2, 5, size)
        masks = np.zeros((size, SIDE * SIDE), bool)
        for p in range(4):
            more = parts > p
            masks[more] |= _convex_masks(int(more.sum()), rng, (1.5, 7.0))
        return [m for m in masks if MIN_LIT <= m.sum() <= MAX_LIT
                and not is_convex(m)]

    masks = np.concatenate([_fill_bins(n_convex, convex),
                            _fill_bins(n - n_convex, unions)])
    y = np.r_[np.ones(n_convex, np.int32), np.zeros(n - n_convex, np.int32)]
    order = rng.permutation(n)
    return masks[order].astype(float), y[order]
