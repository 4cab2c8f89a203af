"""``python -m sda.sweep``: see :mod:`sda.sweep.command`."""

from .command import main

if __name__ == "__main__":  # imported (by Sphinx, say), it runs nothing
    raise SystemExit(main())
