"""benchmarks/table3.py, the reproduction of Vincent et al. (2010), Table 3:
its intervals, its table, its baselines' trial and its command line (the
sweeps themselves are sda.sweep's, tested in tests/sweep)."""

import importlib.util
import math
from pathlib import Path

import numpy
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("optuna")

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "table3.py"


@pytest.fixture(scope="module")
def table3():
    spec = importlib.util.spec_from_file_location("table3", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_interval_is_the_binomial_normal_approximation(table3):
    low, high = table3.interval(0.1, 10000)
    assert math.isclose(high - 0.1, 1.96 * math.sqrt(0.09 / 10000))
    assert math.isclose(0.1 - low, high - 0.1)
    assert table3.interval(0.0, 100) == (0.0, 0.0)
    assert table3.interval(0.999, 10)[1] == 1.0


def test_the_paper_figures_are_the_quoted_table(table3):
    assert set(table3.PAPER) == {"mnist", "basic", "rot", "bg-rand",
                                 "bg-img", "rot-bg-img", "rect", "rect-img",
                                 "convex"}
    assert table3.PAPER["rot-bg-img"] == (55.18, 51.93, 47.39, 43.76, 0.25)


def test_the_table_puts_ours_with_its_interval_next_to_the_paper(table3):
    results = {"rect": {"SDAE-3": {"test_error": 0.02}, "SAA-3": None,
                        "SVM-rbf": {"test_error": 0.05},
                        "MLP": {"test_error": 0.04}}}
    lines = table3.table_lines(results, {"rect": 2000})
    low, high = table3.interval(0.02, 2000)
    row = lines[-1]
    assert row.startswith("rect")
    assert f"2.00 [{100 * low:5.2f}, {100 * high:5.2f}] /  1.99" in row
    assert " 5.00 [" in row and "/  2.15" in row
    assert "/     -" in row  # the paper has no MLP column


def test_the_picture_is_drawn(table3, tmp_path):
    results = {"rect": {"SDAE-3": {"test_error": 0.02}, "SAA-3": None,
                        "SVM-rbf": {"test_error": 0.05}, "MLP": None}}
    path = table3.draw(results, {"rect": 2000}, tmp_path / "t.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_baselines_trial_learns_rectangles(table3, tmp_path, monkeypatch):
    monkeypatch.setenv("SDA_DATASETS", str(tmp_path))
    out = table3.sklearn_trial({"problem": "rect", "model": "svm",
                                "n_train": 1000, "n_test": 1000, "C": 10.0,
                                "gamma": 0.05})
    assert 0 <= out["test_error"] < 0.2 and 0 <= out["valid_error"] < 0.2
    assert out["seconds"] > 0


def test_an_unknown_problem_is_refused(table3, capsys):
    with pytest.raises(SystemExit):
        table3.main(["--problems", "mnist-rot"])
    assert "'mnist-rot' is not one of mnist, basic" in capsys.readouterr().err


@pytest.mark.parametrize("score_test", [False, True])
def test_the_svm_on_its_kernel_matrix_is_scikit_learns_rbf_svc(
        table3, tmp_path, monkeypatch, score_test):
    from sklearn.svm import SVC
    monkeypatch.setenv("SDA_DATASETS", str(tmp_path))
    params = {"problem": "rect", "model": "svm", "n_train": 300,
              "n_test": 3000, "C": 10.0, "gamma": 0.03,
              "score_test": score_test}
    monkeypatch.setattr(table3, "KERNEL_ROWS", 1000)  # blocks of the test set
    out = table3.sklearn_trial(params)
    (x, y), (vx, vy), (tx, ty) = table3._arrays("rect", 300, 3000)
    svc = SVC(C=10.0, gamma=0.03).fit(x, y)
    assert out["valid_error"] == pytest.approx(1 - svc.score(vx, vy))
    if not score_test:
        assert out["test_error"] is None
        return
    # refitted on training and validation examples, as Larochelle et al.
    svc.fit(numpy.concatenate([x, vx]), numpy.concatenate([y, vy]))
    assert out["test_error"] == pytest.approx(1 - svc.score(tx, ty))
    monkeypatch.setattr(table3, "PRECOMPUTED_MAX", 100)  # libsvm's kernel
    assert table3.sklearn_trial(params)["test_error"] == pytest.approx(
        out["test_error"])
