"""Helpers the app's tests share: running the real app, reading its answers."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
from fastapi import FastAPI

from app.main import create_app
from app.registry import ModelRegistry
from app.settings import Settings

with warnings.catch_warnings():
    # Starlette 1.x would rather its TestClient ran on httpx2; pyproject installs httpx, which it
    # still supports. Silenced here, at the one import that warns, and reported to the maintainer.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]


def settings_for(root: Path, **overrides: Any) -> Settings:
    """Settings for a test app: explicit, whatever the environment says."""
    values: dict[str, Any] = {
        "model_store": root,
        "reload_seconds": 3600.0,  # tests rescan by hand unless they test the watch itself
        "api_keys": [],
        "cors_origins": [],
        "device": "auto",
        "max_series_length": 100_000,
        "max_horizon": 1000,
        "max_body_bytes": 16 * 2**20,
        "batch_windows": 4096,
        "max_instances": 100_000,
        "grpc_port": 0,  # the gRPC tests give a free port; others need none
    }
    return Settings(**{**values, **overrides})


@contextmanager
def running(root: Path, **overrides: Any) -> Iterator[TestClient]:
    """The real app over ``root``, lifespan running, its first scan of the store finished."""
    app = create_app(settings_for(root, **overrides))
    with TestClient(app) as client:
        rescan(client)
        yield client


def rescan(client: TestClient) -> None:
    """Run one rescan of the store on the app's event loop and wait for it."""
    assert client.portal is not None
    client.portal.call(registry_of(client).rescan)


def registry_of(client: TestClient) -> ModelRegistry:
    """The registry the app's lifespan built."""
    registry: ModelRegistry = cast(FastAPI, client.app).state.registry
    return registry


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The service's error body, checked for its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    error: dict[str, Any] = body["error"]
    return error


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples with these labels in Prometheus's text format (0 when none)."""
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        sample, _, rest = head.partition("{")
        if sample != name:
            continue
        found = set(rest.rstrip("}").split(",")) if rest else set()
        if wanted <= found:
            total += float(value)
    return total


ROOT = Path(__file__).resolve().parents[2]
