"""A long fuzzing run of the contract: many more Schemathesis cases than the test suite's.

The same driver as ``tests/app/test_fuzz.py`` (positive and negative cases for every operation
of the app's own OpenAPI document, the same checks, the same steering towards real model names,
labels and series), unseeded, over freshly trained small models, through the real app and its
lifespan. Writes the "Fuzzing the contract" section of bench/results/reliability.md, before the
soak's section (which bench/soak.py rewrites on its own).

Usage: ``python bench/fuzz.py [--examples 300]`` (cases per operation and generation mode).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import harness

RESULTS = harness.ROOT / "bench" / "results" / "reliability.md"
MARKER = "## Fuzzing the contract"
SOAK_MARKER = "## Soak and hot reload under load"


def _store(root: Path) -> Path:
    """The test suite's store: linear 1 and 2 (stable, canary), gru, dense with horizon 3."""
    from tests.app.support import publish
    from training import store as store_format

    publish(root, "linear", "linear", seed=1)
    publish(root, "linear", "linear", seed=2)
    publish(root, "gru", "gru", epochs=1)
    publish(root, "dense", "dense", horizon=3)
    store_format.write_labels(root, "linear", {"stable": 1, "canary": 2})
    return root


def write_section(text: str) -> None:
    """Put ``text`` in place of the previous fuzzing section, before the soak's section."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Reliability\n\n"
    before, marker, soak = existing.partition(SOAK_MARKER)
    if MARKER in before:
        head, _, old = before.partition(MARKER)
        following = old.find("\n## ")
        before = head + (old[following + 1 :] if following >= 0 else "")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(before.rstrip() + "\n\n" + text.rstrip() + "\n\n" + marker + soak)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="per operation and mode")
    args = parser.parse_args(argv)

    import schemathesis
    from schemathesis.python import asgi

    from app.main import create_app
    from tests.app.support import settings_for
    from tests.app.test_fuzz import CHECKS, KEY, fuzz, wait_until_loaded

    scratch = Path(tempfile.mkdtemp(prefix="bench-fuzz-"))
    print("training the small models ...", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = _store(scratch / "store")
    app = create_app(settings_for(store, api_keys=KEY))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    wait_until_loaded(app, versions=4)
    print(f"fuzzing with {args.examples} cases per operation and mode ...", flush=True)
    try:
        report = fuzz(schema, args.examples, derandomize=False)
    finally:
        asgi.shutdown_lifespans()

    for failure in report.failures:
        print(failure, "\n", flush=True)

    by_operation: dict[str, Counter[int]] = {}
    for (operation, status), count in report.statuses.items():
        by_operation.setdefault(operation, Counter())[status] += count
    cases = Counter[str]()
    for (operation, _), count in report.cases.items():
        cases[operation] += count
    statuses = sorted({s for c in by_operation.values() for s in c})
    server_errors = sum(n for (_, s), n in report.statuses.items() if s >= 500)
    lines = [
        f"{MARKER} (`python bench/fuzz.py --examples {args.examples}`)",
        "",
        f"Machine: {harness.machine()}.",
        f"Schemathesis {schemathesis.__version__} against the app's own OpenAPI document,"
        " in process through the real app and lifespan (4 small real SavedModels), API keys on."
        f" Up to {args.examples} positive and {args.examples} negative cases per operation,"
        " unseeded; a quarter of the cases keep the generated (mostly wrong) API key and the"
        " rest are steered towards the real key, model names, labels and series. Checks: "
        + ", ".join(f"`{c.__name__}`" for c in CHECKS)
        + ".",
        "",
        "| cases | operations | seconds | cases/s | 5xx | failed checks |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {report.total} | {len(by_operation)} | {report.seconds:.0f} |"
        f" {report.total / report.seconds:.0f} | {server_errors} | {len(report.failures)} |",
        "",
        "| operation | cases | " + " | ".join(str(s) for s in statuses) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in statuses) + " |",
        *(
            f"| `{op}` | {cases[op]} | "
            + " | ".join(str(by_operation[op][s] or "") for s in statuses)
            + " |"
            for op in sorted(by_operation)
        ),
        "",
    ]
    if report.failures:
        lines.append("Failures (first lines):")
        lines.append("")
        lines += [f"- {f.splitlines()[0]} {' '.join(f.splitlines()[1:4])}" for f in report.failures]
    else:
        lines.append("No check failed.")
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(text)
    print(f"written to {RESULTS}")
    return 0 if not report.failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
