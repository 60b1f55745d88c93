"""The container's health check: both servers of one process answer, HTTP and gRPC.

``python -m app.probe live`` (the image's HEALTHCHECK): ``GET /health`` answers 200 and the
gRPC health service answers at all. ``python -m app.probe ready`` (compose's healthcheck):
``GET /ready`` answers 200 and gRPC health says SERVING. The ports are the container's:
HTTP 8000 (``PROBE_HTTP_PORT`` overrides), gRPC ``FORECAST_GRPC_PORT`` (0: only HTTP is
checked). Exits 0 when healthy, else 1 with the reason on stderr. Imports no TensorFlow (only
the settings), so a probe costs a fraction of a second.
"""

from __future__ import annotations

import os
import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from app.settings import Settings

TIMEOUT_SECONDS = 4.0


def problem(mode: str, http_port: int, grpc_port: int) -> str | None:
    """What is unhealthy in ``mode`` ("live" or "ready"), or None."""
    path = "/health" if mode == "live" else "/ready"
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{http_port}{path}", timeout=TIMEOUT_SECONDS
        ) as answer:
            if answer.status != 200:
                return f"GET {path} answered {answer.status}"
    except OSError as e:  # urllib's HTTPError (a 503) and connection errors alike
        return f"GET {path}: {e}"
    if not grpc_port:
        return None
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        try:
            status = (
                health_pb2_grpc.HealthStub(channel)
                .Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT_SECONDS)
                .status
            )
        except grpc.RpcError as e:
            return f"gRPC health on port {grpc_port}: {e.code().name} {e.details()}"
    if mode == "ready" and status != health_pb2.HealthCheckResponse.SERVING:
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
        return f"gRPC health on port {grpc_port}: {name}"
    return None


def main(argv: list[str]) -> int:
    """Probe as ``argv[0]`` says ("live" or "ready"); 0 when healthy."""
    mode = argv[0] if argv else "live"
    if mode not in ("live", "ready"):
        print(f"usage: python -m app.probe [live|ready], not {mode!r}", file=sys.stderr)
        return 2
    found = problem(
        mode,
        int(os.environ.get("PROBE_HTTP_PORT", "8000")),
        Settings().grpc_port,
    )
    if found:
        print(found, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
