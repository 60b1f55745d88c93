"""Routes' plumbing: binding a body to this deployment's request model; CSV bodies; the
protocols' route class."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import Message

from app import csv_bodies
from app.errors import Failure, InvalidRequest, UnsupportedMediaType, failure, plain_errors

Handler = TypeVar("Handler", bound=Callable[..., Any])


def accepts(model: type[BaseModel]) -> Callable[[Handler], Handler]:
    """Validate the handler's ``body`` with ``model``, a subclass of its annotated type.

    The request models carrying a deployment's limits are made per app
    (:func:`app.limits.limited`); FastAPI reads the body's model, for validation and for the
    OpenAPI document, from the handler's signature, so that is where this puts it.
    """

    def bind(handler: Handler) -> Handler:
        signature = inspect.signature(handler)
        parameters = [
            p.replace(annotation=model) if p.name == "body" else p
            for p in signature.parameters.values()
        ]
        handler.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return handler

    return bind


def _is_json(content_type: str) -> bool:
    """Whether a Content-Type header says JSON (application/json or a +json type)."""
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def with_body(request: Request, data: bytes) -> Request:
    """``request`` with its body replaced by the JSON ``data``, which its handler then reads."""
    headers = [
        (k, v) for k, v in request.scope["headers"] if k not in (b"content-type", b"content-length")
    ]
    request.scope["headers"] = [
        *headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:  # after the body, what the connection says (a disconnect)
            return await request.receive()
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    return Request(request.scope, replay)


def csv_route(form: csv_bodies.CsvForm, model: type[BaseModel]) -> type[APIRoute]:
    """A route class whose JSON body (``model``) may also come as ``text/csv``.

    The CSV and its query parameters are made into the JSON body (:mod:`app.csv_bodies`) and
    the route then runs as for JSON, so both are validated by ``model`` alone. The query
    parameters' schemas are ``model``'s fields'; with a JSON body they are refused rather than
    ignored.
    """
    parameters = form.parameters(model.model_json_schema())
    names = {p["name"] for p in parameters}
    extra = {
        "parameters": parameters,
        "requestBody": {
            "content": {
                csv_bodies.MEDIA_TYPE: {
                    "schema": {"type": "string"},
                    "example": csv_bodies.EXAMPLE,
                }
            }
        },
    }

    def from_query(error: Any) -> Any:
        loc = tuple(error.get("loc", ()))
        if loc[:1] == ("body",) and len(loc) > 1 and loc[1] in names:
            return {**error, "loc": ("query", *loc[1:])}
        return error

    class CsvBodyRoute(APIRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), **extra}
            super().__init__(path, endpoint, **kwargs)

        def get_route_handler(self) -> Callable[[Request], Any]:
            handler = super().get_route_handler()

            async def csv_or_json(request: Request) -> Response:
                content_type = request.headers.get("content-type", "")
                if not csv_bodies.is_csv(content_type) and not _is_json(content_type):
                    shown = repr(content_type) if content_type else "missing"
                    raise UnsupportedMediaType(
                        f"the body's Content-Type is {shown}: send"
                        f" application/json or {csv_bodies.MEDIA_TYPE} (curl: -H 'content-type:"
                        " application/json')",
                        {"content_type": content_type or None},
                    )
                if not csv_bodies.is_csv(content_type):
                    given = sorted(names & set(request.query_params))
                    if given:
                        raise InvalidRequest(
                            f"query parameters ({', '.join(given)}) go with a"
                            f" {csv_bodies.MEDIA_TYPE} body; a JSON body holds its fields itself",
                            {"parameters": given},
                        )
                    response: Response = await handler(request)
                    return response
                body = csv_bodies.json_body(
                    form,
                    parameters,
                    await request.body(),
                    content_type,
                    request.query_params.multi_items(),
                )
                try:
                    response = await handler(with_body(request, json.dumps(body).encode()))
                except RequestValidationError as e:
                    # Where each error is, read in the body made of the CSV before the fields
                    # that came as query parameters are named so.
                    errors = plain_errors(e.errors(), body, prefix=1)
                    raise RequestValidationError([from_query(err) for err in errors]) from None
                return response

            return csv_or_json

    return CsvBodyRoute


_MESSAGE_ERROR: dict[str, Any] = {
    "description": "the protocol's error shape",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            },
            "example": {"error": "message"},
        }
    },
}
# Ranges, not codes: these protocols' clients read the message, and FastAPI then adds no 422
# (these routes answer 400 for an invalid body, as TF Serving and Triton do).
MESSAGE_ERRORS: dict[int | str, dict[str, Any]] = {"4XX": _MESSAGE_ERROR, "5XX": _MESSAGE_ERROR}


class ServingProtocolRoute(APIRoute):
    """A route of a serving protocol (TF Serving's REST API, the Open Inference Protocol).

    Their shared quirks live here: every body is read as JSON whatever its Content-Type, and
    errors are ``{"error": "<message>"}``, 400 where the service says 422.
    """

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def serving_protocol(request: Request) -> Response:
            # TF Serving parses the body as JSON whatever it is labelled (``curl -d`` sends
            # form-encoded), and its clients rely on that; Triton's send no Content-Type at all.
            headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
            request.scope["headers"] = [*headers, (b"content-type", b"application/json")]
            try:
                response: Response = await handler(await self.prepared(request))
            except Exception as exc:
                return self.failed(failure(request, exc))
            return response

        return serving_protocol

    async def prepared(self, request: Request) -> Request:
        """The request the handler reads: ``request``, or one whose body the protocol rewrote."""
        return request

    def failed(self, f: Failure) -> JSONResponse:
        """The protocol's error answer: ``{"error": "<message>"}``, 400 for the service's 422."""
        return JSONResponse(
            {"error": f.message},
            status_code=400 if f.status == 422 else f.status,
            headers=dict(f.headers),
        )
