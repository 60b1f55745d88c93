"""tritonclient.grpc's calls as its users make them, in a process of their own.

tritonclient.grpc's protos and KServe's both define the ``inference`` package in protobuf's
one default pool, so no process can import both; the test process imports KServe's, and runs
``python -m tests.app.triton_grpc_calls TARGET [KEY]`` for tritonclient's, the windows as JSON
on stdin. It prints one JSON object: each call's answer, or its error's status and message. The
assertions are the tests' (tests/app/test_grpc.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException


def _call(make: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": make()}
    except InferenceServerException as e:
        return {"status": e.status(), "message": e.message()}


def _window(values: np.ndarray) -> triton.InferInput:
    tensor = triton.InferInput("window", list(values.shape), "FP32")
    tensor.set_data_from_numpy(values)  # tritonclient.grpc's only way: raw_input_contents
    return tensor


def calls(client: triton.InferenceServerClient, windows: np.ndarray) -> dict[str, Any]:
    """The calls a user of the protocol makes, without an API key."""
    steps = triton.InferInput("steps", [1], "INT32")
    steps.set_data_from_numpy(np.array([6], np.int32))
    short = windows[:, :5].copy()
    return {
        "live": _call(client.is_server_live),
        "ready": _call(client.is_server_ready),
        "server_name": _call(lambda: client.get_server_metadata().name),
        "linear_ready": _call(lambda: client.is_model_ready("linear")),
        "linear_2_ready": _call(lambda: client.is_model_ready("linear", "2")),
        "linear_9_ready": _call(lambda: client.is_model_ready("linear", "9")),
        "gru_metadata": _call(lambda: client.get_model_metadata("gru", as_json=True)),
        "one_step": _call(
            lambda: (
                client.infer("linear", [_window(windows)], model_version="1")
                .as_numpy("forecast")
                .tolist()
            )
        ),
        "steps_input": _call(
            lambda: (
                client.infer("dense", [_window(windows), steps], request_id="r1")
                .get_response(as_json=True)
                .get("id")
            )
        ),
        "steps_input_forecast": _call(
            lambda: client.infer("dense", [_window(windows), steps]).as_numpy("forecast").tolist()
        ),
        "steps_parameter": _call(
            lambda: (
                client.infer("dense", [_window(windows)], parameters={"steps": 6})
                .as_numpy("forecast")
                .tolist()
            )
        ),
        "short_window": _call(lambda: client.infer("gru", [_window(short)])),
        "no_such_model": _call(lambda: client.infer("nope", [_window(windows)])),
    }


def keyed_calls(client: triton.InferenceServerClient, key: str) -> dict[str, Any]:
    """The calls against a server with API keys: health open, the model's behind the key."""
    return {
        "live": _call(client.is_server_live),
        "metadata_without_key": _call(lambda: client.get_model_metadata("gru").name),
        "metadata_with_key": _call(
            lambda: client.get_model_metadata("gru", headers={"x-api-key": key}).name
        ),
    }


def main() -> None:
    """Run the calls against ``sys.argv[1]``; print their answers as JSON."""
    client = triton.InferenceServerClient(sys.argv[1])
    if len(sys.argv) > 2:
        answers = keyed_calls(client, sys.argv[2])
    else:
        answers = calls(client, np.asarray(json.load(sys.stdin), dtype=np.float32))
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
