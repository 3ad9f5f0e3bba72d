"""Print the app-level import picture: edges, cycles and imports that run up a layer.

Reads every module under apps/ with ast (nothing is imported), so it works on any checkout.
Usage: python scripts/import_graph.py [--json]
"""

from __future__ import annotations

import ast
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Lower number = lower layer. Apps on one layer may not import each other either.
LAYERS = {
    "core": 0,
    "merchants": 0,
    "accounts": 0,
    "meta": 1,
    "contacts": 2,
    "conversations": 3,
    "campaigns": 4,
    "tickets": 4,
    "sandbox": 5,  # plays Meta and the customer for the demo: reads campaigns' templates, nobody imports it
    "reports": 5,  # reads every domain app's rows; nobody imports it
}


def _app_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "apps":
        return parts[1]
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def edges() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted((ROOT / "apps").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source_app = _app_of(_module_name(path))
        for target in _imports(path):
            target_app = _app_of(target)
            if source_app and target_app and target_app != source_app:
                where = str(path.relative_to(ROOT))
                if where not in found[(source_app, target_app)]:
                    found[(source_app, target_app)].append(where)
    return found


def module_graph() -> dict[str, set[str]]:
    modules = {}
    for path in sorted((ROOT / "apps").rglob("*.py")):
        if "migrations" not in path.parts:
            modules[_module_name(path)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for target in _imports(path) if target in modules and target != name}
    return graph


def module_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), package __init__ re-exports aside."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
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
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in graph:
        if node not in index:
            visit(node)
    return sorted(found)


def cycles(graph: dict[tuple[str, str], list[str]]) -> list[tuple[str, str]]:
    return sorted({tuple(sorted(pair)) for pair in graph if (pair[1], pair[0]) in graph})


def upward(graph: dict[tuple[str, str], list[str]]) -> list[tuple[str, str]]:
    return sorted(
        (src, dst)
        for src, dst in graph
        if LAYERS.get(dst, 99) > LAYERS.get(src, 99) or (LAYERS.get(dst) == LAYERS.get(src) and LAYERS.get(src, 0) > 0)
    )


def main() -> None:
    graph = edges()
    report = {
        "edges": {f"{s} -> {d}": len(files) for (s, d), files in sorted(graph.items())},
        "cycles": [f"{a} <-> {b}" for a, b in cycles(graph)],
        "upward": {f"{s} -> {d}": graph[(s, d)] for s, d in upward(graph)},
        "module_cycles": module_cycles(module_graph()),
    }
    if "--json" in sys.argv:
        print(json.dumps(report, indent=2))
        return
    print("edges (files importing):")
    for edge, count in report["edges"].items():
        print(f"  {edge}: {count}")
    print("cycles:", ", ".join(report["cycles"]) or "none")
    print("imports that run up a layer:")
    for edge, files in report["upward"].items():
        print(f"  {edge}: {', '.join(files)}")
    if not report["upward"]:
        print("  none")
    print(f"module import cycles: {len(report['module_cycles'])}")
    for component in report["module_cycles"]:
        print(f"  {' <-> '.join(component)}")


if __name__ == "__main__":
    main()
