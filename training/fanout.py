"""Many series at once: an engine trains a panel's units and yields each outcome as it finishes.

The unit of work is one config (:data:`training.units.Unit`: one series, one architecture),
trained and published by :func:`training.units.train_one`. The ``local`` engine runs the units
in this process, one after another; the ``ray`` engine submits each as a Ray task with one CPU
(TensorFlow held to one thread) and yields them as they finish. Every unit publishes straight
into the shared store (:mod:`contract.publishing` is atomic with many writers). The CLI builds the
units from ``--id-column`` and reports them (:func:`training.cli.run_panel`).

A later per-series step (an ensemble of the series' members) fits this shape: on Ray it would be
a task that takes its members' result references as arguments, so Ray runs it after them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from training.units import CliError, Failed, train_one

if TYPE_CHECKING:
    from training.pipeline import Published
    from training.units import Unit

Outcome = tuple["Unit", "Published | Failed", float]
RAY_MISSING = "--engine ray needs Ray: pip install '.[ray]'"


class Engine(Protocol):
    """Trains and publishes units, yielding ``(config, outcome, seconds)`` as each finishes."""

    def run(self, configs: Sequence[Unit], store: Path) -> Iterator[Outcome]: ...


class LocalEngine:
    """Every unit in this process, in order."""

    def run(self, configs: Sequence[Unit], store: Path) -> Iterator[Outcome]:
        for config in configs:
            yield (config, *train_one(config, store))


def _ray_unit(config: Unit, store: str) -> tuple[Published | Failed, float]:
    """A Ray task's body: one TensorFlow thread, so tasks on separate cores do not contend."""
    import tensorflow as tf

    # A reused worker has TensorFlow running already, with the threads set by its first task.
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    outcome, seconds = train_one(config, Path(store))
    if not isinstance(outcome, Failed):
        # The trained network stays in the worker: a tf.Module does not pickle back.
        outcome = dataclasses.replace(outcome, servable=None)
    return outcome, seconds


class RayEngine:
    """Each unit a Ray task of one CPU; joins ``address`` or the running or a new local cluster."""

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise CliError(RAY_MISSING) from None
        self.ray = ray
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(address=address, include_dashboard=False, log_to_driver=False)

    def run(self, configs: Sequence[Unit], store: Path) -> Iterator[Outcome]:
        ray = self.ray
        # One-thread TensorFlow also through the environment, before a fresh worker imports it.
        env = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
        task = ray.remote(num_cpus=1, max_retries=0, runtime_env={"env_vars": env})(_ray_unit)
        started = time.perf_counter()
        pending = {task.remote(c.quiet(), str(store.resolve())): c for c in configs}
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            config = pending.pop(ref)
            try:
                outcome, seconds = ray.get(ref)
            except ray.exceptions.RayError as e:
                # A crashed or killed worker, or an error the task could not report as Failed.
                reason = " ".join(str(e).split())[:200]
                outcome, seconds = (
                    Failed(config.model_name, reason),
                    time.perf_counter() - started,
                )
            yield config, outcome, seconds


def engine(name: str, address: str | None = None) -> Engine:
    """The engine called ``name`` (``local`` or ``ray``)."""
    return RayEngine(address) if name == "ray" else LocalEngine()


def series_name(dataset: str, key: str) -> str:
    """``<dataset>-<id>``, the id lowercased with other characters replaced by '-'."""
    return f"{dataset}-{re.sub(r'[^a-z0-9_-]+', '-', key.lower()).strip('-_') or 'id'}"


def series_table(results: Sequence[Outcome]) -> str:
    """One row per series (published, failed, seconds of its models) and a row of totals."""
    per: dict[str, list[int | float]] = {}
    for config, outcome, seconds in results:
        row = per.setdefault(config.series.name, [0, 0, 0.0])
        row[1 if isinstance(outcome, Failed) else 0] += 1
        row[2] += seconds
    totals = [sum(r[i] for r in per.values()) for i in range(3)]
    rows = [("series", "published", "failed", "seconds")]
    rows += [(k, str(p), str(f), f"{s:.1f}") for k, (p, f, s) in [*per.items(), ("total", totals)]]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    )
