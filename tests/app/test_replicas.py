"""Two replicas, one store: two real servers on loopback see the same versions and labels."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.harness import Server, serve
from contract import store as store_format
from contract.publishing import publish
from tests.support import copy_of

RELOAD_SECONDS = 0.5
pytestmark = pytest.mark.slow


@pytest.fixture
def replicas(store: Path, tmp_path: Path) -> Iterator[list[Server]]:
    settings = {
        "FORECAST_MODEL_STORE": str(store),
        "FORECAST_RELOAD_SECONDS": str(RELOAD_SECONDS),
    }
    with (
        serve(settings, tmp_path / "a.log", "--no-access-log") as a,
        serve(settings, tmp_path / "b.log", "--no-access-log") as b,
    ):
        yield [a, b]


def _until(check: Callable[[], bool], what: str, seconds: float = 60.0) -> float:
    """Seconds until ``check()`` holds."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"timed out waiting until {what}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_two_replicas_follow_one_store(
    replicas: list[Server], store: Path, series: np.ndarray
) -> None:
    body = {"model": "linear", "series": series[:64].tolist()}
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                for server in replicas:
                    statuses[http.post(f"{server.url}/forecast", json=body).status_code] += 1
                    statuses[http.get(f"{server.url}/models").status_code] += 1

    def serves(version: int, label: str | None = None) -> bool:
        asked = {**body, "version": label} if label else body
        return all(
            httpx.post(f"{s.url}/forecast", json=asked, timeout=30).json()["model"]["version"]
            == version
            for s in replicas
        )

    clients = [threading.Thread(target=traffic) for _ in range(2)]
    for thread in clients:
        thread.start()
    try:
        assert serves(2)  # the highest version, on both
        publish(store, "linear", copy_of(store_format.version_dir(store, "linear", 1)))
        published = _until(lambda: serves(3), "both replicas serve the published version 3")

        store_format.write_labels(store, "linear", {"stable": 3, "canary": 1})
        _until(lambda: serves(3, "stable") and serves(1, "canary"), "both follow the labels")

        store_format.write_labels(store, "linear", {"stable": 1, "canary": 2})
        trash = store / store_format.STAGING_DIR / "removed"
        os.rename(store_format.version_dir(store, "linear", 3), trash)
        shutil.rmtree(trash)
        _until(lambda: serves(2), "both replicas drop the removed version 3")
    finally:
        stop.set()
        for thread in clients:
            thread.join()
    assert statuses[200] > 0 and set(statuses) == {200}, statuses
    # A rescan every RELOAD_SECONDS, then one load (a small model loads well within a second).
    assert published < RELOAD_SECONDS + 10
