"""GET /models, /models/{name}, its versions and labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contract import metrics, store
from tests.app.support import TestClient, error_of


def test_models_lists_every_version_with_state_labels_and_metadata(
    shared_client: TestClient, trained_store: Path
) -> None:
    r = shared_client.get("/models")
    assert r.status_code == 200
    body = r.json()
    assert body["store_error"] is None
    models = {m["name"]: m for m in body["models"]}
    assert list(models) == ["dense", "gru", "linear"]
    linear = models["linear"]
    assert linear["default_version"] == 2
    assert linear["labels"] == {"canary": 2, "stable": 1}
    assert [(v["version"], v["state"], v["labels"]) for v in linear["versions"]] == [
        (1, "AVAILABLE", ["stable"]),
        (2, "AVAILABLE", ["canary"]),
    ]
    meta = models["dense"]["versions"][0]["metadata"]
    assert (meta["architecture"], meta["window_size"], meta["horizon"]) == ("dense", 16, 3)
    assert meta["dataset"]["name"] == "tiny" and meta["dataset"]["split"] == 300
    scores = meta["validation"]["scores"]
    assert {"model", "naive", "seasonal_naive"} <= set(scores)
    assert scores["model"]["mae"] > 0 and "created_at" in meta
    # metadata.json as is: the one schema, written by training, read back by the service
    written = store.read_metadata(store.version_dir(trained_store, "dense", 1))
    assert meta == json.loads(written.model_dump_json())


def test_models_names_the_best_version_per_dataset_by_validation_mae(
    shared_client: TestClient,
) -> None:
    body = shared_client.get("/models").json()
    maes = {
        (m["name"], v["version"]): v["metadata"]["validation"]["scores"]["model"]["mae"]
        for m in body["models"]
        for v in m["versions"]
    }
    (best,) = body["best"]  # every version here was trained on the same tiny series
    assert (best["dataset"], best["split"], best["candidates"]) == ("tiny", 300, 4)
    chosen = (best["model"], best["version"])
    assert maes[chosen] == best["validation_mae"] == min(maes.values())


def test_one_model(shared_client: TestClient) -> None:
    r = shared_client.get("/models/gru")
    assert r.status_code == 200
    assert (
        r.json()["name"] == "gru" and r.json()["versions"][0]["metadata"]["architecture"] == "gru"
    )


def test_one_version_and_one_label(shared_client: TestClient) -> None:
    v1 = shared_client.get("/models/linear/versions/1").json()
    assert (v1["version"], v1["state"], v1["labels"]) == (1, "AVAILABLE", ["stable"])
    assert shared_client.get("/models/linear/labels/canary").json()["version"] == 2


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/models/nope", "model_not_found"),
        ("/models/Linear", "model_not_found"),
        ("/models/linear/versions/7", "version_not_found"),
        ("/models/linear/labels/nightly", "label_not_found"),
    ],
)
def test_unknown_model_version_or_label_is_404(
    shared_client: TestClient, path: str, code: str
) -> None:
    r = shared_client.get(path)
    assert r.status_code == 404, r.text
    assert error_of(r)["code"] == code


@pytest.mark.parametrize(
    "path",
    [
        # ("/models/.." is resolved by the client to "/", KServe's liveness route.)
        "/models/%2e%2e",
        "/models/..%2F..%2Fetc%2Fpasswd",
        "/models/..%252F..%252Fetc",
        "/models/linear%2F..%2F..%2F..",
        "/models/.staging",
    ],
)
def test_path_traversal_is_404(shared_client: TestClient, path: str) -> None:
    # Whether the router or the name check stops it, it never reaches the file system.
    r = shared_client.get(path)
    assert r.status_code == 404, r.text
    assert error_of(r)["code"] in {"not_found", "model_not_found"}


def test_version_must_be_a_positive_integer(shared_client: TestClient) -> None:
    r = shared_client.get("/models/linear/versions/0")
    assert r.status_code == 422 and error_of(r)["code"] == "validation_error"


@pytest.mark.parametrize("name", ["linear", "gru", "dense"])
def test_validation_scores_are_what_forecast_serves(
    shared_client: TestClient, series: np.ndarray, name: str
) -> None:
    """The scores in metadata.json come from the path that serves: ``POST /forecast``'s own
    windowed forecasts and baselines, scored on the validation positions, give the same numbers."""
    meta = shared_client.get(f"/models/{name}/versions/1").json()["metadata"]
    split = meta["dataset"]["split"]
    assert meta["validation"]["start"] == split and meta["validation"]["end"] == len(series)
    body = shared_client.post(
        "/forecast", json={"model": name, "version": 1, "series": series.tolist()}
    ).json()
    served = {"model": body["windowed"]} | {k: b["windowed"] for k, b in body["baselines"].items()}
    scale = metrics.naive_scale(series[:split])
    recorded = meta["validation"]["scores"]
    assert set(recorded) <= set(served) and "model" in recorded
    for method, scores in recorded.items():
        windowed = served[method]
        forecast = np.array(windowed["values"])[split - windowed["start"] :]
        expected = metrics.score(series[split:], forecast, scale)
        assert scores == pytest.approx(expected, rel=1e-6), method
