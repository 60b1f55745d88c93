"""Binding a handler's body to the request model of this deployment."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

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
