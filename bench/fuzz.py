"""A long fuzzing run of the contract: many more Schemathesis cases than the test suite's.

Runs ``tests/app/test_fuzz.py`` itself (positive and negative cases for every operation of the
app's own OpenAPI document, the same checks, the same steering towards real model names,
labels and series), unseeded and with more cases, over freshly trained small models, through
the real app and its lifespan; reads the report the test writes. Writes the "Fuzzing the
contract" section of bench/results/reliability.md, before the soak's section (which
bench/soak.py rewrites on its own).

Usage: ``python bench/fuzz.py [--examples 300]`` (cases per operation and generation mode).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

RESULTS = harness.ROOT / "bench" / "results" / "reliability.md"
MARKER = "## Fuzzing the contract"
SOAK_MARKER = "## Soak and hot reload under load"


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

    report_path = Path(tempfile.mkdtemp(prefix="bench-fuzz-")) / "report.json"
    env = {
        **os.environ,
        "FUZZ_EXAMPLES": str(args.examples),
        "FUZZ_SEED": "random",
        "FUZZ_REPORT": str(report_path),
    }
    print(f"fuzzing with {args.examples} cases per operation and mode ...", flush=True)
    test = "tests/app/test_fuzz.py::test_every_operation_keeps_its_contract_under_fuzzing"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=harness.ROOT, env=env, check=False,
    )  # fmt: skip
    data = json.loads(report_path.read_text())
    failures: list[str] = data["failures"]
    for failure in failures:
        print(failure, "\n", flush=True)
    statuses_seen = {(op, status): n for op, status, n in data["statuses"]}
    cases_seen = {(op, mode): n for op, mode, n in data["cases"]}
    total = sum(cases_seen.values())
    seconds = float(data["seconds"])

    by_operation: dict[str, Counter[int]] = {}
    for (operation, status), count in statuses_seen.items():
        by_operation.setdefault(operation, Counter())[status] += count
    cases = Counter[str]()
    for (operation, _), count in cases_seen.items():
        cases[operation] += count
    statuses = sorted({s for c in by_operation.values() for s in c})
    server_errors = sum(n for (_, s), n in statuses_seen.items() if s >= 500)
    lines = [
        f"{MARKER} (`python bench/fuzz.py --examples {args.examples}`)",
        "",
        f"Machine: {harness.machine()}.",
        f"Schemathesis {schemathesis.__version__} against the app's own OpenAPI document,"
        " in process through the real app and lifespan (4 small real SavedModels), API keys on."
        f" Up to {args.examples} positive and {args.examples} negative cases per operation,"
        " unseeded; a quarter of the cases keep the generated (mostly wrong) API key and the"
        " rest are steered towards the real key, model names, labels and series. Checks: "
        + ", ".join(f"`{name}`" for name in data["checks"])
        + ".",
        "",
        "| cases | operations | seconds | cases/s | 5xx | failed checks |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {total} | {len(by_operation)} | {seconds:.0f} |"
        f" {total / seconds:.0f} | {server_errors} | {len(failures)} |",
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
    if failures:
        lines.append("Failures (first lines):")
        lines.append("")
        lines += [f"- {f.splitlines()[0]} {' '.join(f.splitlines()[1:4])}" for f in failures]
    else:
        lines.append("No check failed.")
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(text)
    print(f"written to {RESULTS}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
