"""Compiled pretraining steps: one SGD step of a denoising autoencoder on a minibatch.

:meth:`sda.SdA.pretraining_functions` (one step per layer, the layers below
frozen) and :meth:`sda.dA.training_function` (a single autoencoder, as the
tutorial's ``dA.py`` trains it) are both built here, and both take their
arguments, docstrings and defaults from those methods.  What a builder
decides:

* the symbolic cost and updates: the dA's own (``get_cost_updates``), or on
  the C backend with single examples a fused C step
  (:func:`sda.ops.fused.denoising_sgd_step`) for a tied cross-entropy dA;
* the layer's input: the output of the layers below for each minibatch, or
  a cached copy of it for the whole training set
  (:class:`~sda.builders.cache.LayerInputCache`);
* the tutorial's defaults (``corruption=0.2, lr=0.1``, once ``theano.In``
  defaults, gone from PyTensor) and ready-made scalars, in a thin wrapper.
"""

import numpy as np
import pytensor.tensor as pt

from .. import _checks
from ..data import as_shared
from ..ops import fused as fused_steps
from .cache import LayerInputCache, cache_fits
from .steps import check_steps_per_call, compile_step, step_input

__all__ = ["pretraining_functions", "dA_training_function"]


def _training_set(train_set_x, width, loss, dtype):
    """The training inputs as a shared variable of ``dtype``, checked:
    ``width`` columns, finite, in [0, 1] for the cross-entropy loss."""
    train_set_x = as_shared("train_set_x", train_set_x, dtype)
    values = train_set_x.get_value(borrow=True)
    n = _checks.width("train_set_x", values, width)
    if loss == "cross_entropy":
        _checks.unit_interval("train_set_x", values)
    else:
        _checks.finite("train_set_x", values)
    return train_set_x, n


def _cost_updates(auto, layer_x, corruption, learning_rate, fused,
                  update_rule):
    """The cost and updates of one step of dA ``auto`` on ``layer_x``."""
    # the fused op computes the tied cross-entropy SGD step from x and x~,
    # whatever the noise; other combinations use the graph
    if (fused and auto.loss == "cross_entropy" and auto.tied
            and auto.emphasis is None):
        tilde_x = auto.get_corrupted_input(layer_x, corruption)
        return fused_steps.denoising_sgd_step(auto, layer_x[0], tilde_x[0],
                                              learning_rate)
    return auto.get_cost_updates(corruption, learning_rate, input=layer_x,
                                 update_rule=update_rule)


def _learning_rate(value):
    return _checks.learning_rate("lr", value, zero=True)


def _with_defaults(call, noise, dtype, name, before=None, after=None):
    """``fn(index, corruption=0.2, lr=0.1)`` around the wrapped step ``call``.

    Each distinct corruption level and learning rate is checked and made a
    0-d array of ``dtype`` once, so a step converts and allocates nothing
    on the way in.  ``before()`` runs before each step and ``after()``
    after it (the layer cache's upkeep).
    """
    def check_corruption(value):
        return noise.check_level("corruption", value)

    scalars = {}

    def scalar(value, check):
        array = scalars.get((check, value))
        if array is None:
            if len(scalars) > 64:  # a schedule of many values
                scalars.clear()
            array = np.asarray(check(value), dtype=dtype)
            scalars[(check, value)] = array
        return array

    def pretrain(index, corruption=0.2, lr=0.1):
        if before is not None:
            before()
        cost = call(index, scalar(corruption, check_corruption),
                    scalar(lr, _learning_rate))
        if after is not None:
            after()
        return cost

    pretrain.__name__ = name
    pretrain.__doc__ = (f"{name}(index, corruption=0.2, lr=0.1) -> "
                        f"reconstruction cost of minibatch index")
    pretrain.function = call.function
    pretrain.n_batches = call.n_batches
    pretrain.state = call.state
    return pretrain


class _Inputs:
    """The symbolic inputs every pretraining step takes."""

    def __init__(self, dtype):
        self.index = pt.lscalar("index")
        self.corruption = pt.scalar("corruption", dtype=dtype)
        self.learning_rate = pt.scalar("lr", dtype=dtype)

    def __iter__(self):
        return iter((self.index, self.corruption, self.learning_rate))


def pretraining_functions(model, train_set_x, batch_size, *, backend,
                          cache_inputs=None, fused=None, steps_per_call=1,
                          update_rule=None):
    """The steps of :meth:`sda.SdA.pretraining_functions`, in ``backend``."""
    dtype = model.x.dtype
    train_set_x, n = _training_set(train_set_x, model.n_ins, model.loss[0],
                                   dtype)
    batch_size = _checks.batch_size(batch_size, n)
    n_batches = n // batch_size
    if cache_inputs is None:
        cache_inputs = cache_fits(n, model.hidden_layers_sizes[:-1],
                                  np.dtype(dtype).itemsize)
    steps = check_steps_per_call(steps_per_call, n_batches, fused)
    fused = steps == 1 and backend.use_fused(fused, batch_size)
    host, versions = model.host, model.layer_versions
    host.sync()
    train_set_x = backend.data(train_set_x)
    cache = (LayerInputCache(model.sigmoid_layers, train_set_x, backend, host)
             if cache_inputs and model.n_layers > 1 else None)
    inputs = _Inputs(dtype)
    x = step_input("x", batch_size, model.n_ins, dtype)

    fns = []
    for k, auto in enumerate(model.dA_layers):
        if cache is not None and k > 0:
            layer_x = step_input(f"input{k}", batch_size, auto.n_visible,
                                 dtype)
            givens = {layer_x: backend.minibatch(cache.inputs[k],
                                                 inputs.index, batch_size)}
        else:
            layer_x = model.get_hidden_values(x, k)
            givens = {x: backend.minibatch(train_set_x, inputs.index,
                                           batch_size)}
        cost, updates = _cost_updates(auto, layer_x, inputs.corruption,
                                      inputs.learning_rate, fused,
                                      update_rule)
        single, block = compile_step(
            backend, host, list(inputs), cost, updates, givens,
            index=inputs.index, name=f"pretrain_layer{k}",
            n_batches=n_batches, steps=steps,
            params=auto.params)

        # the cached input of layer k follows the steps of the layers
        # below, whichever functions took them (model.layer_versions);
        # only what is needed runs on each step
        upkeep = (None if cache is None or k == 0 else
                  lambda k=k: cache.ensure(k, sum(versions[:k])))
        last = k == model.n_layers - 1  # its steps change no layer input

        def counted(count, k=k):
            """``after`` of a call that trains ``count`` minibatches."""
            if last:
                return None

            def stepped():
                versions[k] += count
            return stepped

        name = f"pretrain_layer{k}"
        fn = _with_defaults(single, auto.noise, dtype, name, upkeep,
                            counted(1))
        if block is not None:
            blocked = _with_defaults(block, auto.noise, dtype, name, upkeep,
                                     counted(steps))
            blocked.single, fn = fn, blocked
        fns.append(fn)
    return fns


def dA_training_function(da, train_set_x, batch_size, *, backend, fused=None,
                         steps_per_call=1, update_rule=None):
    """The step of :meth:`sda.dA.training_function`, in ``backend``."""
    dtype = da.W.type.dtype
    train_set_x, n = _training_set(train_set_x, da.n_visible, da.loss, dtype)
    batch_size = _checks.batch_size(batch_size, n)
    n_batches = n // batch_size
    steps = check_steps_per_call(steps_per_call, n_batches, fused)
    fused = steps == 1 and backend.use_fused(fused, batch_size)
    da.host.sync()
    train_set_x = backend.data(train_set_x)
    inputs = _Inputs(dtype)
    x = step_input("x", batch_size, da.n_visible, dtype)
    cost, updates = _cost_updates(da, x, inputs.corruption,
                                  inputs.learning_rate, fused, update_rule)
    single, block = compile_step(
        backend, da.host, list(inputs), cost, updates,
        {x: backend.minibatch(train_set_x, inputs.index, batch_size)},
        index=inputs.index, name="train_da", n_batches=n_batches,
        steps=steps, params=da.params)
    fn = _with_defaults(single, da.noise, dtype, "train_da")
    if block is not None:
        blocked = _with_defaults(block, da.noise, dtype, "train_da")
        blocked.single, fn = fn, blocked
    return fn
