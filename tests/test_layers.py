"""Every module imports only downward, and none imports a module that imports it back.

The layers are corpus -> ingest -> assistant -> (assistant.app | assistant.cli), with evals
outside, driving the assistant; inside the assistant, the rooms of `ROOMS`. The imports are read
from the source with `ast`, so imports inside functions (the lazy ones) and under
`if TYPE_CHECKING:` count as much as those at the top: a cycle broken by a function-level import
is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("corpus", "ingest", "assistant", "evals")

# (importer, what it must never import): module-name prefixes.
FORBIDDEN: tuple[tuple[str, str], ...] = (
    ("corpus", "ingest"),
    ("corpus", "assistant"),
    ("corpus", "evals"),
    ("ingest", "assistant"),
    ("ingest", "evals"),
    ("assistant", "evals"),
)
# Inside the assistant, rooms in the order the answer pipeline builds on them: the language profiles,
# settings and glossary; retrieval; the answer (decision, composers, lead, verification, rendering);
# the language models; the pipeline (chain, condensing, the LangChain retriever); the trainers'
# brief and quiz. A room imports only from the rooms before it.
ROOMS: tuple[tuple[str, ...], ...] = (
    ("assistant.language", "assistant.settings", "assistant.glossary"),
    ("assistant.retrieval",),
    ("assistant.answer",),
    ("assistant.llm",),
    ("assistant.chain", "assistant.condense", "assistant.langchain_retriever"),
    ("assistant.trainers",),
)
FORBIDDEN += tuple(
    (low, high) for i, lower in enumerate(ROOMS) for upper in ROOMS[i + 1 :] for low in lower for high in upper
)
# The assistant's library modules never import the app; the app and the CLI sit on top of them.
APP = "assistant.app"
ABOVE_THE_LIBRARY = ("assistant.app", "assistant.cli")


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the project module the statement loads
    line: int

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.target}"


def find_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the packages (a package is its __init__.py)."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _project_module(name: str, modules: Mapping[str, Path]) -> str | None:
    """The longest prefix of `name` that is a project module (`pkg.mod.Class` -> `pkg.mod`); None if external."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _from_base(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = importer if is_package else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def find_imports(modules: Mapping[str, Path]) -> list[Import]:
    """Every import statement anywhere in every module (top level, functions, TYPE_CHECKING blocks)."""
    found: list[Import] = []
    for importer, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = _from_base(node, importer, path.name == "__init__.py")
                # `from pkg import mod` loads the module pkg.mod; `from pkg.mod import name` loads pkg.mod.
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            for name in names:
                target = _project_module(name, modules)
                if target is not None and target != importer:
                    found.append(Import(importer, target, node.lineno))
    return found


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def upward_imports(imports: Iterable[Import]) -> list[Import]:
    """The imports that go against the layers."""

    def library_imports_app(imp: Import) -> bool:
        library = _under(imp.importer, "assistant") and not any(_under(imp.importer, t) for t in ABOVE_THE_LIBRARY)
        return library and _under(imp.target, APP)

    return [
        imp
        for imp in imports
        if any(_under(imp.importer, low) and _under(imp.target, high) for low, high in FORBIDDEN)
        or library_imports_app(imp)
    ]


def import_cycles(imports: Iterable[Import]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module: each is a set of modules that import
    each other, directly or through others (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, set()).add(imp.target)
        graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[frozenset[str]] = []

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
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _describe(cycle: frozenset[str], imports: Iterable[Import]) -> str:
    inside = sorted({str(i) for i in imports if i.importer in cycle and i.target in cycle})
    return "{" + ", ".join(sorted(cycle)) + "}: " + "; ".join(inside)


# ---- the project ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project_imports() -> list[Import]:
    modules = find_modules(ROOT, PACKAGES)
    assert "assistant.app.ui" in modules and "ingest.pipeline" in modules  # the walk found the tree
    return find_imports(modules)


@pytest.mark.unit
def test_every_assistant_module_lives_in_a_room() -> None:
    homes = [name for tier in ROOMS for name in tier] + ["assistant.app", "assistant.cli", "assistant.review"]
    modules = find_modules(ROOT, ("assistant",))
    homeless = sorted(m for m in modules if m != "assistant" and not any(_under(m, home) for home in homes))
    assert homeless == [], f"modules outside the rooms of tests/test_layers.py: {homeless}"
    for room in ("assistant.answer", "assistant.llm", "assistant.trainers", "assistant.retrieval"):
        assert room in modules, f"{room} is a package"


@pytest.mark.unit
def test_every_module_imports_only_downward(project_imports: list[Import]) -> None:
    wrong = upward_imports(project_imports)
    assert not wrong, "imports against the layers:\n" + "\n".join(map(str, wrong))


@pytest.mark.unit
def test_no_module_imports_a_module_that_imports_it_back(project_imports: list[Import]) -> None:
    cycles = import_cycles(project_imports)
    assert not cycles, "import cycles:\n" + "\n".join(_describe(c, project_imports) for c in cycles)


# ---- the checker itself, on a small tree made here --------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.unit
def test_the_checker_finds_lazy_relative_and_type_checking_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "ingest/__init__.py": "",
            "ingest/store.py": "def load():\n    from assistant.chain import Assistant\n    return Assistant\n",
            "ingest/pipe.py": "from . import store\nfrom .store import load\nimport json\n",
            "assistant/__init__.py": "",
            "assistant/chain.py": "import typing\nif typing.TYPE_CHECKING:\n    from assistant.app.ui import X\n",
            "assistant/cli.py": "import assistant.app.server\n",
            "assistant/app/__init__.py": "",
            "assistant/app/server.py": "from ..chain import Assistant\n",
            "assistant/app/ui.py": "from .server import launch\nimport evals.bench\n",
            "evals/__init__.py": "",
            "evals/bench.py": "from assistant.app import ui\n",
        },
    )
    imports = find_imports(find_modules(tmp_path, PACKAGES))
    edges = {(i.importer, i.target) for i in imports}
    assert ("ingest.pipe", "ingest.store") in edges and ("assistant.app.server", "assistant.chain") in edges
    assert ("evals.bench", "assistant.app.ui") in edges  # `from pkg import module` names the module
    assert {str(i) for i in upward_imports(imports)} == {
        "ingest.store (line 2) imports assistant.chain",  # inside a function
        "assistant.chain (line 3) imports assistant.app.ui",  # under TYPE_CHECKING
        "assistant.app.ui (line 2) imports evals.bench",
    }


@pytest.mark.unit
def test_the_checker_finds_cycles_of_any_length(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "assistant/__init__.py": "",
            "assistant/a.py": "import assistant.b\n",
            "assistant/b.py": "def f():\n    from assistant import c\n",
            "assistant/c.py": "from .a import thing\n",
            "assistant/d.py": "import assistant.a\n",  # into the cycle, not part of it
            "evals/__init__.py": "",
            "evals/x.py": "from evals import y\n",
            "evals/y.py": "from evals.x import z\n",
        },
    )
    cycles = import_cycles(find_imports(find_modules(tmp_path, PACKAGES)))
    assert sorted(cycles, key=sorted) == [
        frozenset({"assistant.a", "assistant.b", "assistant.c"}),
        frozenset({"evals.x", "evals.y"}),
    ]
