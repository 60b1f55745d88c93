"""The serving protocols' own clients against real uvicorn: tritonclient and KServe's.

tritonclient[http] speaks the Open Inference Protocol v2; ``kserve.InferenceRESTClient`` speaks
KServe's v1 (TF Serving's ``:predict`` plus ``GET /`` and the model's ``ready``) and v2. KServe's
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


def test_tritonclient_binary_tensors_get_a_clear_400(server: Server, windows: np.ndarray) -> None:
    client = triton.InferenceServerClient(f"{server.host}:{server.port}")
    binary = triton.InferInput("window", list(windows.shape), "FP32")
    binary.set_data_from_numpy(windows)  # tritonclient's default: binary data
    with pytest.raises(InferenceServerException) as refused:
        client.infer("linear", [binary])
    assert refused.value.status() == "400"
    assert "send every tensor as JSON" in str(refused.value.message())


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
