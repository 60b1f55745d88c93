"""`make container-check`'s gRPC step: the container's gRPC port, called from outside it.

gRPC health says SERVING; TF Serving's Predict (tensorflow-serving-api's stub) and KServe v2's
ModelInfer (tritonclient.grpc) each forecast the same windows as REST's ``:predict`` through
the container's HTTP port, to float32's precision. Usage:
``python deploy/grpc_check.py GRPC_TARGET HTTP_URL MODEL`` (exits 1 on any difference).
"""

from __future__ import annotations

import json
import sys
import urllib.request

import grpc
import numpy as np
import tensorflow as tf
import tritonclient.grpc as triton
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


def _rest(url: str, body: dict[str, object] | None = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        decoded: dict[str, object] = json.load(answer)
        return decoded


def main(target: str, url: str, model: str) -> int:
    """Check the gRPC port at ``target`` against REST at ``url``; 0 when they agree."""
    with grpc.insecure_channel(target) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=30
        )
        if status.status != health_pb2.HealthCheckResponse.SERVING:
            print(f"gRPC health: {status.status}, not SERVING", file=sys.stderr)
            return 1
        window = int(_rest(f"{url}/v2/models/{model}")["inputs"][0]["shape"][1])  # type: ignore[index]
        series = 50 + 10 * np.sin(np.arange(window + 20) / 5)
        windows = np.stack([series[i : i + window] for i in range(20)]).astype(np.float32)
        rest = np.asarray(
            _rest(f"{url}/v1/models/{model}:predict", {"instances": windows.tolist()})[
                "predictions"
            ]
        )
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.inputs["window"].CopyFrom(tf.make_tensor_proto(windows))
        answer = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
            request, timeout=60
        )
        predicted = tf.make_ndarray(answer.outputs["forecast"])
    tensor = triton.InferInput("window", list(windows.shape), "FP32")
    tensor.set_data_from_numpy(windows)
    inferred = triton.InferenceServerClient(target).infer(model, [tensor]).as_numpy("forecast")
    for name, got in (("TF Serving Predict", predicted), ("KServe v2 ModelInfer", inferred)):
        if got is None or got.shape != rest.shape or not np.allclose(got, rest, rtol=1e-5):
            print(f"{name} over gRPC differs from REST :predict", file=sys.stderr)
            return 1
    print(f"gRPC on {target}: SERVING; Predict and ModelInfer equal REST on {len(windows)} windows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
