"""The package's structure: layers without circles, small modules, one home for each concern.

A cross-cutting suite: it reads the source of every module of ``sda/``
(nothing is run) and checks what the layout promises.
"""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sda"

#: What may be imported inside functions: the optional extras, and scipy
#: (its spatial module is slow to import and only the convex problem uses it).
LAZY_ALLOWED = ("jax", "optuna", "dask", "distributed", "yaml", "sklearn",
                "scipy")

#: The most lines a module may have ("no module much over 400 lines").
MAX_LINES = 450


def modules():
    """{dotted name: path} of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules()


def is_package(name):
    return MODULES[name].name == "__init__.py"


def imports(name):
    """``(target, lazy)`` of every import in module ``name``: the dotted
    module it names (resolved against the package) and whether it sits
    inside a function."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if is_package(name) else name.rpartition(".")[0]
    found = []

    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef,
                                               ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[:len(package.split("."))
                                             - child.level + 1]
                    base = ".".join(up + ([base] if base else []))
                for alias in child.names:
                    # ``from a import b``: the submodule a.b if there is one
                    sub = f"{base}.{alias.name}"
                    found.append((sub if sub in MODULES else base, inner))
            visit(child, inner)

    visit(tree, False)
    return found


def ancestors(name):
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def graph():
    """module -> the package modules importing it runs first.

    Importing ``a.b.c`` runs the packages ``a`` and ``a.b`` too, except
    those that contain the importing module (they are being initialised
    already)."""
    edges = {}
    for name in MODULES:
        targets = set()
        for target, _ in imports(name):
            if target.split(".")[0] != "sda" or target not in MODULES:
                continue
            for module in {target} | ancestors(target):
                if module != name and module not in ancestors(name):
                    targets.add(module)
        edges[name] = targets
    return edges


def circles(edges):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges[v]:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            connect(v)
    return found


#: The layers, bottom first, as the package's docstring gives them: a
#: module imports only from its own layer and those below.
LAYERS = ["sda._version", "sda.errors", "sda._checks", "sda._compat",
          "sda.files", "sda.ops", "sda.backend", "sda.data", "sda.datasets",
          "sda.builders",
          "sda.models", "sda.serialization", "sda.viz", "sda.train",
          "sda.cli", "sda.sklearn", "sda.sweep", "sda"]


def layer(name):
    return max(i for i, top in enumerate(LAYERS)
               if name == top or name.startswith(top + "."))


def test_the_import_graph_has_no_circle():
    assert circles(graph()) == []


def test_every_import_goes_down_the_layers():
    upward = sorted((name, target) for name, targets in graph().items()
                    for target in targets if layer(target) > layer(name))
    assert upward == []


def test_a_circle_would_be_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [
        ["a", "b", "c"]]


def test_lazy_imports_are_only_of_optional_or_slow_dependencies():
    lazy = sorted((name, target) for name in MODULES
                  for target, inner in imports(name)
                  if inner and target.split(".")[0] not in LAZY_ALLOWED)
    assert lazy == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_much_over_400_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES


def _code_mentions_jax(path):
    """Names and string constants (not docstrings) that say JAX."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr)
                  and isinstance(node.value, ast.Constant)}
    hits = []
    for node in ast.walk(tree):
        text = (node.id if isinstance(node, ast.Name) else
                node.attr if isinstance(node, ast.Attribute) else
                node.value if isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings else None)
        if text is not None and re.search(r"jax", text, re.I) and not (
                isinstance(node, ast.Constant) and len(text) > 40):
            hits.append(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module",
                                                            "") or ""]
            hits += [n for n in names if "jax" in n.lower()]
    return hits


def test_no_module_outside_the_backend_tests_for_jax():
    outside = {name: _code_mentions_jax(path)
               for name, path in MODULES.items()
               if not name.startswith("sda.backend")
               and name != "sda._compat"}
    assert {name: hits for name, hits in outside.items() if hits} == {}


def test_every_exception_and_warning_lives_in_errors():
    defined = {}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", getattr(b, "attr", "")).endswith(
                        ("Error", "Exception", "Warning", "Interrupt"))
                    for b in node.bases):
                defined.setdefault(name, []).append(node.name)
    assert set(defined) == {"sda.errors"}, defined


def test_the_old_flat_paths_still_import():
    import importlib
    import pickle

    import sda
    for old, new in [("sda.noise", "sda.models.noise"),
                     ("sda.stacked", "sda.models.stacked"),
                     ("sda.elementwise", "sda.ops.elementwise"),
                     ("sda.fused", "sda.ops.fused"),
                     ("sda.checkpoint", "sda.train.checkpoint"),
                     ("sda.progress", "sda.train.progress"),
                     ("sda.inference", "sda.builders.apply")]:
        assert importlib.import_module(old) is importlib.import_module(new)
    from sda.noise import SaltAndPepperNoise
    from sda.checkpoint import Checkpointer  # noqa: F401
    assert sda.noise.register is sda.models.noise.register
    # a pickle written when the noise lived in sda.noise
    old = pickle.dumps(SaltAndPepperNoise(0.0, 2.0), protocol=0).replace(
        b"sda.models.noise", b"sda.noise")
    assert b"sda.noise" in old
    assert pickle.loads(old) == SaltAndPepperNoise(0.0, 2.0)
