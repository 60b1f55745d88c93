"""TensorFlow Serving's REST API: model status and :predict in every addressing form."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from contract import store as store_format
from tests.app.support import TestClient, running
from tests.support import WINDOW


def _serve(store: Path, name: str, version: int, windows: np.ndarray) -> np.ndarray:
    loaded = tf.saved_model.load(str(store_format.version_dir(store, name, version)))
    out: np.ndarray = loaded.signatures["serving_default"](window=windows.astype(np.float32))[
        "forecast"
    ].numpy()
    return out


def test_model_status_has_tf_servings_shape(shared_client: TestClient) -> None:
    r = shared_client.get("/v1/models/linear")
    assert r.status_code == 200
    assert r.json() == {
        "name": "linear",
        "ready": True,
        "model_version_status": [
            {
                "version": v,
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
            for v in ("2", "1")
        ],
    }
    one = shared_client.get("/v1/models/linear/versions/1").json()["model_version_status"]
    assert [s["version"] for s in one] == ["1"]
    by_label = shared_client.get("/v1/models/linear/labels/canary").json()["model_version_status"]
    assert [s["version"] for s in by_label] == ["2"]


def test_kserve_v1_list_liveness_and_readiness(shared_client: TestClient, store: Path) -> None:
    assert shared_client.get("/v1/models").json() == {"models": ["dense", "gru", "linear"]}
    assert shared_client.get("/").json() == {"status": "alive"}
    one = shared_client.get("/v1/models/linear/labels/stable").json()
    assert (one["name"], one["ready"]) == ("linear", True)


def test_a_failed_version_is_not_ready(store: Path) -> None:
    (store_format.version_dir(store, "linear", 1) / "saved_model.pb").write_bytes(b"broken")
    with running(store) as client:
        failed = client.get("/v1/models/linear/versions/1").json()
        assert failed["ready"] is False
        assert failed["model_version_status"][0]["state"] == "END"
        assert client.get("/v1/models/linear").json()["ready"] is True  # version 2 still serves


def _tensor(spec: tf.TensorSpec) -> dict[str, object]:
    return {
        "dtype": {tf.float32: "DT_FLOAT", tf.int32: "DT_INT32"}[spec.dtype],
        "tensor_shape": {
            "dim": [{"size": str(d if d is not None else -1), "name": ""} for d in spec.shape],
            "unknown_rank": False,
        },
        "name": f"{spec.name}:0",
    }


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/v1/models/dense/metadata", 1),
        ("/v1/models/linear/versions/1/metadata", 1),
        ("/v1/models/linear/labels/canary/metadata", 2),
    ],
)
def test_metadata_has_the_saved_models_signature_defs(
    shared_client: TestClient, trained_store: Path, path: str, version: int
) -> None:
    r = shared_client.get(path)
    assert r.status_code == 200, r.text
    name = path.split("/")[3]
    loaded = tf.saved_model.load(str(store_format.version_dir(trained_store, name, version)))
    expected = {}
    for key, signature in loaded.signatures.items():
        _, inputs = signature.structured_input_signature
        expected[key] = {
            "inputs": {k: _tensor(v) for k, v in inputs.items()},
            "outputs": {k: _tensor(v) for k, v in signature.structured_outputs.items()},
            "method_name": "tensorflow/serving/predict",
        }
    assert r.json() == {
        "model_spec": {"name": name, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": {"signature_def": expected}},
    }
    serving = expected["serving_default"]
    assert serving["inputs"]["window"]["tensor_shape"]["dim"] == [  # type: ignore[index]
        {"size": "-1", "name": ""},
        {"size": str(WINDOW), "name": ""},
    ]


def test_metadata_errors_have_tf_servings_shape(shared_client: TestClient) -> None:
    r = shared_client.get("/v1/models/linear/versions/9/metadata")
    assert r.status_code == 404 and r.json() == {"error": "model 'linear' has no version 9"}


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/v1/models/linear:predict", 2),
        ("/v1/models/linear/versions/1:predict", 1),
        ("/v1/models/linear/labels/stable:predict", 1),
        ("/v1/models/linear/labels/canary:predict", 2),
    ],
)
def test_predict_instances(
    shared_client: TestClient, trained_store: Path, series: np.ndarray, path: str, version: int
) -> None:
    windows = np.stack([series[i : i + WINDOW] for i in range(0, 50, 10)])
    r = shared_client.post(path, json={"instances": windows.tolist()})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"predictions"}
    expected = _serve(trained_store, "linear", version, windows)
    np.testing.assert_allclose(r.json()["predictions"], expected, rtol=1e-5, atol=1e-4)


def test_predict_other_input_forms(
    shared_client: TestClient, trained_store: Path, series: np.ndarray
) -> None:
    windows = np.stack([series[:WINDOW], series[5 : 5 + WINDOW]])
    expected = _serve(trained_store, "dense", 1, windows)
    assert expected.shape == (2, 3)
    rows = shared_client.post(
        "/v1/models/dense:predict",
        json={
            "signature_name": "serving_default",
            "instances": [{"window": w} for w in windows.tolist()],
        },
    )
    columns = shared_client.post("/v1/models/dense:predict", json={"inputs": windows.tolist()})
    named = shared_client.post(
        "/v1/models/dense:predict", json={"inputs": {"window": windows.tolist()}}
    )
    np.testing.assert_allclose(rows.json()["predictions"], expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(columns.json()["outputs"], expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(named.json()["outputs"], expected, rtol=1e-5, atol=1e-4)


def test_predict_with_the_forecast_signature(
    shared_client: TestClient, trained_store: Path, series: np.ndarray
) -> None:
    windows = np.stack([series[:WINDOW], series[7 : 7 + WINDOW]])
    r = shared_client.post(
        "/v1/models/dense:predict",
        json={"signature_name": "forecast", "inputs": {"window": windows.tolist(), "steps": 5}},
    )
    assert r.status_code == 200, r.text
    loaded = tf.saved_model.load(str(store_format.version_dir(trained_store, "dense", 1)))
    expected = loaded.signatures["forecast"](
        window=windows.astype(np.float32), steps=tf.constant(5)
    )
    np.testing.assert_allclose(
        r.json()["outputs"], expected["forecast"].numpy(), rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/v1/models/nope:predict", {"instances": [[1.0] * 16]}, 404, "no model named 'nope'"),
        ("/v1/models/linear/versions/9:predict", {"instances": [[1.0] * 16]}, 404, "no version 9"),
        (
            "/v1/models/linear/labels/beta:predict",
            {"instances": [[1.0] * 16]},
            404,
            "no label 'beta'",
        ),
        ("/v1/models/linear:predict", {"instances": [[1.0] * 15]}, 400, "window_size 16"),
        ("/v1/models/linear:predict", {"instances": []}, 400, "at least one window"),
        (
            "/v1/models/linear:predict",
            {"instances": [[1.0] * 16], "inputs": [[1.0] * 16]},
            400,
            "exactly one",
        ),
        ("/v1/models/linear:predict", {"instances": [["a"] * 16]}, 400, "instances"),
        (
            "/v1/models/linear:predict",
            {"signature_name": "train", "instances": [[1.0] * 16]},
            400,
            "signature_name",
        ),
        (
            "/v1/models/linear:predict",
            {"signature_name": "forecast", "instances": [[1.0] * 16]},
            400,
            "steps",
        ),
        ("/v1/models/..%2F..%2Fetc:predict", {"instances": [[1.0] * 16]}, 404, "no route"),
    ],
)
def test_predict_errors_have_tf_servings_shape(
    shared_client: TestClient, path: str, body: dict[str, object], status: int, words: str
) -> None:
    r = shared_client.post(path, json=body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and isinstance(r.json()["error"], str)
    assert words in r.json()["error"]


def test_predict_rejects_nan_literals(shared_client: TestClient) -> None:
    raw = '{"instances": [[' + ", ".join(["1.0"] * 15 + ["NaN"]) + "]]}"
    r = shared_client.post(
        "/v1/models/linear:predict", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "finite" in r.json()["error"]


def test_status_of_unknown_model_is_tf_shaped_404(shared_client: TestClient) -> None:
    r = shared_client.get("/v1/models/nope")
    assert r.status_code == 404 and set(r.json()) == {"error"}


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_predict_reads_json_whatever_the_content_type(
    shared_client: TestClient, series: np.ndarray, content_type: str | None
) -> None:
    # TF Serving's own examples use `curl -d`, which sends form-encoded bodies.
    raw = json.dumps({"instances": [series[:WINDOW].tolist()]})
    headers = {"content-type": content_type} if content_type else {}
    r = shared_client.post("/v1/models/linear:predict", content=raw, headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 1


def test_predict_body_that_is_not_json(shared_client: TestClient) -> None:
    r = shared_client.post("/v1/models/linear:predict", content=b"instances=1,2,3")
    assert r.status_code == 400
    assert r.json()["error"] == "the body is not valid JSON: Expecting value at character 0"


def test_predict_body_is_documented(shared_client: TestClient) -> None:
    doc = shared_client.get("/openapi.json").json()
    body = doc["paths"]["/v1/models/{name}:predict"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/PredictRequest"
    assert {"PredictRequest", "PredictRow", "PredictColumns"} <= set(doc["components"]["schemas"])
