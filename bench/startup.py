"""Start-up: seconds from launching the server to ``/ready`` (every version found at start loaded).

Stores: the ``make serve`` default set (wavenet, conv_lstm, lstm, linear) and all eleven
architectures, trained for an epoch each (loading does not depend on how long a model trained,
only on its architecture and window), with 1 and with the default number of load workers (the
CPUs). Also the cost of XLA compilation: the first call of the ``forecast`` signature at a new
``[batch, steps]`` shape against a second call. Writes bench/results/startup.md.

Usage: ``python bench/startup.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

RESULTS = harness.ROOT / "bench" / "results" / "startup.md"
DEFAULT_SET = ("wavenet", "conv_lstm", "lstm", "linear")


def _train(store: Path, architectures: tuple[str, ...] | None) -> None:
    which = ["--all"] if architectures is None else [f"--arch={a}" for a in architectures]
    subprocess.run(
        [sys.executable, "-m", "training.cli", *which, "--epochs", "1", "--quiet",
         "--store", str(store)],
        cwd=harness.ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def time_to_ready(store: Path, workers: int, log: Path) -> float:
    """Seconds from launching uvicorn to its first 200 from /ready."""
    started = time.perf_counter()
    settings = {"FORECAST_MODEL_STORE": str(store), "FORECAST_LOAD_WORKERS": str(workers)}
    with harness.serve(settings, log, "--no-access-log"):
        return time.perf_counter() - started


def xla_costs(store: Path) -> list[tuple[str, float, float]]:
    """(model, first call, second call) of ``forecast`` at a new steps bucket, in seconds."""
    import tensorflow as tf

    from contract import store as layout

    rows = []
    for name in layout.model_names(store):
        folder = layout.version_dir(store, name, 1)
        window = layout.read_metadata(folder).window_size
        ahead = tf.saved_model.load(str(folder)).signatures[layout.FORECAST_SIGNATURE]
        inputs = {"window": tf.zeros([1, window]), "steps": tf.constant(32)}
        first = time.perf_counter()
        ahead(**inputs)
        second = time.perf_counter()
        ahead(**inputs)
        rows.append((name, second - first, time.perf_counter() - second))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    stores = {"default set (4)": scratch / "four", "all architectures (11)": scratch / "eleven"}
    print("training the stores (an epoch each) ...", flush=True)
    _train(stores["default set (4)"], DEFAULT_SET)
    _train(stores["all architectures (11)"], None)

    cpus = os.cpu_count() or 1
    lines = [
        "# Start-up",
        "",
        f"Machine: {harness.machine()}. `python bench/startup.py --runs {args.runs}`: seconds"
        " from launching `uvicorn app.main:app` to the first 200 from `/ready`, which now waits"
        " for every version found at start (TensorFlow's import, the store scan, each version's"
        " load and warm-up: one call of each signature, the `forecast` one XLA-compiled).",
        "",
        "| store | load workers | median s | runs |",
        "| --- | ---: | ---: | --- |",
    ]
    for label, store in stores.items():
        for workers in sorted({1, cpus}):
            runs = [time_to_ready(store, workers, scratch / "server.log") for _ in range(args.runs)]
            row = f"| {label} | {workers} | {statistics.median(runs):.1f} |"
            row += " " + ", ".join(f"{r:.1f}" for r in runs) + " |"
            print(row, flush=True)
            lines.append(row)
    lines += [
        "",
        "XLA compilation of the recursive `forecast` signature, at a `[1, steps=32]` shape not"
        " seen before (every version compiles each distinct shape once, on first use; the"
        " service rounds `steps` up to a power of two so a version compiles at most 11 shapes"
        " up to the maximum horizon of 1000; warm-up compiles one):",
        "",
        "| model | first call s | second call s |",
        "| --- | ---: | ---: |",
        *(
            f"| {name} | {first:.2f} | {again:.4f} |"
            for name, first, again in xla_costs(stores["all architectures (11)"])
        ),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
