"""The package layout's promises, checked on the source with ast (nothing is imported).

Every import counts, at module level and inside functions: an import inside a function hides
a cycle from Python's loader but not from a reader, so the graph includes them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The composition root may offer the mock departments as commands (`citydata generate`, `mock-api`, demo).
MAY_IMPORT_MOCK = ("citydata.mock", "citydata.app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, module: str) -> set[str]:
    """Every name an import statement anywhere in the file refers to (absolute, dotted)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*head, base] if base else head)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges between citydata modules, every imported name per module)."""
    files = {module_name(p): p for p in sorted((REPO / "citydata").rglob("*.py"))}
    edges: dict[str, set[str]] = {}
    raw: dict[str, set[str]] = {}
    for module, path in files.items():
        raw[module] = imported_names(path, module)
        edges[module] = set()
        for name in raw[module]:
            while name and name not in files:  # `from pkg import submodule_or_attribute`
                name = name.rpartition(".")[0]
            if name and name != module:
                edges[module].add(name)
    return edges, raw


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    return import_graph()


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": set()}) == []
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from citydata.kpi import read\n", encoding="utf-8")
    assert "citydata.kpi.read" in imported_names(source, "citydata.x")


def test_no_import_cycles_in_citydata(graph) -> None:
    edges, _ = graph
    assert cycles(edges) == []


def test_production_code_does_not_import_the_mock_departments(graph) -> None:
    edges, _ = graph
    offenders = {m: sorted(t for t in targets if t.startswith("citydata.mock"))
                 for m, targets in edges.items() if not m.startswith(MAY_IMPORT_MOCK)}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_the_core_library_never_imports_airflow(graph) -> None:
    _, raw = graph
    offenders = {m: sorted(n for n in names if n.split(".")[0] == "airflow") for m, names in raw.items()}
    assert {m: n for m, n in offenders.items() if n} == {}
