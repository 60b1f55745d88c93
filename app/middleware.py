"""A pure ASGI middleware that refuses oversized request bodies as they are read."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Fail the read of a request body over ``max_bytes`` with an HTTP 413.

    A declared ``Content-Length`` over the limit fails the first read, so not a byte is read;
    a chunked body fails the read that passes the limit. The 413 is raised inside the route
    that reads the body, so each route answers it in its own error shape (``app.errors``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        refused = declared is not None and declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        async def capped() -> Message:
            nonlocal received
            if refused:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, capped, send)
