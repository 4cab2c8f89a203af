from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).resolve().parent
version = {}
for line in (here / "sda" / "_version.py").read_text().splitlines():
    if line.startswith("__version__"):
        exec(line, version)

setup(
    name="sda",
    version=version["__version__"],
    description=("Denoising autoencoders and stacked denoising autoencoders "
                 "(the Theano tutorial's dA and SdA) on PyTensor"),
    long_description=(here / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    # The MNIST copy lives at the top of the repository (data/mnist, with its
    # licence notice); installed, it becomes package data of sda._data, where
    # sda.data looks for it first.
    packages=find_packages(include=["sda", "sda.*"]) + ["sda._data"],
    package_dir={"sda._data": "data"},
    # the C of the ops, compiled by PyTensor on first use
    package_data={"sda.ops": ["c/*.h"],
                  "sda._data": ["mnist/*.gz", "mnist/README.md"]},
    include_package_data=False,
    python_requires=">=3.11",
    install_requires=[
        # the range the test suite runs against; 3.x changed the RNG API and
        # the default backend, so newer majors need checking first
        "pytensor>=3.0.7,<3.1",
        "numpy>=2.0",
        # PyTensor's log(sigmoid) -> softplus rewrites silently switch off
        # without it (etuples imports it lazily)
        "packaging",
        # a BLAS that PyTensor's C backend can link without root (see
        # sda/backend/blas.py); without it the C backend is 10x slower than Numba
        "scipy-openblas32",
        # sda.datasets: the convex hulls of the convex problem (PyTensor
        # depends on it too)
        "scipy",
        # pictures: filter mosaics (Pillow) and learning curves (Matplotlib)
        "pillow",
        "matplotlib",
        # the minibatch progress bar of the training loops (terminals only)
        "tqdm>=4.60",
        # the lock that keeps two runs out of one output folder (PyTensor
        # depends on it too)
        "filelock",
    ],
    extras_require={
        # pandas: scikit-learn's estimator checks of DataFrame input
        # threadpoolctl: the test that it caps sda's threads
        "test": ["pytest>=8", "pandas", "threadpoolctl"],
        # sda.sklearn: DenoisingAutoencoder and SdAClassifier
        "sklearn": ["scikit-learn>=1.6"],
        # mode="JAX": the CPU build; for a GPU install a CUDA build of jax
        # (pip install 'jax[cuda12]') instead
        "jax": ["jax>=0.7"],
        # sda.sweep: Optuna proposes and records trials, Dask runs them;
        # PyYAML reads sweep spaces (optuna's private storage calls used to
        # recover interrupted trials are checked against 4.x and 5.x);
        # psycopg 3: SQLAlchemy's driver for a plain postgresql:// URL
        "sweep": ["dask[distributed]>=2024.6", "optuna>=4,<6", "pyyaml",
                  "psycopg[binary]>=3.1"],
        # SDA_BLAS=mkl: Intel's MKL (sequential) for the C backend's
        # products, faster than OpenBLAS at small minibatches; its wheels
        # exist for x86-64 Linux and Windows only
        "mkl": ['mkl; platform_machine in "x86_64 AMD64" and '
                'sys_platform != "darwin"'],
        # examples/tutorial.ipynb, run by a kernel (tests/test_notebook.py)
        "notebook": ["nbclient>=0.10", "nbformat>=5", "ipykernel"],
        # the API reference and the guides as a Sphinx site (docs/conf.py)
        "docs": ["sphinx>=8", "numpydoc>=1.8", "myst-parser>=4"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
