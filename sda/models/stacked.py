r"""The stacked denoising autoencoder (Vincent et al., 2010).

An SdA is a multilayer perceptron whose sigmoid layers are first trained one
at a time, each as the encoder of a denoising autoencoder reconstructing the
output of the layer below (greedy layer-wise *pretraining*), and then
together with a logistic regression layer on top, by gradient descent on the
negative log-likelihood of the labels (*fine-tuning*).

The dA of layer ``i`` and the sigmoid layer ``i`` are one set of weights: the
dA is built on the very shared variables ``W`` and ``b`` of the hidden layer,
so pretraining writes into the MLP.
"""

import numbers

import pytensor.tensor as pt

from .. import _checks
from ..backend import HostState, resolve
from ..builders import finetuning, pretraining
from ..builders.finetuning import evaluation_batch_size
from ..builders.apply import CHUNK_ROWS, CompiledFunctions
from .da import LOSSES, as_random_streams, check_emphasis, dA
from .layers import HiddenLayer, LogisticRegression
from .noise import as_noise
from .random import as_numpy_rng
from . import updates

__all__ = ["SdA", "evaluation_batch_size"]


def _per_layer(name, value, n_layers):
    """``value`` for every layer, or a sequence of one value per layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            raise ValueError(f"{name} must be one value, or one per hidden "
                             f"layer ({n_layers}), got {value!r}")
        return list(value)
    return [value] * n_layers


class SdA:
    """Stacked denoising autoencoder: sigmoid MLP + logistic output, dA-pretrained.

    Parameters
    ----------
    numpy_rng : numpy.random.RandomState or numpy.random.Generator or int
        Draws the initial weights (and the corruption seed when
        ``theano_rng`` is None).
    theano_rng : sda.RandomStreams or int, optional
        Source of the corruption masks, shared by all dA layers.
    n_ins : int
        Input width (784 for MNIST).
    hidden_layers_sizes : sequence of int
        Width of each hidden layer; at least one.
    n_outs : int
        Number of classes.
    corruption_levels : sequence of float in [0, 1), or one float
        One per hidden layer (a single number is used for every layer): the
        level each layer is meant to be pretrained with (the training loop
        passes it to that layer's pretraining function; the functions
        themselves default to 0.2 as the tutorial's).
    noise, loss, emphasis, tied
        The options of :class:`sda.dA` (Vincent et al., 2010), each one for
        every layer or a sequence of one per layer.

    Attributes
    ----------
    sigmoid_layers : list of HiddenLayer
    dA_layers : list of dA
        ``dA_layers[i].W is sigmoid_layers[i].W`` and likewise for ``b``.
    logLayer : LogisticRegression
    params : list
        The MLP's parameters: each sigmoid layer's ``W``, ``b``, then the
        logistic layer's.  The dA's visible biases are not among them.
    n_layers : int
    x, y : TensorVariable
        Symbolic input matrix (floatX) and label vector (int32).
    finetune_cost : TensorVariable
        Negative log-likelihood of ``y`` under the network.
    errors : TensorVariable
        Fraction of misclassified examples in the minibatch.
    host : sda.backend.HostState
        Whether the parameters hold JAX arrays since a JAX step ran.
    layer_versions : list of int
        Steps taken by each layer's pretraining: what cached layer inputs
        track (:meth:`invalidate_input_cache`).
    backend : sda.backend.Backend or None
        The backend of the last compiled training functions; the methods
        that apply the model to arrays use it (None: the library's default).

    Examples
    --------
    >>> model = SdA(numpy_rng=1, n_ins=4, hidden_layers_sizes=[3, 2],
    ...             n_outs=2, corruption_levels=0.1)
    >>> model.dA_layers[1].W is model.sigmoid_layers[1].W
    True
    >>> model.predict_proba([[0.0, 1.0, 0.5, 0.25]]).shape
    (1, 2)
    """

    def __init__(self, numpy_rng, theano_rng=None, n_ins=784,
                 hidden_layers_sizes=(500, 500), n_outs=10,
                 corruption_levels=(0.1, 0.1), *, noise="masking",
                 loss="cross_entropy", emphasis=None, tied=True):
        self.n_ins = _checks.positive_int("n_ins", n_ins)
        self.n_outs = _checks.positive_int("n_outs", n_outs)
        sizes = _checks.sequence("hidden_layers_sizes", hidden_layers_sizes,
                                 "positive integers")
        if not sizes:
            raise ValueError("hidden_layers_sizes must name at least one "
                             f"layer, got {hidden_layers_sizes!r}")
        for i, s in enumerate(sizes):
            _checks.positive_int(f"hidden_layers_sizes[{i}]", s)
        if isinstance(corruption_levels, numbers.Real) and not isinstance(
                corruption_levels, bool):  # one level for every layer
            corruption_levels = [corruption_levels] * len(sizes)
        levels = _checks.sequence("corruption_levels", corruption_levels,
                                  "numbers in [0, 1), one per hidden layer")
        if len(levels) != len(sizes):
            raise ValueError(f"corruption_levels must have one level per "
                             f"hidden layer ({len(sizes)}), got "
                             f"{corruption_levels!r}")
        n = len(sizes)
        self.noise = tuple(as_noise(v, f"noise[{i}]") for i, v in
                           enumerate(_per_layer("noise", noise, n)))
        self.loss = tuple(_per_layer("loss", loss, n))
        for i, v in enumerate(self.loss):
            if v not in LOSSES:
                raise ValueError(f"loss[{i}] must be one of {LOSSES}, "
                                 f"got {v!r}")
        # one (alpha, beta) for all layers, or a list of one per layer
        single = not isinstance(emphasis, (list, tuple)) or (
            len(emphasis) == 2 and all(isinstance(w, numbers.Real)
                                       for w in emphasis))
        self.emphasis = tuple(
            check_emphasis(f"emphasis[{i}]", v, self.noise[i]) for i, v in
            enumerate([emphasis] * n if single else
                      _per_layer("emphasis", emphasis, n)))
        self.tied = tuple(_per_layer("tied", tied, n))
        for i, v in enumerate(self.tied):
            if not isinstance(v, bool):
                raise ValueError(f"tied[{i}] must be True or False, "
                                 f"got {v!r}")
        self.corruption_levels = tuple(
            self.noise[i].check_level(f"corruption_levels[{i}]", c)
            for i, c in enumerate(levels))
        self.hidden_layers_sizes = tuple(int(s) for s in sizes)
        self.n_layers = n

        numpy_rng = as_numpy_rng(numpy_rng)
        theano_rng = as_random_streams(theano_rng, numpy_rng)
        self.theano_rng = theano_rng
        self.x = pt.matrix("x")
        self.y = pt.ivector("y")

        self.sigmoid_layers, self.dA_layers, self.params = [], [], []
        layer_input, n_in = self.x, self.n_ins
        for i, n_out in enumerate(self.hidden_layers_sizes):
            hidden = HiddenLayer(rng=numpy_rng, input=layer_input, n_in=n_in,
                                 n_out=n_out, activation=pt.sigmoid)
            hidden.W.name, hidden.b.name = f"hidden{i}.W", f"hidden{i}.b"
            auto = dA(numpy_rng=numpy_rng, theano_rng=theano_rng,
                      input=layer_input, n_visible=n_in, n_hidden=n_out,
                      W=hidden.W, bhid=hidden.b, loss=self.loss[i],
                      noise=self.noise[i], emphasis=self.emphasis[i],
                      tied=self.tied[i])
            auto.b_prime.name = f"dA{i}.b_prime"
            if not auto.tied:
                auto.W_prime.name = f"dA{i}.W_prime"
            self.sigmoid_layers.append(hidden)
            self.dA_layers.append(auto)
            self.params.extend(hidden.params)
            layer_input, n_in = hidden.output, n_out

        self.logLayer = LogisticRegression(input=layer_input, n_in=n_in,
                                           n_out=self.n_outs)
        self.logLayer.W.name, self.logLayer.b.name = "logistic.W", "logistic.b"
        self.params.extend(self.logLayer.params)
        self.finetune_cost = self.logLayer.negative_log_likelihood(self.y)
        self.errors = self.logLayer.errors(self.y)
        self.layer_versions = [0] * self.n_layers
        self.host = HostState(self.state_variables)
        self.backend = None
        self._compiled = CompiledFunctions(self.x.dtype, self.n_ins,
                                           self.host)

    def state_variables(self):
        """Every shared variable of the model: :attr:`params` and each dA's
        decoder (``b_prime``, and ``W_prime`` when untied)."""
        variables = list(self.params)
        for auto in self.dA_layers:
            variables.append(auto.b_prime)
            if not auto.tied:
                variables.append(auto.W_prime)
        return variables

    def __repr__(self):
        extra = ""
        for name, values, default in (
                ("noise", [v.name for v in self.noise], "masking"),
                ("loss", list(self.loss), "cross_entropy"),
                ("emphasis", list(self.emphasis), None),
                ("tied", list(self.tied), True)):
            if any(v != default for v in values):
                one = len(set(map(str, values))) == 1
                extra += f", {name}={values[0] if one else values!r}"
        return (f"SdA(n_ins={self.n_ins}, hidden_layers_sizes="
                f"{list(self.hidden_layers_sizes)}, n_outs={self.n_outs}, "
                f"corruption_levels={list(self.corruption_levels)}{extra}, "
                f"floatX={self.x.dtype!r})")

    # -- symbolic expressions -------------------------------------------------

    def get_hidden_values(self, input, n_layers=None):
        """The output of the first ``n_layers`` sigmoid layers (all by
        default) for another symbolic input; ``input`` itself for 0."""
        n_layers = self.n_layers if n_layers is None else n_layers
        for layer in self.sigmoid_layers[:n_layers]:
            input = layer.get_output(input)
        return input

    def get_finetune_cost_updates(self, learning_rate, input=None, y=None,
                                  update_rule=None):
        """The fine-tuning cost of a minibatch and its updates.

        Parameters
        ----------
        learning_rate : float or scalar TensorVariable
        input, y : TensorVariable, optional
            Another symbolic input matrix and label vector than ``self.x``
            and ``self.y`` (the builder passes single rows with static
            shapes this way).
        update_rule : str or callable, optional
            As for :meth:`sda.dA.get_cost_updates` (default: SGD).

        Returns
        -------
        (cost, updates)
            The mean negative log-likelihood of the labels (as
            :attr:`finetune_cost`); the rule's updates of :attr:`params`.
        """
        x = self.x if input is None else input
        cost = self.logLayer.nll_of_logits(
            self._logits(x), self.y if y is None else y, self.n_outs)
        rule = updates.get_rule(update_rule)
        return cost, rule(cost, self.params, learning_rate)

    def _logits(self, x):
        return self.logLayer.get_logits(self.get_hidden_values(x))

    # -- compiled functions -------------------------------------------------

    def pretraining_functions(self, train_set_x, batch_size, *,
                              cache_inputs=None, mode=None, fused=None,
                              steps_per_call=1, update_rule=None):
        """One compiled SGD step per dA layer, on minibatches of ``train_set_x``.

        Built by :func:`sda.builders.pretraining.pretraining_functions`.

        Parameters
        ----------
        train_set_x : shared variable or array
            The training inputs, ``(n_examples, n_ins)``; they stay in the
            shared variable and each call slices minibatch ``index`` out of
            it (``givens``), as in the tutorial.  An array (any float dtype)
            or a symbolic expression is put into one first
            (:func:`sda.data.as_shared`).
        batch_size : int
            Between 1 and the number of examples.
        cache_inputs : bool, optional
            Compute the input of layer ``k > 0`` (the output of the layers
            below) once for the whole training set, instead of on every
            minibatch; it is recomputed when a lower layer has been trained
            since.  By default on when the largest such input takes at most
            half the free memory.  Call :meth:`invalidate_input_cache` after
            changing lower-layer weights by other means (fine-tuning,
            ``set_value``).
        mode : str or pytensor Mode or sda.backend.Backend, optional
            Compilation mode; the library's (:func:`sda.get_mode`) when
            None.  On the C backend the functions get sda's vectorised
            sigmoid and softplus (:func:`sda.compile_mode`).
        fused : bool, optional
            Compute each step of a cross-entropy dA on single examples with
            one fused C op (:class:`sda.ops.fused.DenoisingSGDStep`) instead
            of the symbolic gradient graph: the same updates, with fewer
            passes over the weights.  By default on for ``batch_size == 1``
            when ``mode`` runs C code.
        steps_per_call : int
            Minibatches trained per call (a scan over them, compiled as one
            function): ``fn(index, ...)`` then trains minibatches ``index *
            steps_per_call`` to ``(index + 1) * steps_per_call - 1`` and
            returns their costs, a vector; ``fn.single`` is the step of one
            minibatch, for those that do not fill a block.  It saves a call
            per minibatch, which matters where a step is short and a call
            is not: JAX at small minibatches.  Not with fused steps.
        update_rule : str or callable, optional
            A rule of :mod:`sda.updates` by name (``"sgd"``, the default,
            ``"momentum"``, ``"nesterov"``, ``"adam"``) or a function
            ``(cost, params, learning_rate) -> updates``; the fused C steps
            are SGD, so another rule compiles the graph.

        Returns
        -------
        list of callables ``fn(index, corruption=0.2, lr=0.1)``
            ``fn`` trains layer ``i`` on minibatch ``index`` and returns its
            cost before the update.  ``fn.function``, the compiled PyTensor
            function, trusts its inputs (0-d arrays of int64 and of the
            model's dtype), which ``fn`` prepares; ``fn.state`` holds the
            rule's variables.  The model remembers :attr:`backend`.
        """
        backend = resolve(mode)
        fns = pretraining.pretraining_functions(
            self, train_set_x, batch_size, backend=backend,
            cache_inputs=cache_inputs, fused=updates.fused_for(
                update_rule, fused), steps_per_call=steps_per_call,
            update_rule=update_rule)
        self.backend = backend
        return fns

    def invalidate_input_cache(self):
        """Forget cached layer inputs: they are recomputed at the next step."""
        for k in range(self.n_layers):  # in place: the steps hold the list
            self.layer_versions[k] += 1

    def build_finetune_functions(self, datasets, batch_size, learning_rate,
                                 *, mode=None, fused=None, steps_per_call=1,
                                 update_rule=None):
        """Compiled fine-tuning step and scoring functions.

        Built by :func:`sda.builders.finetuning.build_finetune_functions`.

        Parameters
        ----------
        datasets : [(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]
            Shared variables as :func:`sda.load_data` returns them, or
            arrays, or the tutorial's cast labels
            (:func:`sda.data.as_datasets`).  Labels may have any integer
            dtype.  The test set may be left out (or None).
        batch_size : int
            Minibatch size of the training step.
        learning_rate : float
        mode : str or pytensor Mode or sda.backend.Backend, optional
            As for :meth:`pretraining_functions`.
        fused : bool, optional
            Do each training step with one fused C op
            (:class:`sda.ops.fused.MLPSGDStep`) instead of the symbolic
            gradient graph; by default on for ``batch_size == 1`` when
            ``mode`` runs C code.
        steps_per_call : int
            As for :meth:`pretraining_functions`: ``train_fn(index)`` then
            trains ``steps_per_call`` minibatches and returns their costs,
            and ``train_fn.single`` trains one.
        update_rule : str or callable, optional
            As for :meth:`pretraining_functions` (default: SGD).

        Returns
        -------
        train_fn : callable
            ``train_fn(index)`` does one step on training minibatch
            ``index`` and returns its cost; ``train_fn.function`` is the
            compiled function, ``train_fn.state`` the rule's variables.
        valid_score, test_score : callables
            Each returns a list of error rates over equal minibatches that
            together cover the whole set, so ``numpy.mean`` of it is the
            set's error rate; ``test_score`` is None without a test set.
        """
        backend = resolve(mode)
        fns = finetuning.build_finetune_functions(
            self, datasets, batch_size, learning_rate, backend=backend,
            fused=updates.fused_for(update_rule, fused),
            steps_per_call=steps_per_call, update_rule=update_rule)
        self.backend = backend
        return fns

    # -- applying the trained network to arrays ------------------------------

    def encode(self, X, layer=-1, *, chunk_rows=CHUNK_ROWS, mode=None):
        """The output of hidden layer ``layer`` for each row of the array ``X``.

        Like the other methods of this section, it takes ``X`` of shape
        ``(n_examples, n_ins)`` in any float (or integer) dtype, casts it to
        the model's dtype ``chunk_rows`` rows at a time, and compiles its
        function at the first call, keeping it for the next: in ``mode``,
        else in the backend the model was trained in (:attr:`backend`),
        else in the library's default.  Rows holding NaN or infinite values
        once cast (1e300 in a float32 model, say) raise ``ValueError``
        naming the first such row: a compiled function would turn them into
        NaN, or class 0, silently.

        Parameters
        ----------
        X : array-like of shape (n_examples, n_ins)
        layer : int
            Which hidden layer, counted from 0; negative values count from
            the top (-1, the default, is the representation the logistic
            layer sees).

        Returns
        -------
        array of shape (n_examples, hidden_layers_sizes[layer])
        """
        if (not _checks.is_integer(layer)
                or not -self.n_layers <= layer < self.n_layers):
            raise ValueError(f"layer must be an integer in [{-self.n_layers}"
                             f", {self.n_layers}), got {layer!r}")
        k = int(layer) % self.n_layers
        return self._compiled.apply(
            ("encode", k), lambda x: self.get_hidden_values(x, k + 1), X,
            chunk_rows, backend=self._applying(mode))

    def predict_proba(self, X, *, chunk_rows=CHUNK_ROWS, mode=None):
        r"""Class probabilities :math:`P(Y = i \mid x)` of each row of ``X``.

        Returns
        -------
        array of shape (n_examples, n_outs); each row sums to 1
        """
        return self._compiled.apply("predict_proba", lambda x: (
            pt.special.softmax(self._logits(x), axis=-1)), X, chunk_rows,
            backend=self._applying(mode))

    def predict(self, X, *, chunk_rows=CHUNK_ROWS, mode=None):
        """The most probable class of each row of ``X`` (int64)."""
        return self._compiled.apply("predict", lambda x: pt.argmax(
            self._logits(x), axis=1), X, chunk_rows,
            backend=self._applying(mode))

    def reconstruct(self, X, *, chunk_rows=CHUNK_ROWS, mode=None):
        """Each row of ``X`` encoded up through every dA and decoded back down.

        Layer ``k``'s code is decoded by its dA's decoder into layer
        ``k - 1``'s space, down to the input space (no corruption).

        Returns
        -------
        array of shape (n_examples, n_ins)
        """
        def build(x):
            h = self.get_hidden_values(x)
            for auto in reversed(self.dA_layers):
                h = auto.get_reconstructed_input(h)
            return h
        return self._compiled.apply("reconstruct", build, X, chunk_rows,
                                    backend=self._applying(mode))

    def _applying(self, mode):
        """The backend of the methods above: ``mode``, else the one the
        model was trained in, else the library's default."""
        return resolve(self.backend if mode is None else mode)
