"""Collection settings for the whole checkout (the tests' fixtures are in tests/conftest.py)."""

import importlib.util
import os

# scikit-learn's estimator checks include one of array-API input, which runs
# only when SciPy's array-API mode is on, and SciPy reads this at import
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# sda.sklearn needs the optional extra (pip install -e '.[sklearn]'); without
# it, its doctests are not collected rather than failing to import
collect_ignore = ([] if importlib.util.find_spec("sklearn")
                  else ["sda/sklearn.py"])
