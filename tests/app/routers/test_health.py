"""GET /health and GET /ready."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.app.support import TestClient, error_of, rescan, running


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
    assert r.status_code == 200 and r.json() == {"status": "ready", "versions_available": 4}


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
        assert listed == {"models": [], "store_error": "the model store folder does not exist"}

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
