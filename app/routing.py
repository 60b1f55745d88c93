"""Routes' plumbing: binding a body to this deployment's request model; the protocols' route class."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.errors import failure

Handler = TypeVar("Handler", bound=Callable[..., Any])


def accepts(model: type[BaseModel]) -> Callable[[Handler], Handler]:
    """Validate the handler's ``body`` with ``model``, a subclass of its annotated type.

    The request models carrying a deployment's limits are made per app
    (:func:`app.schemas.limited`); FastAPI reads the body's model, for validation and for the
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
                self.check(request)
                response: Response = await handler(request)
            except Exception as exc:
                f = failure(request, exc)
                return JSONResponse(
                    {"error": f.message},
                    status_code=400 if f.status == 422 else f.status,
                    headers=dict(f.headers),
                )
            return response

        return serving_protocol

    def check(self, request: Request) -> None:
        """Refuse what the protocol's JSON form cannot carry, before the body is parsed."""
