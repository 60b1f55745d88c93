"""The service's one gRPC server, started and stopped with the app (grpcio's asyncio server).

On ``FORECAST_GRPC_HOST:FORECAST_GRPC_PORT`` (default ``0.0.0.0:8500``, TF Serving's gRPC
port; port 0 turns gRPC off) it serves, over the app's registry and settings:
TF Serving's ``PredictionService`` and ``ModelService`` (:mod:`app.grpc_tf_serving`), KServe
v2's ``GRPCInferenceService`` (:mod:`app.grpc_inference`), and gRPC's standard health service
(``grpc.health.v1.Health``, which Kubernetes' gRPC probes call): SERVING once ``GET /ready``
would answer 200. A message larger than ``FORECAST_MAX_BODY_BYTES`` is refused by gRPC itself
(RESOURCE_EXHAUSTED), as REST refuses such a body with 413. It runs on the app's event loop;
model calls go to the same worker threads as REST's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc
from tritonclient.grpc import service_pb2_grpc

from app.errors import NotReady, ServiceNotFound
from app.grpc_calls import Call, Calls
from app.grpc_inference import InferenceService
from app.grpc_tf_serving import ModelService, PredictionService
from app.registry import ModelRegistry
from app.settings import Settings, env_name
from app.telemetry import Metrics

logger = logging.getLogger("app")

HEALTH = "/grpc.health.v1.Health/"
STOP_GRACE_SECONDS = 5.0  # calls in flight at shutdown get this long to finish
WATCH_SECONDS = 1.0  # how often Health/Watch looks at readiness again
# The services a health check may name ("" is the server as a whole).
SERVICES = (
    "",
    "tensorflow.serving.PredictionService",
    "tensorflow.serving.ModelService",
    "inference.GRPCInferenceService",
)


class Health(health_pb2_grpc.HealthServicer):
    """``grpc.health.v1.Health``: every service is SERVING exactly when the app is ready."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def _status(self, service: str) -> int:
        """SERVING or NOT_SERVING (health_pb2's ServingStatus values)."""
        try:
            self.calls.registry.check_ready()
        except NotReady:
            return health_pb2.HealthCheckResponse.NOT_SERVING
        return health_pb2.HealthCheckResponse.SERVING

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        """SERVING or NOT_SERVING; NOT_FOUND for a service this server does not have."""

        async def work(call: Call) -> health_pb2.HealthCheckResponse:
            if request.service not in SERVICES:
                raise ServiceNotFound(f"no service {request.service!r}: one of {list(SERVICES)}")
            return health_pb2.HealthCheckResponse(status=self._status(request.service))

        return await self.calls.answer(HEALTH + "Check", context, work, needs_key=False)

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        """The status now, then each change, until the client goes away."""
        if request.service not in SERVICES:
            yield health_pb2.HealthCheckResponse(
                status=health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
            )
            return
        last = None
        while True:
            status = self._status(request.service)
            if status != last:
                yield health_pb2.HealthCheckResponse(status=status)
                last = status
            await asyncio.sleep(WATCH_SECONDS)


async def start(
    settings: Settings, registry: ModelRegistry, metrics: Metrics, version: str
) -> grpc.aio.Server:
    """The gRPC server listening on the settings' address; RuntimeError when it cannot bind."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", settings.max_body_bytes),
            ("grpc.max_send_message_length", -1),
            ("grpc.so_reuseport", 0),  # a second server on a taken port fails, as uvicorn does
        ]
    )
    calls = Calls(registry, settings, metrics)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(calls), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(calls), server)
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
        InferenceService(calls, version), server
    )
    health_pb2_grpc.add_HealthServicer_to_server(Health(calls), server)
    address = f"{settings.grpc_host}:{settings.grpc_port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        raise RuntimeError(
            f"cannot listen for gRPC on {address}: is the port in use? Set"
            f" {env_name('grpc_port')} to another port, or to 0 to turn gRPC off"
        )
    await server.start()
    logger.info("gRPC on %s (TF Serving, KServe v2, health)", address)
    return server


async def stop(server: grpc.aio.Server) -> None:
    """Stop taking calls; those in flight get STOP_GRACE_SECONDS to finish."""
    await server.stop(STOP_GRACE_SECONDS)
