"""The contract between the halves: its import rules, and that it stands without TensorFlow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras")
# The wire contract: the service's bodies, a deployment's limits and each protocol's types.
WIRE = (
    "app.schemas",
    "app.limits",
    "app.version_state",
    *sorted(f"app.routers.{p.stem}" for p in (ROOT / "app" / "routers").glob("*_types.py")),
)


def _imports(package: str) -> dict[str, set[str]]:
    """Top-level modules each file of ``package`` imports, by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("app", {"training"}),  # the service meets training only through the contract
        ("training", {"app"}),
        ("contract", {"app", "training", *HEAVY}),
    ],
)
def test_import_rules(package: str, forbidden: set[str]) -> None:
    broken = {f: sorted(names & forbidden) for f, names in _imports(package).items()}
    assert not {f: n for f, n in broken.items() if n}


def test_contract_and_wire_schemas_import_without_tensorflow() -> None:
    assert len(WIRE) == 6, WIRE  # the TF Serving, OIP and KServe time-series types were found
    code = (
        "import sys\n"
        "import contract.baselines, contract.metadata, contract.metrics, contract.store\n"
        f"import {', '.join(WIRE)}\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr
