"""GET /health and GET /ready."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from app.main import create_app
from contract import store as store_format
from contract.publishing import publish
from tests.app.support import TestClient, error_of, registry_of, rescan, running, settings_for
from tests.support import copy_of


def test_health_reports_the_devices(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["versions_available"] == 4
    assert any(d["device_type"] == "CPU" for d in body["devices"])
    assert all(d["name"].startswith("/device:") for d in body["devices"])
    assert body["tensorflow_version"].startswith("2.")


def test_ready_once_a_version_is_available(client: TestClient) -> None:
    r = client.get("/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "versions_available": 4, "loading": []}


def test_missing_store_starts_unready_then_recovers(tmp_path: Path, trained_store: Path) -> None:
    root = tmp_path / "not-yet"
    with running(root) as client:
        assert client.get("/health").status_code == 200
        r = client.get("/ready")
        assert r.status_code == 503
        error = error_of(r)
        assert error["code"] == "not_ready"
        assert "does not exist" in error["message"] and str(tmp_path) not in r.text
        r = client.post("/forecast", json={"model": "linear", "series": [1.0] * 20})
        assert r.status_code == 503 and error_of(r)["code"] == "not_ready"
        listed = client.get("/models").json()
        assert listed == {
            "models": [],
            "best": [],
            "store_error": "the model store folder does not exist",
        }

        shutil.copytree(trained_store, root)
        rescan(client)
        assert client.get("/ready").status_code == 200
        assert (
            client.post("/forecast", json={"model": "linear", "series": [1.0] * 20}).status_code
            == 200
        )


def test_empty_store_is_unready_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with running(tmp_path / "empty") as client:
        r = client.get("/ready")
        assert r.status_code == 503
        assert "holds no model version" in error_of(r)["message"]


def test_ready_waits_for_every_version_found_at_start(store: Path) -> None:
    """Polled from the moment the app starts: never 200 while a version found at start loads."""
    seen: list[tuple[int, list[str], dict[str, Any]]] = []
    deadline = time.monotonic() + 120
    with TestClient(create_app(settings_for(store, load_workers=1))) as client:
        while not seen or seen[-1][0] != 200:
            r = client.get("/ready")
            listed = client.get("/models").json()["models"]
            seen.append(
                (r.status_code, [v["state"] for m in listed for v in m["versions"]], r.json())
            )
            assert time.monotonic() < deadline, seen[-1]
            time.sleep(0.01)

        _, states, body = seen[-1]
        assert states == ["AVAILABLE"] * 4 and body["loading"] == []
        waiting = [b["error"] for s, _, b in seen if s == 503]
        loading = [e for e in waiting if "still loading" in e["message"]]
        assert loading and all(e["details"]["loading"] for e in loading), waiting

        # A version published later loads in the background; readiness is unaffected.
        publish(store, "linear", copy_of(store_format.version_dir(store, "linear", 1)))
        client.portal.start_task_soon(registry_of(client).rescan)
        later: list[tuple[int, list[str]]] = []
        while True:
            r = client.get("/ready")
            later.append((r.status_code, r.json().get("loading", [])))
            versions = client.get("/models/linear").json()["versions"]
            if versions[-1]["state"] == "AVAILABLE" and len(versions) == 3:
                break
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert {s for s, _ in later} == {200}
    assert ["linear/3"] in [loading for _, loading in later]
