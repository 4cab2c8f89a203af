"""Saved models: identical predictions after loading, and every bad file refused."""

import pickle

import numpy as np
import pytensor
import pytest

import sda
from sda.serialization import load_model, load_params, save_model


def trained_model(floatX="float64", sizes=(9, 7)):
    with pytensor.config.change_flags(floatX=floatX):
        model = sda.SdA(np.random.RandomState(5), n_ins=16,
                        hidden_layers_sizes=sizes, n_outs=3,
                        corruption_levels=(0.1,) * len(sizes))
        rng = np.random.default_rng(0)
        for p in model.params:  # stand-in for training: non-trivial values
            p.set_value(rng.normal(size=p.get_value().shape).astype(floatX))
    return model


def predict(model, x):
    f = pytensor.function([model.x], [model.logLayer.p_y_given_x,
                                       model.logLayer.y_pred])
    return f(x.astype(model.x.dtype))


def test_save_load_predict_gives_identical_outputs(tmp_path, floatX):
    model = trained_model(floatX)
    path = save_model(model, tmp_path / "model.npz")
    loaded = load_model(path)
    assert loaded.hidden_layers_sizes == (9, 7) and loaded.n_outs == 3
    assert loaded.x.dtype == floatX
    for a, b in zip(model.params, loaded.params):
        assert a.name == b.name
        np.testing.assert_array_equal(a.get_value(), b.get_value())
    x = np.random.default_rng(1).random((10, 16))
    for a, b in zip(predict(model, x), predict(loaded, x)):
        np.testing.assert_array_equal(a, b)
    # the dA biases come back too, so pretraining could go on
    np.testing.assert_array_equal(loaded.dA_layers[1].b_prime.get_value(),
                                  model.dA_layers[1].b_prime.get_value())


def test_hidden_representation_of_new_data_from_a_loaded_model(tmp_path):
    model = trained_model()
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    encode = pytensor.function([loaded.x], loaded.sigmoid_layers[-1].output)
    x = np.random.default_rng(2).random((4, 16))
    h = x
    for layer in model.sigmoid_layers:
        h = 1 / (1 + np.exp(-(h @ layer.W.get_value() + layer.b.get_value())))
    np.testing.assert_allclose(encode(x), h, rtol=1e-12)


def test_saving_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "model.npz"
    save_model(trained_model(), path)
    before = path.read_bytes()

    class Boom(Exception):
        pass

    def explode(*args, **kwargs):
        raise Boom()

    model = trained_model()
    model.params[0].get_value = explode
    with pytest.raises(Boom):
        save_model(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_architecture_or_dtype_mismatch_is_named(tmp_path):
    path = save_model(trained_model(sizes=(9, 7)), tmp_path / "m.npz")
    with pytest.raises(sda.DataFileError, match=r"m.npz: was saved with "
                       r"hidden_layers_sizes=\[9, 7\] but the model has "
                       r"hidden_layers_sizes=\[9, 8\]"):
        load_params(trained_model(sizes=(9, 8)), path)
    with pytest.raises(sda.DataFileError, match="m.npz: was saved with "
                       "floatX=float64 but the model has floatX=float32"):
        load_params(trained_model("float32"), path)


def test_pickle_offered_as_a_model_is_refused_not_run(tmp_path):
    marker = tmp_path / "ran"

    class RunsCode:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(RunsCode()))
    with pytest.raises(sda.DataFileError, match="model.npz: holds pickled "
                                                "objects; it is refused"):
        load_model(path)
    assert not marker.exists()
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(sda.DataFileError, match="obj.npy: holds pickled"):
        load_model(tmp_path / "obj.npy")


@pytest.mark.parametrize("damage", [
    lambda b: b[:len(b) // 2],
    lambda b: b[:100],
    lambda b: b"",
    lambda b: b[:30] + bytes(30) + b[60:],
])
def test_truncated_or_corrupt_model_files_are_named(tmp_path, damage):
    path = save_model(trained_model(), tmp_path / "m.npz")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(sda.DataFileError, match="m.npz: "):
        load_model(path)


def test_npz_that_is_not_a_model_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(sda.DataFileError, match="other.npz: is not an sda "
                                                "model file"):
        load_model(tmp_path / "other.npz")
    with pytest.raises(sda.DataFileError, match="missing.npz: no such file"):
        load_model(tmp_path / "missing.npz")
