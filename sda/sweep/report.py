"""A sweep's results: a table of the finished trials, written as CSV, JSON and a plot."""

import csv
import io
import json
import math
from pathlib import Path

from ..files import atomic_write
from ..viz import plot_sweep
from .driver import finished
from .space import decode, label

__all__ = ["results_table", "write_results", "table_text"]

#: User attributes of a trial that are bookkeeping, not results
#: (``interrupted``: the mark of earlier versions' drivers); a failure's
#: ``error``, its traceback's last line, is a result.
_NOT_RESULTS = ("traceback", "interrupted")


def results_table(study, space):
    """One row per finished trial: its parameters, state and metrics."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        if not finished(t):
            continue
        row = {"number": t.number, "state": t.state.name}
        for name in space:
            if name in t.params:
                row[name] = decode(t.params[name], space[name])
        for name, value in t.user_attrs.items():
            if name not in _NOT_RESULTS:
                row[name] = value
        rows.append(row)
    return rows


def write_results(rows, space, metric, folder):
    """``results.csv``, ``results.json`` and ``errors.png`` in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    columns = ["number", "state", *space,
               *sorted({k for r in rows for k in r} - set(space)
                       - {"number", "state"})]
    text = io.StringIO()
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict))
                         else v for k, v in row.items()})
    atomic_write(folder / "results.csv",
                 lambda f: f.write(text.getvalue().encode()))
    atomic_write(folder / "results.json",
                 lambda f: f.write(json.dumps(rows, indent=1).encode()))
    plot_sweep(rows, space, metric, folder / "errors.png", label=label)
    return folder


def table_text(rows, space, metric):
    """The rows as text, best first; a failure's reason after its state."""
    columns = [*space, metric, "test_error", "seconds", "state"]
    lines = ["  ".join(f"{c:>20}" for c in columns)]
    for row in sorted(rows, key=lambda r: (r["state"] != "COMPLETE",
                                           r.get(metric, math.inf))):
        cells = []
        for c in columns:
            v = row.get(c, "")
            text = f"{v:.4g}" if isinstance(v, float) else label(v)
            cells.append(f"{text:>20}")
        if row.get("error"):
            cells.append(str(row["error"]))
        lines.append("  ".join(cells))
    return "\n".join(lines)
