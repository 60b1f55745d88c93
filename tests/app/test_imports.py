"""How the app's modules import each other: no cycle, and no router leaning on another router.

Read from the source with ``ast``, function-level imports included (a cycle hidden inside a
function still ties two modules together); imports under ``if TYPE_CHECKING:`` are left out, as
they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import find_cycle

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
ROUTERS = "app.routers"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(APP.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The app modules one import statement names (``from app import x``: ``app.x`` if a module)."""
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        assert not node.level, "the app imports absolutely"
        base = node.module or ""
        names = {base} | {f"{base}.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def _imports(module: str, source: str) -> set[str]:
    """The app modules ``module`` imports when it runs (not under ``if TYPE_CHECKING:``)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                child = ast.Module(body=child.orelse, type_ignores=[])
            elif isinstance(child, ast.Import | ast.ImportFrom):
                found.update(_imported(child))
            visit(child)

    visit(ast.parse(source))
    # A package runs before any module under it: not a dependency to follow back.
    return {m for m in found if m != module and not module.startswith(f"{m}.")}


GRAPH = {m: _imports(m, p.read_text(encoding="utf-8")) for m, p in MODULES.items()}


def test_the_walk_sees_function_level_imports_and_skips_type_checking() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from app import errors\n"
        "if TYPE_CHECKING:\n"
        "    from app.registry import ModelEntry\n"
        "else:\n"
        "    import app.settings\n"
        "def f() -> None:\n"
        "    from app.routers import health\n"
    )
    found = _imports("app.x", source)
    assert found == {"app.errors", "app.settings", "app.routers", "app.routers.health"}


def test_no_import_cycle_among_the_app_modules() -> None:
    assert find_cycle(GRAPH) is None


def test_the_registry_and_the_wire_types_do_not_import_each_other() -> None:
    # not even for mypy: the state they share lives in app.version_state
    registry = ast.parse(MODULES["app.registry"].read_text(encoding="utf-8"))
    named = set().union(
        *(_imported(n) for n in ast.walk(registry) if isinstance(n, ast.Import | ast.ImportFrom))
    )
    assert "app.schemas" not in named and "app.version_state" in named
    assert "app.registry" not in GRAPH["app.schemas"]


def test_a_router_imports_no_other_router_only_the_protocol_types_beside_them() -> None:
    crossings = {
        (module, other)
        for module, imported in GRAPH.items()
        if module.startswith(f"{ROUTERS}.")
        for other in imported
        if other.startswith(f"{ROUTERS}.") and not other.endswith("_types")
    }
    assert not crossings, crossings  # the use cases they share live in app.service
    types = [m for m in GRAPH if m.startswith(f"{ROUTERS}.") and m.endswith("_types")]
    assert len(types) == 3, types  # TF Serving's, the Open Inference Protocol's, KServe's
    for module in types:
        assert not {m for m in GRAPH[module] if m.startswith(f"{ROUTERS}.")}, module
