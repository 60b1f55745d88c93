"""The store contract as the writer sees it: names, versions, labels, atomic publishing."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from contract import store
from contract.metadata import FORMAT_VERSION, ModelMetadata
from contract.publishing import LEASE_SUFFIX, STALE_SECONDS, Writer, _this_writer, publish
from tests.training.support import metadata_for_tests

ROOT = Path(__file__).resolve().parents[2]


def _build(content: str = "model") -> Callable[[Path], ModelMetadata]:
    def build(folder: Path) -> ModelMetadata:
        (folder / "saved_model.pb").write_text(content)
        (folder / "variables").mkdir()
        (folder / "variables" / "variables.index").write_text(content)
        return metadata_for_tests()

    return build


def _staged(root: Path) -> list[str]:
    staging = root / store.STAGING_DIR
    return sorted(p.name for p in staging.iterdir()) if staging.exists() else []


def test_versions_count_up_from_one_and_are_never_overwritten(tmp_path: Path) -> None:
    published = [publish(tmp_path, "m", _build(f"v{i}")) for i in range(1, 4)]
    assert [v for v, _ in published] == [1, 2, 3]
    assert store.versions(tmp_path, "m") == [1, 2, 3]
    for version, folder in published:
        assert folder == tmp_path / "m" / str(version)
        assert (folder / "saved_model.pb").read_text() == f"v{version}"
        meta = store.read_metadata(folder)
        assert (meta.name, meta.version) == ("m", version)
    assert _staged(tmp_path) == []


def test_versions_ignore_folders_that_are_not_canonical_versions(tmp_path: Path) -> None:
    for name in ("1", "10", "2", "01", "0", "x", "-3", "٣"):
        (tmp_path / "m" / name).mkdir(parents=True)
    (tmp_path / "m" / "7").write_text("a file, not a version")
    assert store.versions(tmp_path, "m") == [1, 2, 10]
    assert store.versions(tmp_path, "absent") == []
    assert store.parse_version("12") == 12
    assert store.parse_version("012") is None


def test_model_names_skip_staging_and_invalid_folders(tmp_path: Path) -> None:
    publish(tmp_path, "b", _build())
    publish(tmp_path, "a-1", _build())
    (tmp_path / "Not_A_Name").mkdir()
    assert store.model_names(tmp_path) == ["a-1", "b"]
    assert store.model_names(tmp_path / "missing") == []


@pytest.mark.parametrize("name", ["../x", "A", "", "x/y", ".staging", "-x", "a" * 65, "é"])
def test_invalid_names_are_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(store.InvalidName):
        publish(tmp_path, name, _build())
    assert list(tmp_path.iterdir()) == []


def test_longest_valid_name_is_accepted(tmp_path: Path) -> None:
    name = "a" * 64
    assert publish(tmp_path, name, _build())[0] == 1


def test_a_failing_build_leaves_no_version_and_no_staging(tmp_path: Path) -> None:
    def build(folder: Path) -> ModelMetadata:
        _build()(folder)
        raise RuntimeError("disk on fire")

    publish(tmp_path, "m", _build())
    with pytest.raises(RuntimeError, match="disk on fire"):
        publish(tmp_path, "m", build)
    assert store.versions(tmp_path, "m") == [1]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]
    assert _staged(tmp_path) == []


def test_version_folders_hold_exactly_what_build_wrote_plus_metadata(tmp_path: Path) -> None:
    _, folder = publish(tmp_path, "m", _build())
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert files == [
        "metadata.json",
        "saved_model.pb",
        "variables",
        "variables/variables.index",
    ]


def test_labels_round_trip_and_name_published_versions_only(tmp_path: Path) -> None:
    publish(tmp_path, "m", _build())
    publish(tmp_path, "m", _build())
    assert store.read_labels(tmp_path, "m") == {}
    store.write_labels(tmp_path, "m", {"stable": 1, "canary": 2})
    assert store.read_labels(tmp_path, "m") == {"stable": 1, "canary": 2}
    assert json.loads((tmp_path / "m" / store.LABELS_FILE).read_text()) == {
        "canary": 2,
        "stable": 1,
    }
    with pytest.raises(store.StoreError, match="has no version 3"):
        store.write_labels(tmp_path, "m", {"stable": 3})
    with pytest.raises(store.InvalidName):
        store.write_labels(tmp_path, "m", {"Stable": 1})
    assert store.read_labels(tmp_path, "m") == {"stable": 1, "canary": 2}
    assert store.versions(tmp_path, "m") == [1, 2]  # labels.json is not a version


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be an object"),
        ('{"stable": 0}', "positive integer"),
        ('{"stable": true}', "positive integer"),
        ('{"stable": "1"}', "positive integer"),
    ],
)
def test_malformed_labels_are_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / store.LABELS_FILE).write_text(text)
    with pytest.raises(store.StoreError, match=message):
        store.read_labels(tmp_path, "m")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _staged_by(staging: Path, name: str, writer: Writer | None, age: float = 0.0) -> Path:
    """A staging folder as a writer would leave it: with its lease (unless None), ``age`` old."""
    folder = staging / name
    (folder / "variables").mkdir(parents=True)
    when = time.time() - age
    if writer is not None:
        lease = staging / (name + LEASE_SUFFIX)
        lease.write_text(json.dumps(dataclasses.asdict(writer)))
        os.utime(lease, (when, when))
    os.utime(folder, (when, when))
    return folder


def test_abandoned_staging_is_cleaned_and_live_writers_are_left_alone(tmp_path: Path) -> None:
    staging = tmp_path / store.STAGING_DIR
    me = _this_writer()
    elsewhere = dataclasses.replace(me, host="another-host", pid=_dead_pid())
    other_namespace = dataclasses.replace(me, pid_namespace=me.pid_namespace + 1, pid=1)
    old = STALE_SECONDS + 60
    gone = {
        _staged_by(staging, "dead-here", dataclasses.replace(me, pid=_dead_pid())),
        _staged_by(staging, "silent-elsewhere", elsewhere, age=old),
        _staged_by(staging, "no-lease-old", None, age=old),
    }
    kept = {
        _staged_by(staging, "alive-here", me),
        # A pid means nothing on another host or in another PID namespace: only the lease's
        # heartbeat says whether that writer is still at work.
        _staged_by(staging, "renewed-elsewhere", elsewhere),
        _staged_by(staging, "other-namespace", other_namespace),
        _staged_by(staging, "no-lease-yet", None),
    }
    publish(tmp_path, "other", _build())
    assert {f for f in gone | kept if f.exists()} == kept
    leases = {p.name.removesuffix(LEASE_SUFFIX) for p in staging.glob("*" + LEASE_SUFFIX)}
    assert leases == {"alive-here", "renewed-elsewhere", "other-namespace"}


CONCURRENT_PUBLISHER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from tests.training.support import metadata_for_tests
    from contract.publishing import publish

    root, count = Path(sys.argv[1]), int(sys.argv[2])

    def build(folder):
        (folder / "saved_model.pb").write_text(str(os.getpid()))
        time.sleep(0.4)  # the other writer cleans staging meanwhile
        (folder / "variables").mkdir()
        (folder / "variables" / "done").write_text("complete")
        return metadata_for_tests()

    for _ in range(count):
        publish(root, "m", build)
    """
)


def test_writers_in_separate_pid_namespaces_share_one_store(tmp_path: Path) -> None:
    """Two trainers as two containers would run them: each in its own PID namespace (pid 1 and
    pid 2 there), publishing into one store at once. Neither removes the other's build."""
    python = [sys.executable, "-c", CONCURRENT_PUBLISHER, str(tmp_path), "4"]
    commands = [
        ["unshare", "--pid", "--fork", *python],  # pid 1 in its namespace
        ["unshare", "--pid", "--fork", "sh", "-c", '"$@"; exit $?', "sh", *python],  # pid 2
    ]
    for _ in range(2):
        children = [
            subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in commands
        ]
        for child in children:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
    found = store.versions(tmp_path, "m")
    assert found == list(range(1, 17))
    for version in found:
        folder = store.version_dir(tmp_path, "m", version)
        assert (folder / "variables" / "done").read_text() == "complete"
        assert store.read_metadata(folder).version == version
    assert _staged(tmp_path) == []


def test_metadata_json_validates_and_has_every_field(tmp_path: Path) -> None:
    _, folder = publish(tmp_path, "m", _build())
    raw = json.loads((folder / store.METADATA_FILE).read_text())
    assert set(raw) == {f.alias or k for k, f in ModelMetadata.model_fields.items()}
    assert raw["format_version"] == FORMAT_VERSION
    assert ModelMetadata.model_validate(raw) == store.read_metadata(folder)


def test_unreadable_metadata_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(store.StoreError, match=r"metadata\.json missing"):
        store.read_metadata(tmp_path)
    (tmp_path / store.METADATA_FILE).write_text('{"name": "m"}')
    with pytest.raises(store.StoreError, match="is not valid"):
        store.read_metadata(tmp_path)


KILLED_PUBLISH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from contract import store
    from contract.publishing import publish

    def build(folder):
        (folder / "saved_model.pb").write_bytes(b"partial")
        (folder / "variables").mkdir()
        print("writing", flush=True)
        time.sleep(60)

    publish(Path(sys.argv[1]), "m", build)
    """
)


def test_sigkill_during_export_leaves_no_partial_version(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLISH, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
        leftover = _staged(tmp_path)
        assert leftover == [leftover[0], leftover[0] + LEASE_SUFFIX]  # a build was under way
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert store.versions(tmp_path, "m") == []
    assert not (tmp_path / "m").exists()

    # The next publish removes the dead build and numbers its own version 1.
    version, _ = publish(tmp_path, "m", _build())
    assert version == 1
    assert _staged(tmp_path) == []
