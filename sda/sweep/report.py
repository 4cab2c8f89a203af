"""A sweep's results: a table of the finished trials, written as CSV, JSON and a plot."""

import csv
import io
import json
import math
from pathlib import Path

from ..files import atomic_write
from ..viz import figure, save_figure
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
    _plot(rows, space, metric, folder / "errors.png")
    return folder


def _plot(rows, space, metric, path):
    """One panel per swept parameter: ``metric`` against its values."""
    names = list(space)
    fig = figure(figsize=(4.5 * len(names), 3.4))
    axes = fig.subplots(1, len(names), squeeze=False)
    done = [r for r in rows if r["state"] == "COMPLETE"]
    for ax, name in zip(axes[0], names):
        labels = [label(v) for v in space[name]]
        # one line per setting of the other swept parameters
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
    save_figure(fig, path)


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
