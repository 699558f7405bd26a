"""The import graph is the ladder docs/design.md draws: no module imports a higher rung
(function-level and TYPE_CHECKING imports included), no circles; every error class of the
suite is a UserError; listing the studies loads no scikit-learn, SciPy or matplotlib."""

from __future__ import annotations

import ast
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
#: Exception classes of the suite that are not bad input, and why.
NOT_USER_ERRORS = {
    "sparsity_lab.results.WriteError": "an OSError: I/O failures are one line and exit 1",
    "sparsity_lab.callbacks.StartRefused": "carries a single run's check error through Hydra",
}


def ladder() -> list[tuple[int, str]]:
    """(rung, module pattern) from docs/design.md's import ladder."""
    text = (ROOT / "docs" / "design.md").read_text()
    rungs = re.findall(r"^\s+rung (\d+) [^:]+: (.+)$", text, flags=re.MULTILINE)
    assert len(rungs) >= 5, "docs/design.md draws no import ladder"
    return [(int(n), name) for n, names in rungs for name in names.split()]


def rung_of(module: str, patterns: list[tuple[int, str]]) -> int:
    """``sparsity_lab.x.y`` (or ``hydra_plugins.z``) -> its rung; exact names win over pkg.*."""
    name = module.removeprefix("sparsity_lab.")
    for rung, pattern in patterns:
        if pattern == name:
            return rung
    for rung, pattern in patterns:
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return rung
    raise AssertionError(f"{module}: on no rung of docs/design.md's import ladder")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[0] in ("sparsity_lab", "hydra_plugins") and parts != ["hydra_plugins"]:
            found[".".join(parts)] = path
    return found


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The suite's modules ``module`` imports anywhere in its file, with the packages each
    import runs (``a.b.c`` runs ``a.b``), except the root package (outside the ladder)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names += [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        while name and name != "sparsity_lab":  # the module and every package it runs
            if name != module and not module.startswith(name + "."):
                found.add(name)
            name = name.rpartition(".")[0]
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items() if m != "sparsity_lab"}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_circle():
    assert circles(graph()) == []


def test_no_module_imports_a_higher_rung():
    patterns = ladder()
    upward = [
        f"{m} (rung {rung_of(m, patterns)}) -> {t} (rung {rung_of(t, patterns)})"
        for m, targets in graph().items()
        for t in sorted(targets)
        if rung_of(t, patterns) > rung_of(m, patterns)
    ]
    assert upward == []


def test_the_checks_catch_what_they_are_for():
    """An upward edge and a circle, made up: both are found."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    patterns = ladder()
    assert rung_of("sparsity_lab.errors", patterns) < rung_of("sparsity_lab.runner", patterns)
    assert rung_of("sparsity_lab.figures.make", patterns) > rung_of(
        "sparsity_lab.studies", patterns
    )
    assert rung_of("sparsity_lab.figures.penalties", patterns) == rung_of(
        "sparsity_lab.figures", patterns
    )
    with pytest.raises(AssertionError, match="on no rung"):
        rung_of("sparsity_lab.nowhere", patterns)


def test_every_error_class_is_a_user_error():
    import importlib

    import sparsity_lab
    from sparsity_lab.errors import UserError

    escaped = []
    for info in pkgutil.walk_packages(sparsity_lab.__path__, "sparsity_lab."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            qualified = f"{cls.__module__}.{cls.__qualname__}"
            if cls.__module__ != info.name or not issubclass(cls, BaseException):
                continue
            if not issubclass(cls, UserError) and qualified not in NOT_USER_ERRORS:
                escaped.append(qualified)
    assert escaped == []


def test_listing_the_studies_loads_no_heavy_library():
    code = (
        "import sys\nfrom sparsity_lab import studies\nstudies.all_studies()\n"
        "studies.all_tables()\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'matplotlib', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
