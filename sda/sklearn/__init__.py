"""scikit-learn estimators: denoising autoencoder transformers and an SdA classifier.

They plug sda into scikit-learn's pipelines, cross-validation and grid
searches, and are built on the package's own :class:`sda.dA`,
:class:`sda.SdA`, builders and training loops (no second implementation),
and on :class:`sda.mSDA` for the marginalized one.
scikit-learn is an optional dependency: ``pip install sda[sklearn]``.

>>> import numpy
>>> from sda.sklearn import SdAClassifier
>>> rng = numpy.random.default_rng(0)
>>> X, y = rng.random((60, 8)), rng.choice(["cat", "dog"], 60)
>>> clf = SdAClassifier(hidden_layer_sizes=(6,), pretraining_epochs=1,
...                     max_epochs=2, random_state=0).fit(X, y)
>>> clf.predict(X[:3]).shape, [str(c) for c in clf.classes_]
((3,), ['cat', 'dog'])

Fitted estimators pickle (and ``joblib.dump``) the way scikit-learn users
save models; the network travels inside as an sda ``.npz`` model, never as
PyTensor objects.  Unpickle only files you trust: pickles can run code.  To
share a fitted :class:`SdAClassifier` safely, save its network with
``sda.save_model(clf.sda_, "model.npz")``.
"""

from .autoencoder import DenoisingAutoencoder
from .classifier import SdAClassifier
from .marginalized import MarginalizedDenoisingAutoencoder

__all__ = ["DenoisingAutoencoder", "MarginalizedDenoisingAutoencoder",
           "SdAClassifier"]
