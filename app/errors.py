"""The service's failures: one exception base, one error body, one place that maps them to HTTP.

Every error leaves as ``{"error": {"code", "message", "details"}}``; the TensorFlow-Serving
routes (``/v1/...``) answer TF Serving's ``{"error": "<message>"}`` instead, so its clients keep
working. Messages never carry stack traces or file paths.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

TF_SERVING_PREFIX = "/v1/"
MAX_VALIDATION_DETAILS = 10


class ForecastError(Exception):
    """Base of every failure the service reports on purpose."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ModelNotFound(ForecastError):
    """No model of that name is in the store (or the name is not a valid model name)."""

    status_code = 404
    code = "model_not_found"


class VersionNotFound(ForecastError):
    """The model exists but has no such version."""

    status_code = 404
    code = "version_not_found"


class LabelNotFound(ForecastError):
    """The model exists but has no such label."""

    status_code = 404
    code = "label_not_found"


class ModelUnavailable(ForecastError):
    """The version asked for exists but is not AVAILABLE (still loading, or failed to load)."""

    status_code = 503
    code = "model_unavailable"


class NotReady(ForecastError):
    """No version at all is AVAILABLE."""

    status_code = 503
    code = "not_ready"


class InvalidRequest(ForecastError):
    """The body is well-formed but cannot be served as asked."""

    status_code = 422
    code = "invalid_request"


class SeriesTooShort(InvalidRequest):
    """The series is shorter than the model's window, or than an asked-for baseline needs."""

    code = "series_too_short"


class LimitExceeded(InvalidRequest):
    """A value beyond one of the service's configured limits."""

    code = "limit_exceeded"


class NonFiniteOutput(ForecastError):
    """The model produced NaN or infinity; the service refuses to pass it on."""

    status_code = 502
    code = "non_finite_model_output"


class ValuesTooLarge(InvalidRequest):
    """The model overflowed float32 on a series whose values are beyond what it can take."""

    code = "values_too_large"


class ForecastDiverged(InvalidRequest):
    """The model's recursive forecast overflowed float32 before reaching the horizon."""

    code = "forecast_diverged"


class NonFiniteResult(InvalidRequest):
    """A number computed from the model's output overflowed (the series' values are extreme)."""

    code = "non_finite_result"


class Unauthorized(ForecastError):
    """API keys are configured and the request's ``X-API-Key`` is missing or wrong."""

    status_code = 401
    code = "unauthorized"


class BodyTooLarge(ForecastError):
    """The request body is larger than ``FORECAST_MAX_BODY_BYTES``."""

    status_code = 413
    code = "body_too_large"


def _is_tf_serving(path: str) -> bool:
    return path.startswith(TF_SERVING_PREFIX)


def error_body(
    path: str, status: int, code: str, message: str, details: Any = None
) -> JSONResponse:
    """The one error response: the service's shape, or TF Serving's under ``/v1/``."""
    if _is_tf_serving(path):
        # TF Serving answers INVALID_ARGUMENT with 400 where this service uses 422.
        status = 400 if status == 422 else status
        return JSONResponse({"error": message}, status_code=status)
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status
    )


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # The rejected input is left out on purpose: it may be a whole 100,000-value series.
    return [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors[:MAX_VALIDATION_DETAILS]
    ]


def _validation_message(errors: Sequence[Any]) -> str:
    if not errors:
        return "invalid request"
    first = errors[0]
    where = _location(first.get("loc", ()))
    message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    return message


async def _forecast_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ForecastError)
    return error_body(request.url.path, exc.status_code, exc.code, exc.message, exc.details)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    return error_body(
        request.url.path,
        422,
        "validation_error",
        _validation_message(errors),
        {"errors": _validation_details(errors), "count": len(errors)},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    if status == 404:
        message = f"no route {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} not allowed on {request.url.path}"
    else:
        message = str(exc.detail) if exc.detail else phrase
    response = error_body(request.url.path, status, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    response = error_body(request.url.path, 500, "internal_error", "internal server error")
    # Starlette re-raises the error after this answer and uvicorn then drops the connection;
    # saying so keeps a keep-alive client from sending its next request into the closed socket.
    response.headers["Connection"] = "close"
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure, FastAPI's own included, to the one error shape."""
    app.add_exception_handler(ForecastError, _forecast_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
