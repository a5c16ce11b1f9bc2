"""The package layout: the import graph of ``sim`` has no circle and no module imports another's private names.

The graph is read from the source with :mod:`ast`, imports at module level and inside functions alike (an import
inside a function is still a dependency; it only runs later).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sim"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path) -> dict[str, Path]:
    """``{dotted name: file}`` of every module of the package at ``root``."""
    return {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _imports(path: Path, name: str, known: set[str]) -> list[tuple[str, str, int]]:
    """``(imported module, imported name or "", line)`` for each import of a module of the package in ``path``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package the module is in
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in known:  # `from sim.analysis import reach`: the module sim.analysis.reach
                    found.append((submodule, "", node.lineno))
                else:
                    found.append((source, alias.name, node.lineno))
    return [(module, imported, line) for module, imported, line in found if module in known]


def import_graph(root: Path = PACKAGE) -> tuple[nx.DiGraph, list[str]]:
    """The graph of imports between the modules of the package at ``root`` (a package's ``__init__`` that only
    names its submodules as strings is no edge), and every ``from <module> import _private`` across modules."""
    modules = _modules(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    private = []
    for name, path in modules.items():
        for module, imported, line in _imports(path, name, set(modules)):
            if module != name:
                graph.add_edge(name, module)
            if imported.startswith("_") and not imported.startswith("__") and module != name:
                private.append(f"{path.relative_to(root.parent)}:{line}: from {module} import {imported}")
    return graph, private


def _cycles(graph: nx.DiGraph) -> list[list[str]]:
    """The import circles, as the modules of each strongly connected part with more than one module."""
    return sorted(sorted(part) for part in nx.strongly_connected_components(graph) if len(part) > 1)


def test_the_package_has_no_import_circle():
    graph, _ = import_graph()
    assert len(graph) > 40  # every module was found
    assert _cycles(graph) == []


def test_no_module_imports_another_modules_private_names():
    _, private = import_graph()
    assert private == []


def test_every_subpackage_is_a_regular_package():
    # find_packages ships only folders with an __init__.py
    folders = {p.parent for p in PACKAGE.rglob("*.py")}
    assert sorted(str(f) for f in folders if not (f / "__init__.py").is_file()) == []


# The checks themselves, on small packages whose answers are known.


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_circle_through_an_import_inside_a_function_is_found(tmp_path):
    root = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.sub.b import thing\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/b.py": "def thing():\n    from pkg import a\n    return a\n",
        "pkg/c.py": "import pkg.a\n",
    })
    graph, private = import_graph(root)
    assert _cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    assert set(graph.edges) == {("pkg.a", "pkg.sub.b"), ("pkg.sub.b", "pkg.a"), ("pkg.c", "pkg.a")}
    assert private == []


@pytest.mark.parametrize("line, expected", [
    ("from pkg.a import _helper\n", ["pkg/b.py:1: from pkg.a import _helper"]),
    ("from .a import _helper\n", ["pkg/b.py:1: from pkg.a import _helper"]),
    ("from pkg.a import helper, __version__\n", []),
])
def test_private_names_imported_across_modules_are_found(tmp_path, line, expected):
    root = _write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "def _helper(): ...\n", "pkg/b.py": line})
    _, private = import_graph(root)
    assert private == expected
