"""The shape of evals/: small modules, and no module that imports a module importing it back.

Read from the source (AST), imports inside functions included: a cycle broken by a deferred
import is still a cycle of the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

EVALS = Path(__file__).resolve().parents[2] / "evals"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(EVALS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(EVALS.rglob("*.py"))}


def _imports(path: Path, known: set[str]) -> set[str]:
    """The evals modules this file imports: each named module and the packages above it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from evals.scale import embed` imports the module evals.scale.embed
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found & known


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_in_evals_is_under_400_lines() -> None:
    sources = _sources()
    assert len(sources) > 20  # the walk found the package
    too_long = {
        str(path.relative_to(EVALS.parent)): n
        for path in sources.values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_LINES
    }
    assert too_long == {}


def test_no_module_in_evals_imports_a_module_that_imports_it_back() -> None:
    sources = _sources()
    known = set(sources)
    graph = {name: _imports(path, known) - {name} for name, path in sources.items()}
    assert graph["evals.scale.cli"] >= {"evals.scale.harness", "evals.scale.records"}  # deferred imports count
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_through_deferred_imports() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
