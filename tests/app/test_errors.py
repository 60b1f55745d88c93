"""One error shape for every failure: FastAPI's own, unknown routes, 401, 413, 503."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.support import TestClient, error_of, running


def test_unknown_route_and_method(shared_client: TestClient) -> None:
    r = shared_client.get("/nowhere")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = shared_client.get("/forecast")
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"
    r = shared_client.get("/v1/nowhere")
    assert r.status_code == 404 and set(r.json()) == {"error"}


@pytest.fixture(scope="module")
def keyed(trained_store: Path) -> Iterator[TestClient]:
    with running(trained_store, api_keys="first-key, second-key") as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/models"),
        ("GET", "/models/linear"),
        ("POST", "/forecast"),
        ("POST", "/forecast/plot"),
        ("GET", "/v1/models/linear"),
        ("POST", "/v1/models/linear:predict"),
        ("GET", "/metrics"),
    ],
)
def test_api_keys_guard_every_route_but_health(keyed: TestClient, method: str, path: str) -> None:
    body = {"model": "linear", "series": [1.0] * 20} if path.startswith("/forecast") else None
    if path.endswith(":predict"):
        body = {"instances": [[1.0] * 16]}
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": "first-key "}):
        r = keyed.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (path, headers)
        message = r.json()["error"] if path.startswith("/v1/") else error_of(r)["message"]
        assert "X-API-Key" in message and "first-key" not in r.text
    for key in ("first-key", "second-key"):
        assert keyed.request(method, path, json=body, headers={"X-API-Key": key}).status_code == 200


def test_health_and_ready_stay_open(keyed: TestClient) -> None:
    assert keyed.get("/health").status_code == 200
    assert keyed.get("/ready").status_code == 200


@pytest.fixture(scope="module")
def small_bodies(trained_store: Path) -> Iterator[TestClient]:
    with running(trained_store, max_body_bytes=2048) as client:
        yield client


def test_oversized_body_with_content_length_is_413(small_bodies: TestClient) -> None:
    r = small_bodies.post("/forecast", json={"model": "linear", "series": [1.5] * 1000})
    assert r.status_code == 413
    error = error_of(r)
    assert error["code"] == "body_too_large"
    assert error["message"] == (
        "the request body is larger than the 2048 bytes this server allows"
        " (FORECAST_MAX_BODY_BYTES)"
    )
    assert error["details"] == {"max_body_bytes": 2048, "setting": "FORECAST_MAX_BODY_BYTES"}


def test_oversized_chunked_body_is_413(small_bodies: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "linear", "series": ['
        for _ in range(500):
            yield b"1.5, "
        yield b"1.5]}"

    r = small_bodies.post(
        "/forecast", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413 and error_of(r)["code"] == "body_too_large"


def test_oversized_predict_body_is_413_in_tf_shape(small_bodies: TestClient) -> None:
    r = small_bodies.post("/v1/models/linear:predict", json={"instances": [[1.0] * 16] * 50})
    assert r.status_code == 413 and "2048" in r.json()["error"]


def test_a_body_under_the_limit_passes(small_bodies: TestClient) -> None:
    r = small_bodies.post("/forecast", json={"model": "linear", "series": [1.5] * 20})
    assert r.status_code == 200, r.text


def test_cors_is_off_by_default(shared_client: TestClient) -> None:
    r = shared_client.get("/health", headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_when_configured(trained_store: Path) -> None:
    with running(trained_store, cors_origins="https://example.org") as client:
        r = client.get("/health", headers={"Origin": "https://example.org"})
        assert r.headers["access-control-allow-origin"] == "https://example.org"
        r = client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
