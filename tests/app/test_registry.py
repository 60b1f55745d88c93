"""The registry: hot reload, removal, corrupt versions, labels, in-flight references."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from app import forecasting
from app.registry import load_version
from app.version_state import VersionState
from contract import store as store_format
from contract.local_store import LocalStore
from tests.app.support import TestClient, error_of, registry_of, rescan, running
from tests.support import train_tiny


def _states(client: TestClient, name: str) -> dict[int, tuple[str, str | None]]:
    model = client.get(f"/models/{name}").json()
    return {v["version"]: (v["state"], v["error"]) for v in model["versions"]}


def _forecast_version(client: TestClient, name: str, series: np.ndarray) -> int:
    r = client.post("/forecast", json={"model": name, "series": series[:60].tolist()})
    assert r.status_code == 200, r.text
    version: int = r.json()["model"]["version"]
    return version


def test_a_version_published_while_serving_is_served_after_the_watch_rescans(
    store: Path, series: np.ndarray
) -> None:
    with running(store, reload_seconds=0.2) as client:
        assert _forecast_version(client, "linear", series) == 2
        assert train_tiny(store, "linear", "linear", epochs=1, seed=3) == 3
        deadline = time.monotonic() + 30
        while _states(client, "linear").get(3, ("",))[0] != "AVAILABLE":
            assert time.monotonic() < deadline, "version 3 was not loaded by the watch"
            time.sleep(0.1)
        assert _forecast_version(client, "linear", series) == 3


def test_a_removed_version_is_unloaded(client: TestClient, store: Path, series: np.ndarray) -> None:
    shutil.rmtree(store / "linear" / "2")
    rescan(client)
    assert list(_states(client, "linear")) == [1]
    assert _forecast_version(client, "linear", series) == 1
    r = client.post(
        "/forecast", json={"model": "linear", "version": 2, "series": series[:60].tolist()}
    )
    assert r.status_code == 404 and error_of(r)["code"] == "version_not_found"
    r = client.post(
        "/forecast", json={"model": "linear", "version": "canary", "series": series[:60].tolist()}
    )
    assert r.status_code == 404 and "no version 2 (label 'canary')" in error_of(r)["message"]

    shutil.rmtree(store / "gru")
    rescan(client)
    assert client.get("/models/gru").status_code == 404


def _corrupt(store: Path, how: str) -> None:
    folder = store / "linear" / "3"
    if how == "garbage saved_model.pb":
        shutil.copytree(store / "linear" / "2", folder)
        (folder / "saved_model.pb").write_bytes(b"\x00garbage, not a protocol buffer" * 10)
    elif how == "empty folder":
        folder.mkdir()
    elif how == "missing metadata":
        shutil.copytree(store / "linear" / "2", folder)
        (folder / "metadata.json").unlink()
    elif how == "invalid metadata":
        shutil.copytree(store / "linear" / "2", folder)
        (folder / "metadata.json").write_text('{"name": "linear"}')
    elif how == "window mismatch":
        shutil.copytree(store / "linear" / "2", folder)
        meta = store_format.read_metadata(folder).model_copy(update={"window_size": 20})
        (folder / "metadata.json").write_text(meta.model_dump_json())
    elif how == "horizon mismatch":
        shutil.copytree(store / "linear" / "2", folder)
        meta = store_format.read_metadata(folder).model_copy(update={"horizon": 2})
        (folder / "metadata.json").write_text(meta.model_dump_json())


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("garbage saved_model.pb", ""),
        ("empty folder", "metadata.json missing"),
        ("missing metadata", "metadata.json missing"),
        ("invalid metadata", "metadata.json is not valid"),
        ("window mismatch", "does not take window [batch, 20]"),
        ("horizon mismatch", "horizon is 2"),
    ],
)
def test_a_corrupt_version_is_failed_and_the_others_serve(
    client: TestClient, store: Path, series: np.ndarray, how: str, words: str
) -> None:
    _corrupt(store, how)
    rescan(client)
    states = _states(client, "linear")
    state, error = states[3]
    assert state == "FAILED" and error and words in error
    assert str(store) not in client.get("/models").text  # no server paths in what clients see
    assert states[1][0] == states[2][0] == "AVAILABLE"
    assert _forecast_version(client, "linear", series) == 2  # the highest AVAILABLE, not 3
    assert _forecast_version(client, "gru", series) == 1
    r = client.post(
        "/forecast", json={"model": "linear", "version": 3, "series": series[:60].tolist()}
    )
    assert r.status_code == 503
    assert error_of(r)["code"] == "model_unavailable" and "failed to load" in error_of(r)["message"]
    tf_status = client.get("/v1/models/linear/versions/3").json()["model_version_status"][0]
    assert tf_status["state"] == "END" and tf_status["status"]["error_code"] == "UNKNOWN"
    assert client.get("/ready").status_code == 200


def test_a_failed_version_is_retried_once_its_files_change(
    client: TestClient, store: Path, series: np.ndarray
) -> None:
    (store / "linear" / "3").mkdir()
    rescan(client)
    assert _states(client, "linear")[3][0] == "FAILED"
    rescan(client)  # unchanged: not retried, still FAILED
    assert _states(client, "linear")[3][0] == "FAILED"
    (store / "linear" / "3").rmdir()
    shutil.copytree(store / "linear" / "2", store / "linear" / "3")
    rescan(client)
    assert _states(client, "linear")[3] == ("AVAILABLE", None)
    assert _forecast_version(client, "linear", series) == 3


def test_invalid_labels_leave_the_versions_served(
    client: TestClient, store: Path, series: np.ndarray
) -> None:
    (store / "linear" / "labels.json").write_text("{not json")
    rescan(client)
    model = client.get("/models/linear").json()
    assert model["labels"] == {} and "not valid JSON" in model["labels_error"]
    assert _forecast_version(client, "linear", series) == 2
    r = client.post(
        "/forecast", json={"model": "linear", "version": "stable", "series": series[:60].tolist()}
    )
    assert r.status_code == 404 and "labels_error" in error_of(r)["details"]


def test_labels_change_without_a_restart(
    client: TestClient, store: Path, series: np.ndarray
) -> None:
    store_format.write_labels(store, "linear", {"stable": 2})
    rescan(client)
    r = client.post(
        "/forecast", json={"model": "linear", "version": "stable", "series": series[:60].tolist()}
    )
    assert r.json()["model"]["version"] == 2


def test_staging_is_never_served(client: TestClient, store: Path) -> None:
    shutil.copytree(store / "linear" / "1", store / ".staging" / "linear-pid1-abcdef")
    rescan(client)
    assert [m["name"] for m in client.get("/models").json()["models"]] == ["dense", "gru", "linear"]


def test_a_held_version_keeps_working_after_it_is_unloaded(
    client: TestClient, store: Path, series: np.ndarray
) -> None:
    registry = registry_of(client)
    held = registry.resolve("linear", 2)  # what a request in flight holds
    before = forecasting.windowed_forecast(held, series).values
    shutil.rmtree(store / "linear" / "2")
    rescan(client)
    assert registry.resolve("linear").version == 1
    after = forecasting.windowed_forecast(held, series).values
    np.testing.assert_array_equal(before, after)
    assert held.version == 2 and held.metadata.version == 2


def test_load_version_loads_and_warms_one_folder(store: Path) -> None:
    entry = load_version(LocalStore(store), "linear", 2)
    assert entry.state is VersionState.AVAILABLE and entry.model is not None
    assert entry.model.tensors.one_step(np.zeros((3, 16), np.float32)).shape == (3, 1)
