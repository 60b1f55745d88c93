"""Validation errors said as the body was sent: one per mistake, located as the client wrote it.

pydantic reports a wrong value against every member of a union and names its own types in the
location (``body.series.list[constrained-float].500``); these go through the real app and read
what a client reads: ``series[500]: expected a finite number, got "abc"``, one error, and a
limit a setting sets named by that setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.settings import Settings
from tests.app.support import TestClient, error_of, running
from tests.support import WINDOW

INTERNALS = ("constrained", "list[", "function-after", "SeriesItem", "Input should", "Value error")


def _refused(r: Any) -> dict[str, Any]:
    """The 422's error, checked to name none of pydantic's machinery."""
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["code"] == "validation_error", error
    for word in INTERNALS:
        assert word not in r.text, (word, r.text)
    return error


def test_a_string_among_1001_values_is_one_error_naming_its_index(
    shared_client: TestClient,
) -> None:
    values: list[Any] = [1.0] * 1001
    values[500] = "abc"
    error = _refused(shared_client.post("/forecast", json={"model": "linear", "series": values}))
    assert error["message"] == 'series[500]: expected a finite number, got "abc"'
    assert error["details"] == {
        "errors": [
            {
                "loc": ["body", "series", 500],
                "msg": 'expected a finite number, got "abc"',
                "type": "float_type",
            }
        ],
        "count": 1,
    }


def test_one_bad_value_of_many_series_names_the_series_and_the_value(
    shared_client: TestClient, series: np.ndarray
) -> None:
    values: list[Any] = series[:40].tolist()
    bad = [*values[:3], "x", *values[4:]]
    body = {
        "model": "linear",
        "series": [{"id": "a", "values": values}, {"id": "b", "values": bad}],
    }
    error = _refused(shared_client.post("/forecast", json=body))
    assert error["message"] == 'series[1].values[3]: expected a finite number, got "x"'
    assert error["details"]["count"] == 1
    assert error["details"]["errors"][0]["loc"] == ["body", "series", 1, "values", 3]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        # The first item says which form the body is in; the rest are judged by that form.
        ([1.0, {"id": "a", "values": [1.0]}], "series[1]: expected a finite number, got an object"),
        ([{"id": "a", "values": [1.0]}, 1.0], "series[1]: expected an object, got 1.0"),
        (["1.5", 2.0], 'series[0]: expected a finite number, got "1.5"'),
        ([[1.0, 2.0]], "series[0]: expected a finite number, got a list"),
        ("1,2,3", 'series: expected a list, got "1,2,3"'),
        ([], "series: expected at least 1 item, got 0"),
        ([{"id": "a"}], "series[0].values: required, but missing"),
        ([{"id": "a", "values": [1.0], "value": 2}], "series[0].value: unknown field"),
    ],
)
def test_each_form_of_series_is_judged_as_the_form_it_is(
    shared_client: TestClient, series: Any, message: str
) -> None:
    error = _refused(shared_client.post("/forecast", json={"model": "linear", "series": series}))
    assert (error["message"], error["details"]["count"]) == (message, 1)


def test_many_mistakes_are_counted_after_the_first(shared_client: TestClient) -> None:
    values: list[Any] = [1.0] * 40
    values[3], values[7], values[9] = "a", None, True
    error = _refused(shared_client.post("/forecast", json={"model": "linear", "series": values}))
    assert error["message"] == 'series[3]: expected a finite number, got "a" (and 2 more errors)'
    assert error["details"]["count"] == 3
    assert [e["loc"] for e in error["details"]["errors"]] == [
        ["body", "series", i] for i in (3, 7, 9)
    ]


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (1.5, "version: expected an integer, got 1.5"),
        (0, "version: expected at least 1, got 0"),
        ("../1", 'version: expected text matching ^[a-z0-9][a-z0-9_-]{0,63}$, got "../1"'),
    ],
)
def test_a_version_is_judged_as_a_number_or_a_label_not_both(
    shared_client: TestClient, series: np.ndarray, version: Any, message: str
) -> None:
    body = {"model": "linear", "series": series[:40].tolist(), "version": version}
    error = _refused(shared_client.post("/forecast", json=body))
    assert (error["message"], error["details"]["count"]) == (message, 1)


def test_an_unknown_freq_leads_with_unknown_frequency(
    shared_client: TestClient, series: np.ndarray
) -> None:
    item = {"id": "x", "values": series[:40].tolist(), "start": "2024-01-01", "freq": "fortnightly"}
    error = _refused(shared_client.post("/forecast", json={"model": "linear", "series": [item]}))
    where, _, said = error["message"].partition(": ")
    assert where == "series[0].freq"
    assert said.startswith("unknown frequency 'fortnightly': use one of minutely, ")
    assert error["details"]["count"] == 1


def test_a_gap_in_the_timestamps_says_what_a_client_can_send(
    shared_client: TestClient, series: np.ndarray
) -> None:
    stamps = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(41)]
    del stamps[20]  # 2001-09 is missing
    item = {"id": "x", "values": series[:40].tolist(), "timestamps": stamps}
    error = _refused(shared_client.post("/forecast", json={"model": "linear", "series": [item]}))
    assert error["message"] == (
        "series[0]: irregular time stamps: 2001-10-01T00:00:00 follows 2001-08-01T00:00:00, but"
        " the usual step is 1 month(s); nothing is filled in: send the missing values with their"
        " stamps, or the values without timestamps (in a CSV, the missing rows, or no time column)"
    )


def test_an_unreadable_start_names_the_field(shared_client: TestClient, series: np.ndarray) -> None:
    item = {"id": "x", "values": series[:40].tolist(), "start": "soon", "freq": "D"}
    error = _refused(shared_client.post("/forecast", json={"model": "linear", "series": [item]}))
    assert error["message"].startswith("series[0].start: cannot read 'soon' as a date or time")


def test_a_horizon_beyond_the_limit_names_the_setting(
    shared_client: TestClient, series: np.ndarray
) -> None:
    body = {"model": "linear", "series": series[:40].tolist(), "horizon": 5000}
    error = _refused(shared_client.post("/forecast", json=body))
    assert error["message"] == (
        "horizon 5000 is more than the 1000 this server allows (FORECAST_MAX_HORIZON)"
    )


# ---- every limit a setting sets, on a server with small ones ----

SMALL = {
    "max_series_length": 50,
    "max_series": 2,
    "max_total_points": 60,
    "max_horizon": 10,
    "max_backtest_forecasts": 20,
    "max_instances": 3,
}


@pytest.fixture(scope="module")
def small(trained_store: Path) -> Iterator[TestClient]:
    with running(trained_store, **SMALL) as client:
        yield client


def _values(n: int) -> list[float]:
    return [float(i % 7) for i in range(n)]


def _window(n: int) -> list[list[float]]:
    return [_values(WINDOW)] * n


def _kserve(horizon: int) -> dict[str, Any]:
    given = {"type": "univariate_time_series", "name": "a", "series": _values(40)}
    start = {"frequency": "D", "start_timestamp": "2024-01-01T00:00:00Z"}
    return {"model": "linear", "inputs": [given | start], "options": {"horizon": horizon}}


def _oip(windows: int, **more: Any) -> dict[str, Any]:
    data = [v for w in _window(windows) for v in w]
    window = {"name": "window", "shape": [windows, WINDOW], "datatype": "FP32", "data": data}
    return {"inputs": [window], **more}


LIMITS = [
    ("/forecast", {"model": "linear", "series": _values(51)},
     "series holds 51 values, more than the 50 this server allows (FORECAST_MAX_SERIES_LENGTH)"),
    ("/forecast", {"model": "linear", "series": [{"id": "a", "values": _values(51)}]},
     "series[0].values holds 51 values, more than the 50 this server allows"
     " (FORECAST_MAX_SERIES_LENGTH)"),
    ("/forecast", {"model": "linear", "series": [
        {"id": "a", "values": _values(1), "timestamps": ["2024-01-01"] * 51}]},
     "series[0].timestamps holds 51 stamps, more than the 50 this server allows"
     " (FORECAST_MAX_SERIES_LENGTH)"),
    ("/forecast", {"model": "linear", "series": [{"id": str(i), "values": [1.0]} for i in range(3)]},
     "series holds 3 series, more than the 2 this server allows (FORECAST_MAX_SERIES)"),
    ("/forecast", {"model": "linear", "series": [{"id": str(i), "values": _values(40)} for i in "ab"]},
     "the series hold 80 values in all, more than the 60 values this server allows"
     " (FORECAST_MAX_TOTAL_POINTS)"),
    ("/forecast", {"model": "linear", "series": _values(40), "horizon": 11},
     "horizon 11 is more than the 10 this server allows (FORECAST_MAX_HORIZON)"),
    ("/backtest", {"model": "linear", "series": _values(40), "h": 11},
     "h 11 is more than the 10 this server allows (FORECAST_MAX_HORIZON)"),
    ("/backtest", {"model": "linear", "series": _values(40), "h": 1, "n_windows": 21},
     "n_windows 21 is more than the 20 this server allows (FORECAST_MAX_BACKTEST_FORECASTS)"),
    ("/backtest", {"model": "linear", "series": _values(40), "h": 5, "n_windows": 5},
     "h * n_windows is 25 forecasts per method, more than the 20 this server allows"
     " (FORECAST_MAX_BACKTEST_FORECASTS)"),
    ("/anomalies", {"model": "linear", "series": _values(51)},
     "series holds 51 values, more than the 50 this server allows (FORECAST_MAX_SERIES_LENGTH)"),
    ("/v1/models/linear:predict", {"instances": _window(4)},
     "instances holds 4 windows, more than the 3 this server allows (FORECAST_MAX_INSTANCES)"),
    ("/v1/models/linear:predict", {"inputs": _window(4)},
     "inputs holds 4 windows, more than the 3 this server allows (FORECAST_MAX_INSTANCES)"),
    ("/v1/models/linear:predict", {"signature_name": "forecast",
                                   "inputs": {"window": _window(1), "steps": 11}},
     "inputs.steps 11 is more than the 10 this server allows (FORECAST_MAX_HORIZON)"),
    ("/v2/models/linear/infer", _oip(1, parameters={"steps": 11}),
     "parameters.steps 11 is more than the 10 this server allows (FORECAST_MAX_HORIZON)"),
    ("/v2/models/linear/infer", _oip(4),
     'input "window" holds 4 windows, more than the 3 this server allows (FORECAST_MAX_INSTANCES)'),
    ("/v1/timeseries/forecast", _kserve(11),
     "options.horizon 11 is more than the 10 this server allows (FORECAST_MAX_HORIZON)"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "message"), LIMITS)
def test_a_request_beyond_a_limit_names_the_setting_that_sets_it(
    small: TestClient, monkeypatch: pytest.MonkeyPatch, path: str, body: Any, message: str
) -> None:
    r = small.post(path, json=body)
    assert 400 <= r.status_code < 500, r.text
    error = r.json()["error"]
    # Each protocol keeps its error shape: TF Serving's and OIP's a string, KServe's its own.
    said = error if isinstance(error, str) else error["message"]
    assert said == message
    # The setting named is the one that sets the limit: set it, and the server reads it.
    setting = re.search(r"\((FORECAST_[A-Z_]+)\)$", message)
    assert setting is not None
    monkeypatch.setenv(setting[1], "4321")
    assert 4321 in Settings().model_dump().values()


def test_a_csv_bodys_query_parameter_beyond_a_limit_names_the_setting(small: TestClient) -> None:
    text = "y\n" + "\n".join(map(str, _values(40))) + "\n"
    r = small.post(
        "/forecast",
        content=text,
        params={"model": "linear", "horizon": 11},
        headers={"content-type": "text/csv"},
    )
    assert _refused(r)["message"] == (
        "query parameter horizon 11 is more than the 10 this server allows (FORECAST_MAX_HORIZON)"
    )


# ---- the protocols' own error shapes carry the same sentences ----


def test_tf_serving_names_the_instance_and_the_value(shared_client: TestClient) -> None:
    windows: list[list[Any]] = _window(2)
    windows[1] = [*windows[1][:5], "x", *windows[1][6:]]
    r = shared_client.post("/v1/models/linear:predict", json={"instances": windows})
    assert r.status_code == 400
    assert r.json() == {"error": 'instances[1][5]: expected a finite number, got "x"'}
    rows = [{"window": _values(WINDOW)}, {"window": [1.0, None]}]
    r = shared_client.post("/v1/models/linear:predict", json={"instances": rows})
    assert r.json() == {"error": "instances[1].window[1]: expected a finite number, got null"}


def test_oip_names_the_tensor_and_the_value(shared_client: TestClient) -> None:
    body = _oip(1)
    body["inputs"][0]["data"][2] = "x"
    r = shared_client.post("/v2/models/linear/infer", json=body)
    assert r.status_code == 400
    assert r.json() == {"error": 'inputs[0].data[2]: expected a finite number, got "x"'}


def test_kserve_names_the_input_and_the_value(shared_client: TestClient) -> None:
    body = _kserve(2)
    body["inputs"][0]["series"][3] = "x"
    r = shared_client.post("/v1/timeseries/forecast", json=body)
    assert r.status_code == 400
    assert r.json()["error"] == {
        "code": "400",
        "message": 'inputs[0].series[3]: expected a finite number, got "x"',
        "param": "inputs.0.series.3",
        "type": "validation_error",
    }
