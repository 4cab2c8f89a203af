"""The scikit-learn estimators: scikit-learn's own checks, pipelines, grid searches, pickles."""

import pickle
import warnings

import joblib
import numpy as np
import pytensor
import pytest

pytest.importorskip("sklearn")  # an optional extra; .ci/run installs it

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa

import sda  # noqa: E402
from sda.sklearn import DenoisingAutoencoder, SdAClassifier  # noqa: E402

FAST = [DenoisingAutoencoder(n_hidden=4, n_epochs=2, random_state=0),
        SdAClassifier(hidden_layer_sizes=(8,), pretraining_epochs=1,
                      max_epochs=3, batch_size=10, random_state=0)]


@pytest.mark.slow
@parametrize_with_checks(FAST)
def test_scikit_learns_estimator_checks(estimator, check):
    """Every check applies and passes: no expected failures are declared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check(estimator)


def digits(n=600, seed=0):
    """A slice of MNIST as arrays (pixels 0-255, labels 0-9)."""
    arrays = sda.load_mnist()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(arrays["train_x"]), n, replace=False)
    return (arrays["train_x"][rows].astype(np.float64),
            arrays["train_y"][rows])


def test_classifier_learns_digits_after_a_scaler_with_string_labels():
    X, y = digits(1200)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])[y]
    clf = make_pipeline(MinMaxScaler(), SdAClassifier(
        hidden_layer_sizes=(100,), pretraining_epochs=2, max_epochs=15,
        pretrain_learning_rate=0.1, random_state=0))
    clf.fit(X[:1000], names[:1000])
    fitted = clf[-1]
    assert set(fitted.classes_) == set(names)
    assert fitted.n_features_in_ == 784
    assert fitted.sda_.dA_layers[0].loss == "cross_entropy"  # scaled to [0, 1]
    assert clf.score(X[1000:], names[1000:]) > 0.8
    proba = clf.predict_proba(X[1000:])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert (clf.predict(X[1000:]) == fitted.classes_[proba.argmax(1)]).all()
    assert clf.transform(X[:5]).shape == (5, 100)
    assert len(fitted.loss_curve_) == fitted.n_iter_ > 0


def test_after_a_standard_scaler_the_first_layer_uses_squared_error():
    X, y = digits(300)
    pipe = make_pipeline(StandardScaler(), SdAClassifier(
        hidden_layer_sizes=(20,), pretraining_epochs=1, max_epochs=2,
        random_state=0)).fit(X, y)
    assert pipe[-1].sda_.dA_layers[0].loss == "squared_error"
    auto = make_pipeline(StandardScaler(), DenoisingAutoencoder(
        n_hidden=10, n_epochs=1, noise="gaussian", corruption_level=0.5,
        random_state=0)).fit(X)
    assert auto[-1].loss_ == "squared_error"
    assert auto.transform(X[:3]).shape == (3, 10)


def test_grid_search_with_two_jobs():
    X, y = digits(400)
    X /= 255
    search = GridSearchCV(
        SdAClassifier(hidden_layer_sizes=(20,), pretraining_epochs=1,
                      max_epochs=2, random_state=0),
        {"corruption_levels": [0.0, 0.3]}, cv=2, n_jobs=2)
    search.fit(X, y)
    assert set(search.cv_results_["param_corruption_levels"]) == {0.0, 0.3}
    assert search.best_estimator_.predict(X[:5]).shape == (5,)


def test_autoencoder_transform_inverse_and_score(float64):
    X, _ = digits(300)
    X /= 255
    auto = DenoisingAutoencoder(n_hidden=50, n_epochs=3, random_state=0)
    before = DenoisingAutoencoder(n_hidden=50, n_epochs=0,
                                  random_state=0).fit(X).score(X)
    auto.fit(X)
    assert auto.score(X) > before  # negative cost: higher is better
    H = auto.transform(X)
    assert H.shape == (300, 50) and ((H > 0) & (H < 1)).all()
    np.testing.assert_allclose(auto.inverse_transform(H),
                               auto.dA_.reconstruct(X), rtol=1e-10)
    assert auto.costs_[-1] < auto.costs_[0]


@pytest.mark.parametrize("floatX", ["float32", "float64"])
def test_fitted_estimators_survive_pickle_and_joblib(tmp_path, floatX):
    X, y = digits(200)
    X /= 255
    with pytensor.config.change_flags(floatX=floatX):
        clf = SdAClassifier(hidden_layer_sizes=(10,), pretraining_epochs=1,
                            max_epochs=2, random_state=0).fit(X, y)
        auto = DenoisingAutoencoder(n_hidden=5, n_epochs=1,
                                    random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X),
                                  clf.predict_proba(X))
    assert again.sda_.x.dtype == floatX
    joblib.dump(auto, tmp_path / "auto.joblib")
    loaded = joblib.load(tmp_path / "auto.joblib")
    np.testing.assert_array_equal(loaded.transform(X), auto.transform(X))
    # the safe route for sharing: the network as an sda .npz file
    model = sda.load_model(sda.save_model(clf.sda_, tmp_path / "m.npz"))
    np.testing.assert_array_equal(model.predict_proba(X),
                                  clf.sda_.predict_proba(X))


def test_bad_parameters_are_named():
    X, y = digits(100)
    with pytest.raises(ValueError, match="validation_fraction must be in "
                       r"\(0, 1\), got 1.5"):
        SdAClassifier(validation_fraction=1.5).fit(X / 255, y)
    with pytest.raises(ValueError, match=r"X must lie in \[0, 1\] for the "
                       "cross-entropy"):
        DenoisingAutoencoder(loss="cross_entropy").fit(X)
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        DenoisingAutoencoder(learning_rate=-1).fit(X / 255)
