"""Publishing a version into the store: built in ``.staging/``, renamed into place whole.

The layout and the metadata schema are :mod:`contract`'s; this module is the writer's half.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from contract.metadata import ModelMetadata
from contract.store import METADATA_FILE, STAGING_DIR, validate_name, versions


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
    return datetime.now(UTC)
