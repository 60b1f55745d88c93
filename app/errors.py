"""The service's failures: one exception base, and one place that says what each means for HTTP.

:func:`failure` turns any exception into a :class:`Failure` (status, code, message, details);
the app answers it as ``{"error": {"code", "message", "details"}}``, and a protocol's routes
may answer it in their own shape (TF Serving's route class does). Messages never carry stack
traces or file paths.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

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


class PictureNotFound(ForecastError):
    """The version exists but its folder holds no such picture."""

    status_code = 404
    code = "picture_not_found"


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


class UnsupportedMediaType(ForecastError):
    """The body's Content-Type is neither JSON nor CSV (curl's default form type, say)."""

    status_code = 415
    code = "unsupported_media_type"


class KindUnsupported(InvalidRequest):
    """The version's kind cannot be served by the protocol asked (e.g. TF Serving's tensors)."""

    code = "kind_unsupported"


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


class ModelCannotForecast(InvalidRequest):
    """A statistical model cannot forecast this series (e.g. a multiplicative one, a zero)."""

    code = "model_cannot_forecast"


class NonFiniteResult(InvalidRequest):
    """A number computed from the model's output overflowed (the series' values are extreme)."""

    code = "non_finite_result"


class Unauthorized(ForecastError):
    """API keys are configured and the request's ``X-API-Key`` is missing or wrong."""

    status_code = 401
    code = "unauthorized"


@dataclass(frozen=True)
class Failure:
    """What an exception means for the client, whatever shape the answer takes."""

    status: int
    code: str
    message: str
    details: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


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


def failure(request: Request, exc: Exception) -> Failure:
    """What ``exc``, raised while answering ``request``, tells the client."""
    if isinstance(exc, ForecastError):
        return Failure(exc.status_code, exc.code, exc.message, exc.details)
    if isinstance(exc, RequestValidationError):
        errors = list(exc.errors())
        return Failure(
            422,
            "validation_error",
            _validation_message(errors),
            {"errors": _validation_details(errors), "count": len(errors)},
        )
    if isinstance(exc, StarletteHTTPException) and exc.status_code == 413:
        # Raised by the body limit (``app.middleware``) as the body is read.
        limit = request.app.state.settings.max_body_bytes
        return Failure(
            413,
            "body_too_large",
            f"the request body is larger than the limit of {limit} bytes",
            {"max_body_bytes": limit},
            # The rest of the body is never read, so the connection cannot carry another request.
            {"Connection": "close"},
        )
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        if status == 404:
            message = f"no route {request.method} {request.url.path}"
        elif status == 405:
            message = f"method {request.method} not allowed on {request.url.path}"
        else:
            message = str(exc.detail) if exc.detail else phrase
        return Failure(status, code, message, None, exc.headers or {})
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # Starlette re-raises the error after this answer and uvicorn then drops the connection;
    # saying so keeps a keep-alive client from sending its next request into the closed socket.
    return Failure(500, "internal_error", "internal server error", None, {"Connection": "close"})


def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The service's one error shape, ``{"error": {"code", "message", "details"}}``."""
    f = failure(request, exc)
    return JSONResponse(
        {"error": {"code": f.code, "message": f.message, "details": f.details}},
        status_code=f.status,
        headers=dict(f.headers),
    )


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure, FastAPI's own included, to the one error shape."""
    for kind in (ForecastError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, _handle)
