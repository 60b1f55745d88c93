"""The service's failures: one exception base, and one place that says what each means for HTTP.

:func:`failure` turns any exception into a :class:`Failure` (status, code, message, details);
the app answers it as ``{"error": {"code", "message", "details"}}``, and a protocol's routes
may answer it in their own shape (TF Serving's route class does). Messages never carry stack
traces or file paths. A body that fails validation is answered with one sentence per mistake,
located as the client wrote the body (``series[1].values[3]: expected a finite number, got
"x"``), none of pydantic's own names in it.
"""

from __future__ import annotations

import json
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


class ServiceNotFound(ForecastError):
    """A gRPC health check names a service this server does not have."""

    status_code = 404
    code = "service_not_found"


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


# ---- validation errors, as a client reads them ----
#
# pydantic's errors name its own machinery: a union's members in the location
# (``series.list[constrained-float].500``), "Input should be a valid number". Here each becomes
# one sentence about the body as sent: ``series[500]: expected a finite number, got "abc"``.

_EXPECTED = {
    "float_type": "a finite number",
    "float_parsing": "a finite number",
    "finite_number": "a finite number",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}
_SIZES = {"too_short": ("min_length", "at least"), "too_long": ("max_length", "at most")}
_TEXT_SIZES = {
    "string_too_short": ("min_length", "at least"),
    "string_too_long": ("max_length", "at most"),
}
# Where a location that is not the body's comes from, as FastAPI names it.
_SOURCES = {"query": "query parameter", "path": "path parameter", "header": "header"}


def plain_errors(errors: Sequence[Any], body: Any, prefix: int = 0) -> list[dict[str, Any]]:
    """``errors`` from validating ``body``, each location as the body names it.

    A union's member adds its tag to the location (``list[constrained-float]``, ``SeriesItem``);
    walking the body along the location tells a tag, which names nothing in the body, from a
    field. ``prefix``: how many leading parts of each location are not in the body (FastAPI's
    ``"body"``). Without a body to walk, the parts that are no field name are left out.
    """
    return [{**e, "loc": _plain_location(tuple(e.get("loc", ())), body, prefix, e)} for e in errors]


def _plain_location(
    loc: tuple[Any, ...], body: Any, prefix: int, error: Mapping[str, Any]
) -> tuple[Any, ...]:
    kept, value, known = list(loc[:prefix]), body, body is not None
    path = loc[prefix:]
    for i, part in enumerate(path):
        if isinstance(part, int):
            kept.append(part)
            known = known and isinstance(value, list) and -len(value) <= part < len(value)
            value = value[part] if known else None
        elif known and isinstance(value, dict) and part in value:
            kept.append(part)
            value = value[part]
        else:
            last = i == len(path) - 1
            absent = known and isinstance(value, dict) and last and error.get("type") == "missing"
            if absent or (not known and str(part).isidentifier()):
                kept.append(part)
            # else: a union member's tag, or pydantic's name of a type: nothing the client sent
    return tuple(kept)


def _where(loc: Sequence[Any]) -> str:
    """``("body", "series", 1, "values", 3)`` as ``series[1].values[3]``."""
    source, path = (loc[0], loc[1:]) if loc and loc[0] in {"body", *_SOURCES} else ("body", loc)
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    if source == "body" or not text:
        return text
    return f"{_SOURCES.get(str(source), str(source))} {text}"


def _shown(value: Any) -> str:
    """A rejected value, short: JSON for a scalar, the kind of a list or an object."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode()  # a lone surrogate cannot go into the UTF-8 answer: escaped, then
    except UnicodeEncodeError:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _plural(count: Any, noun: str) -> str:
    return f"{_number(count)} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class _Said:
    """One validation error as a sentence: what was expected, and what came."""

    where: str
    expected: str | None = None  # "a finite number"
    got: str | None = None  # "\"abc\""
    text: str | None = None  # the whole sentence when it is no "expected ..., got ..."
    joined: bool = False  # ``text`` goes after the location without a colon

    def what(self) -> str:
        """The sentence without its location (``loc`` says where, as FastAPI's ``msg`` does)."""
        if self.text is not None:
            return self.text
        return f"expected {self.expected}" + (f", got {self.got}" if self.got else "")

    def sentence(self) -> str:
        """``series[500]: expected a finite number, got "abc"``."""
        if not self.where:
            return self.what()
        return f"{self.where} {self.what()}" if self.joined else f"{self.where}: {self.what()}"


def _said(error: Mapping[str, Any]) -> _Said:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    place = _where(error.get("loc", ()))
    where = place or "body"  # a whole body refused (not an object, say)
    got = _shown(error["input"]) if "input" in error else None
    if kind in _EXPECTED:
        return _Said(where, _EXPECTED[kind], got)
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, words = _BOUNDS[kind]
        return _Said(where, f"{words} {_number(ctx[key])}", got)
    if kind in _SIZES and _SIZES[kind][0] in ctx:
        key, words = _SIZES[kind]
        actual = ctx.get("actual_length")
        return _Said(where, f"{words} {_plural(ctx[key], 'item')}", _number(actual))
    if kind in _TEXT_SIZES and _TEXT_SIZES[kind][0] in ctx:
        key, words = _TEXT_SIZES[kind]
        return _Said(where, f"{words} {_plural(ctx[key], 'character')}", got)
    if kind == "string_pattern_mismatch":
        return _Said(where, f"text matching {ctx.get('pattern')}", got)
    if kind == "literal_error" and "expected" in ctx:
        return _Said(where, str(ctx["expected"]), got)
    if kind == "missing":
        return _Said(where, text="required, but missing")
    if kind == "extra_forbidden":
        return _Said(where, text="unknown field")
    if kind == "over_limit":
        return _Said(where, text=str(error.get("msg", "")), joined=True)
    if kind == "json_invalid":
        position = tuple(error.get("loc", ()))[-1:]
        at = f" at character {position[0]}" if position and isinstance(position[0], int) else ""
        return _Said("", text=f"the body is not valid JSON: {ctx.get('error', 'invalid')}{at}")
    message = str(error.get("msg", "invalid"))
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        message = str(ctx["error"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if message.startswith("Input should be "):
        return _Said(where, message.removeprefix("Input should be "), got)
    return _Said(place, text=message)  # a validator's own sentence, of a field or the body


def _one_per_place(errors: Sequence[Any]) -> list[tuple[Mapping[str, Any], _Said]]:
    """Each error said once per location: a union's members that all refused one value say it
    in one sentence ("expected an integer or a string")."""
    places: dict[str, list[tuple[Mapping[str, Any], _Said]]] = {}
    for error in errors:
        said = _said(error)
        places.setdefault(said.where, []).append((error, said))
    merged = []
    for group in places.values():
        error, said = group[0]
        expected = [s.expected for _, s in group if s.expected is not None]
        if len(group) > 1 and len(expected) == len(group):
            said = _Said(said.where, " or ".join(dict.fromkeys(expected)), said.got)
        merged.append((error, said))
    return merged


def _validation_details(said: Sequence[tuple[Mapping[str, Any], _Said]]) -> list[dict[str, Any]]:
    # The rejected input is left out on purpose: it may be a whole 100,000-value series.
    return [
        {"loc": list(e.get("loc", ())), "msg": s.what(), "type": str(e.get("type", ""))}
        for e, s in said[:MAX_VALIDATION_DETAILS]
    ]


def _validation_message(said: Sequence[tuple[Mapping[str, Any], _Said]]) -> str:
    if not said:
        return "invalid request"
    message = said[0][1].sentence()
    if len(said) > 1:
        message += f" (and {len(said) - 1} more error{'s' if len(said) > 2 else ''})"
    return message


def failure(request: Request, exc: Exception) -> Failure:
    """What ``exc``, raised while answering ``request``, tells the client."""
    if isinstance(exc, ForecastError):
        return Failure(exc.status_code, exc.code, exc.message, exc.details)
    if isinstance(exc, RequestValidationError):
        body_errors = [e for e in exc.errors() if tuple(e.get("loc", ()))[:1] == ("body",)]
        others = [e for e in exc.errors() if tuple(e.get("loc", ()))[:1] != ("body",)]
        said = _one_per_place(plain_errors(body_errors, exc.body, 1) + plain_errors(others, None))
        return Failure(
            422,
            "validation_error",
            _validation_message(said),
            {"errors": _validation_details(said), "count": len(said)},
        )
    if isinstance(exc, StarletteHTTPException) and exc.status_code == 413:
        # Raised by the body limit (``app.middleware``) as the body is read.
        limit = request.app.state.settings.limit("max_body_bytes")
        return Failure(
            413,
            "body_too_large",
            f"the request body is larger than {limit.allows('bytes')}",
            {"max_body_bytes": limit.value, "setting": limit.setting},
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
