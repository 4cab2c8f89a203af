"""The scikit-learn estimators: scikit-learn's own checks, pipelines, grid searches, pickles."""

import pickle
import warnings

import joblib
import numpy as np
import pytensor
import pytest

pytest.importorskip("sklearn")  # an optional extra; .ci/run installs it

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa

import sda  # noqa: E402
from sda.sklearn import (DenoisingAutoencoder,  # noqa: E402
                         MarginalizedDenoisingAutoencoder, SdAClassifier)

# the fits here are a few epochs long on purpose; the tests of the warning
# itself catch it with pytest.warns, which this filter does not hide
pytestmark = pytest.mark.filterwarnings(
    r"ignore:.*max_epochs \(\d+\) reached"
    ":sklearn.exceptions.ConvergenceWarning")

FAST = [DenoisingAutoencoder(n_hidden=4, n_epochs=2, random_state=0),
        MarginalizedDenoisingAutoencoder(n_layers=2),
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
        solver="sgd", pretrain_learning_rate=0.1, batch_size=20,
        early_stopping=True, n_iter_no_change=None, random_state=0))
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


def test_msda_features_help_a_linear_classifier_on_mnist():
    """Chen et al.'s use: mSDA features + a linear model, in a pipeline."""
    from sklearn.linear_model import LogisticRegression
    X, y = digits(2000)
    X /= 255
    train, test = slice(0, 1000), slice(1000, None)

    def error(*steps):
        model = make_pipeline(*steps, LogisticRegression(max_iter=300))
        model.fit(X[train], y[train])
        return np.mean(model.predict(X[test]) != y[test])

    msda = MarginalizedDenoisingAutoencoder(n_layers=2, noise=0.5)
    raw, features = error(), error(msda)
    assert features < raw - 0.005, (features, raw)
    fitted = msda.fit(X[train])
    assert fitted.transform(X[test]).shape == (1000, 784 * 3)
    assert fitted.get_feature_names_out().shape == (784 * 3,)
    assert MarginalizedDenoisingAutoencoder(features="top").fit(
        X[train]).transform(X[:5]).shape == (5, 784)


@pytest.mark.parametrize("params, message", [
    ({"n_layers": 0}, r"^n_layers must be a positive integer, got 0$"),
    ({"noise": 1}, r"^noise must be in \[0, 1\), got 1$"),
    ({"ridge": "big"}, r"^ridge must be a non-negative number, got 'big'$"),
    ({"features": "all"}, r"^features must be one of .*, got 'all'$"),
])
def test_msda_parameters_are_checked_at_fit(params, message):
    X = np.random.default_rng(0).random((40, 6))
    with pytest.raises(ValueError, match=message):
        MarginalizedDenoisingAutoencoder(**params).fit(X)


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
    with pytest.raises(ValueError, match="validation_fraction must be a "
                       r"number in \(0, 1\), got 1.5"):
        SdAClassifier(validation_fraction=1.5).fit(X / 255, y)
    with pytest.raises(ValueError, match=r"X must lie in \[0, 1\] for the "
                       "cross-entropy"):
        DenoisingAutoencoder(loss="cross_entropy").fit(X)
    with pytest.raises(ValueError, match="learning_rate must be 'auto' or a "
                       "positive number, got -1"):
        DenoisingAutoencoder(learning_rate=-1).fit(X / 255)


SMALL = dict(hidden_layer_sizes=(4,), pretraining_epochs=1, max_epochs=2,
             random_state=0)


@pytest.mark.parametrize("params, message", [
    ({"hidden_layer_sizes": (0,)},
     r"^hidden_layer_sizes\[0\] must be a positive integer, got 0$"),
    ({"hidden_layer_sizes": (4, 2.5)},
     r"^hidden_layer_sizes\[1\] must be a positive integer, got 2.5$"),
    ({"hidden_layer_sizes": ()}, r"^hidden_layer_sizes must hold at least "
     r"one layer size, got \(\)$"),
    ({"hidden_layer_sizes": 5}, r"^hidden_layer_sizes must be a sequence"),
    ({"finetune_learning_rate": -1},
     r"^finetune_learning_rate must be 'auto' or a positive number, "
     r"got -1$"),
    ({"solver": "lbfgs"}, r"^solver must be one of adam, sgd, momentum, "
     r"nesterov, got 'lbfgs'$"),
    ({"batch_size": 0}, r"^batch_size must be 'auto' or a positive "
     r"integer, got 0$"),
    ({"n_iter_no_change": 0}, r"^n_iter_no_change must be a positive "
     r"integer, got 0$"),
    ({"early_stopping": "yes"}, r"^early_stopping must be True or False, "
     r"got 'yes'$"),
    ({"pretrain_learning_rate": 0}, r"^pretrain_learning_rate must be "
     r"'auto' or a positive number, got 0$"),
    ({"pretrain_learning_rate": "fast"}, r"^pretrain_learning_rate must be "
     r"'auto' or a positive number, got 'fast'$"),
    ({"max_epochs": -1}, r"^max_epochs must be a non-negative integer, "
     r"got -1$"),
    ({"pretraining_epochs": 1.5}, r"^pretraining_epochs must be a "
     r"non-negative integer, got 1.5$"),
    ({"validation_fraction": "a"},
     r"^validation_fraction must be a number in \(0, 1\), got 'a'$"),
    ({"loss": "hinge"}, r"^loss must be one of \('auto', 'cross_entropy', "
     r"'squared_error'\), got 'hinge'$"),
])
def test_classifier_parameters_are_checked_at_fit_under_their_own_names(
        params, message):
    """Not as the library's internal arguments (hidden_layers_sizes,
    learning_rate, epochs) nor as a bare float() error."""
    X, y = np.random.default_rng(0).random((40, 6)), np.arange(40) % 2
    clf = SdAClassifier(**{**SMALL, **params})  # __init__ only stores
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


@pytest.mark.parametrize("params, message", [
    ({"n_hidden": 0}, r"^n_hidden must be a positive integer, got 0$"),
    ({"learning_rate": 0}, r"^learning_rate must be 'auto' or a positive "
     r"number, got 0$"),
    ({"n_epochs": -2}, r"^n_epochs must be a non-negative integer, got -2$"),
    ({"loss": "l1"}, r"^loss must be one of .*, got 'l1'$"),
])
def test_autoencoder_parameters_are_checked_at_fit(params, message):
    X = np.random.default_rng(0).random((40, 6))
    with pytest.raises(ValueError, match=message):
        DenoisingAutoencoder(**{"n_epochs": 1, **params}).fit(X)


@pytest.mark.parametrize("estimator", [
    DenoisingAutoencoder(n_hidden=4, n_epochs=2, random_state=0),
    SdAClassifier(**SMALL)], ids=["autoencoder", "classifier"])
def test_inputs_that_overflow_float32_are_refused_before_training(estimator):
    """float64 1e200 passes scikit-learn's finiteness check but is inf in
    a float32 model: the dA used to train to NaN weights and NaN costs_."""
    X = np.random.default_rng(0).random((60, 8)) * 1e200
    y = np.arange(60) % 2
    with pytensor.config.change_flags(floatX="float32"), \
            warnings.catch_warnings():
        warnings.simplefilter("error")  # and no overflow warning either
        with pytest.raises(ValueError, match=r"^X holds values that overflow "
                           r"float32 \(the first in row 0: .*e\+199; "
                           r"float32 reaches 3.40282e\+38\): rescale it"):
            estimator.fit(X, y)
    assert not hasattr(estimator, "n_iter_")


def test_inverse_transform_refuses_non_finite_codes_by_name(float64):
    X = np.random.default_rng(0).random((40, 6))
    auto = DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=0).fit(X)
    codes = auto.transform(X[:5])
    codes[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"^X holds NaN or infinite values "
                       r"\(row 2\)$"):
        auto.inverse_transform(codes)
    with pytest.raises(ValueError, match="X must be a matrix with 3 columns"):
        auto.inverse_transform(X[:5])


@pytest.mark.parametrize("estimator", [
    DenoisingAutoencoder(n_hidden=4, n_epochs=2, random_state=0),
    SdAClassifier(**SMALL)], ids=["autoencoder", "classifier"])
def test_inputs_too_large_to_train_on_blame_the_scale_not_the_rate(
        estimator):
    """1e30 fits float32, but the first reconstruction cost (about 1e60)
    does not: no learning rate can help, so the message does not ask for
    a smaller one."""
    X = np.random.default_rng(0).random((60, 8)) * 1e30
    with pytensor.config.change_flags(floatX="float32"), \
            pytest.raises(sda.DivergenceError) as caught:
        estimator.fit(X, np.arange(60) % 2)
    message = str(caught.value)
    assert message.startswith("X is on too large a scale: its "
                              "reconstruction cost is ")
    assert "before the first step" in message
    assert "StandardScaler" in message and "learning rate" in message
    assert "smaller learning rate" not in message
    # the loop's own account stays reachable
    assert isinstance(caught.value.__cause__, sda.DivergenceError)


def test_a_divergence_on_a_sane_scale_still_suggests_the_learning_rate(
        float64):
    X = StandardScaler().fit_transform(np.random.default_rng(0).random(
        (200, 30)))
    with pytest.raises(sda.DivergenceError,
                       match="Try a smaller learning rate"):
        DenoisingAutoencoder(n_hidden=50, learning_rate=5, n_epochs=3,
                             random_state=0).fit(X)


def test_verbose_calls_the_validation_split_validation(capsys):
    X, y = np.random.default_rng(0).random((60, 6)), np.arange(60) % 2
    SdAClassifier(**SMALL, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Fine-tuning epoch 1, cost " in out
    assert "validation error" in out and "best" in out
    assert "test" not in out  # the estimator keeps no test set


def standardised_route(load):
    """The route docs/sklearn.md describes, at the defaults, on a held-out
    quarter of a scikit-learn dataset: (pipeline, held-out accuracy)."""
    from sklearn.model_selection import train_test_split
    X, y = load(return_X_y=True)
    X_fit, X_held, y_fit, y_held = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    pipe = make_pipeline(StandardScaler(), SdAClassifier(random_state=0))
    pipe.fit(X_fit, y_fit)
    return pipe, pipe.score(X_held, y_held)


@pytest.mark.parametrize("dataset, floor", [("load_digits", 0.955),
                                            ("load_breast_cancer", 0.945)])
def test_defaults_train_after_a_standard_scaler(dataset, floor):
    """The standardised route takes squared error, trains with finite
    costs and scores near scikit-learn's MLP (0.971 and 0.958 in
    docs/sklearn.md, against 0.978 and 0.951); with SGD at 0.01 the
    squared-error first layer diverged within ten minibatches."""
    import sklearn.datasets
    pipe, accuracy = standardised_route(getattr(sklearn.datasets, dataset))
    clf = pipe[-1]
    assert clf.sda_.dA_layers[0].loss == "squared_error"
    assert clf.pretrain_learning_rate_ == 0.001
    assert all(np.isfinite(c).all() for c in clf.history_.pretraining_costs)
    assert accuracy > floor


def test_the_sgd_recipe_on_unit_interval_inputs_is_unchanged(float64):
    """With solver='sgd', inputs in [0, 1] (MNIST pixels) keep
    cross-entropy and the rate of 0.01 that 'auto' replaced: the same fit
    as before, weight for weight."""
    X, y = digits(200)
    X /= 255
    small = dict(hidden_layer_sizes=(20,), pretraining_epochs=2,
                 max_epochs=2, random_state=0, solver="sgd")
    auto = SdAClassifier(**small).fit(X, y)
    explicit = SdAClassifier(**small, pretrain_learning_rate=0.01).fit(X, y)
    assert auto.pretrain_learning_rate_ == 0.01
    assert auto.finetune_learning_rate_ == 0.1
    assert auto.sda_.dA_layers[0].loss == "cross_entropy"
    for a, b in zip(auto.sda_.params, explicit.sda_.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())
    dae = DenoisingAutoencoder(n_hidden=10, n_epochs=1, random_state=0)
    assert dae.fit(X).learning_rate_ == 0.1


def test_predicting_values_that_overflow_a_float32_model_is_refused():
    """scikit-learn's own check passes float64 1e300; the float32 network
    used to answer class 0 for it."""
    X, y = np.random.default_rng(0).random((60, 6)), np.arange(60) % 2
    with pytensor.config.change_flags(floatX="float32"):
        clf = SdAClassifier(**SMALL).fit(X, y)
        auto = DenoisingAutoencoder(n_hidden=3, n_epochs=1,
                                    random_state=0).fit(X)
    X[4, 1] = 1e300
    for method in (clf.predict, clf.predict_proba, clf.transform,
                   auto.transform, auto.score):
        with pytest.raises(ValueError, match=r"^X holds values that overflow "
                           r"float32 \(the first in row 4: 1e\+300"):
            method(X)


def breast_cancer_minmax():
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
    return MinMaxScaler().fit_transform(X), y


@pytest.mark.parametrize("scaled, params, rate", [
    (True, {"solver": "adam", "learning_rate": 0.5}, "0.5"),
    (False, {}, "0.1")], ids=["too-large-a-rate", "unscaled-inputs"])
def test_dead_codes_are_reported_naming_the_rate(scaled, params, rate):
    """Codes that barely vary (per-unit std under 0.01) gave a logistic
    regression on top the majority class of breast cancer, 0.629, with no
    warning; the default rate on scaled inputs gives live codes."""
    X, _ = breast_cancer_minmax()
    if not scaled:
        from sklearn.datasets import load_breast_cancer
        X = load_breast_cancer(return_X_y=True)[0]
        params = {"learning_rate": 0.1, "loss": "squared_error"}
    with pytest.warns(ConvergenceWarning, match=(
            r"^DenoisingAutoencoder: \d+ of 100 hidden units barely vary "
            r".* learning_rate=" + rate + r" may be too large")):
        DenoisingAutoencoder(random_state=0, **params).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        codes = DenoisingAutoencoder(random_state=0).fit(
            breast_cancer_minmax()[0]).transform(breast_cancer_minmax()[0])
    assert (codes.std(axis=0) >= 0.01).mean() > 0.5


def test_a_classifier_that_learnt_one_class_says_so():
    X, y = breast_cancer_minmax()
    clf = SdAClassifier(hidden_layer_sizes=(20,), pretraining_epochs=1,
                        max_epochs=1, solver="sgd",
                        finetune_learning_rate=1e-6, random_state=0)
    with pytest.warns(ConvergenceWarning, match=(
            r"^SdAClassifier predicts one class \(1\) for all the training "
            r"data of 2: it has learnt nothing. finetune_learning_rate=1e-06 "
            r"over 1 epochs")):
        clf.fit(X, y)


def test_max_epochs_reached_before_convergence_is_reported():
    X, y = breast_cancer_minmax()
    short = dict(hidden_layer_sizes=(20,), pretraining_epochs=1,
                 max_epochs=10, finetune_learning_rate=0.01, random_state=0)
    with pytest.warns(ConvergenceWarning, match=(
            r"^SdAClassifier: max_epochs \(10\) reached before the training "
            r"cost stopped falling")):
        SdAClassifier(**short).fit(X, y)
    with warnings.catch_warnings():  # nor with early stopping switched off
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SdAClassifier(**short, n_iter_no_change=None).fit(X, y)
    assert clf.n_iter_ == 10


def test_the_defaults_stop_early_on_the_training_cost_as_scikit_learn():
    """n_iter_no_change epochs without the cost falling by tol stop the
    fit (MLPClassifier's rule), well before max_epochs, without a warning;
    early_stopping=True watches a validation split instead."""
    X, y = breast_cancer_minmax()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SdAClassifier(random_state=0).fit(X, y)
    assert clf.batch_size_ == 200 and clf.finetune_learning_rate_ == 0.001
    assert 10 < clf.n_iter_ < 200
    best = min(clf.loss_curve_)
    assert min(clf.loss_curve_[-10:]) > best - 1e-4
    stopped = SdAClassifier(random_state=0, early_stopping=True,
                            n_iter_no_change=3).fit(X, y)
    assert stopped.n_iter_ < clf.n_iter_
    assert len(stopped.validation_scores_) == stopped.n_iter_


def test_standardised_inputs_are_clipped_at_fit_and_predict_alike():
    """A nearly constant feature standardises to 10-40 on its rare other
    values (12 of digits' columns pass 10): clipped to +-5 in every method,
    as fit saw them."""
    X, y = np.random.default_rng(0).standard_normal((80, 6)), np.arange(80) % 2
    X[0, 0] = X[1, 1] = 40.0  # beyond the clip, and rare
    clf = SdAClassifier(**SMALL).fit(X, y)
    assert clf.input_clip_ == 5.0
    np.testing.assert_array_equal(clf.predict_proba(X),
                                  clf.predict_proba(np.clip(X, -5, 5)))
    np.testing.assert_array_equal(clf.transform(X),
                                  clf.transform(np.clip(X, -5, 5)))
    unit = SdAClassifier(**SMALL).fit((X > 0).astype(float), y)
    assert unit.input_clip_ is None
    # many values beyond: another scale, left to the divergence check
    assert SdAClassifier(**SMALL).fit(X * 100, y).input_clip_ is None
