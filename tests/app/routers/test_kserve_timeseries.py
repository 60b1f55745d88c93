"""KServe's time-series forecast API through the real app and SavedModels, checked with KServe's
own pydantic types (``kserve.protocol.rest.timeseries``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kserve.protocol.rest.timeseries import types as kserve

from app.routers.kserve_types import KSERVE_FREQUENCIES
from contract import frequency
from tests.app.support import TestClient

PATH = "/v1/timeseries/forecast"


def _input(name: str, values: list[float], **more: Any) -> dict[str, Any]:
    given = {"type": "univariate_time_series", "name": name, "series": values}
    return {**given, "frequency": "D", "start_timestamp": "2024-01-01T00:00:00Z", **more}


def _kserve_error(r: Any, status: int, kind: str) -> kserve.Error:
    assert r.status_code == status, r.text
    error = kserve.ErrorResponse.model_validate(r.json()).error
    assert (error.code, error.type) == (str(status), kind), r.text
    return error


def test_forecasts_are_post_forecasts_in_kserves_shape(
    shared_client: TestClient, series: np.ndarray
) -> None:
    parts = {"a": series[:120].tolist(), "b": series[100:300].tolist()}
    body = {
        "model": "gru",
        "inputs": [
            _input("a", parts["a"]),
            _input("b", parts["b"], frequency="month", start_timestamp="2000-01-31"),
        ],
        "options": {"horizon": 3, "quantiles": [0.1, 0.9]},
        "metadata": {"caller": "test"},
    }
    kserve.ForecastRequest.model_validate(body)  # what we send is KServe's request
    r = shared_client.post(PATH, json=body)
    assert r.status_code == 200, r.text
    answer = kserve.ForecastResponse.model_validate(r.json())
    assert (answer.model, answer.status) == ("gru", kserve.Status.COMPLETED)

    items = [{"id": "a", "values": parts["a"]}, {"id": "b", "values": parts["b"]}]
    same = {"model": "gru", "series": items, "horizon": 3, "quantiles": [0.1, 0.9]}
    expected = shared_client.post("/forecast", json=same).json()["series"]
    for output, wanted in zip(answer.outputs, expected, strict=True):
        assert (output.type, output.status) == ("time_series_forecast", kserve.Status.COMPLETED)
        (content,) = output.content
        assert content.name == wanted["id"]
        assert content.mean_forecast == wanted["forecast"]["values"]
        assert content.quantiles == wanted["forecast"]["quantiles"]
        assert set(content.quantiles or {}) == {"0.1", "0.9"}
    a, b = (o.content[0] for o in answer.outputs)
    # 120 days after 2024-01-01 (leap year), UTC written as KServe writes it
    assert (a.frequency, a.start_timestamp) == (kserve.Frequency.DAY_SHORT, "2024-04-30T00:00:00Z")
    # 200 month ends after January 2000, month ends kept
    assert (b.frequency, b.start_timestamp) == (kserve.Frequency.MONTH, "2016-09-30T00:00:00")


def test_every_kserve_frequency_is_mapped_to_a_step_the_service_has_or_refused() -> None:
    assert set(KSERVE_FREQUENCIES) == {f.value for f in kserve.Frequency}
    served = {v for v in KSERVE_FREQUENCIES.values() if v is not None}
    assert served == set(frequency.NAMES) - {"quarter-hourly", "half-hourly"}


def test_models_lists_the_servable_models(shared_client: TestClient) -> None:
    r = shared_client.get("/v1/timeseries/models")
    assert r.status_code == 200, r.text
    assert r.json() == ["dense", "gru", "linear"]


@pytest.mark.parametrize(
    ("change", "status", "kind", "words", "param"),
    [
        ({"model": "nope"}, 404, "model_not_found", "no model named 'nope'", None),
        ({"options": {"horizon": 1001}}, 400, "validation_error",
         "options.horizon 1001 is more than the 1000 this server allows (FORECAST_MAX_HORIZON)",
         "options.horizon"),
        ({"options": {"horizon": 0}}, 400, "validation_error",
         "options.horizon: expected at least 1, got 0", "options.horizon"),
        ({"options": None}, 400, "validation_error", "options: expected an object, got null",
         "options"),
        ({"inputs": [_input("a", [1.0, 2.0, 3.0])]}, 400, "series_too_short",
         "window_size is 16", None),
        ({"inputs": [_input("a", [1.0] * 40, start_timestamp=None)]}, 400, "invalid_request",
         "inputs[0] ('a'): start_timestamp is needed", None),
        ({"inputs": [_input("a", [1.0] * 40, start_timestamp="soon")]}, 400, "validation_error",
         "inputs[0].start_timestamp: cannot read 'soon'", "inputs.0.start_timestamp"),
        ({"inputs": [_input("a", [1.0] * 40, frequency="S")]}, 400, "invalid_request",
         "frequency 'S' is not served; one of minute, T,", None),
        ({"inputs": [_input("a", [[1.0, 2.0]] * 40, type="multivariate_time_series")]}, 400,
         "invalid_request", "only univariate_time_series", None),
        ({"inputs": [_input("a", [1.0] * 100_001)]}, 400, "validation_error",
         "inputs[0].series holds 100001 values, more than the 100000 this server allows"
         " (FORECAST_MAX_SERIES_LENGTH)", "inputs.0.series"),
    ],
)  # fmt: skip
def test_errors_are_kserves_shape_naming_the_field(
    shared_client: TestClient,
    series: np.ndarray,
    change: dict[str, Any],
    status: int,
    kind: str,
    words: str,
    param: str | None,
) -> None:
    body = {
        "model": "linear",
        "inputs": [_input("a", series[:40].tolist())],
        "options": {"horizon": 2},
        **change,
    }
    error = _kserve_error(shared_client.post(PATH, json=body), status, kind)
    assert words in error.message
    assert error.param == param
