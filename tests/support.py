"""What both suites share: one tiny series, one way to train and publish a tiny model."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from contract import store
from contract.metadata import ModelMetadata
from training.data import Series, synthetic_values

WINDOW = 16
SEASON = 50
LENGTH = 400
SPLIT = 300
MULTI_STEP = {"dense": 3, "gru": 3}  # one vector and one sequence architecture with horizon > 1
# The tiny panel a global version is trained on: series of 12 to 40 values, horizon 4.
PANEL_SERIES = 20
PANEL_HORIZON = 4
GLOBAL_ARCHITECTURES = ("nbeats", "linear")


def tiny_series() -> Series:
    """The course's synthetic shape, 400 values with a season of 50, trained on the first 300."""
    return Series("tiny", synthetic_values(length=LENGTH, period=SEASON), SPLIT, SEASON)


def panel_values(count: int = PANEL_SERIES, seed: int = 0) -> dict[str, np.ndarray]:
    """Short series of very different scales (100 to 2,000), each a wave, a trend and noise."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(count):
        n = int(rng.integers(12, 40))
        t = np.arange(n)
        wave = 10 * (i + 1) * np.sin(t / 3)
        out[f"s{i}"] = 100 * (i + 1) + wave + t * (i % 3) + rng.normal(0, 1, n)
    return out


def write_panel(path: Path, series: dict[str, np.ndarray]) -> Path:
    """A long CSV (``unique_id, ds, y``) of ``series``, the rows of the ids interleaved."""
    rows = [(key, t, v) for key, values in series.items() for t, v in enumerate(values)]
    rows.sort(key=lambda row: (row[1], row[0]))
    lines = [f"{key},{t},{v:.4f}" for key, t, v in rows]
    path.write_text("unique_id,ds,y\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def train_tiny(root: Path, architecture: str, name: str | None = None, **config: Any) -> int:
    """Train ``architecture`` for an epoch on :func:`tiny_series`; publish it; its version."""
    from training.pipeline import TrainConfig, train_and_publish

    defaults: dict[str, Any] = {
        "window_size": WINDOW,
        "epochs": 1,
        "verbose": False,
        "references": False,  # tests/training/test_references.py fits them
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' and TensorFlow's own notices while training
        published = train_and_publish(
            TrainConfig(architecture, tiny_series(), name=name, **{**defaults, **config}), root
        )
    return published.version


def copy_of(source: Path) -> Callable[[Path], ModelMetadata]:
    """A publish build that copies an already trained version (as a second export would)."""
    metadata = store.read_metadata(source)

    def build(folder: Path) -> ModelMetadata:
        for item in source.iterdir():
            if item.name == store.METADATA_FILE:
                continue
            if item.is_dir():
                shutil.copytree(item, folder / item.name)
            else:
                shutil.copy2(item, folder / item.name)
        return metadata

    return build


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as ``[a, b, ..., a]``, or None when it has none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for child in sorted(graph.get(node, ())):
            cycle = visit(child)
            if cycle is not None:
                return cycle
        path.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle is not None:
            return cycle
    return None
