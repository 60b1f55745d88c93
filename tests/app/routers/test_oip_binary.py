"""Triton's binary tensor data extension on the OIP's infer route, sent as raw bytes.

``tests/app/test_protocol_clients.py`` sends the same through tritonclient and KServe's client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.app.support import TestClient, running
from tests.support import WINDOW

HEADER = "Inference-Header-Content-Length"
INFER = "/v2/models/linear/versions/1/infer"


def _body(header: dict[str, Any], *tensors: bytes) -> tuple[bytes, dict[str, str]]:
    """A binary request: the JSON ``header``, then ``tensors``' bytes, and the header's length."""
    text = json.dumps(header).encode()
    return text + b"".join(tensors), {HEADER: str(len(text))}


def _window(windows: np.ndarray, **parameters: Any) -> dict[str, Any]:
    size = windows.astype("<f4").nbytes
    return {
        "name": "window",
        "shape": list(windows.shape),
        "datatype": "FP32",
        "parameters": {"binary_data_size": size, **parameters},
    }


def _post(client: TestClient, header: dict[str, Any], *tensors: bytes) -> httpx.Response:
    content, headers = _body(header, *tensors)
    return client.post(INFER, content=content, headers=headers)


def _json_forecast(client: TestClient, windows: np.ndarray, **more: Any) -> np.ndarray:
    window = {
        "name": "window",
        "shape": list(windows.shape),
        "datatype": "FP32",
        "data": windows.ravel().tolist(),
    }
    r = client.post(INFER, json={"inputs": [window], **more})
    assert r.status_code == 200, r.text
    [out] = r.json()["outputs"]
    return np.reshape(out["data"], out["shape"])


def _binary_answer(r: httpx.Response) -> tuple[dict[str, Any], bytes]:
    """The JSON header and the bytes after it, checked for the extension's framing."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    length = int(r.headers[HEADER])
    return json.loads(r.content[:length]), r.content[length:]


@pytest.fixture(scope="module")
def windows(series: np.ndarray) -> np.ndarray:
    return np.stack([series[i : i + WINDOW] for i in range(0, 30, 10)]).astype(np.float32)


def test_binary_window_in_json_forecast_out(shared_client: TestClient, windows: np.ndarray) -> None:
    r = _post(shared_client, {"id": "b1", "inputs": [_window(windows)]}, windows.tobytes())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json" and HEADER not in r.headers
    body = r.json()
    assert body["id"] == "b1" and body["model_version"] == "1"
    [out] = body["outputs"]
    assert set(out) == {"name", "datatype", "shape", "data"}
    np.testing.assert_array_equal(
        np.reshape(out["data"], out["shape"]), _json_forecast(shared_client, windows)
    )


@pytest.mark.parametrize(
    ("parameters", "outputs"),
    [
        ({"binary_data_output": True}, None),
        (None, [{"name": "forecast", "parameters": {"binary_data": True}}]),
        (
            {"binary_data_output": False},
            [{"name": "forecast", "parameters": {"binary_data": True}}],
        ),
        ({"binary_data_output": True}, [{"name": "forecast"}]),
    ],
)
def test_forecast_as_bytes_when_asked(
    shared_client: TestClient,
    windows: np.ndarray,
    parameters: dict[str, Any] | None,
    outputs: list[dict[str, Any]] | None,
) -> None:
    asked: dict[str, Any] = {"inputs": [_window(windows)]}
    if parameters is not None:
        asked["parameters"] = parameters
    if outputs is not None:
        asked["outputs"] = outputs
    header, data = _binary_answer(_post(shared_client, asked, windows.tobytes()))
    [out] = header["outputs"]
    assert out == {
        "name": "forecast",
        "datatype": "FP32",
        "shape": [3, 1],
        "parameters": {"binary_data_size": 12},
    }
    assert header["model_name"] == "linear" and len(data) == 12
    expected = _json_forecast(shared_client, windows).astype(np.float32)
    np.testing.assert_array_equal(np.frombuffer(data, "<f4").reshape(3, 1), expected)


def test_an_outputs_own_flag_wins_over_the_requests(
    shared_client: TestClient, windows: np.ndarray
) -> None:
    asked = {
        "inputs": [_window(windows)],
        "parameters": {"binary_data_output": True},
        "outputs": [{"name": "forecast", "parameters": {"binary_data": False}}],
    }
    r = _post(shared_client, asked, windows.tobytes())
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert HEADER not in r.headers and len(r.json()["outputs"][0]["data"]) == 3


def test_json_inputs_may_ask_for_bytes_back(shared_client: TestClient, windows: np.ndarray) -> None:
    window = {"name": "window", "shape": [3, WINDOW], "datatype": "FP32"}
    body = {
        "inputs": [{**window, "data": windows.ravel().tolist()}],
        "parameters": {"binary_data_output": True},
    }
    _, data = _binary_answer(shared_client.post(INFER, json=body))
    expected = _json_forecast(shared_client, windows).astype(np.float32)
    np.testing.assert_array_equal(np.frombuffer(data, "<f4").reshape(3, 1), expected)


def test_binary_and_json_inputs_mix(shared_client: TestClient, windows: np.ndarray) -> None:
    steps_json = {"name": "steps", "shape": [1], "datatype": "INT32", "data": [4]}
    steps_binary = {
        "name": "steps",
        "shape": [1],
        "datatype": "INT32",
        "parameters": {"binary_data_size": 4},
    }
    window_json = {
        "name": "window",
        "shape": [3, WINDOW],
        "datatype": "FP32",
        "data": windows.ravel().tolist(),
    }
    expected = _json_forecast(shared_client, windows, parameters={"steps": 4})
    four = np.array([4], "<i4").tobytes()
    for r in (
        _post(shared_client, {"inputs": [_window(windows), steps_json]}, windows.tobytes()),
        _post(shared_client, {"inputs": [window_json, steps_binary]}, four),
        _post(shared_client, {"inputs": [steps_binary, _window(windows)]}, four, windows.tobytes()),
    ):
        assert r.status_code == 200, r.text
        [out] = r.json()["outputs"]
        np.testing.assert_array_equal(np.reshape(out["data"], out["shape"]), expected)


def test_a_raw_binary_request_is_one_window(shared_client: TestClient, windows: np.ndarray) -> None:
    r = shared_client.post(INFER, content=windows[1].tobytes(), headers={HEADER: "0"})
    header, data = _binary_answer(r)
    assert header["outputs"][0]["shape"] == [1, 1]
    expected = _json_forecast(shared_client, windows[1:2]).astype(np.float32)
    np.testing.assert_array_equal(np.frombuffer(data, "<f4").reshape(1, 1), expected)


def test_the_header_is_ignored_where_no_body_is_read(shared_client: TestClient) -> None:
    r = shared_client.get("/v2/models/linear", headers={HEADER: "nonsense"})
    assert r.status_code == 200 and r.json()["name"] == "linear"


def test_the_server_says_it_speaks_the_extension(shared_client: TestClient) -> None:
    assert shared_client.get("/v2").json()["extensions"] == ["binary_tensor_data"]


def test_the_openapi_document_shows_both_forms(shared_client: TestClient) -> None:
    document = shared_client.get("/openapi.json").json()
    operation = document["paths"]["/v2/models/{name}/infer"]["post"]
    assert HEADER in operation["requestBody"]["description"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json",
        "application/octet-stream",
    }
    schemas = document["components"]["schemas"]
    assert "data" not in schemas["OIPInput"].get("required", [])
    assert "binary_data_size" in schemas["OIPTensorParameters"]["properties"]


def _size(windows: np.ndarray, size: int) -> dict[str, Any]:
    return {**_window(windows), "parameters": {"binary_data_size": size}}


ONE = np.ones((1, WINDOW), np.float32)
BYTES_OF_ONE = ONE.tobytes()


@pytest.mark.parametrize(
    ("content", "header", "message"),
    [
        (
            b'{"inputs": []}',
            "abc",
            f"{HEADER} is 'abc', not a number: it gives the length in bytes of the JSON that"
            " starts the body",
        ),
        (
            b'{"inputs": []}',
            "-3",
            f"{HEADER} is '-3', not a number: it gives the length in bytes of the JSON that"
            " starts the body",
        ),
        (
            b'{"inputs": []}',
            "99",
            f"{HEADER} is 99, more than the body's 14 bytes: it gives the length in bytes of the"
            " JSON that starts the body",
        ),
        (
            b"\x00\x00\x80?" * 3 + b"\x00",
            "0",
            f"with {HEADER} 0 the body is input 'window''s FP32 values alone, but its 13 bytes"
            " are not a whole number of FP32 values (4 bytes each)",
        ),
    ],
)
def test_a_bad_header_length_is_named(
    shared_client: TestClient, content: bytes, header: str, message: str
) -> None:
    r = shared_client.post(INFER, content=content, headers={HEADER: header})
    assert r.status_code == 400
    assert r.json() == {"error": message}


MALFORMED = [
    (
        {"inputs": [{**_window(ONE), "data": ONE.ravel().tolist()}]},
        [BYTES_OF_ONE],
        'input "window" has both "data" and parameters.binary_data_size: send its values once,'
        " as JSON or as bytes after the JSON",
    ),
    (
        {"inputs": [{"name": "window", "shape": [1, WINDOW], "datatype": "FP32"}]},
        [],
        'input "window" has neither "data" nor parameters.binary_data_size: send its values as'
        ' JSON in "data", or as bytes after the JSON (Triton\'s binary tensor data extension)',
    ),
    (
        {"inputs": [_window(ONE)]},
        [BYTES_OF_ONE[:-4]],
        f"the inputs' parameters.binary_data_size add up to {4 * WINDOW} bytes, but"
        f" {4 * WINDOW - 4} bytes follow the JSON ({HEADER})",
    ),
    (
        {"inputs": [_window(ONE)]},
        [BYTES_OF_ONE, b"\x00"],
        f"the inputs' parameters.binary_data_size add up to {4 * WINDOW} bytes, but"
        f" {4 * WINDOW + 1} bytes follow the JSON ({HEADER})",
    ),
    (
        {
            "inputs": [
                {"name": "window", "shape": [1, WINDOW], "datatype": "FP32", "data": [1.0] * WINDOW}
            ]
        },
        [b"\x00\x00\x80?"],
        f"the inputs' parameters.binary_data_size add up to 0 bytes, but 4 bytes follow the JSON"
        f" ({HEADER})",
    ),
    (
        {"inputs": [_size(ONE, 4 * WINDOW - 4)]},
        [BYTES_OF_ONE[:-4]],
        f'input "window" has parameters.binary_data_size {4 * WINDOW - 4}, but its shape'
        f" [1, {WINDOW}] of FP32 takes {4 * WINDOW} bytes",
    ),
    (
        {"inputs": [{**_size(ONE, 8 * WINDOW), "datatype": "FP64"}]},
        [np.ones(WINDOW, "<f8").tobytes()],
        'input "window" must be FP32, got FP64',
    ),
    (
        {"inputs": [{**_size(ONE, 4 * WINDOW), "datatype": "BYTES"}]},
        [BYTES_OF_ONE],
        'input "window" is BYTES, which these models do not take: their inputs are numbers',
    ),
    (
        {"inputs": [{**_size(ONE, 2 * WINDOW), "datatype": "BF16"}]},
        [BYTES_OF_ONE[: 2 * WINDOW]],
        "input \"window\" has datatype 'BF16', which this server cannot read as binary data"
        " (it reads BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16,"
        " FP32, FP64)",
    ),
    (
        {"inputs": [{**_size(ONE, 4 * 15), "shape": [1, 15]}]},
        [BYTES_OF_ONE[: 4 * 15]],
        f"input \"window\" has shape [1, 15] but model 'linear' version 1 takes [batch, {WINDOW}]"
        " (batch at least 1)",
    ),
]


@pytest.mark.parametrize(("header", "tensors", "message"), MALFORMED)
def test_malformed_binary_inputs_get_a_400_that_names_the_problem(
    shared_client: TestClient, header: dict[str, Any], tensors: list[bytes], message: str
) -> None:
    r = _post(shared_client, header, *tensors)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": message}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_binary_values_are_refused(shared_client: TestClient, bad: float) -> None:
    values = ONE.copy()
    values[0, 5] = bad
    r = _post(shared_client, {"inputs": [_window(values)]}, values.tobytes())
    assert r.status_code == 400
    assert r.json() == {"error": 'input "window" holds a NaN or an infinity: send finite values'}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            np.array([0], "<i4"),
            'input "steps" must be INT32 of shape [1] holding an integer from 1 to 1000'
            " (FORECAST_MAX_HORIZON)",
        ),
        (np.array([2], "<i8"), 'input "steps" must be INT32 of shape [1] holding an integer'),
    ],
)
def test_binary_steps_are_checked_as_json_steps_are(
    shared_client: TestClient, steps: np.ndarray, message: str
) -> None:
    datatype = "INT32" if steps.dtype.itemsize == 4 else "INT64"
    given = {
        "name": "steps",
        "shape": [1],
        "datatype": datatype,
        "parameters": {"binary_data_size": steps.nbytes},
    }
    r = _post(shared_client, {"inputs": [_window(ONE), given]}, BYTES_OF_ONE, steps.tobytes())
    assert r.status_code == 400
    assert r.json()["error"].startswith(message)


def test_binary_data_size_without_the_header_is_refused(shared_client: TestClient) -> None:
    # A binary request just before leaves nothing behind for the next one to read.
    assert _post(shared_client, {"inputs": [_window(ONE)]}, BYTES_OF_ONE).status_code == 200
    r = shared_client.post(INFER, json={"inputs": [_window(ONE)]})
    assert r.status_code == 400
    assert r.json() == {
        "error": 'input "window" has parameters.binary_data_size but the request has no'
        f" {HEADER} header giving the length of the JSON before the tensors' bytes"
    }


@pytest.mark.parametrize(
    ("shift", "why"), [(-5, "Expecting ',' delimiter at character"), (3, "not UTF-8")]
)
def test_a_header_length_that_misses_the_json_is_named(
    shared_client: TestClient, shift: int, why: str
) -> None:
    content, headers = _body({"inputs": [_window(ONE)]}, BYTES_OF_ONE)
    length = int(headers[HEADER]) + shift
    r = shared_client.post(INFER, content=content, headers={HEADER: str(length)})
    assert r.status_code == 400
    message = r.json()["error"]
    assert message.startswith(
        f"the body's first {length} bytes, its JSON by {HEADER}, are not valid JSON ({why}"
    )
    assert message.endswith("): the header gives the length in bytes of the JSON alone")


def test_a_bad_binary_data_size_is_a_validation_error(shared_client: TestClient) -> None:
    r = _post(shared_client, {"inputs": [_size(ONE, -1)]}, BYTES_OF_ONE)
    assert r.status_code == 400
    assert r.json() == {
        "error": "inputs[0].parameters.binary_data_size: expected at least 0, got -1"
    }


def test_the_body_size_limit_holds_for_binary_bodies(trained_store: Path) -> None:
    windows = np.ones((64, WINDOW), np.float32)
    with running(trained_store, max_body_bytes=2048) as client:
        content, headers = _body({"inputs": [_window(windows)]}, windows.tobytes())
        r = client.post(INFER, content=content, headers=headers)
        assert r.status_code == 413 and set(r.json()) == {"error"}
        small, headers = _body({"inputs": [_window(ONE)]}, BYTES_OF_ONE)
        assert client.post(INFER, content=small, headers=headers).status_code == 200
