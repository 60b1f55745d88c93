"""The app as uvicorn runs it: a real server on a loopback port, and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.harness import serve
from contract import host
from tests.app.support import TestClient


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the module's server writes to stdout and stderr."""
    return tmp_path_factory.mktemp("uvicorn") / "server.log"


@pytest.fixture(scope="module")
def server(trained_store: Path, server_log: Path) -> Iterator[str]:
    """``uvicorn app.main:app`` in a subprocess on 127.0.0.1, configured from the environment.

    Ready means every version found at start has loaded: the test asserts all four are there.
    """
    settings = {
        "FORECAST_MODEL_STORE": str(trained_store),
        "FORECAST_API_KEYS": "socket-key",
        "FORECAST_MAX_BODY_BYTES": "4096",
    }
    with serve(settings, server_log) as running_server:
        yield running_server.url


@pytest.mark.skipif(not host.cuda_logs_are_noise(), reason="NVIDIA's driver or GPUs chosen")
def test_a_host_without_nvidia_driver_starts_without_cuda_logs(
    server: str, server_log: Path
) -> None:
    log = server_log.read_text(encoding="utf-8")
    assert "Application startup complete" in log
    assert "TensorFlow devices: /device:CPU:0" in log
    assert "cuInit" not in log and "cuda drivers" not in log
    assert not [line for line in log.splitlines() if host.is_cuda_log_line(line.encode())]


@pytest.mark.slow
@pytest.mark.skipif(host.has_nvidia_driver(), reason="the host has NVIDIA's driver")
def test_forecast_device_gpu_without_the_driver_refuses_to_start(tmp_path: Path) -> None:
    settings = {"FORECAST_MODEL_STORE": str(tmp_path), "FORECAST_DEVICE": "gpu"}
    with (
        pytest.raises(RuntimeError, match="server exited early") as failed,
        serve(settings, tmp_path / "server.log"),
    ):
        pass
    assert (
        "FORECAST_DEVICE is 'gpu' but TensorFlow finds no GPU (this host has no NVIDIA driver)"
        in str(failed.value)
    )


def test_forecast_over_a_real_socket(server: str, series: np.ndarray) -> None:
    with httpx.Client(base_url=server, headers={"X-API-Key": "socket-key"}, timeout=30) as http:
        ready = {"status": "ready", "versions_available": 4, "loading": []}
        assert http.get("/ready").json() == ready
        r = http.post(
            "/forecast", json={"model": "dense", "series": series[:100].tolist(), "horizon": 3}
        )
        assert r.status_code == 200, r.text
        assert r.json()["model"] == {
            "name": "dense", "version": 1, "architecture": "dense", "window_size": 16, "horizon": 3,
            "season_length": 50,
        }  # fmt: skip
        assert len(r.json()["forecast"]["values"]) == 3
        r = http.post(
            "/v1/models/linear/labels/stable:predict", json={"instances": [series[:16].tolist()]}
        )
        assert r.status_code == 200 and len(r.json()["predictions"]) == 1
        assert http.get("/models", headers={"X-API-Key": "nope"}).status_code == 401


def test_chunked_oversized_body_over_a_real_socket(server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "linear", "series": ['
        for _ in range(1500):
            yield b"1.5, "
        yield b"1.5]}"

    r = httpx.post(
        f"{server}/forecast", content=chunks(), timeout=30,
        headers={"content-type": "application/json", "X-API-Key": "socket-key"},
    )  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"


def test_openapi_documents_every_route_and_the_limits(shared_client: TestClient) -> None:
    doc = shared_client.get("/openapi.json").json()
    paths = set(doc["paths"])
    assert {
        "/health", "/ready", "/models", "/models/{name}", "/models/{name}/versions/{version}",
        "/forecast", "/forecast/plot", "/v1/models/{name}", "/v1/models/{name}:predict",
        "/v1/models/{name}/versions/{version}:predict", "/v1/models/{name}/labels/{label}:predict",
        "/metrics",
    } <= paths  # fmt: skip
    request = doc["components"]["schemas"]["ForecastRequest"]["properties"]
    values, many = request["series"]["anyOf"]  # one series' values, or many series
    assert values["maxItems"] == 100_000 and many["maxItems"] == 10_000
    assert request["horizon"]["maximum"] == 1000
    assert shared_client.get("/docs").status_code == 200
