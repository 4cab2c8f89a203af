"""benchmarks/msda.py, the page docs/msda.md is made by: its rows and table."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "msda.py"


def test_the_benchmark_prints_and_saves_its_rows(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("msda_bench", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "rows.json"
    assert module.main(["--n-train", "300", "--layers", "1", "--no-sda",
                        "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(out.read_text())
    assert [r["model"] for r in rows] == [
        "logistic regression on pixels",
        "mSDA-1 (noise 0.5) + logistic regression"]
    for r in rows:
        assert 0 < r["test"] < 0.3 and r["seconds"] > 0
        line = re.search(re.escape(r["model"]) + r" \| ([\d.]+) \| ([\d.]+) ±",
                         printed)
        assert float(line.group(2)) == pytest.approx(100 * r["test"],
                                                     abs=0.005)
