"""The Open Inference Protocol v2: health, model metadata and readiness, infer, its errors.

``tests/app/test_protocol_clients.py`` drives the same routes with tritonclient over a socket;
``test_oip_binary.py`` sends Triton's binary tensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from contract import store as store_format
from tests.app.support import TestClient, running
from tests.support import WINDOW


def _signature(store: Path, name: str, version: int, windows: np.ndarray, steps: int | None):
    loaded = tf.saved_model.load(str(store_format.version_dir(store, name, version)))
    if steps is None:
        out = loaded.signatures["serving_default"](window=windows.astype(np.float32))
    else:
        out = loaded.signatures["forecast"](
            window=windows.astype(np.float32), steps=tf.constant(steps)
        )
    return out["forecast"].numpy()


def _window(windows: np.ndarray) -> dict[str, Any]:
    return {
        "name": "window",
        "shape": list(windows.shape),
        "datatype": "FP32",
        "data": windows.ravel().tolist(),
    }


def test_server_metadata_and_health(shared_client: TestClient) -> None:
    assert shared_client.get("/v2").json() == {
        "name": "forecast-service",
        "version": "0.1.0",
        "extensions": ["binary_tensor_data"],
    }
    assert shared_client.get("/v2/health/live").json() == {"live": True}
    r = shared_client.get("/v2/health/ready")
    assert r.status_code == 200 and r.json() == {"ready": True}


def test_not_ready_is_a_503_in_the_protocols_shape(tmp_path: Path) -> None:
    with running(tmp_path) as client:
        r = client.get("/v2/health/ready")
        assert r.status_code == 503
        assert r.json() == {"error": "no model is loaded: the model store holds no model version"}
        assert client.get("/v2/health/live").status_code == 200


def test_model_metadata_comes_from_the_signatures(shared_client: TestClient) -> None:
    expected = {
        "name": "linear",
        "versions": ["1", "2"],
        "platform": "tensorflow_savedmodel",
        "inputs": [
            {"name": "window", "datatype": "FP32", "shape": [-1, WINDOW]},
            {"name": "steps", "datatype": "INT32", "shape": [1]},
        ],
        "outputs": [{"name": "forecast", "datatype": "FP32", "shape": [-1, -1]}],
    }
    assert shared_client.get("/v2/models/linear").json() == expected
    assert shared_client.get("/v2/models/linear/versions/1").json() == expected


def test_model_readiness(shared_client: TestClient) -> None:
    assert shared_client.get("/v2/models/linear/ready").json() == {"name": "linear", "ready": True}
    assert shared_client.get("/v2/models/linear/versions/1/ready").status_code == 200
    missing = shared_client.get("/v2/models/linear/versions/9/ready")
    assert missing.status_code == 404 and "no version 9" in missing.json()["error"]
    assert shared_client.get("/v2/models/nope/ready").status_code == 404


@pytest.mark.parametrize(
    ("path", "version"), [("/v2/models/linear", 2), ("/v2/models/linear/versions/1", 1)]
)
def test_infer_one_step(
    shared_client: TestClient, trained_store: Path, series: np.ndarray, path: str, version: int
) -> None:
    windows = np.stack([series[i : i + WINDOW] for i in range(0, 30, 10)])
    r = shared_client.post(f"{path}/infer", json={"id": "a1", "inputs": [_window(windows)]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("model_name", "model_version", "id")} == {
        "model_name": "linear",
        "model_version": str(version),
        "id": "a1",
    }
    [out] = body["outputs"]
    assert (out["name"], out["datatype"], out["shape"]) == ("forecast", "FP32", [3, 1])
    expected = _signature(trained_store, "linear", version, windows, None)
    np.testing.assert_allclose(np.reshape(out["data"], (3, 1)), expected, rtol=1e-5, atol=1e-4)


def test_infer_steps_as_a_parameter_or_an_input(
    shared_client: TestClient, trained_store: Path, series: np.ndarray
) -> None:
    windows = np.stack([series[:WINDOW], series[7 : 7 + WINDOW]])
    expected = _signature(trained_store, "dense", 1, windows, 5)
    steps = {"name": "steps", "shape": [1], "datatype": "INT32", "data": [5]}
    for body in (
        {"inputs": [_window(windows)], "parameters": {"steps": 5}},
        {"inputs": [_window(windows), steps], "outputs": [{"name": "forecast"}]},
        {"inputs": [{**_window(windows), "data": windows.tolist()}, steps]},  # nested data
    ):
        r = shared_client.post("/v2/models/dense/infer", json=body)
        assert r.status_code == 200, r.text
        [out] = r.json()["outputs"]
        assert out["shape"] == [2, 5]
        np.testing.assert_allclose(np.reshape(out["data"], (2, 5)), expected, rtol=1e-5, atol=1e-4)


def test_infer_equals_forecast(shared_client: TestClient, series: np.ndarray) -> None:
    history = series[:100]
    forecast = shared_client.post(
        "/forecast", json={"model": "gru", "series": history.tolist(), "horizon": 4}
    ).json()["forecast"]["values"]
    r = shared_client.post(
        "/v2/models/gru/infer",
        json={"inputs": [_window(history[-WINDOW:][None])], "parameters": {"steps": 4}},
    )
    np.testing.assert_allclose(r.json()["outputs"][0]["data"], forecast, rtol=1e-5, atol=1e-3)


ONES = {"name": "window", "shape": [1, WINDOW], "datatype": "FP32", "data": [1.0] * WINDOW}
STEPS_2 = {"name": "steps", "shape": [1], "datatype": "INT32", "data": [2]}


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/v2/models/nope/infer", {}, 404, "no model named 'nope'"),
        ("/v2/models/linear/versions/9/infer", {}, 404, "no version 9"),
        (
            "/v2/models/linear/infer",
            {"inputs": [{**ONES, "name": "x"}]},
            400,
            'inputs are "window"',
        ),
        ("/v2/models/linear/infer", {"inputs": [ONES, ONES]}, 400, "each once"),
        (
            "/v2/models/linear/infer",
            {"inputs": [{**ONES, "shape": [1, 15], "data": [1.0] * 15}]},
            400,
            f"takes [batch, {WINDOW}]",
        ),
        (
            "/v2/models/linear/infer",
            {"inputs": [{**ONES, "shape": [2, WINDOW]}]},
            400,
            f"needs {2 * WINDOW}",
        ),
        (
            "/v2/models/linear/infer",
            {"inputs": [{**ONES, "shape": [2, WINDOW], "data": [[1.0] * WINDOW, [1.0]]}]},
            400,
            f"has {WINDOW + 1} values but its shape [2, {WINDOW}] needs {2 * WINDOW}",
        ),
        (
            "/v2/models/linear/infer",
            {"inputs": [{**ONES, "datatype": "FP64"}]},
            400,
            "must be FP32",
        ),
        (
            "/v2/models/linear/infer",
            {"inputs": [ONES, {**STEPS_2, "data": [2.5]}]},
            400,
            "holding an integer from 1 to 1000",
        ),
        (
            "/v2/models/linear/infer",
            {"parameters": {"steps": 2}, "inputs": [ONES, STEPS_2]},
            400,
            "not both",
        ),
        (
            "/v2/models/linear/infer",
            {"parameters": {"steps": 1001}},
            400,
            "parameters.steps 1001 is more than the 1000 this server allows (FORECAST_MAX_HORIZON)",
        ),
        (
            "/v2/models/linear/infer",
            {"outputs": [{"name": "scores"}]},
            400,
            'only output is "forecast"',
        ),
        ("/v2/models/linear/infer", {"model_name": "gru"}, 400, "is not the path's 'linear'"),
        ("/v2/models/linear/infer", {"inputs": []}, 400, "inputs: expected at least 1 item, got 0"),
    ],
)
def test_infer_errors_have_the_protocols_shape(
    shared_client: TestClient, path: str, body: dict[str, Any], status: int, words: str
) -> None:
    r = shared_client.post(path, json={"inputs": [ONES], **body})
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and isinstance(r.json()["error"], str)
    assert words in r.json()["error"]


def test_the_model_routes_need_the_key_and_health_does_not(trained_store: Path) -> None:
    with running(trained_store, api_keys="k1") as client:
        assert client.get("/v2/health/live").status_code == 200
        assert client.get("/v2/health/ready").status_code == 200
        refused = client.get("/v2/models/linear")
        assert refused.status_code == 401 and set(refused.json()) == {"error"}
        assert client.get("/v2/models/linear", headers={"X-API-Key": "k1"}).status_code == 200
