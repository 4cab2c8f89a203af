"""The code in README.md and docs/ runs as written, so it cannot drift from the library.

A cross-cutting suite, at the top of ``tests/``.
"""

import re
from pathlib import Path

import pytensor
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(page):
    return BLOCK.findall(page.read_text())


def test_the_readme_has_runnable_examples():
    assert len(blocks(ROOT / "README.md")) >= 2


SLOW = ("README.md", "sklearn.md", "msda.md",  # they train on MNIST slices
        "sweeps.md")  # and start a local Dask cluster


@pytest.mark.parametrize("page", [
    pytest.param(p, marks=[pytest.mark.slow] if p.name in SLOW else [])
    for p in PAGES if blocks(p)], ids=lambda p: p.name)
def test_code_blocks_run_in_order(page, tmp_path, monkeypatch, capsys):
    if "sda.sklearn" in page.read_text():
        pytest.importorskip("sklearn")  # the optional extras
    if "sda.sweep" in page.read_text():
        pytest.importorskip("optuna")
        pytest.importorskip("distributed")
    monkeypatch.chdir(tmp_path)  # the examples write files
    namespace = {"__name__": "__docs__"}
    with pytensor.config.change_flags(floatX=pytensor.config.floatX,
                                      mode=pytensor.config.mode):
        for i, code in enumerate(blocks(page)):
            exec(compile(code, f"{page.name}, block {i + 1}", "exec"),
                 namespace)
    if page.name == "README.md":  # what the quick start says it prints
        printed = capsys.readouterr().out
        error = float(re.search(r"test error ([\d.]+)%", printed).group(1))
        assert 3 < error < 9, printed
        assert namespace["proba"].sum(axis=1) == pytest.approx(1, rel=1e-5)
