"""sda's own PyTensor ops: the fast paths of the C backend.

* :mod:`sda.ops.elementwise`: vectorised sigmoid and softplus, swapped into
  graphs compiled for the C backend by a rewrite under the tag
  ``sda_vectorised``;
* :mod:`sda.ops.fused`: one C op for a whole SGD step on one example (a dA
  layer's, or the MLP's);
* :mod:`sda.ops.blas`: PyTensor's matrix products on sda's threads,
  swapped in by a rewrite under the tag ``sda_threads``;
* :mod:`sda.ops.threads`: the one policy for how many threads they use;
* :mod:`sda.ops.csource`: where their C lives (``sda/ops/c/*.h``) and how
  it is compiled (OpenMP, cache versions).

Each op has a NumPy ``perform`` that is the reference of its C code.
Nothing here knows about models or backends: the builders
(:mod:`sda.builders`) decide where the ops are used.
"""

from . import blas, csource, elementwise, fused, threads

__all__ = ["blas", "csource", "elementwise", "fused", "threads"]
