"""A missing piece must fail loudly: no code in the project catches an import or attribute error to carry on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("apps", "portal") for p in (ROOT / folder).rglob("*.py"))
SWALLOWED = {"ImportError", "ModuleNotFoundError", "AttributeError"}


def _caught_names(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return set()
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {n.id for n in nodes if isinstance(n, ast.Name)}


def _suppressed_names(call: ast.Call) -> set[str]:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return {a.id for a in call.args if isinstance(a, ast.Name)} if name == "suppress" else set()


def swallowed_errors(source: str) -> list[tuple[int, str]]:
    """(line, exception name) of every handler or contextlib.suppress() catching an import or attribute error."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ExceptHandler):
            found += [(node.lineno, name) for name in sorted(_caught_names(node) & SWALLOWED)]
        elif isinstance(node, ast.Call):
            found += [(node.lineno, name) for name in sorted(_suppressed_names(node) & SWALLOWED)]
    return sorted(found)


def test_the_scan_covers_the_project():
    assert ROOT / "apps" / "conversations" / "services" / "messages.py" in SOURCES
    assert ROOT / "portal" / "settings.py" in SOURCES


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("try:\n    import x\nexcept ImportError:\n    pass\n", [(3, "ImportError")]),
        ("try:\n    import x\nexcept (ValueError, ModuleNotFoundError):\n    pass\n", [(3, "ModuleNotFoundError")]),
        ("try:\n    y = x.y\nexcept AttributeError:\n    y = None\n", [(3, "AttributeError")]),
        ("with contextlib.suppress(ImportError):\n    import x\n", [(1, "ImportError")]),
        ("with suppress(KeyError, AttributeError):\n    y = x.y\n", [(1, "AttributeError")]),
        ("try:\n    int(x)\nexcept (TypeError, ValueError):\n    pass\n", []),
        ("with contextlib.suppress(asyncio.CancelledError):\n    pass\n", []),
    ],
)
def test_the_scan_finds_what_it_forbids(source, found):
    assert swallowed_errors(source) == found


def test_no_source_file_swallows_import_or_attribute_errors():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} except {name}"
        for path in SOURCES
        for line, name in swallowed_errors(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
