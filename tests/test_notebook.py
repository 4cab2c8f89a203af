"""examples/tutorial.ipynb runs, top to bottom, in a real kernel: it cannot
drift from the library.  It is committed without outputs; the run shows its
pictures inline and prints what its text says it does."""

import json
import re
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "tutorial.ipynb"


def test_the_notebook_is_committed_without_outputs():
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.slow
def test_the_tutorial_notebook_runs_and_shows_its_pictures(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) == 6  # digits, filters, denoising, curves, 2 layers
    text = "".join(o.get("text", "") for o in outputs)
    error = float(re.search(r"test error ([\d.]+)%", text).group(1))
    assert error < 10, text  # it learns, even on its small budget
    for name in ("digits", "filters", "denoising", "curves", "layer0",
                 "layer1"):
        assert (tmp_path / f"{name}.png").exists()
