"""Publishing a version into a local store: built in ``.staging/``, renamed into place whole.

:meth:`contract.store.LocalStore.publish` calls :func:`publish`; this module is the local
folder's writer half (an object store would publish differently: see the README's Storage).

Many writers may share one store (trainers in other containers, on other hosts over a shared
volume), so a staging folder's owner is not a process id, which means nothing across PID
namespaces or hosts. Each folder has a lease beside it, ``<folder>.lease``, naming its writer
(host, boot, PID namespace and pid) and renewed by a heartbeat while the build runs. A folder
is abandoned when its writer is known dead (same boot and PID namespace as the cleaner, pid
gone) or when its lease has not been renewed for :data:`STALE_SECONDS`; only then is it removed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from contract.metadata import ModelMetadata
from contract.store import METADATA_FILE, STAGING_DIR, validate_name, versions

LEASE_SUFFIX = ".lease"
HEARTBEAT_SECONDS = 5.0
# A writer that has not renewed its lease for this long is gone (or stalled for minutes); the
# margin over the heartbeat also absorbs clock differences between hosts sharing a volume.
STALE_SECONDS = 300.0


@dataclass(frozen=True)
class Writer:
    """Who is building a staging folder."""

    host: str
    boot_id: str
    pid_namespace: int
    pid: int

    def shares_process_table(self, other: Writer) -> bool:
        """True when a pid of ``other`` means the same process as one of ours."""
        return (self.host, self.boot_id, self.pid_namespace) == (
            other.host,
            other.boot_id,
            other.pid_namespace,
        )


def _this_writer() -> Writer:
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # no /proc: pids are never trusted across writers
        boot_id, namespace = uuid.uuid4().hex, 0
    return Writer(socket.gethostname(), boot_id, namespace, os.getpid())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _abandoned(folder: Path, me: Writer, now: float) -> bool:
    """Whether the staging ``folder``'s writer is gone (see the module's notes)."""
    lease = folder.with_name(folder.name + LEASE_SUFFIX)
    try:
        writer = Writer(**json.loads(lease.read_text(encoding="utf-8")))
        renewed = lease.stat().st_mtime
    except (OSError, ValueError, TypeError):
        # No readable lease: a folder from before leases, or one whose writer died between
        # creating it and its lease. Judged by its own age.
        try:
            renewed = folder.stat().st_mtime
        except OSError:
            return False
        return now - renewed > STALE_SECONDS
    if writer.shares_process_table(me):
        return not _pid_alive(writer.pid)
    return now - renewed > STALE_SECONDS


def _remove_abandoned_staging(staging: Path) -> None:
    """Delete the staging folders (and leases) whose writers are gone; never a live writer's."""
    me, now = _this_writer(), time.time()
    for folder in staging.iterdir():
        if folder.is_dir() and _abandoned(folder, me, now):
            shutil.rmtree(folder, ignore_errors=True)
            folder.with_name(folder.name + LEASE_SUFFIX).unlink(missing_ok=True)
    for lease in staging.glob("*" + LEASE_SUFFIX):
        orphan = not lease.with_name(lease.name.removesuffix(LEASE_SUFFIX)).exists()
        with contextlib.suppress(OSError):
            if orphan and now - lease.stat().st_mtime > STALE_SECONDS:
                lease.unlink()


@contextlib.contextmanager
def _leased(folder: Path) -> Iterator[None]:
    """Hold a renewed lease on ``folder`` (which does not exist yet) while the block runs."""
    lease = folder.with_name(folder.name + LEASE_SUFFIX)
    try:
        lease.write_text(json.dumps(asdict(_this_writer())), encoding="utf-8")
    except OSError:
        lease.unlink(missing_ok=True)  # a full disk may have left it empty
        raise
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                os.utime(lease)

    beating = threading.Thread(target=heartbeat, name=f"lease {folder.name}", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()
        lease.unlink(missing_ok=True)


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
    work = staging / f"{name}-{uuid.uuid4().hex}"
    with _leased(work):
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
