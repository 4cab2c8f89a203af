"""Datasets in any reasonable form: shared variables, arrays, the tutorial's cast labels.

Every entry point that takes a dataset (both builders, both loops) must give
the same training from each form, and name the argument when it refuses one.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import sda
from sda.data import as_datasets, as_shared


def arrays(n=60, n_ins=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, n_ins)), rng.integers(0, 3, n)


def model(dtype="float64"):
    with pytensor.config.change_flags(floatX=dtype):
        return sda.SdA(np.random.RandomState(5), theano_rng=9, n_ins=12,
                       hidden_layers_sizes=[7, 5], n_outs=3,
                       corruption_levels=[0.1, 0.2])


def forms(x, y, floatX):
    """The same data as shared variables, NumPy arrays (float64, int64),
    the tutorial's floatX labels cast to int32, and lists."""
    shared_x = pytensor.shared(x.astype(floatX))
    return {
        "shared": [sda.shared_dataset((x, y))] * 3,
        "arrays": [(x, y)] * 3,
        "cast labels": [(shared_x, pt.cast(pytensor.shared(
            y.astype(floatX)), "int32"))] * 3,
        "uint8 labels and float32 inputs": [(x.astype("float32"),
                                             y.astype(np.uint8))] * 3,
        "lists": [(x.tolist(), y.tolist())] * 3,
    }


def train(m, datasets, builders):
    """Costs of a pretraining step and a fine-tuning step, and the scores."""
    if builders:
        pre = m.pretraining_functions(datasets[0][0], batch_size=6)
        costs = [pre[k](i, corruption=0.0, lr=0.1) for k in (0, 1)
                 for i in range(3)]
        train_fn, valid, test = m.build_finetune_functions(datasets, 6, 0.1)
        costs += [train_fn(i) for i in range(4)]
        return np.array(costs + [np.mean(valid()), np.mean(test())])
    h = sda.train.pretrain(m, datasets[0][0], epochs=1, batch_size=6,
                           learning_rate=0.1, corruption_levels=[0.0, 0.0])
    sda.train.finetune(m, datasets, epochs=2, batch_size=6, learning_rate=0.1,
                       history=h)
    return np.array(sum(h.pretraining_costs, []) + h.finetune_costs
                    + [h.best_validation_error, h.test_error])


@pytest.mark.parametrize("builders", [True, False],
                         ids=["builders", "loops"])
def test_every_form_of_data_trains_alike(floatX, builders):
    x, y = arrays()
    results = {name: train(model(floatX), sets, builders)
               for name, sets in forms(x, y, floatX).items()}
    expected = results.pop("shared")
    tol = 1e-5 if floatX == "float32" else 1e-12
    for name, got in results.items():
        # float32 inputs in a float64 model are rounded: close, not equal
        loose = name.startswith("uint8") and floatX == "float64"
        np.testing.assert_allclose(got, expected, rtol=1e-4 if loose else tol,
                                   err_msg=name)


def test_arrays_are_converted_once_and_not_copied_when_they_fit(floatX):
    x, y = arrays()
    x = x.astype(floatX)
    shared_x = as_shared("train_set_x", x, floatX)
    assert shared_x.get_value(borrow=True) is x  # no copy at all
    converted = as_shared("train_set_x", x.astype("float64"), "float32")
    assert converted.get_value(borrow=True).dtype == "float32"
    labels = as_shared("train_set_y", y, labels=True)
    assert labels.get_value(borrow=True).dtype == "int32"


def test_the_model_dtype_decides_not_the_current_floatX():
    m = model("float32")
    x, y = arrays()
    with pytensor.config.change_flags(floatX="float64"):
        fns = m.pretraining_functions(x, batch_size=6)
        assert np.isfinite(fns[0](0))
        assert m.predict(x).shape == (60,)


@pytest.mark.parametrize("bad, message", [
    (lambda x, y: [(x, y)] * 4, "datasets must be three .x, y. pairs.*a list "
     "of 4 items"),
    (lambda x, y: [(x, y), None, (x, y)], "datasets must be three .*or the "
     "first two .no test set.*lengths 2, None, 2"),
    (lambda x, y: [(x,)] * 3, "datasets must be three"),
    (lambda x, y: 5, "datasets must be three .* got a int"),
    (lambda x, y: [(x, y), (x, y), (x, y.astype(bool))],
     "test_set_y must hold integer class numbers, got dtype bool"),
    (lambda x, y: [(x, y), (x, y + 3), (x, y)],
     r"valid_set_y must hold class numbers in \[0, 3\)"),
    (lambda x, y: [(x, y), (x, y), (x[:, :5], y)],
     "test_set_x must be a matrix with 12 columns"),
    (lambda x, y: [(x, y), (np.array([["a"] * 12]), y), (x, y)],
     "valid_set_x must be numeric"),
    (lambda x, y: [(pytensor.shared(x.astype("float32")), y)] * 3,
     "train_set_x is a shared variable of float32, the model computes in "
     "float64"),
    (lambda x, y: [(x, pt.ivector("labels"))] * 3,
     r"train_set_y is a symbolic expression of free inputs \(labels\)"),
])
def test_bad_datasets_are_refused_naming_the_argument(bad, message):
    x, y = arrays()
    m = model("float64")
    with pytest.raises(ValueError, match=message):
        m.build_finetune_functions(bad(x, y), 6, 0.1)
    with pytest.raises(ValueError, match=message):
        sda.train.finetune(m, bad(x, y), epochs=1, batch_size=6)


def test_bad_training_inputs_are_refused_by_builder_and_loop():
    m = model("float64")
    for bad, message in [(np.full((10, 12), 2.0), r"train_set_x must lie in "
                          r"\[0, 1\]"),
                         ([[0.5] * 11] * 10, "train_set_x must be a matrix "
                          "with 12 columns")]:
        with pytest.raises(ValueError, match=message):
            m.pretraining_functions(bad, 5)
        with pytest.raises(ValueError, match=message):
            sda.train.pretrain(m, bad, epochs=1, batch_size=5)


def test_fine_tuning_needs_no_test_set():
    x, y = arrays()
    for datasets in ([(x, y), (x, y)], [(x, y), (x, y), None]):
        m = model("float64")
        train_fn, valid_score, test_score = m.build_finetune_functions(
            datasets, 6, 0.1)
        assert test_score is None and 0 <= np.mean(valid_score()) <= 1
        history = sda.train.finetune(m, datasets, epochs=2, batch_size=6)
        assert history.epochs == 2 and len(history.validation_errors) == 2
        assert np.isnan(history.test_error) and history.test_errors == []


def test_as_datasets_keeps_shared_variables():
    x, y = arrays()
    sets = [sda.shared_dataset((x, y))] * 3
    converted = as_datasets(sets, pytensor.config.floatX)
    assert all(a is b for pa, pb in zip(sets, converted)
               for a, b in zip(pa, pb))
