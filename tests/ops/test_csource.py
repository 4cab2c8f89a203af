"""The C of sda's ops: real files, shipped with the package, free of warnings."""

import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from pytensor.tensor.blas_headers import blas_header_text

from sda.ops import csource

SDA = Path(csource.FOLDER).parent


def test_no_c_is_left_in_python_templates():
    for module in SDA.glob("*.py"):
        assert "%%" not in module.read_text(), module.name


@pytest.mark.parametrize("openmp", [True, False], ids=["openmp", "serial"])
def test_the_headers_compile_without_warnings(tmp_path, openmp):
    """As PyTensor compiles them (g++), with -Wall -Wextra as errors."""
    source = tmp_path / "check.cpp"
    # sda_blas.h comes after PyTensor's BLAS declarations, as in its ops
    source.write_text('#include <Python.h>\n'
                      '#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION\n'
                      '#include <numpy/arrayobject.h>\n'
                      '#include "sda_fused.h"\n'
                      + blas_header_text() +
                      '#include "sda_blas.h"\n')
    flags = (["-fopenmp"] if openmp else []) + csource.SIMD_ARGS
    done = subprocess.run(
        ["g++", "-std=c++17", "-O3", "-Wall", "-Wextra", "-Werror",
         "-Wno-unused-function", *flags,
         f"-I{sysconfig.get_paths()['include']}", f"-I{np.get_include()}",
         f"-I{csource.FOLDER}", "-c", str(source), "-o",
         str(tmp_path / "check.o")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_cache_version_follows_the_files(tmp_path, monkeypatch):
    before = csource.version("sda_fused.h")
    copy = tmp_path / "c"
    copy.mkdir()
    for f in Path(csource.FOLDER).iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(csource, "FOLDER", str(copy))
    assert csource.version("sda_fused.h") == before
    with open(copy / "sda_fused.h", "a") as f:
        f.write("/* an edit */\n")
    assert csource.version("sda_fused.h") != before
