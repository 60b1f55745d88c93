"""The model store's layout, names, versions, labels and the SavedModels' signatures.

Layout (TensorFlow Serving's, so TF Serving itself can serve the same folder)::

    <store>/<name>/<version>/saved_model.pb
                             variables/
                             assets/            plots of the training run (validation.png)
                             metadata.json      :class:`contract.metadata.ModelMetadata`
    <store>/<name>/labels.json                  optional: {"stable": 1, "canary": 2}
    <store>/.staging/                           versions being built; never served

``<name>`` matches :data:`NAME_PATTERN`; ``<version>`` is a positive integer written without
leading zeros. A version is published by renaming a complete folder from ``.staging`` into place
(``contract.publishing``), so it appears whole or not at all, and is never overwritten.

Signatures of every SavedModel (float32 raw values in, raw values out):

* ``serving_default``: ``window`` ``[batch, window_size]`` -> ``forecast`` ``[batch, horizon]``;
* ``forecast``: ``window`` ``[batch, window_size]``, ``steps`` int32 scalar ->
  ``forecast`` ``[batch, steps]``, the model applied recursively ``ceil(steps / horizon)`` times
  (XLA-compiled: each distinct ``[batch, steps]`` compiles once, so callers round ``steps`` up);
* ``windowed``: ``series`` ``[batch, n]`` -> ``forecast`` ``[batch, n - window_size]``, the
  one-step-ahead forecast of ``series[:, window_size:]`` from the window just before each value,
  all in one call.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from contract.metadata import ModelMetadata

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
METADATA_FILE = "metadata.json"
LABELS_FILE = "labels.json"
ASSETS_DIR = "assets"
VALIDATION_PICTURE = "validation.png"  # in ASSETS_DIR: the validation forecast, drawn at training
STAGING_DIR = ".staging"
MEMBERS_DIR = "members"  # an ensemble version's copies of its members: members/<i>/

SERVING_SIGNATURE = "serving_default"
FORECAST_SIGNATURE = "forecast"
WINDOWED_SIGNATURE = "windowed"
SIGNATURES = (SERVING_SIGNATURE, FORECAST_SIGNATURE, WINDOWED_SIGNATURE)
SERIES_KEY = "series"
INPUT_KEY = "window"
STEPS_KEY = "steps"
OUTPUT_KEY = "forecast"


class StoreError(Exception):
    """The store or a request to it is not as the format requires."""


class InvalidName(StoreError, ValueError):
    """A model name or label that does not match the format's pattern."""


class StoreMissing(StoreError):
    """The store does not exist (a local store: its folder is missing)."""


class AssetNotFound(StoreError):
    """The version holds no such asset."""


# What a load read, as (relative path, mtime ns, size): a FAILED version is retried when it changes.
Fingerprint = tuple[tuple[str, int, int], ...]
# Builds a version's files in the folder it is given and returns its metadata (see publish).
Build = Callable[[Path], ModelMetadata]


class ModelStore(Protocol):
    """Every access the trainer and the service make to a store, whatever holds it.

    :class:`LocalStore` is the folder implementation; the README's Storage section says how an
    object store would implement each method.
    """

    @property
    def location(self) -> str:
        """Where the store is (a folder, a bucket's URL), as logs name it."""
        ...

    def names(self) -> list[str]:
        """The models, sorted; :class:`StoreMissing` or :class:`StoreError` if unreadable."""
        ...

    def versions(self, name: str) -> list[int]:
        """The published versions of ``name``, ascending."""
        ...

    def read_metadata(self, name: str, version: int) -> ModelMetadata:
        """One version's ``metadata.json``, validated."""
        ...

    def read_labels(self, name: str) -> dict[str, int]:
        """``name``'s labels (label -> version); {} without any."""
        ...

    def write_labels(self, name: str, labels: dict[str, int]) -> None:
        """Replace ``name``'s labels whole."""
        ...

    def read_asset(self, name: str, version: int, asset: str) -> bytes:
        """A file of the version's ``assets/``; :class:`AssetNotFound` when absent."""
        ...

    def fingerprint(self, name: str, version: int) -> Fingerprint:
        """What changes whenever any file of the version does."""
        ...

    def local_folder(self, name: str, version: int) -> Path:
        """A local folder holding the version's files, for a loader to read."""
        ...

    def publish(self, name: str, build: Build) -> int:
        """Build and publish the next version of ``name``, whole or not at all; its number."""
        ...


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


def files_sha256(folder: Path) -> str:
    """One hash of every file under ``folder``: their relative paths and contents, in order.

    What a version records of files it holds (a ``global`` version's member SavedModels), so a
    file changed, added, truncated or missing is found before anything is loaded.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        header = f"{path.relative_to(folder).as_posix()}\0{path.stat().st_size}\0"
        digest.update(header.encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
