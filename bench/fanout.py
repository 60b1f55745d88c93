"""Fan-out benchmark: wall time of ``forecast-train --id-column`` on the local engine and on Ray.

A long CSV of ``--series`` daily series (the course's synthetic shape, 1461 values, a seed and a
noise level per series) is trained by the default set (what ``make serve`` trains), once with
``--engine local`` and once with ``--engine ray`` on a local cluster of ``--cpus`` CPUs, each
into its own temporary store. The table, with the machine's load beside it, goes to stdout and
to ``bench/results/fanout.md`` (which states the series and epochs it ran).

    .venv/bin/python bench/fanout.py                      # 20 series, full epochs
    .venv/bin/python bench/fanout.py --series 4 --epochs 2
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import argparse
import contextlib
import io
import platform
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from training import cli
from training.data import synthetic_values

RESULTS = Path(__file__).resolve().parent / "results" / "fanout.md"
# The fan-out trains each (series, architecture) as its own task and builds no ensemble per
# series (forecast-train refuses --arch ensemble with --id-column), so the set is the rest.
PANEL_ARCHITECTURES = [a for a in cli.DEFAULT_ARCHITECTURES if a != "ensemble"]


def write_panel(path: Path, count: int) -> None:
    """``count`` synthetic daily series in long format: ``ID, DATE, VALUE``."""
    start = date(2020, 1, 1)
    lines = ["ID,DATE,VALUE"]
    for i in range(count):
        values = synthetic_values(seed=100 + i, noise_level=3.0 + 0.25 * i)
        lines += [f"s{i:02d},{start + timedelta(days=d)},{v:.4f}" for d, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed(argv: list[str]) -> tuple[float, int, str]:
    """Run ``forecast-train`` with ``argv``: wall seconds, exit status, and its last lines."""
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        status = cli.main(argv)
    return time.perf_counter() - started, status, out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--epochs", type=int, help="most epochs (default: each architecture's)")
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "panel.csv"
        write_panel(data, args.series)
        common = [
            *f"--data {data} --id-column ID --time-column DATE --column VALUE".split(),
            *["--season-length", "365", "--split", "1000", "--no-references", "--quiet"],
            *[option for a in PANEL_ARCHITECTURES for option in ("--arch", a)],
            *(["--epochs", str(args.epochs)] if args.epochs else []),
        ]
        import ray

        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        for engine in ("local", "ray"):
            load = os.getloadavg()
            seconds, status, out = timed(
                [*common, "--store", str(Path(tmp) / engine), "--engine", engine]
            )
            printed = out.strip().splitlines()
            if status == 2 or len(printed) < 2:
                raise SystemExit(f"{engine}: forecast-train exited {status}: {out.strip()}")
            total = printed[-2]
            rows.append((engine, seconds, status, total, load))
            print(f"{engine}: {seconds:.1f} s, exit {status}; {total}; load {load}", flush=True)
        ray.shutdown()
    local = rows[0][1]
    lines = [
        "# Fan-out: many series, local engine against Ray",
        "",
        f"{args.series} synthetic daily series (1461 values) x the default set"
        f" without its ensemble ({', '.join(PANEL_ARCHITECTURES)}), epochs:"
        f" {args.epochs or 'each one its own (early stopping)'}, no statistical references.",
        f"Ray: a local cluster of {args.cpus} CPUs, one task per (series, architecture), TensorFlow"
        " on one thread per task. Local: one process, TensorFlow's own thread pools.",
        f"Machine: {os.cpu_count()} cores, {platform.platform()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "The machine was shared with other sessions: the load averages (1, 5, 15 min) at each",
        "start are beside the figures, and with a load above the core count the numbers are from",
        "a loaded machine.",
        "",
        "| engine | wall seconds | speed-up | exit | series totals (published, failed, task seconds) | load at start |",
        "|---|---:|---:|---:|---|---|",
    ]
    for engine, seconds, status, total, load in rows:
        lines.append(
            f"| {engine} | {seconds:.1f} | {local / seconds:.2f}x | {status} | {' '.join(total.split())}"
            f" | {', '.join(f'{x:.1f}' for x in load)} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
