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

import functools
import numbers
import operator

import numpy as np
import pytensor
import pytensor.tensor as pt

from . import _checks
from . import fused as fused_steps
from .blocks import check_steps_per_call, separate_streams, sgd_block
from .backend import (HostState, compile_mode, on_device, runs_c_code,
                      uses_jax)
from .backend import function as _compile
from .cache import LayerInputCache, cache_fits
from .da import LOSSES, as_random_streams, check_emphasis, dA
from .data import as_datasets, as_shared, minibatch
from .inference import CHUNK_ROWS, CompiledFunctions
from .init import floatX
from .layers import HiddenLayer, LogisticRegression
from .noise import as_noise
from .random import as_numpy_rng
from .updates import sgd

__all__ = ["SdA", "evaluation_batch_size"]


def _as_int32(y):
    """Shared labels as int32, whatever numeric dtype they are stored in.

    The tutorial stores them as floatX (for the GPU) and casts; their values
    are checked by ``_checks.labels`` first.
    """
    return y if y.dtype == "int32" else pt.cast(y, "int32")


def _learning_rate(value):
    return _checks.learning_rate("lr", value, zero=True)


def _step_input(name, batch_size, width):
    """A symbolic minibatch; one of a single row is declared as such."""
    return pt.tensor(name, shape=(1 if batch_size == 1 else None, width),
                     dtype=pytensor.config.floatX)


def evaluation_batch_size(n_examples, batch_size, at_least=1000):
    """The minibatch size used to score a set of ``n_examples``.

    Scoring needs no small minibatches: it uses the smallest divisor of
    ``n_examples`` that is at least ``max(batch_size, at_least)`` (or all
    examples), so the minibatches are equal and the mean of their error
    rates is the error rate of the whole set, with no example left out.

    >>> evaluation_batch_size(10000, 20), evaluation_batch_size(1001, 1)
    (1000, 1001)
    """
    target = min(n_examples, max(batch_size, at_least))
    for size in range(target, n_examples + 1):
        if n_examples % size == 0:
            return size
    return n_examples


def _per_layer(name, value, n_layers):
    """``value`` for every layer, or a sequence of one value per layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            raise ValueError(f"{name} must be one value, or one per hidden "
                             f"layer ({n_layers}), got {value!r}")
        return list(value)
    return [value] * n_layers


def _in_model_dtype(build):
    """Run a builder with floatX set to the model's dtype, so that a model
    built in float32 compiles float32 functions whatever floatX is now."""
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        with pytensor.config.change_flags(floatX=self.x.dtype):
            return build(self, *args, **kwargs)
    return wrapper


def _trusting(compiled, host, n_batches=None):
    """``fn(index, *inputs)`` calling ``compiled`` with ``trust_input``.

    C and Numba (``n_batches`` None): a reused int64 index buffer, no
    conversion or check of the index on each call (the indexing itself
    still checks its range), and ``inputs`` passed as they are, so they must
    be ready-made arrays of the right dtype.  With single examples this
    saves a tenth of a fine-tuning step.  If a JAX function of the same model
    ran since (``host.dirty``), the parameters are given back to NumPy
    first.

    JAX (``n_batches`` the number of minibatches): the index is checked
    here, since JAX clamps an index past the end instead of raising; the
    result comes back as a NumPy array, and ``host`` notes that the
    parameters are JAX arrays now.
    """
    compiled.trust_input = True
    if n_batches is None:
        index_buf = np.zeros((), dtype=np.int64)

        def fn(index, *inputs):
            if host.dirty:
                host.sync()
            index_buf[()] = operator.index(index)
            return compiled(index_buf, *inputs)
    else:
        def fn(index, *inputs):
            index = operator.index(index)
            if not 0 <= index < n_batches:
                raise IndexError(f"index {index} is out of range: there "
                                 f"are {n_batches} minibatches")
            host.dirty = True
            return np.asarray(compiled(np.int64(index), *inputs))

    fn.__name__ = compiled.name or "fn"
    fn.function = compiled
    return fn


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
        # steps taken by each layer's pretraining: what cached inputs track
        self._versions = [0] * self.n_layers
        self._host = HostState(self.state_variables)
        self._compiled = CompiledFunctions(self.x.dtype, self.n_ins,
                                           self._host)

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
                shown = values[0] if len(set(map(str, values))) == 1 \
                    else values
                extra += f", {name}={shown!r}"
        return (f"SdA(n_ins={self.n_ins}, hidden_layers_sizes="
                f"{list(self.hidden_layers_sizes)}, n_outs={self.n_outs}, "
                f"corruption_levels={list(self.corruption_levels)}{extra}, "
                f"floatX={self.x.dtype!r})")

    # -- applying the trained network to arrays ------------------------------

    def encode(self, X, layer=-1, *, chunk_rows=CHUNK_ROWS):
        """The output of hidden layer ``layer`` for each row of the array ``X``.

        Like the other methods of this section, it takes ``X`` of shape
        ``(n_examples, n_ins)`` in any float (or integer) dtype, casts it to
        the model's dtype ``chunk_rows`` rows at a time, and compiles its
        function at the first call (in the current default mode), keeping it
        for the next.

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
        return self._compiled.apply(("encode", k),
                                    lambda x: self._propagate(x, k + 1), X,
                                    chunk_rows)

    def predict_proba(self, X, *, chunk_rows=CHUNK_ROWS):
        r"""Class probabilities :math:`P(Y = i \mid x)` of each row of ``X``.

        Returns
        -------
        array of shape (n_examples, n_outs); each row sums to 1
        """
        return self._compiled.apply("predict_proba", lambda x: (
            pt.special.softmax(self._logits(x), axis=-1)), X, chunk_rows)

    def predict(self, X, *, chunk_rows=CHUNK_ROWS):
        """The most probable class of each row of ``X`` (int64)."""
        return self._compiled.apply("predict", lambda x: pt.argmax(
            self._logits(x), axis=1), X, chunk_rows)

    def reconstruct(self, X, *, chunk_rows=CHUNK_ROWS):
        """Each row of ``X`` encoded up through every dA and decoded back down.

        Layer ``k``'s code is decoded by its dA's decoder into layer
        ``k - 1``'s space, down to the input space (no corruption).

        Returns
        -------
        array of shape (n_examples, n_ins)
        """
        def build(x):
            h = self._propagate(x, self.n_layers)
            for auto in reversed(self.dA_layers):
                h = auto.get_reconstructed_input(h)
            return h
        return self._compiled.apply("reconstruct", build, X, chunk_rows)

    def _logits(self, x):
        return self.logLayer.get_logits(self._propagate(x, self.n_layers))

    # -- compiled functions -------------------------------------------------

    @_in_model_dtype
    def pretraining_functions(self, train_set_x, batch_size, *,
                              cache_inputs=None, mode=None, fused=None,
                              steps_per_call=1):
        """One compiled SGD step per dA layer, on minibatches of ``train_set_x``.

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
        mode : str or pytensor Mode, optional
            Compilation mode; the library default (:func:`sda.get_mode`)
            when None.  On the C backend the functions get sda's
            vectorised sigmoid and softplus (:func:`sda.compile_mode`).
        fused : bool, optional
            Compute each step of a cross-entropy dA on single examples with
            one fused C op (:class:`sda.fused.DenoisingSGDStep`) instead of
            the symbolic gradient graph: the same updates, with fewer passes
            over the weights.  By default on for ``batch_size == 1`` when
            ``mode`` runs C code.
        steps_per_call : int
            Minibatches trained per call (a scan over them, compiled as one
            function): ``fn(index, ...)`` then trains minibatches ``index *
            steps_per_call`` to ``(index + 1) * steps_per_call - 1`` and
            returns their costs, a vector; ``fn.single`` is the step of one
            minibatch, for the minibatches that do not fill a block.  It
            saves the cost of a call per minibatch, which matters where a
            step is short and a call is not: JAX at small minibatches (on an
            accelerator most).  Not with fused steps.

        Returns
        -------
        list of callables ``fn(index, corruption=0.2, lr=0.1)``
            ``fn`` trains layer ``i`` on minibatch ``index`` and returns its
            cost before the update.  ``fn.function`` is the compiled PyTensor
            function behind it, for inspection; it trusts its inputs (0-d
            arrays of int64 and floatX), which ``fn`` prepares.
        """
        train_set_x = as_shared("train_set_x", train_set_x, self.x.dtype)
        values = train_set_x.get_value(borrow=True)
        n = _checks.width("train_set_x", values, self.n_ins)
        batch_size = _checks.batch_size(batch_size, n)
        if self.loss[0] == "cross_entropy":
            _checks.unit_interval("train_set_x", values)
        else:
            _checks.finite("train_set_x", values)
        if cache_inputs is None:
            cache_inputs = cache_fits(
                n, self.hidden_layers_sizes[:-1],
                np.dtype(pytensor.config.floatX).itemsize)
        mode = compile_mode(mode)
        steps = check_steps_per_call(steps_per_call, n // batch_size,
                                     fused)
        fused = steps == 1 and self._use_fused(fused, batch_size, mode)
        jax = uses_jax(mode)
        self._host.sync()
        if jax:
            train_set_x = on_device(train_set_x)
        cache = (LayerInputCache(self.sigmoid_layers, train_set_x, mode=mode)
                 if cache_inputs and self.n_layers > 1 else None)
        index = pt.lscalar("index")
        corruption_level = pt.scalar("corruption")
        learning_rate = pt.scalar("lr")
        x = _step_input("x", batch_size, self.n_ins)

        fns = []
        for k, auto in enumerate(self.dA_layers):
            if cache is not None and k > 0:
                layer_x = _step_input(f"input{k}", batch_size, auto.n_visible)
                givens = {layer_x: minibatch(cache.inputs[k], index,
                                             batch_size, mode)}
            else:
                layer_x = self._propagate(x, k)
                givens = {x: minibatch(train_set_x, index, batch_size, mode)}
            # the fused op computes the tied cross-entropy step from x and
            # x~, whatever the noise; other combinations use the graph
            if (fused and auto.loss == "cross_entropy" and auto.tied
                    and auto.emphasis is None):
                tilde_x = auto.get_corrupted_input(layer_x, corruption_level)
                cost, updates = fused_steps.denoising_sgd_step(
                    auto, layer_x[0], tilde_x[0], learning_rate)
            else:
                cost, updates = auto.get_cost_updates(
                    corruption_level, learning_rate, input=layer_x)
            inputs = [index, corruption_level, learning_rate]
            fn = self._pretraining_step(_compile(
                inputs, cost, updates=updates, givens=givens, mode=mode,
                name=f"pretrain_layer{k}"), k, cache,
                n // batch_size if jax else None)
            if steps > 1:
                costs, block_updates = sgd_block(cost, updates, givens,
                                                 index, steps)
                with separate_streams(cost, jax):
                    compiled = _compile(
                        inputs, costs, updates=block_updates, mode=mode,
                        name=f"pretrain_layer{k}_block")
                block = self._pretraining_step(
                    compiled, k, cache,
                    n // batch_size // steps if jax else None, steps)
                block.single, fn = fn, block
            fns.append(fn)
        return fns

    @staticmethod
    def _use_fused(fused, batch_size, mode):
        if fused is None:
            return batch_size == 1 and runs_c_code(mode)
        if fused and batch_size != 1:
            raise ValueError(f"fused steps need batch_size 1, got "
                             f"batch_size={batch_size}")
        if fused and uses_jax(mode):
            raise ValueError("fused steps are C code: they need a mode "
                             "that runs it (CVM), got mode JAX")
        return bool(fused)

    def invalidate_input_cache(self):
        """Forget cached layer inputs: they are recomputed at the next step."""
        for k in range(self.n_layers):  # in place: the steps hold the list
            self._versions[k] += 1

    def _propagate(self, x, n_layers):
        """The output of the first ``n_layers`` sigmoid layers for input ``x``."""
        for layer in self.sigmoid_layers[:n_layers]:
            x = layer.get_output(x)
        return x

    def _pretraining_step(self, compiled, layer, cache, n_batches, steps=1):
        """Wrap a compiled step: the tutorial's defaults, cache upkeep, speed.

        Theano's ``In(value=...)`` defaults are gone from PyTensor, so they
        live here.  Each step of layer ``k`` counts as a change of the input
        of the layers above it.  The wrapper hands the compiled function
        ready-made arrays (:func:`_trusting`): a reused index buffer and one
        floatX scalar per distinct corruption level and learning rate, so a
        step converts and allocates nothing on the way in.
        """
        versions = self._versions
        host = self._host
        call = _trusting(compiled, host, n_batches)
        noise = self.dA_layers[layer].noise

        def check_corruption(value):
            return noise.check_level("corruption", value)

        scalars = {}
        floatX = pytensor.config.floatX

        def scalar(value, check):
            array = scalars.get((check, value))
            if array is None:
                if len(scalars) > 64:  # a schedule of many values
                    scalars.clear()
                array = np.asarray(check(value), dtype=floatX)
                scalars[(check, value)] = array
            return array

        def pretrain(index, corruption=0.2, lr=0.1):
            if cache is not None and layer:
                if host.dirty and n_batches is None:
                    host.sync()  # the cache's C function reads the weights
                cache.ensure(layer, sum(versions[:layer]))
            cost = call(index, scalar(corruption, check_corruption),
                        scalar(lr, _learning_rate))
            versions[layer] += steps
            return cost

        pretrain.__name__ = f"pretrain_layer{layer}"
        pretrain.__doc__ = (f"pretrain_layer{layer}(index, corruption=0.2, "
                            f"lr=0.1) -> reconstruction cost of minibatch "
                            f"index")
        pretrain.function = compiled
        return pretrain

    @_in_model_dtype
    def build_finetune_functions(self, datasets, batch_size, learning_rate,
                                 *, mode=None, fused=None, steps_per_call=1):
        """Compiled fine-tuning step and scoring functions.

        Parameters
        ----------
        datasets : [(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]
            Shared variables as :func:`sda.load_data` returns them, or
            arrays, or the tutorial's cast labels
            (:func:`sda.data.as_datasets`).  Labels may have any integer
            dtype.
        batch_size : int
            Minibatch size of the training step.
        learning_rate : float
        mode : str or pytensor Mode, optional
            As for :meth:`pretraining_functions`.
        fused : bool, optional
            Do each training step with one fused C op
            (:class:`sda.fused.MLPSGDStep`) instead of the symbolic gradient
            graph; by default on for ``batch_size == 1`` when ``mode`` runs
            C code.
        steps_per_call : int
            As for :meth:`pretraining_functions`: ``train_fn(index)`` then
            trains ``steps_per_call`` minibatches and returns their costs,
            and ``train_fn.single`` trains one.

        Returns
        -------
        train_fn : callable
            ``train_fn(index)`` does one SGD step on training minibatch
            ``index`` and returns its cost; ``train_fn.function`` is the
            compiled function behind it.
        valid_score, test_score : callables
            Each returns a list of error rates over equal minibatches that
            together cover the whole set, so ``numpy.mean`` of it is the
            set's error rate.
        """
        datasets = as_datasets(datasets, self.x.dtype)
        sizes = {}
        for name, (x, y) in zip(("train", "valid", "test"), datasets):
            x_values = x.get_value(borrow=True)
            sizes[name] = _checks.width(f"{name}_set_x", x_values, self.n_ins)
            _checks.finite(f"{name}_set_x", x_values)
            _checks.labels(f"{name}_set_y", y.get_value(borrow=True),
                           self.n_outs, sizes[name])
        batch_size = _checks.batch_size(batch_size, sizes["train"])
        mode = compile_mode(mode)
        n_batches = sizes["train"] // batch_size
        steps = check_steps_per_call(steps_per_call, n_batches, fused)
        fused = steps == 1 and self._use_fused(fused, batch_size, mode)
        jax = uses_jax(mode)
        self._host.sync()
        if jax:  # the data sets stay on the device, as the parameters do
            datasets = [(on_device(x), on_device(y)) for x, y in datasets]
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = datasets
        index = pt.lscalar("index")
        learning_rate = floatX(_checks.learning_rate(
            "learning_rate", learning_rate, zero=True))

        if batch_size == 1:  # single rows with static shapes: GEMV and GER
            x = _step_input("x", 1, self.n_ins)
            y = pt.tensor("y", shape=(1,), dtype="int32")
        else:
            x, y = self.x, self.y
        if fused:
            cost, updates = fused_steps.mlp_sgd_step(self.params, x[0], y[0],
                                                     learning_rate)
        else:
            if batch_size == 1:
                cost = self.logLayer.nll_of_logits(self.logLayer.get_logits(
                    self._propagate(x, self.n_layers)), y, self.n_outs)
            else:
                cost = self.finetune_cost
            updates = sgd(cost, self.params, learning_rate)
        givens = {x: minibatch(train_x, index, batch_size, mode),
                  y: minibatch(_as_int32(train_y), index, batch_size, mode)}
        train_fn = _trusting(_compile(
            [index], cost, updates=updates, givens=givens, mode=mode,
            name="train"), self._host, n_batches if jax else None)
        if steps > 1:
            costs, block_updates = sgd_block(cost, updates, givens, index,
                                             steps)
            block = _trusting(_compile(
                [index], costs, updates=block_updates, mode=mode,
                name="train_block"), self._host,
                n_batches // steps if jax else None)
            block.single, train_fn = train_fn, block

        def scorer(x, y, name):
            n = sizes[name]
            size = evaluation_batch_size(n, batch_size)
            score_i = _trusting(_compile(
                [index], self.errors,
                givens={self.x: minibatch(x, index, size, mode),
                        self.y: minibatch(_as_int32(y), index, size, mode)},
                mode=mode, name=name), self._host, n // size if jax else None)

            def score():
                return [score_i(i) for i in range(n // size)]
            score.__doc__ = f"Error rates of the {name} minibatches."
            return score

        return train_fn, scorer(valid_x, valid_y, "valid"), scorer(
            test_x, test_y, "test")
