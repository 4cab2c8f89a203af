"""Cached layer inputs for greedy pretraining.

While layer ``k`` of an SdA is pretrained the layers below it do not change,
so their output for the training set can be computed once, instead of on
every minibatch as the tutorial's graphs do (its own documentation suggests
this).  :class:`LayerInputCache` keeps that output in a shared variable, in
the training set's dtype, computed chunk by chunk to bound the extra
memory, and recomputes it when a lower layer has been trained since.  Only
one layer's inputs are held at a time.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

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
        The raw training inputs (as the backend's functions read them).
    backend : sda.backend.Backend
        Compiles the filling function and keeps the cached inputs where its
        steps read them (on the device, for JAX).
    host : sda.backend.HostState
        The model's parameters, which the filling function reads.
    chunk_rows : int
        Rows pushed through the lower layers per call while filling.
    """

    def __init__(self, layers, train_set_x, backend, host, chunk_rows=2000):
        self.layers = layers
        self.train_set_x = train_set_x
        self.n = train_set_x.get_value(borrow=True).shape[0]
        self.chunk_rows = chunk_rows
        self.backend = backend
        self.host = host
        dtype = train_set_x.type.dtype
        #: one shared variable per layer k >= 1; empty unless in use
        self.inputs = {}
        for k, layer in enumerate(layers[1:], 1):
            empty = np.zeros((0, layer.n_in), dtype)
            self.inputs[k] = pytensor.shared(empty, name=f"cached_input{k}")
            # where the steps compiled now read it from the start (a device
            # array for JAX), so that they read this variable itself
            backend.hold(self.inputs[k], empty)
        self._stamps = {}
        self._fill_fns = {}

    def ensure(self, k, stamp):
        """Make ``inputs[k]`` current; ``stamp`` changes when lower layers do."""
        if self._stamps.get(k) == stamp:
            return
        for other, shared in self.inputs.items():  # hold one layer at a time
            width = self.layers[other].n_in
            if other != k and shared.get_value(borrow=True).size:
                self.backend.hold(shared, np.zeros((0, width), shared.dtype))
        self._stamps = {}
        out = np.empty((self.n, self.layers[k].n_in),
                       dtype=self.inputs[k].dtype)
        fill = self._fill_fn(k)
        data = self.train_set_x.get_value(borrow=True)
        for start in range(0, self.n, self.chunk_rows):
            stop = min(self.n, start + self.chunk_rows)
            out[start:stop] = fill(data[start:stop])
        self.backend.hold(self.inputs[k], out)
        self._stamps[k] = stamp

    def _fill_fn(self, k):
        if k not in self._fill_fns:
            # the rows are an input, not a slice of the shared data: JAX
            # compiles no slice whose bounds are inputs
            h = rows = pt.matrix("rows", dtype=self.train_set_x.dtype)
            for layer in self.layers[:k]:
                h = layer.get_output(h)
            self._fill_fns[k] = self.backend.evaluate(self.backend.function(
                [rows], h, name=f"fill_cache{k}"), self.host)
        return self._fill_fns[k]
