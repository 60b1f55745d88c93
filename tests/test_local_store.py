"""The store interface's local-folder implementation: what the trainer and the server call."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract import store
from contract.local_store import LocalStore
from contract.metadata import ModelMetadata
from tests.training.support import metadata_for_tests


def _build(folder: Path) -> ModelMetadata:
    (folder / store.ASSETS_DIR).mkdir()
    (folder / store.ASSETS_DIR / store.VALIDATION_PICTURE).write_bytes(b"png")
    (folder / "model.bin").write_bytes(b"weights")  # a file no SavedModel has
    return metadata_for_tests()


def test_publish_read_and_list_through_the_interface(tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "store")
    with pytest.raises(store.StoreMissing):
        local.names()
    assert [local.publish("m", _build), local.publish("m", _build)] == [1, 2]
    assert local.names() == ["m"] and local.versions("m") == [1, 2]
    assert local.read_metadata("m", 2).version == 2
    assert local.local_folder("m", 2) == tmp_path / "store" / "m" / "2"
    local.write_labels("m", {"stable": 1})
    assert local.read_labels("m") == {"stable": 1}
    assert local.read_asset("m", 1, store.VALIDATION_PICTURE) == b"png"


def test_an_absent_asset_is_named(tmp_path: Path) -> None:
    local = LocalStore(tmp_path)
    local.publish("m", lambda folder: metadata_for_tests())
    for asset in (store.VALIDATION_PICTURE, "../metadata.json"):
        with pytest.raises(store.AssetNotFound, match="no asset"):
            local.read_asset("m", 1, asset)


def test_the_fingerprint_follows_every_file_of_any_kind(tmp_path: Path) -> None:
    local = LocalStore(tmp_path)
    local.publish("m", _build)
    folder = local.local_folder("m", 1)
    before = local.fingerprint("m", 1)
    assert {part[0] for part in before} >= {".", "model.bin", "assets/validation.png"}
    (folder / "model.bin").write_bytes(b"other weights")
    changed = local.fingerprint("m", 1)
    assert changed != before
    stat = (folder / "model.bin").stat()
    os.utime(folder / "model.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert local.fingerprint("m", 1) != changed
    (folder / "extra.json").write_text("{}")
    assert "extra.json" in {part[0] for part in local.fingerprint("m", 1)}
