"""The versions in the store, loaded and warmed, and which one a request means.

The registry follows TensorFlow Serving: every version folder of ``<store>/<name>/`` is loaded;
the default is the highest AVAILABLE version; labels from ``labels.json`` name versions. A
background task rescans the store: new versions are loaded (off the event loop), removed ones
dropped. Loaded versions are immutable, and the registry's tables are replaced, never edited, so a
request holding a loaded version (a :class:`app.forecaster.Forecaster`) finishes on it even if the version is unloaded meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NoReturn

from app import kinds
from app.errors import LabelNotFound, ModelNotFound, ModelUnavailable, NotReady, VersionNotFound
from app.forecaster import Forecaster
from app.kinds import CallHook
from app.version_state import VersionState
from contract import store
from contract.metadata import ModelMetadata
from contract.store import Fingerprint, ModelStore, StoreError, StoreMissing

logger = logging.getLogger(__name__)


MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class VersionEntry:
    """What the registry knows about one version folder."""

    version: int
    state: VersionState
    fingerprint: Fingerprint = ()
    error: str | None = None
    metadata: ModelMetadata | None = None
    model: Forecaster | None = None


@dataclass(frozen=True)
class ModelEntry:
    """One model folder: its versions (ascending) and labels."""

    name: str
    versions: Mapping[int, VersionEntry] = field(default_factory=dict)
    labels: Mapping[str, int] = field(default_factory=dict)
    labels_error: str | None = None
    error: str | None = None

    def default_version(self) -> VersionEntry | None:
        """The highest AVAILABLE version, which requests without a version get."""
        available = [v for v in self.versions.values() if v.state is VersionState.AVAILABLE]
        return max(available, key=lambda v: v.version, default=None)

    def labels_of(self, version: int) -> list[str]:
        """The labels naming ``version``, sorted."""
        return sorted(label for label, v in self.labels.items() if v == version)


@dataclass(frozen=True)
class _Found:
    """One model folder as a scan finds it."""

    versions: dict[int, Fingerprint]
    labels: dict[str, int]
    labels_error: str | None
    error: str | None


def _scan(source: ModelStore) -> dict[str, _Found]:
    """Every model of the store with its versions and labels (runs in a worker thread)."""
    names = source.names()
    found: dict[str, _Found] = {}
    for name in names:
        try:
            numbers = source.versions(name)
        except OSError as e:
            found[name] = _Found({}, {}, None, f"cannot list versions ({e.strerror})")
            continue
        labels: dict[str, int] = {}
        labels_error = None
        try:
            labels = source.read_labels(name)
        except (StoreError, OSError, UnicodeDecodeError) as e:
            labels_error = _describe(e, source)
        fingerprints = {v: source.fingerprint(name, v) for v in numbers}
        found[name] = _Found(fingerprints, labels, labels_error, None)
    return found


def _describe(error: BaseException, source: ModelStore) -> str:
    """A one-line error message without the server's file paths."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    for path in (os.path.realpath(source.location), source.location):
        if path not in ("", "."):
            text = text.replace(path + os.sep, "").replace(path, "<store>")
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 3] + "..."
    return text


def load_version(
    source: ModelStore, name: str, version: int, on_call: CallHook | None = None
) -> VersionEntry:
    """Load, check and warm one version through its kind's loader; a failure is a FAILED entry."""
    fingerprint = source.fingerprint(name, version)
    try:
        metadata = source.read_metadata(name, version)
    except (StoreError, OSError, UnicodeDecodeError) as e:
        logger.warning("version %s/%s failed to load: %s", name, version, _describe(e, source))
        return VersionEntry(version, VersionState.FAILED, fingerprint, _describe(e, source))
    try:
        folder = source.local_folder(name, version)
        model = kinds.load(folder, name, version, metadata, on_call)
    except Exception as e:
        error = _describe(e, source)
        logger.warning("version %s/%s failed to load: %s", name, version, error)
        return VersionEntry(version, VersionState.FAILED, fingerprint, error, metadata)
    return VersionEntry(version, VersionState.AVAILABLE, fingerprint, None, metadata, model)


class ModelRegistry:
    """The store's versions and their states; resolves a request's model and version.

    Ready means every version the first readable scan found has finished loading (AVAILABLE or
    FAILED) and at least one is AVAILABLE; versions published later load in the background
    without affecting readiness. Up to ``load_workers`` versions load at once.
    """

    def __init__(
        self, source: ModelStore, on_call: CallHook | None = None, load_workers: int = 1
    ) -> None:
        self.source = source
        self._on_call = on_call
        self._load_workers = load_workers
        self._models: Mapping[str, ModelEntry] = {}
        self._scanned = False
        self._initial: frozenset[tuple[str, int]] | None = None
        self.store_error: str | None = None
        self._lock = asyncio.Lock()

    # ---- reading (on the event loop, or from any thread: the tables are never edited) ----

    def models(self) -> list[ModelEntry]:
        """Every model in the store, by name."""
        return [self._models[name] for name in sorted(self._models)]

    def model(self, name: str) -> ModelEntry:
        """One model, or :class:`ModelNotFound`."""
        try:
            store.validate_name(name)
        except store.InvalidName:
            raise ModelNotFound(f"no model named {_shown(name)}") from None
        entry = self._models.get(name)
        if entry is None:
            raise ModelNotFound(f"no model named {_shown(name)}", {"models": sorted(self._models)})
        return entry

    def version_of(self, name: str, version: int | str) -> VersionEntry:
        """The entry for a version number or label of model ``name`` (any state)."""
        entry = self.model(name)
        number = self._number(entry, version)
        found = entry.versions.get(number)
        if found is None:
            via = f" (label {version!r})" if isinstance(version, str) else ""
            raise VersionNotFound(
                f"model {name!r} has no version {number}{via}",
                {"versions": sorted(entry.versions)},
            )
        return found

    def resolve(self, name: str, version: int | str | None = None) -> Forecaster:
        """The loaded model a request means: a version, a label, or None for the default.

        With no version AVAILABLE at all the answer is :class:`NotReady` (503), not "not found".
        """
        if not self.available_count():
            self._no_version_available()
        if version is None:
            entry = self.model(name)
            default = entry.default_version()
            if default is None or default.model is None:
                raise ModelUnavailable(
                    f"model {name!r} has no AVAILABLE version",
                    {"versions": {str(v.version): v.state.value for v in entry.versions.values()}},
                )
            return default.model
        found = self.version_of(name, version)
        if found.model is None:
            reason = "is still loading" if found.state is VersionState.LOADING else "failed to load"
            detail = f": {found.error}" if found.error else ""
            raise ModelUnavailable(
                f"version {found.version} of model {name!r} {reason}{detail}",
                {"version": found.version, "state": found.state.value},
            )
        return found.model

    def _number(self, entry: ModelEntry, version: int | str) -> int:
        if isinstance(version, int):
            return version
        number = store.parse_version(version)
        if number is not None:
            return number
        if version not in entry.labels:
            details: dict[str, object] = {"labels": dict(entry.labels)}
            if entry.labels_error:
                details["labels_error"] = entry.labels_error
            raise LabelNotFound(f"model {entry.name!r} has no label {_shown(version)}", details)
        return entry.labels[version]

    def available_count(self) -> int:
        """How many versions are AVAILABLE."""
        return sum(
            v.state is VersionState.AVAILABLE
            for m in self._models.values()
            for v in m.versions.values()
        )

    def loading(self, initial: bool) -> list[str]:
        """``name/version`` of the versions still loading: those the first scan found, or the rest."""
        found_first = self._initial or frozenset()
        return sorted(
            f"{m.name}/{v.version}"
            for m in self._models.values()
            for v in m.versions.values()
            if v.state is VersionState.LOADING and ((m.name, v.version) in found_first) == initial
        )

    def check_ready(self) -> None:
        """Return when ready (see the class), else raise :class:`NotReady` saying why not."""
        if not self._scanned:
            raise NotReady("the model store has not been scanned yet")
        pending = self.loading(initial=True)
        if pending:
            shown = ", ".join(pending[:10]) + (", ..." if len(pending) > 10 else "")
            raise NotReady(
                f"{len(pending)} of the {len(self._initial or ())} versions found at start are"
                f" still loading: {shown}",
                {"loading": pending},
            )
        if not self.available_count():
            self._no_version_available()

    def _no_version_available(self) -> NoReturn:
        """Raise :class:`NotReady` saying why no version is AVAILABLE."""
        if not self._scanned:
            raise NotReady("the model store has not been scanned yet")
        if self.store_error:
            raise NotReady(f"no model is loaded: {self.store_error}")
        states = [v for m in self._models.values() for v in m.versions.values()]
        if not states:
            raise NotReady("no model is loaded: the model store holds no model version")
        loading = sum(v.state is VersionState.LOADING for v in states)
        failed = [v for v in states if v.state is VersionState.FAILED]
        raise NotReady(
            f"no model is loaded: {loading} version(s) loading, {len(failed)} failed",
            {"loading": loading, "failed": len(failed)},
        )

    # ---- writing (on the event loop only) ----

    async def rescan(self) -> None:
        """Bring the tables in line with the store: load new versions, drop removed ones."""
        async with self._lock:
            try:
                found = await asyncio.to_thread(_scan, self.source)
            except StoreMissing as e:
                self._report_store_error(str(e))
                self._models = {}  # the store is the truth: no folder, no versions
                return
            except StoreError as e:
                # Unreadable is not empty: keep serving what is loaded until it can be read.
                self._report_store_error(str(e))
                return
            finally:
                self._scanned = True
            if self.store_error is not None:
                logger.info("the model store is readable again")
            self.store_error = None
            to_load = self._merge(found)
            if self._initial is None:
                self._initial = frozenset(to_load)
            await self._load(to_load)

    async def _load(self, versions: list[tuple[str, int]]) -> None:
        """Load ``versions``, up to ``load_workers`` at once, each in a worker thread."""
        gate = asyncio.Semaphore(self._load_workers)

        async def one(name: str, version: int) -> None:
            async with gate:
                entry = await asyncio.to_thread(
                    load_version, self.source, name, version, self._on_call
                )
            self._put_version(name, entry)
            if entry.state is VersionState.AVAILABLE:
                logger.info("version %s/%s is AVAILABLE", name, version)

        await asyncio.gather(*(one(name, version) for name, version in versions))

    async def watch(self, interval: float) -> None:
        """Rescan every ``interval`` seconds until cancelled; a failed scan never ends it."""
        while True:
            try:
                await self.rescan()
            except Exception:
                logger.exception("rescanning the model store failed")
            await asyncio.sleep(interval)

    def _report_store_error(self, message: str) -> None:
        if message != self.store_error:
            logger.warning("model store %s: %s", self.source.location, message)
        self.store_error = message

    def _merge(self, found: dict[str, _Found]) -> list[tuple[str, int]]:
        """Adopt a scan; returns the versions to load, newest of each model first."""
        models: dict[str, ModelEntry] = {}
        to_load: list[tuple[str, int]] = []
        for name, seen in found.items():
            old = self._models.get(name)
            if seen.error is not None:
                models[name] = (
                    replace(old, error=seen.error) if old else ModelEntry(name, error=seen.error)
                )
                continue
            versions: dict[int, VersionEntry] = {}
            for number, fingerprint in sorted(seen.versions.items()):
                previous = old.versions.get(number) if old else None
                # Published versions never change; a FAILED one is retried when its files do.
                if previous is not None and (
                    previous.state is not VersionState.FAILED or previous.fingerprint == fingerprint
                ):
                    versions[number] = previous
                else:
                    versions[number] = VersionEntry(number, VersionState.LOADING, fingerprint)
                    to_load.append((name, number))
            models[name] = ModelEntry(name, versions, seen.labels, seen.labels_error)
        for name, old in self._models.items():
            gone = set(old.versions) - set(models[name].versions if name in models else ())
            for number in sorted(gone):
                logger.info("version %s/%s was removed from the store; unloaded", name, number)
        self._models = models
        return sorted(to_load, key=lambda item: (item[0], -item[1]))

    def _put_version(self, name: str, entry: VersionEntry) -> None:
        model = self._models.get(name)
        if model is None or entry.version not in model.versions:
            return
        versions = {**model.versions, entry.version: entry}
        self._models = {**self._models, name: replace(model, versions=versions)}


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
