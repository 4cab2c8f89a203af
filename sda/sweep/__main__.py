"""``python -m sda.sweep``: see :mod:`sda.sweep.command`."""

from .command import main

raise SystemExit(main())
