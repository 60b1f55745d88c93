"""The model store's format: the one contract between ``training`` (writer) and ``app`` (reader).

Layout (TensorFlow Serving's, so TF Serving itself can serve the same folder)::

    <store>/<name>/<version>/saved_model.pb
                             variables/
                             assets/            plots of the training run
                             metadata.json      :class:`ModelMetadata`
    <store>/<name>/labels.json                  optional: {"stable": 1, "canary": 2}
    <store>/.staging/                           versions being built; never served

``<name>`` matches :data:`NAME_PATTERN`; ``<version>`` is a positive integer written without
leading zeros. A version is published by renaming a complete folder from ``.staging`` into place,
so it appears whole or not at all, and an existing version is never overwritten.

Signatures of every SavedModel (float32 raw values in, raw values out):

* ``serving_default``: ``window`` ``[batch, window_size]`` -> ``forecast`` ``[batch, horizon]``;
* ``forecast``: ``window`` ``[batch, window_size]``, ``steps`` int32 scalar ->
  ``forecast`` ``[batch, steps]``, the model applied recursively ``ceil(steps / horizon)`` times
  (XLA-compiled: each distinct ``[batch, steps]`` compiles once, so callers round ``steps`` up);
* ``windowed``: ``series`` ``[batch, n]`` -> ``forecast`` ``[batch, n - window_size]``, the
  one-step-ahead forecast of ``series[:, window_size:]`` from the window just before each value,
  all in one call.

Pure python and pydantic: importing this module does not import TensorFlow.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
LABEL_PATTERN = NAME_PATTERN
METADATA_FILE = "metadata.json"
LABELS_FILE = "labels.json"
STAGING_DIR = ".staging"

SERVING_SIGNATURE = "serving_default"
FORECAST_SIGNATURE = "forecast"
WINDOWED_SIGNATURE = "windowed"
SIGNATURES = (SERVING_SIGNATURE, FORECAST_SIGNATURE, WINDOWED_SIGNATURE)
SERIES_KEY = "series"
INPUT_KEY = "window"
STEPS_KEY = "steps"
OUTPUT_KEY = "forecast"

# Probabilities at which validation residuals are summarised for prediction intervals.
QUANTILE_LEVELS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
    0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995,
)  # fmt: skip


class StoreError(Exception):
    """The store or a request to it is not as the format requires."""


class InvalidName(StoreError, ValueError):
    """A model name or label that does not match the format's pattern."""


class Scores(BaseModel):
    """Accuracy of one method over one set of positions (see ``training.metrics``)."""

    mae: float
    mse: float
    rmse: float
    mape: float | None
    mase: float | None


class DatasetInfo(BaseModel):
    """Which values a version was trained and validated on."""

    name: str
    length: int = Field(gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    split: int = Field(gt=0, description="values before this index were the training part")


class Validation(BaseModel):
    """One-step-ahead scores of the model and every baseline on the same validation positions."""

    start: int = Field(description="first scored index of the series")
    end: int = Field(description="one past the last scored index")
    scores: dict[str, Scores] = Field(description='"model" and one entry per baseline')


class ResidualQuantiles(BaseModel):
    """Quantiles of validation residuals ``actual - forecast`` by steps ahead.

    ``by_step[h - 1][j]`` is the ``levels[j]`` quantile of the residuals ``h`` steps ahead.
    """

    levels: list[float]
    by_step: list[list[float]]
    count: int = Field(ge=0, description="residuals behind the one-step quantiles")


class ModelMetadata(BaseModel):
    """Contents of ``metadata.json``: what a version is, how it was made, how well it does."""

    model_config = ConfigDict(protected_namespaces=())

    format_version: int = FORMAT_VERSION
    name: str
    version: int = Field(ge=0, description="0 until published")
    architecture: str
    window_size: int = Field(gt=0)
    horizon: int = Field(gt=0, description="values forecast per model call")
    season_length: int = Field(gt=0)
    dataset: DatasetInfo
    hyperparameters: dict[str, Any]
    epochs: int = Field(ge=0)
    training_seconds: float = Field(ge=0)
    tensorflow_version: str
    keras_version: str
    created_at: datetime
    validation: Validation
    residual_quantiles: ResidualQuantiles


def validate_name(name: str, what: str = "model name") -> str:
    """Return ``name`` if it matches :data:`NAME_PATTERN`, else raise :class:`InvalidName`."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidName(
            f"invalid {what} {name!r}: use 1-64 of a-z, 0-9, '_' and '-', starting with a letter"
            " or digit"
        )
    return name


def parse_version(text: str) -> int | None:
    """The version a folder name stands for, or None if it is not a canonical positive integer."""
    if text.isascii() and text.isdigit() and not text.startswith("0"):
        return int(text)
    return None


def model_names(store: Path) -> list[str]:
    """Names of the model folders in ``store``, sorted; [] when the store does not exist."""
    if not store.is_dir():
        return []
    return sorted(p.name for p in store.iterdir() if p.is_dir() and NAME_PATTERN.fullmatch(p.name))


def versions(store: Path, name: str) -> list[int]:
    """Published versions of model ``name``, ascending."""
    folder = store / validate_name(name)
    if not folder.is_dir():
        return []
    found = (parse_version(p.name) for p in folder.iterdir() if p.is_dir())
    return sorted(v for v in found if v is not None)


def version_dir(store: Path, name: str, version: int) -> Path:
    """Folder of one version (it may not exist)."""
    if version < 1:
        raise StoreError(f"versions are positive integers, got {version}")
    return store / validate_name(name) / str(version)


def read_metadata(folder: Path) -> ModelMetadata:
    """Parse and validate a version folder's ``metadata.json``."""
    path = folder / METADATA_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StoreError(f"{METADATA_FILE} missing in {folder.name}") from None
    try:
        return ModelMetadata.model_validate_json(text)
    except ValueError as e:
        raise StoreError(f"{METADATA_FILE} is not valid: {e}") from None


def read_labels(store: Path, name: str) -> dict[str, int]:
    """Labels of model ``name`` (label -> version); {} when it has none."""
    path = store / validate_name(name) / LABELS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise StoreError(f"{name}/{LABELS_FILE} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise StoreError(f"{name}/{LABELS_FILE} must be an object of label: version")
    labels: dict[str, int] = {}
    for label, version in raw.items():
        validate_name(label, "label")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise StoreError(f"{name}/{LABELS_FILE}: label {label!r} must name a positive integer")
        labels[label] = version
    return labels


def write_labels(store: Path, name: str, labels: dict[str, int]) -> None:
    """Replace model ``name``'s labels atomically."""
    for label, version in labels.items():
        validate_name(label, "label")
        if version not in versions(store, name):
            raise StoreError(f"label {label!r}: {name} has no version {version}")
    path = store / name / LABELS_FILE
    tmp = path.with_name(f".{LABELS_FILE}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(labels, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_abandoned_staging(staging: Path) -> None:
    """Delete staging folders left by runs that were killed (their pid is gone)."""
    for folder in staging.glob("*-pid*-*"):
        pid = folder.name.rsplit("-pid", 1)[1].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())


def publish(store: Path, name: str, build: Callable[[Path], ModelMetadata]) -> tuple[int, Path]:
    """Build a new version of ``name`` in staging, then move it into place as the next version.

    ``build(folder)`` writes the SavedModel into ``folder`` and returns its metadata; the
    version number and ``metadata.json`` are filled in here. On any failure (or a kill) no
    version folder appears. Returns the new version and its folder.
    """
    validate_name(name)
    staging = store / STAGING_DIR
    staging.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_staging(staging)
    work = staging / f"{name}-pid{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        work.mkdir()
        metadata = build(work)
        (store / name).mkdir(exist_ok=True)
        while True:
            version = max(versions(store, name), default=0) + 1
            stamped = metadata.model_copy(update={"name": name, "version": version})
            (work / METADATA_FILE).write_text(stamped.model_dump_json(indent=2) + "\n", "utf-8")
            _fsync_tree(work)
            target = store / name / str(version)
            try:
                # mkdir-then-rename would briefly show an empty version; rename alone never
                # replaces a non-empty folder, and a lost race simply tries the next number.
                os.rename(work, target)
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise
            return version, target
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def now_utc() -> datetime:
    """The current time, timezone-aware UTC (metadata's ``created_at``)."""
    from datetime import UTC

    return datetime.now(UTC)
