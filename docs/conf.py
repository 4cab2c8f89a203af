"""Sphinx configuration: the guides (the Markdown pages of docs/, read by
MyST) and the API reference (numpydoc docstrings, one page per module).

    python -m sphinx -W -b html docs docs/_build/html
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's sda, installed or not

import sda  # noqa: E402

project = "sda"
author = "the sda developers"
copyright = "the sda developers, BSD-3-Clause"
release = version = sda.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary",
              "sphinx.ext.mathjax", "sphinx.ext.viewcode", "numpydoc",
              "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
root_doc = "index"

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
# PyTensor's and scikit-learn's methods speak of their own documentation
autodoc_inherit_docstrings = False


def _skip(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing setters, made for every estimator
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip)

# numpydoc writes the members' tables itself; autosummary's would repeat them
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]
html_theme = "alabaster"
html_title = f"sda {release}"
