"""The serving protocols' own clients against real uvicorn: tritonclient and KServe's.

tritonclient[http] speaks the Open Inference Protocol v2, binary tensors by default;
``kserve.InferenceRESTClient`` speaks KServe's v1 (TF Serving's ``:predict`` plus ``GET /`` and
the model's ``ready``) and v2, whose tensors it also sends as bytes by default. KServe's
time-series API has no client: its request is built, and its answer read, with KServe's types.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from kserve.protocol.rest.timeseries import types as timeseries
from tritonclient.utils import InferenceServerException

from bench.harness import Server, serve
from tests.support import WINDOW

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(trained_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("uvicorn-protocols") / "server.log"
    with serve({"FORECAST_MODEL_STORE": str(trained_store)}, log, "--no-access-log") as running:
        yield running


@pytest.fixture(scope="module")
def windows(series: np.ndarray) -> np.ndarray:
    return np.stack([series[i : i + WINDOW] for i in range(0, 40, 10)]).astype(np.float32)


def _predict(server: Server, name: str, body: dict[str, Any]) -> np.ndarray:
    r = httpx.post(f"{server.url}/v1/models/{name}:predict", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return np.asarray(r.json().get("predictions", r.json().get("outputs")))


def _window(windows: np.ndarray) -> triton.InferInput:
    tensor = triton.InferInput("window", list(windows.shape), "FP32")
    tensor.set_data_from_numpy(windows, binary_data=False)
    return tensor


def test_tritonclient_health_and_metadata(server: Server) -> None:
    client = triton.InferenceServerClient(f"{server.host}:{server.port}")
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["name"] == "forecast-service"
    assert client.is_model_ready("linear") and client.is_model_ready("linear", "1")
    assert not client.is_model_ready("linear", "9") and not client.is_model_ready("nope")
    metadata = client.get_model_metadata("gru")
    assert metadata["versions"] == ["1"]
    assert metadata["inputs"][0] == {"name": "window", "datatype": "FP32", "shape": [-1, WINDOW]}


def test_tritonclient_infer_equals_predict(server: Server, windows: np.ndarray) -> None:
    client = triton.InferenceServerClient(f"{server.host}:{server.port}")
    output = triton.InferRequestedOutput("forecast", binary_data=False)
    one_step = client.infer("linear", [_window(windows)], model_version="1", outputs=[output])
    expected = _predict(server, "linear/versions/1", {"instances": windows.tolist()})
    assert one_step.as_numpy("forecast").shape == (4, 1)
    np.testing.assert_allclose(one_step.as_numpy("forecast"), expected, rtol=1e-6)

    steps = triton.InferInput("steps", [1], "INT32")
    steps.set_data_from_numpy(np.array([6], np.int32), binary_data=False)
    ahead = client.infer("dense", [_window(windows), steps])
    by_parameter = client.infer("dense", [_window(windows)], parameters={"steps": 6})
    expected = _predict(
        server,
        "dense",
        {"signature_name": "forecast", "inputs": {"window": windows.tolist(), "steps": 6}},
    )
    assert ahead.as_numpy("forecast").shape == (4, 6)
    np.testing.assert_allclose(ahead.as_numpy("forecast"), expected, rtol=1e-6)
    np.testing.assert_allclose(by_parameter.as_numpy("forecast"), expected, rtol=1e-6)


def _binary(name: str, values: np.ndarray, datatype: str) -> triton.InferInput:
    tensor = triton.InferInput(name, list(values.shape), datatype)
    tensor.set_data_from_numpy(values)  # tritonclient's default: binary data
    return tensor


def _forecast_signature(server: Server, windows: np.ndarray, steps: int) -> np.ndarray:
    inputs = {"window": windows.tolist(), "steps": steps}
    return _predict(server, "dense", {"signature_name": "forecast", "inputs": inputs})


def test_tritonclient_binary_tensors_by_default(server: Server, windows: np.ndarray) -> None:
    client = triton.InferenceServerClient(f"{server.host}:{server.port}")
    result = client.infer("linear", [_binary("window", windows, "FP32")])
    # Binary both ways: no outputs named, so tritonclient asked for every output as bytes.
    assert result.get_output("forecast")["parameters"] == {"binary_data_size": 4 * 4}
    assert "data" not in result.get_output("forecast")
    expected = _predict(server, "linear", {"instances": windows.tolist()})
    assert result.as_numpy("forecast").shape == (4, 1)
    np.testing.assert_allclose(result.as_numpy("forecast"), expected, rtol=1e-6)


def test_tritonclient_binary_steps_equal_the_forecast_signature(
    server: Server, windows: np.ndarray
) -> None:
    client = triton.InferenceServerClient(f"{server.host}:{server.port}")
    steps = _binary("steps", np.array([6], np.int32), "INT32")
    result = client.infer("dense", [_binary("window", windows, "FP32"), steps])
    assert result.as_numpy("forecast").shape == (4, 6)
    np.testing.assert_allclose(
        result.as_numpy("forecast"), _forecast_signature(server, windows, 6), rtol=1e-6
    )


def test_tritonclient_mixes_json_and_binary_inputs(server: Server, windows: np.ndarray) -> None:
    client = triton.InferenceServerClient(f"{server.host}:{server.port}")
    json_steps = triton.InferInput("steps", [1], "INT32")
    json_steps.set_data_from_numpy(np.array([3], np.int32), binary_data=False)
    binary_steps = _binary("steps", np.array([3], np.int32), "INT32")
    expected = _forecast_signature(server, windows, 3)
    for inputs in (
        [_binary("window", windows, "FP32"), json_steps],
        [_window(windows), binary_steps],
        [binary_steps, _binary("window", windows, "FP32")],
    ):
        result = client.infer("dense", inputs)
        np.testing.assert_allclose(result.as_numpy("forecast"), expected, rtol=1e-6)


def test_tritonclient_json_outputs_when_asked(server: Server, windows: np.ndarray) -> None:
    client = triton.InferenceServerClient(f"{server.host}:{server.port}")
    as_json = triton.InferRequestedOutput("forecast", binary_data=False)
    result = client.infer("linear", [_binary("window", windows, "FP32")], outputs=[as_json])
    output = result.get_output("forecast")
    assert "parameters" not in output and len(output["data"]) == 4
    expected = _predict(server, "linear", {"instances": windows.tolist()})
    np.testing.assert_allclose(result.as_numpy("forecast"), expected, rtol=1e-6)
    as_bytes = triton.InferRequestedOutput("forecast")  # binary_data=True by default
    result = client.infer("linear", [_window(windows)], outputs=[as_bytes])
    assert result.get_output("forecast")["parameters"] == {"binary_data_size": 4 * 4}
    np.testing.assert_allclose(result.as_numpy("forecast"), expected, rtol=1e-6)


def test_tritonclient_bad_binary_tensors_get_a_clear_400(
    server: Server, windows: np.ndarray
) -> None:
    client = triton.InferenceServerClient(f"{server.host}:{server.port}")
    with_nan = windows.copy()
    with_nan[2, 3] = np.nan
    with pytest.raises(InferenceServerException) as refused:
        client.infer("linear", [_binary("window", with_nan, "FP32")])
    assert refused.value.status() == "400"
    assert refused.value.message() == (
        'input "window" holds a NaN or an infinity: send finite values'
    )


def test_kserve_v1_client(server: Server, windows: np.ndarray) -> None:
    async def calls() -> tuple[bool, bool, dict[str, Any], int]:
        async with InferenceRESTClient(RESTConfig(protocol="v1")) as client:
            live = await client.is_server_live(server.url)
            ready = await client.is_model_ready(server.url, "gru")
            out = await client.infer(server.url, {"instances": windows.tolist()}, model_name="gru")
            try:
                await client.is_model_ready(server.url, "nope")
            except httpx.HTTPStatusError as e:
                missing = e.response.status_code
            return live, ready, out, missing

    live, ready, out, missing = asyncio.run(calls())
    assert live is True and ready is True and missing == 404
    expected = _predict(server, "gru", {"instances": windows.tolist()})
    np.testing.assert_allclose(out["predictions"], expected, rtol=1e-6)


def test_kserve_v2_client(server: Server, windows: np.ndarray) -> None:
    async def calls() -> tuple[bool, bool, np.ndarray]:
        async with InferenceRESTClient(RESTConfig(protocol="v2")) as client:
            ready = await client.is_server_ready(server.url)
            model_ready = await client.is_model_ready(server.url, "dense")
            tensor = InferInput("window", list(windows.shape), "FP32")
            tensor.set_data_from_numpy(windows, binary_data=False)
            request = InferRequest("dense", [tensor], parameters={"steps": 2})
            result = await client.infer(server.url, request, model_name="dense")
            return ready, model_ready, result.outputs[0].as_numpy()

    ready, model_ready, out = asyncio.run(calls())
    assert ready is True and model_ready is True
    expected = _predict(
        server,
        "dense",
        {"signature_name": "forecast", "inputs": {"window": windows.tolist(), "steps": 2}},
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_kserve_v2_client_binary_tensors(server: Server, windows: np.ndarray) -> None:
    async def calls() -> list[tuple[dict[str, str], np.ndarray]]:
        async with InferenceRESTClient(RESTConfig(protocol="v2")) as client:
            window = InferInput("window", list(windows.shape), "FP32")
            window.set_data_from_numpy(windows)  # KServe's default too: binary data
            steps = InferInput("steps", [1], "INT32")
            steps.set_data_from_numpy(np.array([2], np.int32))
            asked = RequestedOutput("forecast", parameters={"binary_data": True})
            answers = []
            for outputs in (None, [asked]):
                request = InferRequest("dense", [window, steps], request_outputs=outputs)
                headers: dict[str, str] = {}
                result = await client.infer(
                    server.url, request, model_name="dense", response_headers=headers
                )
                answers.append((headers, result.outputs[0].as_numpy()))
            return answers

    (json_headers, as_json), (binary_headers, as_bytes) = asyncio.run(calls())
    assert json_headers["content-type"] == "application/json"
    assert "inference-header-content-length" not in json_headers
    assert binary_headers["content-type"] == "application/octet-stream"
    length = int(binary_headers["inference-header-content-length"])
    assert int(binary_headers["content-length"]) == length + 4 * 2 * 4  # the FP32 [4, 2]
    expected = _forecast_signature(server, windows, 2)
    np.testing.assert_allclose(as_json, expected, rtol=1e-6)
    np.testing.assert_allclose(as_bytes, expected, rtol=1e-6)


def test_kserve_timeseries_types_over_a_socket(server: Server, series: np.ndarray) -> None:
    request = timeseries.ForecastRequest(
        model="linear",
        inputs=[
            timeseries.TimeSeriesInput(
                type=timeseries.TimeSeriesType.UNIVARIATE,
                name="tiny",
                series=series[:100].tolist(),
                frequency=timeseries.Frequency.HOUR,
                start_timestamp="2024-03-01T00:00:00Z",
            )
        ],
        options=timeseries.ForecastOptions(horizon=4, quantiles=[0.5]),
    )
    body = request.model_dump(mode="json", exclude_none=True)
    r = httpx.post(f"{server.url}/v1/timeseries/forecast", json=body, timeout=30)
    assert r.status_code == 200, r.text
    (output,) = timeseries.ForecastResponse.model_validate(r.json()).outputs
    (forecast,) = output.content
    assert forecast.name == "tiny" and len(forecast.mean_forecast) == 4
    assert forecast.start_timestamp == "2024-03-05T04:00:00Z"  # 100 hours on
    assert set(forecast.quantiles or {}) == {"0.5"}
    listed = httpx.get(f"{server.url}/v1/timeseries/models", timeout=30).json()
    assert "linear" in listed
