"""Cached layer inputs for greedy pretraining.

While layer ``k`` of an SdA is pretrained the layers below it do not change,
so their output for the training set can be computed once, instead of on
every minibatch as the tutorial's graphs do (its own documentation suggests
this).  :class:`LayerInputCache` keeps that output in a shared variable, in
floatX, computed chunk by chunk to bound the extra memory, and recomputes it
when a lower layer has been trained since.  Only one layer's inputs are held
at a time.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

from .backend import function, require_jax, uses_jax

__all__ = ["LayerInputCache", "available_memory", "cache_fits"]


def available_memory():
    """Bytes of memory the system can still give (``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cache_fits(n_examples, widths, itemsize, fraction=0.5):
    """True if the largest cached input takes at most ``fraction`` of free memory."""
    needed = n_examples * max(widths, default=0) * itemsize
    free = available_memory()
    return free is None or needed <= fraction * free


class LayerInputCache:
    """The training set as seen by each layer of a stack, computed on demand.

    Parameters
    ----------
    layers : list of HiddenLayer
        The stack; the input of layer ``k`` is the output of ``layers[k-1]``.
    train_set_x : shared variable
        The raw training inputs.
    chunk_rows : int
        Rows pushed through the lower layers per call while filling.
    mode : compilation mode of the filling function.
    """

    def __init__(self, layers, train_set_x, chunk_rows=2000, mode=None):
        self.layers = layers
        self.train_set_x = train_set_x
        self.n = train_set_x.get_value(borrow=True).shape[0]
        self.chunk_rows = chunk_rows
        self.mode = mode
        dtype = pytensor.config.floatX
        #: one shared variable per layer k >= 1; empty unless in use
        self.inputs = {k: pytensor.shared(np.zeros((0, layer.n_in), dtype),
                                          name=f"cached_input{k}")
                       for k, layer in enumerate(layers) if k > 0}
        if uses_jax(mode):
            # a JAX array from the start: the steps compiled now read these
            # variables themselves, not a device copy (sda.data.minibatch)
            for shared in self.inputs.values():
                shared.container.storage[0] = require_jax().device_put(
                    shared.get_value(borrow=True))
        self._stamps = {}
        self._fill_fns = {}

    def ensure(self, k, stamp):
        """Make ``inputs[k]`` current; ``stamp`` changes when lower layers do."""
        if self._stamps.get(k) == stamp:
            return
        for other, shared in self.inputs.items():  # hold one layer at a time
            if other != k and shared.get_value(borrow=True).size:
                shared.set_value(np.zeros((0, shared.get_value(
                    borrow=True).shape[1]), shared.dtype), borrow=True)
        self._stamps = {}
        out = np.empty((self.n, self.layers[k].n_in),
                       dtype=self.inputs[k].dtype)
        fill = self._fill_fn(k)
        data = self.train_set_x.get_value(borrow=True)
        for start in range(0, self.n, self.chunk_rows):
            stop = min(self.n, start + self.chunk_rows)
            out[start:stop] = np.asarray(fill(data[start:stop]))
        if uses_jax(self.mode):  # where the JAX steps read it, as the data
            self.inputs[k].container.storage[0] = require_jax().device_put(
                out)
        else:
            self.inputs[k].set_value(out, borrow=True)
        self._stamps[k] = stamp

    def _fill_fn(self, k):
        if k not in self._fill_fns:
            # the rows are an input, not a slice of the shared data: JAX
            # compiles no slice whose bounds are inputs
            h = rows = pt.matrix("rows", dtype=self.train_set_x.dtype)
            for layer in self.layers[:k]:
                h = layer.get_output(h)
            self._fill_fns[k] = function(
                [rows], h, mode=self.mode, name=f"fill_cache{k}")
        return self._fill_fns[k]
