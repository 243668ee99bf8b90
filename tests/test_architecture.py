"""The shape of the house: each part imports only the parts below it, Whoosh only in the index,
and no module imports another that (directly or not) imports it back. Read from the source,
so a new import that breaks the shape fails here. (That the core runs without the web
framework is measured in tests/test_layers_cli.py.)"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "search_service"

# Lowest first. A module may import its own part and any part listed before it.
LAYERS = [
    {"config", "errors", "documents", "lru", "__init__"},     # plain modules every part may use
    {"text"},                # Vietnamese text, pure Python
    {"index"},               # Whoosh, and only here
    {"search"},              # query, ranking, suggestions over the index
    {"ingest"},              # files -> plain documents
    {"library"},             # the source of truth, fed by ingestion, feeding the index
    {"cluster"},             # the second backend
    {"web"},                 # the Flask app
    {"cli", "__main__"},     # the command line
]
RANK = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Project modules ``name`` imports, anywhere in it (a function-level import counts):
    ``from pkg import submodule`` depends on the submodule, ``from pkg import name`` on pkg."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in MODULES else base)
    return {m for m in out if m.split(".")[0] in ("search_service", "whoosh")}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_known_part():
    assert {_part(m) for m in MODULES} <= set(RANK)


def test_no_part_imports_a_part_above_it():
    upward = sorted(f"{m} -> {imp}" for m, imps in GRAPH.items() for imp in imps
                    if imp.startswith("search_service.") and RANK[_part(imp)] > RANK[_part(m)])
    assert upward == []


def test_whoosh_is_imported_only_inside_the_index_package():
    outside = sorted(f"{m} -> {imp}" for m, imps in GRAPH.items() for imp in imps
                     if imp.split(".")[0] == "whoosh" and _part(m) != "index")
    assert outside == []


def test_no_import_circle():
    """Strongly connected components of the module graph: every one a single module."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in GRAPH:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert circles == []
