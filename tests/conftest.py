"""Shared fixtures: floatX switching and the embedded MNIST (helpers are in helpers.py).

The folders of ``tests/`` mirror the subpackages of ``sda/`` (``tests/models``
for ``sda/models``, ...); the files at the top test the top-level modules,
or cut across the package (structure, hostile inputs, docs, examples, files
of earlier versions) and say so.
"""

import pytensor
import pytest

import sda


@pytest.fixture(params=["float32", "float64"])
def floatX(request):
    """Run the test under each floatX, restoring the previous value after."""
    with pytensor.config.change_flags(floatX=request.param):
        yield request.param


@pytest.fixture
def float64():
    with pytensor.config.change_flags(floatX="float64"):
        yield "float64"


@pytest.fixture(scope="session")
def mnist_arrays():
    """The embedded MNIST as uint8/int32 arrays (loaded and verified once)."""
    return sda.load_mnist()


@pytest.fixture(scope="session")
def mnist_split(mnist_arrays):
    """The tutorial's split in float64, [(train), (valid), (test)]."""
    with pytensor.config.change_flags(floatX="float64"):
        return sda.data.split_mnist(mnist_arrays)
