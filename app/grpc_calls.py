"""The envelope of every gRPC call: its API key, its metrics, and its failure as a gRPC status.

What the REST side does in a dependency, a middleware and an exception handler, a gRPC method
does through :meth:`Calls.answer`: the key comes in the ``x-api-key`` metadata and is checked by
the same :func:`app.dependencies.require_api_key`; the call is counted by method, model and
status code; a :class:`app.errors.ForecastError` becomes the gRPC status of its HTTP status, with
the message REST would have sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import grpc

from app.dependencies import API_KEY_HEADER, require_api_key
from app.errors import ForecastError
from app.registry import ModelRegistry
from app.settings import Settings
from app.telemetry import Metrics, serving_route

logger = logging.getLogger(__name__)

Answer = TypeVar("Answer")

# HTTP's status of a failure -> gRPC's (google.rpc's own mapping, as grpc-gateway applies it).
STATUS_CODES: Mapping[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    502: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
}


def status_of(exc: Exception) -> tuple[grpc.StatusCode, str]:
    """The gRPC status and message a failure is answered with."""
    if isinstance(exc, ForecastError):
        return STATUS_CODES.get(exc.status_code, grpc.StatusCode.INTERNAL), exc.message
    logger.error("unhandled error in a gRPC call", exc_info=exc)
    return grpc.StatusCode.INTERNAL, "internal server error"


@dataclass
class Call:
    """One call in flight: its full method name, and the model it named once resolved."""

    method: str
    model: str = ""


class Calls:
    """What the services' methods share: the registry, the settings, the metrics."""

    def __init__(self, registry: ModelRegistry, settings: Settings, metrics: Metrics) -> None:
        self.registry = registry
        self.settings = settings
        self.metrics = metrics

    async def answer(
        self,
        method: str,
        context: grpc.aio.ServicerContext,
        work: Callable[[Call], Awaitable[Answer]],
        *,
        needs_key: bool = True,
    ) -> Answer:
        """``work``'s answer, or the call aborted with the status its failure maps to."""
        call, started, code = Call(method), time.perf_counter(), grpc.StatusCode.OK
        with serving_route(method):
            try:
                if needs_key:
                    given = dict(context.invocation_metadata() or ()).get(API_KEY_HEADER.lower())
                    require_api_key(
                        self.settings, given if isinstance(given, str) or given is None else None
                    )
                return await work(call)
            except Exception as exc:
                code, message = status_of(exc)
                await _abort(context, code, message)
            finally:
                self.metrics.count_grpc(
                    method, call.model, code.name, time.perf_counter() - started
                )


async def _abort(
    context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str
) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("context.abort returned")  # it raises; this tells mypy so
