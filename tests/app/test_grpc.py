"""The gRPC server against real uvicorn, through the protocols' own clients as their users call them.

``tensorflow-serving-api``'s stubs (PredictionService, ModelService), ``tritonclient.grpc`` and
KServe's ``InferenceGRPCClient`` (KServe v2's GRPCInferenceService), and gRPC's own health
stub; each must give the numbers and the refusals REST gives on the same windows.
tritonclient.grpc runs in a process of its own (tests/app/triton_grpc_calls.py): its protos
and KServe's cannot share one.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as v2
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as v2_grpc
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from bench.harness import ROOT, Server, free_port, serve
from tests.app.support import metric_value, running
from tests.support import WINDOW

pytestmark = pytest.mark.slow

KEY = "grpc-test-key"


@pytest.fixture(scope="module")
def server(trained_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("uvicorn-grpc") / "server.log"
    with serve({"FORECAST_MODEL_STORE": str(trained_store)}, log, "--no-access-log") as running:
        yield running


@pytest.fixture(scope="module")
def channel(server: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.grpc_target) as opened:
        yield opened


@pytest.fixture(scope="module")
def windows(series: np.ndarray) -> np.ndarray:
    return np.stack([series[i : i + WINDOW] for i in range(0, 40, 10)]).astype(np.float32)


def _rest(server: Server, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, timeout=30)


def _rest_predict(server: Server, name: str, body: dict[str, Any]) -> np.ndarray:
    r = _rest(server, f"/v1/models/{name}:predict", body)
    assert r.status_code == 200, r.text
    return np.asarray(r.json().get("predictions", r.json().get("outputs")))


def _predict_request(
    name: str, windows: np.ndarray, signature: str = "", **inputs: Any
) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    request.inputs["window"].CopyFrom(tf.make_tensor_proto(windows))
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


def _refusal(call: Any, *args: Any, **kwargs: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call(*args, timeout=30, **kwargs)
    return refused.value


# ---- TensorFlow Serving ----


def test_tf_serving_predict_equals_rest(
    server: Server, channel: grpc.Channel, windows: np.ndarray
) -> None:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    response = stub.Predict(_predict_request("gru", windows), timeout=30)
    expected = _rest_predict(server, "gru", {"instances": windows.tolist()})
    out = tf.make_ndarray(response.outputs["forecast"])
    assert out.shape == (4, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert response.model_spec.name == "gru" and response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"

    ahead = stub.Predict(
        _predict_request("dense", windows, "forecast", steps=np.int32(6)), timeout=30
    )
    expected = _rest_predict(
        server,
        "dense",
        {"signature_name": "forecast", "inputs": {"window": windows.tolist(), "steps": 6}},
    )
    np.testing.assert_allclose(tf.make_ndarray(ahead.outputs["forecast"]), expected, rtol=1e-6)


def test_tf_serving_versions_and_labels(
    server: Server, channel: grpc.Channel, windows: np.ndarray
) -> None:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    by_label = _predict_request("linear", windows)
    by_label.model_spec.version_label = "canary"
    by_number = _predict_request("linear", windows)
    by_number.model_spec.version.value = 1
    canary, first = stub.Predict(by_label, timeout=30), stub.Predict(by_number, timeout=30)
    assert canary.model_spec.version.value == 2 and first.model_spec.version.value == 1
    np.testing.assert_allclose(
        tf.make_ndarray(canary.outputs["forecast"]),
        _rest_predict(server, "linear/labels/canary", {"instances": windows.tolist()}),
        rtol=1e-6,
    )
    unknown = _predict_request("linear", windows)
    unknown.model_spec.version_label = "nope"
    refused = _refusal(stub.Predict, unknown)
    rest = _rest(server, "/v1/models/linear/labels/nope:predict", {"instances": windows.tolist()})
    assert refused.code() is grpc.StatusCode.NOT_FOUND and rest.status_code == 404
    assert refused.details() == rest.json()["error"]


def test_tf_serving_refusals_carry_rest_messages(
    server: Server, channel: grpc.Channel, windows: np.ndarray
) -> None:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    cases = [
        (_predict_request("nope", windows), "/v1/models/nope:predict", {"instances": [[1.0]]}),
        (
            _predict_request("gru", windows[:, :5]),
            "/v1/models/gru:predict",
            {"instances": windows[:, :5].tolist()},
        ),
        (
            _predict_request("dense", windows, "forecast"),
            "/v1/models/dense:predict",
            {"signature_name": "forecast", "instances": windows.tolist()},
        ),
    ]
    codes = []
    for request, path, body in cases:
        refused = _refusal(stub.Predict, request)
        rest = _rest(server, path, body)
        codes.append((refused.code(), rest.status_code))
        if rest.status_code == 404:
            assert refused.details() == rest.json()["error"]
        else:  # the REST form names its format; the same sentence starts both
            assert rest.json()["error"].startswith(str(refused.details()).split(" (")[0])
    assert codes == [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
    ]
    nan = windows.copy()
    nan[0, 3] = np.nan
    refused = _refusal(stub.Predict, _predict_request("gru", nan))
    assert refused.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "NaN or an infinity" in str(refused.details())
    strings = _predict_request("gru", windows)
    strings.inputs["window"].CopyFrom(tf.make_tensor_proto([["a"] * WINDOW]))
    refused = _refusal(stub.Predict, strings)
    assert refused.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert 'input "window" must hold a number type' in str(refused.details())


def test_tf_serving_metadata_and_status(server: Server, channel: grpc.Channel) -> None:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "gru"
    response = stub.GetModelMetadata(request, timeout=30)
    defs = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(defs)
    rest = httpx.get(f"{server.url}/v1/models/gru/metadata", timeout=30).json()
    signatures = rest["metadata"]["signature_def"]["signature_def"]
    assert set(defs.signature_def) == set(signatures)
    window = defs.signature_def["serving_default"].inputs["window"]
    assert [d.size for d in window.tensor_shape.dim] == [-1, WINDOW]
    assert tf.dtypes.as_dtype(window.dtype) == tf.float32

    models = model_service_pb2_grpc.ModelServiceStub(channel)
    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = "linear"
    versions = models.GetModelStatus(status, timeout=30).model_version_status
    available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert [(v.version, v.state) for v in versions] == [(2, available), (1, available)]
    status.model_spec.version_label = "stable"
    (stable,) = models.GetModelStatus(status, timeout=30).model_version_status
    assert stable.version == 1
    status.model_spec.name, status.model_spec.version_label = "nope", ""
    assert _refusal(models.GetModelStatus, status).code() is grpc.StatusCode.NOT_FOUND


# ---- KServe v2: tritonclient.grpc and KServe's own client ----


@pytest.fixture(scope="module")
def triton_answers(server: Server, windows: np.ndarray) -> dict[str, Any]:
    """tritonclient.grpc's answers, from a process of its own (see triton_grpc_calls)."""
    return _triton(server.grpc_target, stdin=json.dumps(windows.tolist()))


def _triton(*args: str, stdin: str = "") -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.app.triton_grpc_calls", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    answers: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return answers


def test_tritonclient_grpc_health_and_metadata(
    server: Server, triton_answers: dict[str, Any]
) -> None:
    a = triton_answers
    assert a["live"] == a["ready"] == a["linear_ready"] == a["linear_2_ready"] == {"ok": True}
    assert a["server_name"] == {"ok": "forecast-service"}
    assert a["linear_9_ready"]["status"] == "StatusCode.NOT_FOUND"
    rest = httpx.get(f"{server.url}/v2/models/linear/versions/9/ready", timeout=30)
    assert a["linear_9_ready"]["message"] == rest.json()["error"]
    metadata = a["gru_metadata"]["ok"]
    rest = httpx.get(f"{server.url}/v2/models/gru", timeout=30).json()
    # protobuf's JSON writes int64 as text
    assert metadata["inputs"] == [
        {**t, "shape": [str(d) for d in t["shape"]]} for t in rest["inputs"]
    ]
    assert metadata["versions"] == rest["versions"] == ["1"]


def test_tritonclient_grpc_infer_equals_rest(
    server: Server, windows: np.ndarray, triton_answers: dict[str, Any]
) -> None:
    a = triton_answers
    expected = _rest_predict(server, "linear/versions/1", {"instances": windows.tolist()})
    assert np.shape(a["one_step"]["ok"]) == (4, 1)
    np.testing.assert_allclose(a["one_step"]["ok"], expected, rtol=1e-6)
    expected = _rest_predict(
        server,
        "dense",
        {"signature_name": "forecast", "inputs": {"window": windows.tolist(), "steps": 6}},
    )
    assert a["steps_input"] == {"ok": "r1"}
    np.testing.assert_allclose(a["steps_input_forecast"]["ok"], expected, rtol=1e-6)
    np.testing.assert_allclose(a["steps_parameter"]["ok"], expected, rtol=1e-6)


def test_tritonclient_grpc_refusals_carry_rest_messages(
    server: Server, windows: np.ndarray, triton_answers: dict[str, Any]
) -> None:
    short = windows[:, :5]
    rest = _rest(
        server,
        "/v2/models/gru/infer",
        {
            "inputs": [
                {
                    "name": "window",
                    "shape": [4, 5],
                    "datatype": "FP32",
                    "data": short.ravel().tolist(),
                }
            ]
        },
    )
    refused = triton_answers["short_window"]
    assert refused["status"] == "StatusCode.INVALID_ARGUMENT" and rest.status_code == 400
    assert refused["message"] == rest.json()["error"]
    missing = triton_answers["no_such_model"]
    assert missing["status"] == "StatusCode.NOT_FOUND"
    assert (
        missing["message"] == httpx.get(f"{server.url}/v2/models/nope", timeout=30).json()["error"]
    )


def test_contents_instead_of_raw_bytes(
    server: Server, channel: grpc.Channel, windows: np.ndarray
) -> None:
    stub = v2_grpc.GRPCInferenceServiceStub(channel)  # KServe's own protos and stub
    request = v2.ModelInferRequest(model_name="gru")
    tensor = request.inputs.add(name="window", datatype="FP32", shape=list(windows.shape))
    tensor.contents.fp32_contents.extend(windows.ravel().tolist())
    response = stub.ModelInfer(request, timeout=30)
    out = np.frombuffer(response.raw_output_contents[0], "<f4").reshape(response.outputs[0].shape)
    expected = _rest_predict(server, "gru", {"instances": windows.tolist()})
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    request.raw_input_contents.append(windows.tobytes())
    refused = _refusal(stub.ModelInfer, request)
    assert refused.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "raw_input_contents or in contents, not both" in str(refused.details())


def test_kserve_grpc_client(server: Server, windows: np.ndarray) -> None:
    async def calls() -> tuple[bool, bool, np.ndarray]:
        client = InferenceGRPCClient(server.grpc_target)
        try:
            ready = await client.is_server_ready()
            model_ready = await client.is_model_ready("dense")
            tensor = InferInput("window", list(windows.shape), "FP32")
            tensor.set_data_from_numpy(windows)
            request = InferRequest("dense", [tensor], parameters={"steps": 2})
            result = await client.infer(request)
            return ready, model_ready, result.outputs[0].as_numpy()
        finally:
            await client.close()

    ready, model_ready, out = asyncio.run(calls())
    assert ready is True and model_ready is True
    expected = _rest_predict(
        server,
        "dense",
        {"signature_name": "forecast", "inputs": {"window": windows.tolist(), "steps": 2}},
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)


# ---- health, metrics, keys, the port ----


def test_health_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    serving = health_pb2.HealthCheckResponse.SERVING
    for service in ("", "tensorflow.serving.PredictionService", "inference.GRPCInferenceService"):
        request = health_pb2.HealthCheckRequest(service=service)
        assert health.Check(request, timeout=30).status == serving
    refused = _refusal(health.Check, health_pb2.HealthCheckRequest(service="nope"))
    assert refused.code() is grpc.StatusCode.NOT_FOUND
    watch = health.Watch(health_pb2.HealthCheckRequest(), timeout=30)
    assert next(watch).status == serving
    watch.cancel()


def test_metrics_label_grpc_methods_apart_from_rest(
    server: Server, channel: grpc.Channel, windows: np.ndarray
) -> None:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    stub.Predict(_predict_request("gru", windows), timeout=30)
    _refusal(stub.Predict, _predict_request("nope", windows))
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    method = "/tensorflow.serving.PredictionService/Predict"
    ok = metric_value(text, "forecast_grpc_requests_total", method=method, model="gru", code="OK")
    missing = metric_value(text, "forecast_grpc_requests_total", method=method, code="NOT_FOUND")
    assert ok >= 1 and missing >= 1
    calls = metric_value(text, "forecast_model_calls_total", model="gru", route=method)
    assert calls >= 1
    assert metric_value(text, "forecast_http_requests_total", route=method) == 0


def test_keys_and_limits_guard_grpc_as_rest(
    trained_store: Path, tmp_path: Path, windows: np.ndarray
) -> None:
    settings = {
        "FORECAST_MODEL_STORE": str(trained_store),
        "FORECAST_API_KEYS": KEY,
        "FORECAST_MAX_INSTANCES": "4",
        "FORECAST_MAX_HORIZON": "5",
        "FORECAST_MAX_BODY_BYTES": "65536",
    }
    with (
        serve(settings, tmp_path / "server.log") as keyed,
        grpc.insecure_channel(keyed.grpc_target) as channel,
    ):
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        refused = _refusal(stub.Predict, _predict_request("gru", windows))
        assert refused.code() is grpc.StatusCode.UNAUTHENTICATED
        assert refused.details() == "missing or invalid X-API-Key header"
        wrong = _refusal(
            stub.Predict, _predict_request("gru", windows), metadata=[("x-api-key", "x")]
        )
        assert wrong.code() is grpc.StatusCode.UNAUTHENTICATED
        answer = stub.Predict(
            _predict_request("gru", windows), metadata=[("x-api-key", KEY)], timeout=30
        )
        assert tf.make_ndarray(answer.outputs["forecast"]).shape == (4, 1)
        health = health_pb2_grpc.HealthStub(channel)  # probes send no key
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=30).status == (
            health_pb2.HealthCheckResponse.SERVING
        )
        answers = _triton(keyed.grpc_target, KEY)
        assert answers["live"] == {"ok": True}  # the protocol's health needs no key, as over REST
        assert answers["metadata_without_key"]["status"] == "StatusCode.UNAUTHENTICATED"
        assert answers["metadata_with_key"] == {"ok": "gru"}

        key = [("x-api-key", KEY)]
        five = np.concatenate([windows, windows[:1]])
        too_many = _refusal(stub.Predict, _predict_request("gru", five), metadata=key)
        assert too_many.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert too_many.details() == (
            'input "window" holds 5 windows, more than the 4 this server allows'
            " (FORECAST_MAX_INSTANCES)"
        )
        far = _refusal(
            stub.Predict,
            _predict_request("dense", windows, "forecast", steps=np.int32(6)),
            metadata=key,
        )
        assert far.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "from 1 to 5 (FORECAST_MAX_HORIZON)" in str(far.details())
        huge = np.zeros((4, 5000), np.float32)  # 80 kB: over the body limit before any check
        big = _refusal(stub.Predict, _predict_request("gru", huge), metadata=key)
        assert big.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_taken_port_stops_the_start_with_a_clear_error(
    trained_store: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = {
            "FORECAST_MODEL_STORE": str(trained_store),
            "FORECAST_GRPC_PORT": str(taken.getsockname()[1]),
        }
        with (
            pytest.raises(RuntimeError, match="server exited early") as failed,
            serve(settings, tmp_path / "server.log"),
        ):
            pass
    assert "Set FORECAST_GRPC_PORT to another port, or to 0 to turn gRPC off" in str(failed.value)


def test_grpc_stops_with_the_app(trained_store: Path, tmp_path: Path) -> None:
    settings = {"FORECAST_MODEL_STORE": str(trained_store)}
    with (
        serve(settings, tmp_path / "server.log") as served,
        grpc.insecure_channel(served.grpc_target) as channel,
    ):
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=30).status == (
            health_pb2.HealthCheckResponse.SERVING
        )
    assert "Application shutdown complete" in served.log.read_text()
    with grpc.insecure_channel(served.grpc_target) as channel:
        refused = _refusal(
            health_pb2_grpc.HealthStub(channel).Check, health_pb2.HealthCheckRequest()
        )
    assert refused.code() is grpc.StatusCode.UNAVAILABLE


def _probe(mode: str, server: Server) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PROBE_HTTP_PORT": str(server.port),
        "FORECAST_GRPC_PORT": str(server.grpc_port),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.probe", mode],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_container_probe_checks_http_and_grpc(server: Server, tmp_path: Path) -> None:
    assert _probe("live", server).returncode == 0
    assert _probe("ready", server).returncode == 0
    elsewhere = Server(server.process, server.port, tmp_path / "log", grpc_port=free_port())
    failed = _probe("ready", elsewhere)
    assert failed.returncode == 1
    assert f"gRPC health on port {elsewhere.grpc_port}: UNAVAILABLE" in failed.stderr


def test_port_0_starts_no_grpc_server(trained_store: Path) -> None:
    with running(trained_store, grpc_port=0) as client:
        assert client.get("/ready").status_code == 200
        # Its module (and TF Serving's protos) were never imported by this process's lifespans.
        assert "app.grpc_server" not in sys.modules
