"""Faults around the service: a publish killed mid-export, damaged versions, a missing or
unreadable store, and versions published and removed while requests are in flight.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from contract import store as store_format
from contract.metadata import ModelMetadata
from contract.publishing import publish
from tests.app.support import TestClient, error_of, rescan, running
from tests.support import WINDOW, copy_of
from training.architectures import linear
from training.export import Servable, save


def _listing(client: TestClient) -> dict[str, list[tuple[int, str]]]:
    """Every model with its (version, state) pairs, as GET /models shows them."""
    r = client.get("/models")
    assert r.status_code == 200, r.text
    return {
        m["name"]: [(v["version"], v["state"]) for v in m["versions"]] for m in r.json()["models"]
    }


def _wait_for(check: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


# ---- a publish killed with SIGKILL in the middle of its export ----

SLOW_EXPORT = textwrap.dedent(
    """
    import shutil, sys, time
    from pathlib import Path
    from contract import store
    from contract.publishing import publish

    root, source = Path(sys.argv[1]), Path(sys.argv[2])

    def build(folder):
        shutil.copy2(source / "saved_model.pb", folder / "saved_model.pb")
        print("half-written", flush=True)
        time.sleep(120)  # killed here: variables/ and metadata.json never arrive
        shutil.copytree(source / "variables", folder / "variables")
        return store.read_metadata(source)

    publish(root, "linear", build)
    """
)


def test_a_publish_killed_mid_export_is_never_listed_or_served(
    store: Path, series: np.ndarray
) -> None:
    source = store_format.version_dir(store, "linear", 2)
    expected = {
        "dense": [(1, "AVAILABLE")],
        "gru": [(1, "AVAILABLE")],
        "linear": [(1, "AVAILABLE"), (2, "AVAILABLE")],
    }
    with running(store, reload_seconds=0.1) as client:
        child = subprocess.Popen(
            [sys.executable, "-c", SLOW_EXPORT, str(store), str(source)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "half-written\n"
            staged = [p for p in (store / store_format.STAGING_DIR).iterdir() if p.is_dir()]
            assert len(staged) == 1 and (staged[0] / "saved_model.pb").exists()
            rescan(client)
            assert _listing(client) == expected  # the half-written export is not a version
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL
        time.sleep(0.3)  # a few rounds of the watch over the dead export
        assert _listing(client) == expected
        r = client.post("/forecast", json={"model": "linear", "series": series[:60].tolist()})
        assert r.status_code == 200 and r.json()["model"]["version"] == 2

    # A server started afresh on the store sees the same; the leftover stays in staging.
    assert len([p for p in (store / store_format.STAGING_DIR).iterdir() if p.is_dir()]) == 1
    with running(store) as client:
        assert _listing(client) == expected
        assert client.get("/ready").status_code == 200
        # The next publish clears the dead export and takes the next number; it is served.
        version, _ = publish(store, "linear", copy_of(source))
        assert version == 3
        assert list((store / store_format.STAGING_DIR).iterdir()) == []
        rescan(client)
        assert _listing(client)["linear"] == [(1, "AVAILABLE"), (2, "AVAILABLE"), (3, "AVAILABLE")]


# ---- damaged versions (tests/app/test_registry.py covers garbage, empty, bad metadata) ----


def _damage(folder: Path, how: str) -> None:
    if how == "truncated variables":
        data = next((folder / "variables").glob("variables.data-*"))
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif how == "no saved_model.pb":
        (folder / "saved_model.pb").unlink()
    elif how == "metadata not UTF-8":
        (folder / store_format.METADATA_FILE).write_bytes(b"\xff\xfe{\x00garbage")
    elif how == "metadata is a folder":
        (folder / store_format.METADATA_FILE).unlink()
        (folder / store_format.METADATA_FILE).mkdir()


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("truncated variables", ""),
        ("no saved_model.pb", "saved_model.pb"),
        ("metadata not UTF-8", "utf-8"),
        ("metadata is a folder", "directory"),
    ],
)
def test_a_damaged_version_is_failed_with_its_error_and_the_rest_serve(
    client: TestClient, store: Path, series: np.ndarray, how: str, words: str
) -> None:
    folder = store / "linear" / "3"
    shutil.copytree(store / "linear" / "2", folder)
    _damage(folder, how)
    (store / "linear" / "4").write_text("a file where a version folder would be")
    rescan(client)

    model = client.get("/models/linear").json()
    versions = {v["version"]: v for v in model["versions"]}
    assert sorted(versions) == [1, 2, 3]  # the plain file "4" is no version at all
    assert versions[3]["state"] == "FAILED"
    assert versions[3]["error"] and words in versions[3]["error"]
    assert str(store) not in versions[3]["error"] and "Traceback" not in versions[3]["error"]
    assert model["default_version"] == 2
    r = client.post("/forecast", json={"model": "linear", "series": series[:60].tolist()})
    assert r.status_code == 200 and r.json()["model"]["version"] == 2
    r = client.post(
        "/forecast", json={"model": "linear", "version": 3, "series": series[:60].tolist()}
    )
    assert r.status_code == 503 and error_of(r)["code"] == "model_unavailable"
    assert client.get("/ready").status_code == 200


# ---- a model that overflows: whose fault it is decides the answer ----


def test_an_overflow_is_blamed_on_the_series_or_on_the_horizon_by_name(
    store: Path, series: np.ndarray
) -> None:
    # A real SavedModel that doubles the last step each time: its recursive forecast grows as
    # 2^steps and overflows float32 after about 128 steps, on any series that is not flat.
    network = linear(WINDOW, 1)
    weights = np.zeros((WINDOW, 1), np.float32)
    weights[-1, 0] = 2.0
    network.set_weights([weights, np.zeros(1, np.float32)])
    template = store_format.read_metadata(store_format.version_dir(store, "linear", 1))

    def build(folder: Path) -> ModelMetadata:
        save(Servable(network, WINDOW, 1, False, 1.0), folder)
        return template

    publish(store, "doubling", build)
    with running(store) as client:
        body = {"model": "doubling", "series": series[:60].tolist(), "horizon": 1000}
        r = client.post("/forecast", json=body)
        assert r.status_code == 422, r.text
        error = error_of(r)
        assert error["code"] == "forecast_diverged"
        steps = error["details"]["finite_steps"]
        assert 50 < steps < 200 and f"horizon of at most {steps}" in error["message"]
        r = client.post("/forecast", json={**body, "horizon": steps})
        assert r.status_code == 200 and len(r.json()["forecast"]["values"]) == steps

        # Values beyond 1.8e19 whose differences overflow float32 inside the model.
        huge = [3e38 * (-1) ** i for i in range(60)]
        for path, payload in (
            ("/forecast", {"model": "doubling", "series": huge}),
            ("/v1/models/doubling:predict", {"instances": [huge[:WINDOW]]}),
        ):
            r = client.post(path, json=payload)
            message = error_of(r)["message"] if path == "/forecast" else r.json()["error"]
            assert r.status_code in (400, 422) and "too large" in message, r.text
            assert "3e+38" in message


# ---- a store that is missing or unreadable ----


@pytest.mark.parametrize(
    ("make", "words"),
    [
        ("regular file", "the model store path is not a folder"),
        ("dangling symlink", "the model store folder does not exist"),
    ],
)
def test_an_unusable_store_at_start_is_unready_with_the_reason_then_recovers(
    tmp_path: Path, trained_store: Path, series: np.ndarray, make: str, words: str
) -> None:
    root = tmp_path / "store"
    target = tmp_path / "elsewhere"
    if make == "regular file":
        root.write_text("not a store")
    else:
        root.symlink_to(target)
    with running(root, reload_seconds=0.2) as client:
        assert client.get("/health").status_code == 200
        r = client.get("/ready")
        assert r.status_code == 503
        error = error_of(r)
        assert error["code"] == "not_ready" and words in error["message"]
        assert str(tmp_path) not in r.text
        assert client.get("/models").json()["store_error"] == words
        r = client.post("/forecast", json={"model": "linear", "series": series[:60].tolist()})
        assert r.status_code == 503 and error_of(r)["code"] == "not_ready"

        if make == "regular file":
            root.unlink()
            shutil.copytree(trained_store, root)
        else:
            shutil.copytree(trained_store, target)  # the link now leads somewhere
        _wait_for(
            lambda: client.get("/health").json()["versions_available"] == 4,
            "the watch finds the store and loads its versions",
        )
        assert client.get("/ready").status_code == 200
        assert client.get("/models").json()["store_error"] is None
        r = client.post("/forecast", json={"model": "linear", "series": series[:60].tolist()})
        assert r.status_code == 200, r.text


def test_a_store_that_becomes_unreadable_keeps_serving_what_is_loaded(
    client: TestClient, store: Path, series: np.ndarray
) -> None:
    moved = store.with_name("moved-away")
    store.rename(moved)
    store.write_text("the folder was replaced by a file")
    rescan(client)
    listed = client.get("/models").json()
    assert listed["store_error"] == "the model store path is not a folder"
    assert [m["name"] for m in listed["models"]] == ["dense", "gru", "linear"]
    assert client.get("/ready").status_code == 200
    r = client.post("/forecast", json={"model": "gru", "series": series[:60].tolist()})
    assert r.status_code == 200, r.text

    store.unlink()
    moved.rename(store)
    rescan(client)
    assert client.get("/models").json()["store_error"] is None


# ---- hot reload while requests are in flight ----


RELOAD_SECONDS = 0.1


@dataclass
class Timeline:
    """When each version was in the store: version -> [appeared, disappeared)."""

    spans: dict[int, list[float]] = field(default_factory=dict)

    def present(self, version: int, start: float, end: float, grace: float) -> bool:
        """Whether ``version`` was in the store during a request, or left it ``grace`` before."""
        span = self.spans.get(version)
        return span is not None and span[0] <= end and start <= span[1] + grace


def test_publish_and_remove_under_load_fail_no_request(store: Path, series: np.ndarray) -> None:
    timeline = Timeline({1: [-np.inf, np.inf], 2: [-np.inf, np.inf]})
    body = {"model": "linear", "series": series[:120].tolist(), "horizon": 5}
    results: list[tuple[int, int | None, float, float]] = []  # status, version, sent, answered
    stop = threading.Event()

    with running(store, reload_seconds=RELOAD_SECONDS) as client:

        def send() -> None:
            while not stop.is_set():
                t0 = time.monotonic()
                r = client.post("/forecast", json=body)
                t1 = time.monotonic()
                version = r.json()["model"]["version"] if r.status_code == 200 else None
                results.append((r.status_code, version, t0, t1))

        def served_since(version: int, since: float) -> bool:
            return any(v == version and t0 > since for _, v, t0, _ in list(results))

        senders = [threading.Thread(target=send, daemon=True) for _ in range(3)]
        for thread in senders:
            thread.start()
        try:
            _wait_for(lambda: len(results) >= 20, "requests flow")
            timeline.spans[3] = [time.monotonic(), np.inf]  # the rename happens inside publish
            version, folder = publish(
                store, "linear", copy_of(store_format.version_dir(store, "linear", 2))
            )
            assert version == 3
            _wait_for(lambda: served_since(3, timeline.spans[3][0]), "version 3 is served")

            # Removing the served version: moved out of the model folder first, so the
            # rescan sees it gone at once, then deleted while requests may still hold it.
            trash = store / store_format.STAGING_DIR / "removed-linear-3"
            os.rename(folder, trash)
            removed = time.monotonic()
            timeline.spans[3][1] = removed
            shutil.rmtree(trash)
            _wait_for(lambda: served_since(2, removed + 0.3), "version 2 is served again")
        finally:
            stop.set()
            for thread in senders:
                thread.join(timeout=30)

    failures = [r for r in results if r[0] != 200]
    assert failures == [] and len(results) >= 40
    # The server learns of a removal at its next rescan; until then it may still answer with
    # the removed version (from memory, whole). One interval plus a scan's own time is allowed.
    grace = RELOAD_SECONDS + 1.0
    wrong = [r for r in results if not timeline.present(r[1] or 0, r[2], r[3], grace)]
    assert wrong == []
    assert {v for _, v, _, _ in results} == {2, 3}
