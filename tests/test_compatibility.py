"""Files written before the package was split into subpackages still load and give the same numbers.

A cross-cutting suite: ``tests/fixtures/`` holds a model file, a
checkpoint and pickled estimators written by sda 0.1 at commit 85da031,
when the noise classes lived in ``sda.noise`` and the history in the
module ``sda.train``.
"""

import pickle
from pathlib import Path

import numpy as np
import pytest

import sda
from sda.train.checkpoint import Checkpointer

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_an_old_model_file_loads_and_predicts_the_same():
    model = sda.load_model(FIXTURES / "model_0.1.npz")
    assert [n.name for n in model.noise] == ["masking", "salt_and_pepper"]
    assert model.tied == (True, False) and model.x.dtype == "float32"
    X = np.random.default_rng(0).random((40, 6))
    np.testing.assert_allclose(model.predict_proba(X),
                               np.load(FIXTURES / "model_0.1_proba.npy"),
                               rtol=1e-6)


def test_an_old_checkpoint_loads_and_restores(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "checkpoint.npz").write_bytes(
        (FIXTURES / "checkpoint_0.1.npz").read_bytes())
    meta, arrays = Checkpointer(folder).load()
    assert meta["position"]["phase"] == "finetune"
    model = sda.load_model(FIXTURES / "model_0.1.npz")
    X = np.random.default_rng(0).random((40, 6))
    model.pretraining_functions(X, 5)  # draws its random streams, as a run
    best = Checkpointer(folder).restore(model, meta, arrays)
    assert len(best) == len(model.params)
    history = sda.History.from_dict(meta["history"])
    assert history.epochs == 2


def test_old_pickled_estimators_load_and_predict_the_same():
    pytest.importorskip("sklearn")
    with open(FIXTURES / "estimators_0.1.pkl", "rb") as f:
        saved = pickle.load(f)  # a file of this repository: trusted
    X = saved["X"]
    assert saved["ae"].dA_.noise.name == "salt_and_pepper"
    np.testing.assert_allclose(saved["ae"].transform(X), saved["codes"],
                               rtol=1e-12)
    np.testing.assert_allclose(saved["clf"].predict_proba(X),
                               saved["proba"], rtol=1e-12)
    assert isinstance(saved["clf"].history_, sda.History)
    # and pickled again by this version: the noise goes by name
    again = pickle.loads(pickle.dumps(saved["ae"]))
    assert b"sda.noise" not in pickle.dumps(saved["ae"])
    np.testing.assert_allclose(again.transform(X), saved["codes"],
                               rtol=1e-12)
