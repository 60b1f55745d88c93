"""Many series at once: a long-format CSV's series, each trained per architecture by an engine.

The unit of work is one :class:`~training.pipeline.TrainConfig` (one series, one architecture),
trained and published by the CLI's own :func:`training.cli._train_and_publish`. The ``local``
engine runs the units in this process, one after another; the ``ray`` engine submits each as a
Ray task with one CPU (TensorFlow held to one thread) and yields them as they finish. Every unit
publishes straight into the shared store (:mod:`training.publish` is atomic with many writers).

A later per-series step (an ensemble of the series' members) fits this shape: on Ray it would be
a task that takes its members' result references as arguments, so Ray runs it after them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from training import cli
from training.data import read_panel

if TYPE_CHECKING:
    from training.pipeline import Published, TrainConfig

Outcome = tuple["TrainConfig", "Published | cli.Failed", float]
RAY_MISSING = "--engine ray needs Ray: pip install '.[ray]'"


class Engine(Protocol):
    """Trains and publishes units, yielding ``(config, outcome, seconds)`` as each finishes."""

    def run(self, configs: Sequence[TrainConfig], store: Path) -> Iterator[Outcome]: ...


def train_one(config: TrainConfig, store: Path) -> tuple[Published | cli.Failed, float]:
    """Train and publish one unit; a model that cannot be trained is a :class:`cli.Failed`."""
    started = time.perf_counter()
    outcome: Published | cli.Failed
    try:
        outcome = cli._train_and_publish(config, store)
    except cli.ModelFailed as e:
        outcome = cli.Failed(config.model_name, " ".join(str(e).split()))
    return outcome, time.perf_counter() - started


class LocalEngine:
    """Every unit in this process, in order."""

    def run(self, configs: Sequence[TrainConfig], store: Path) -> Iterator[Outcome]:
        for config in configs:
            yield (config, *train_one(config, store))


def _ray_unit(config: TrainConfig, store: str) -> tuple[Published | cli.Failed, float]:
    """A Ray task's body: one TensorFlow thread, so tasks on separate cores do not contend."""
    import tensorflow as tf

    # A reused worker has TensorFlow running already, with the threads set by its first task.
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    outcome, seconds = train_one(config, Path(store))
    if not isinstance(outcome, cli.Failed):
        # The trained network stays in the worker: a tf.Module does not pickle back.
        outcome = dataclasses.replace(outcome, servable=None)
    return outcome, seconds


class RayEngine:
    """Each unit a Ray task of one CPU; joins ``address`` or the running or a new local cluster."""

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise cli.CliError(RAY_MISSING) from None
        self.ray = ray
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(address=address, include_dashboard=False, log_to_driver=False)

    def run(self, configs: Sequence[TrainConfig], store: Path) -> Iterator[Outcome]:
        ray = self.ray
        # One-thread TensorFlow also through the environment, before a fresh worker imports it.
        env = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
        task = ray.remote(num_cpus=1, max_retries=0, runtime_env={"env_vars": env})(_ray_unit)
        started = time.perf_counter()
        pending = {
            task.remote(dataclasses.replace(c, verbose=False), str(store.resolve())): c
            for c in configs
        }
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            config = pending.pop(ref)
            try:
                outcome, seconds = ray.get(ref)
            except ray.exceptions.RayError as e:
                # A crashed or killed worker, or an error the task could not report as Failed.
                reason = " ".join(str(e).split())[:200]
                outcome, seconds = (
                    cli.Failed(config.model_name, reason),
                    time.perf_counter() - started,
                )
            yield config, outcome, seconds


def engine(name: str, address: str | None = None) -> Engine:
    """The engine called ``name`` (``local`` or ``ray``)."""
    return RayEngine(address) if name == "ray" else LocalEngine()


def series_name(dataset: str, key: str) -> str:
    """``<dataset>-<id>``, the id lowercased with other characters replaced by '-'."""
    return f"{dataset}-{re.sub(r'[^a-z0-9_-]+', '-', key.lower()).strip('-_') or 'id'}"


def panel_configs(args: argparse.Namespace, names: list[str]) -> list[TrainConfig]:
    """Every series' configs, all checked before anything trains; collisions refused."""
    tables = read_panel(
        args.data, args.id_column, args.column, args.time_column, args.fill or "refuse"
    )
    dataset = cli.dataset_name(args.data)
    seen: dict[str, str] = {}
    configs = []
    for key, table in tables.items():
        name = series_name(dataset, key)
        if name in seen:
            raise cli.CliError(
                f"series {seen[name]!r} and {key!r} would both be named {name!r}; rename one"
            )
        seen[name] = key
        configs += cli._configs(args, names, cli._series(args, (name, table)))
    return configs


def series_table(results: Sequence[Outcome]) -> str:
    """One row per series (published, failed, seconds of its models) and a row of totals."""
    per: dict[str, list[int | float]] = {}
    for config, outcome, seconds in results:
        row = per.setdefault(config.series.name, [0, 0, 0.0])
        row[1 if isinstance(outcome, cli.Failed) else 0] += 1
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


def run_panel(args: argparse.Namespace, names: list[str]) -> int:
    """Train every series of ``--data`` by ``--id-column`` on ``--engine``; the exit status."""
    configs = panel_configs(args, names)
    chosen = engine(args.engine, args.address)
    order = {c.model_name: i for i, c in enumerate(configs)}
    results: list[Outcome] = []
    started = time.perf_counter()
    try:
        for config, outcome, seconds in chosen.run(configs, args.store):
            results.append((config, outcome, seconds))
            if isinstance(outcome, cli.Failed):
                cli._fail(f"{outcome.name}: {outcome.reason}", cli.SOME_FAILED)
            elif not args.quiet:
                mae = outcome.metadata.validation.scores["model"].mae
                print(
                    f"[{len(results)}/{len(configs)}] published {outcome.name} version"
                    f" {outcome.version} (validation MAE {mae:.3f}, {seconds:.1f} s)",
                    flush=True,
                )
    finally:
        results.sort(key=lambda r: order[r[0].model_name])
        if results:
            print(cli.results_table([(o, s) for _, o, s in results]), flush=True)
            print(series_table(results), flush=True)
            print(f"wall time {time.perf_counter() - started:.1f} s on {args.engine}", flush=True)
    failed = sum(isinstance(o, cli.Failed) for _, o, _ in results)
    if failed == 0:
        return cli.ALL_PUBLISHED
    return cli.NONE_PUBLISHED if failed == len(results) else cli.SOME_FAILED
