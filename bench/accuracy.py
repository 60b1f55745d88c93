"""Accuracy benchmark: every architecture trained with the production defaults, scored as a client would.

Each architecture is trained with ``TrainConfig(name, synthetic())`` (nothing overridden) and
published into a temporary store. Its SavedModel is then loaded with ``tf.saved_model.load`` and
asked, through ``serving_default`` in one batched call, for the one-step-ahead forecast of every
point of the validation period ``series[1000:]``. The table goes to stdout and to
``bench/results/accuracy.md`` (only when every architecture ran).

    .venv/bin/python bench/accuracy.py              # all architectures
    .venv/bin/python bench/accuracy.py linear lstm  # a subset, printed only
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from contract import store
from training import windows
from training.architectures import ARCHITECTURES
from training.data import synthetic
from training.pipeline import TrainConfig, train_and_publish

RESULTS = Path(__file__).resolve().parent / "results" / "accuracy.md"

NAIVE = 5.938
BEST_BASELINE = ("seasonal_diff_ma_smoothed", 4.567)
NOISE_FLOOR = 4.007
BEST_TARGET = 4.40
SERVE_SET = ("wavenet", "conv_lstm", "lstm", "linear")  # what `make serve` trains
BENCH_BUDGET_S = 20 * 60
SERVE_BUDGET_S = 5 * 60

# The course's notebooks re-run with their hyper-parameters (see /work/shared/seeds/README.md).
COURSE: dict[str, float] = {
    "linear": 5.04,
    "dense": 5.39,
    "simple_rnn": 5.57,
    "simple_rnn_seq2seq": 5.18,
    "stateful_rnn": 6.08,
    "lstm": 6.06,
    "conv_lstm": 4.99,
    "wavenet": 4.56,
}


@dataclass
class Row:
    """One architecture's result."""

    name: str
    window: int
    mae: float
    recorded_mae: float  # what the training run wrote into metadata.json
    epochs: int
    training_seconds: float
    wall_seconds: float  # train + validate + export + publish

    @property
    def course(self) -> float | None:
        return COURSE.get(self.name)

    @property
    def below_naive(self) -> bool:
        return self.mae < NAIVE

    @property
    def meets_course(self) -> bool | None:
        return None if self.course is None else round(self.mae, 3) <= self.course


def client_mae(folder: Path, window: int) -> float:
    """Validation MAE of a published SavedModel, one batched ``serving_default`` call.

    Only the SavedModel and the raw series are used: windows ``x[t - W : t]`` for every
    validation position ``t``, shape ``(n - split, W)``, forecast ``(n - split, 1)``.
    """
    series = synthetic()
    x, split = series.values, series.split
    loaded = tf.saved_model.load(str(folder))
    serve = loaded.signatures[store.SERVING_SIGNATURE]
    inputs = windows.sliding(x[split - window : -1], window).astype(np.float32)
    out = serve(**{store.INPUT_KEY: tf.constant(inputs)})[store.OUTPUT_KEY].numpy()
    return float(np.mean(np.abs(out[:, 0].astype(np.float64) - x[split:])))


def run(name: str, store_path: Path) -> Row:
    """Train ``name`` with the production defaults, publish it, and score the SavedModel."""
    started = time.perf_counter()
    published = train_and_publish(TrainConfig(name, synthetic(), verbose=False), store_path)
    wall = time.perf_counter() - started
    meta = published.metadata
    return Row(
        name=name,
        window=meta.window_size,
        mae=client_mae(published.path, meta.window_size),
        recorded_mae=meta.validation.scores["model"].mae,
        epochs=meta.network.epochs,
        training_seconds=meta.training_seconds,
        wall_seconds=wall,
    )


def _yes(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "**no**")


def table(rows: list[Row]) -> str:
    """The results as a markdown table, best first, with the reference rows after."""
    lines = [
        "| architecture | window | validation MAE | course | below naive | at/below course"
        " | epochs | training s |",
        "| --- | ---: | ---: | ---: | :---: | :---: | ---: | ---: |",
    ]
    for r in sorted(rows, key=lambda r: r.mae):
        course = "-" if r.course is None else f"{r.course:.2f}"
        lines.append(
            f"| {r.name} | {r.window} | {r.mae:.3f} | {course} | {_yes(r.below_naive)}"
            f" | {_yes(r.meets_course)} | {r.epochs} | {r.training_seconds:.1f} |"
        )
    for label, mae in (
        ("*naive (tomorrow = today)*", NAIVE),
        (f"*best course baseline ({BEST_BASELINE[0]})*", BEST_BASELINE[1]),
        ("*noise floor (perfect model)*", NOISE_FLOOR),
    ):
        lines.append(f"| {label} | | {mae:.3f} | | | | | |")
    return "\n".join(lines)


def targets(rows: list[Row], bench_seconds: float) -> list[str]:
    """One line per target: met or MISSED, with the figure."""

    def line(ok: bool, text: str) -> str:
        return f"- {'met' if ok else 'MISSED'}: {text}"

    out = []
    worst = max(rows, key=lambda r: r.mae)
    out.append(
        line(
            all(r.below_naive for r in rows),
            f"every architecture below naive {NAIVE:.3f} (worst: {worst.name} {worst.mae:.3f})",
        )
    )
    for r in rows:
        if r.course is not None:
            out.append(
                line(
                    bool(r.meets_course),
                    f"{r.name} {r.mae:.3f} at or below the course's {r.course:.2f}",
                )
            )
    best = min(rows, key=lambda r: r.mae)
    out.append(
        line(
            round(best.mae, 3) <= BEST_TARGET,
            f"best architecture at or below {BEST_TARGET:.2f} ({best.name} {best.mae:.3f};"
            f" noise floor {NOISE_FLOOR:.3f}, best course baseline {BEST_BASELINE[1]:.3f})",
        )
    )
    out.append(
        line(
            bench_seconds <= BENCH_BUDGET_S,
            f"whole benchmark within {BENCH_BUDGET_S // 60} minutes ({bench_seconds / 60:.1f} min)",
        )
    )
    serve = [r for r in rows if r.name in SERVE_SET]
    if len(serve) == len(SERVE_SET):
        wall = sum(r.wall_seconds for r in serve)
        out.append(
            line(
                wall <= SERVE_BUDGET_S,
                f"`make serve` set ({', '.join(SERVE_SET)}) trained and published within"
                f" {SERVE_BUDGET_S // 60} minutes ({wall:.0f} s here, training alone"
                f" {sum(r.training_seconds for r in serve):.0f} s)",
            )
        )
    return out


def machine() -> str:
    """Cores, TensorFlow version and date, for the results file."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{platform.processor() or platform.machine()}, {usable} usable of {os.cpu_count()} CPU"
        f" cores, {platform.system()} {platform.release()}; Python {platform.python_version()},"
        f" TensorFlow {tf.__version__}, Keras {keras.__version__};"
        f" {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
    )


def main() -> None:
    """Train, score and report every architecture (or those named on the command line)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("architectures", nargs="*", help=f"any of: {', '.join(ARCHITECTURES)}")
    names = parser.parse_args().architectures or list(ARCHITECTURES)
    unknown = sorted(set(names) - set(ARCHITECTURES))
    if unknown:
        parser.error(f"unknown architecture(s): {', '.join(unknown)}")

    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
        for name in names:
            row = run(name, Path(tmp))
            rows.append(row)
            print(
                f"{name}: MAE {row.mae:.3f} (metadata {row.recorded_mae:.3f}), {row.epochs} epochs,"
                f" {row.training_seconds:.1f} s training, {row.wall_seconds:.1f} s in all",
                flush=True,
            )
    bench_seconds = time.perf_counter() - started

    report = "\n".join(
        [
            "# Accuracy benchmark",
            "",
            "Every architecture trained with the production defaults (`TrainConfig(name, synthetic())`)"
            " on `series[:1000]`, exported, loaded back with `tf.saved_model.load` and scored one step"
            " ahead on the validation period `series[1000:]` (461 points) through `serving_default`."
            " Produced by `bench/accuracy.py`.",
            "",
            f"Machine: {machine()}. Benchmark wall time: {bench_seconds / 60:.1f} min.",
            "",
            table(rows),
            "",
            "## Targets",
            "",
            *targets(rows, bench_seconds),
            "",
        ]
    )
    print()
    print(report)
    if names == list(ARCHITECTURES):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report, encoding="utf-8")
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
