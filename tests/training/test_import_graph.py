"""The training package's import graph has no cycle, counting imports inside functions too.

An import inside a function hides a cycle from Python until that function runs, so the graph is
read from the source (every ``import`` anywhere in a module, ``TYPE_CHECKING`` ones included),
not from what importing the modules happens to load.
"""

from __future__ import annotations

import ast
from pathlib import Path

import training
from tests.support import find_cycle

PACKAGE = Path(training.__file__).parent


def imported(path: Path, modules: set[str]) -> set[str]:
    """Which of ``modules`` the module at ``path`` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to the package: ``from . import x``, ``from .x import y``
                base = ".".join(filter(None, ["training", base]))
            # ``from training import cli`` imports a module; ``from training.data import X`` a name.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def import_graph(folder: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module ``training.<name>`` of ``folder`` and the ones of them it imports."""
    paths = {f"training.{p.stem}": p for p in folder.glob("*.py") if p.stem != "__init__"}
    return {module: imported(path, set(paths)) - {module} for module, path in paths.items()}


def test_the_training_modules_import_one_another_without_a_cycle() -> None:
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle among training modules: {' -> '.join(cycle or [])}"


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    # units imports the pipeline only when a unit runs; the CLI reads architectures lazily too.
    assert "training.pipeline" in graph["training.units"]
    assert "training.architectures" in graph["training.cli"]
    assert {"training.fanout", "training.units", "training.data"} <= graph["training.cli"]


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from training import b\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("def f():\n    from training.a import g\n", encoding="utf-8")
    assert find_cycle(import_graph(tmp_path)) == ["training.a", "training.b", "training.a"]
