"""Helpers the app's tests share: the training series, publishing, running the real app."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
from fastapi import FastAPI

from app.main import create_app
from app.registry import ModelRegistry
from app.settings import Settings
from training.data import Series, synthetic_values
from training.pipeline import TrainConfig, train_and_publish

with warnings.catch_warnings():
    # Starlette 1.x would rather its TestClient ran on httpx2; pyproject installs httpx, which it
    # still supports. Silenced here, at the one import that warns, and reported to the maintainer.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

WINDOW = 16
SEASON = 50
LENGTH = 400
SPLIT = 300

__all__ = ["TestClient"]


def course_series() -> Series:
    """The course's synthetic series, short, with a season of 50."""
    return Series("synthetic", synthetic_values(length=LENGTH, period=SEASON), SPLIT, SEASON)


def publish(root: Path, architecture: str, name: str, **config: Any) -> int:
    """Train ``architecture`` briefly and publish it as the next version of ``name``."""
    defaults: dict[str, Any] = {"window_size": WINDOW, "epochs": 5, "verbose": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' and TensorFlow's own notices while training
        published = train_and_publish(
            TrainConfig(architecture, course_series(), name=name, **{**defaults, **config}), root
        )
    return published.version


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
    """The value of one sample in Prometheus's text format (0 when absent)."""
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        sample, _, rest = head.partition("{")
        if sample != name:
            continue
        found = set(rest.rstrip("}").split(",")) if rest else set()
        if wanted <= found:
            return float(value)
    return 0.0


ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def uvicorn_server(
    settings: dict[str, str], log: Path, ready: Callable[[str], bool], *args: str
) -> Iterator[tuple[str, int]]:
    """``uvicorn app.main:app`` in a subprocess on a free 127.0.0.1 port; yields (url, port).

    ``settings`` are ``FORECAST_*`` variables; returns once ``ready(url)`` is true (connection
    errors count as not yet), and stops the server on exit.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **settings}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(port), *args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if ready(url):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.25)
        yield url, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
