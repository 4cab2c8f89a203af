"""Generate the eight problems of Vincent et al. (2010), Table 3, and draw examples of each.

``sda.datasets.make_variation`` regenerates the benchmark problems of
Larochelle et al. (2007) from their recipes (docs/benchmarks.md says every
choice) and caches them (``$SDA_DATASETS``, else ``~/.cache/sda/datasets``).
This script makes each (timing it, and reading it from the cache when it is
there), prints its sizes and label counts, and writes ``variations.png``:
one row of training examples per problem, in the order of the table.

    python examples/variations.py                  # about a minute on 2 cores
    python examples/variations.py --names rect,convex
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from sda import datasets
from sda.viz import save_image, tile_raster_images


def build_parser():
    ap = argparse.ArgumentParser(prog="variations.py",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--names", default=",".join(datasets.NAMES),
                    help="comma-separated, of " + ", ".join(datasets.NAMES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-row", type=int, default=12,
                    help="examples drawn per problem")
    ap.add_argument("--output-folder", type=Path, default=Path("variations"))
    return ap


def main(argv=None):
    a = build_parser().parse_args(argv)
    names = [n for n in a.names.split(",") if n]
    for name in names:
        if name not in datasets.NAMES:
            build_parser().error(f"--names: {name!r} is not one of "
                                 f"{', '.join(datasets.NAMES)}")
    rows = []
    for name in names:
        started = time.perf_counter()
        sets = datasets.make_variation(name, seed=a.seed)
        seconds = time.perf_counter() - started
        (x, y), (vx, vy), (tx, ty) = sets
        counts = np.bincount(np.concatenate([y, vy, ty]))
        print(f"{name:11} train/valid/test {len(x)}/{len(vx)}/{len(tx)}, "
              f"label counts {counts.tolist()}, {seconds:.1f} s", flush=True)
        rows.append(x[:a.per_row])
    mosaic = tile_raster_images(np.concatenate(rows), (28, 28),
                                (len(rows), a.per_row), (2, 2),
                                scale_rows_to_unit_interval=False)
    path = save_image(mosaic, a.output_folder / "variations.png")
    print(f"examples drawn in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
