"""The store contract as the writer sees it: names, versions, labels, atomic publishing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from contract import store
from contract.metadata import FORMAT_VERSION, ModelMetadata
from tests.training.support import metadata_for_tests
from training.publish import publish


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


def test_abandoned_staging_of_dead_processes_is_cleaned(tmp_path: Path) -> None:
    staging = tmp_path / store.STAGING_DIR
    dead = staging / f"m-pid{_dead_pid()}-0123abcd"
    alive = staging / f"m-pid{os.getpid()}-4567cdef"
    for folder in (dead, alive):
        (folder / "variables").mkdir(parents=True)
    publish(tmp_path, "other", _build())
    assert not dead.exists()
    assert alive.exists()  # someone else's build in progress is left alone


def test_metadata_json_validates_and_has_every_field(tmp_path: Path) -> None:
    _, folder = publish(tmp_path, "m", _build())
    raw = json.loads((folder / store.METADATA_FILE).read_text())
    assert set(raw) == set(ModelMetadata.model_fields)
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
    from training.publish import publish

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
        assert len(leftover) == 1  # the build really was under way
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
