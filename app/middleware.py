"""A pure ASGI middleware that refuses oversized request bodies before anything parses them."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import BodyTooLarge, error_body


class BodySizeLimit:
    """Answer 413 to a body over ``max_bytes``, whether it declares its length or is chunked.

    A declared ``Content-Length`` over the limit is refused before a byte is read. Otherwise the
    body is read up to the limit (and refused the moment it passes it), then replayed to the app,
    which would read it whole anyway to parse the JSON.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLarge(
            f"the request body is larger than the limit of {self.max_bytes} bytes",
            {"max_body_bytes": self.max_bytes},
        )
        response = error_body(
            scope["path"], error.status_code, error.code, error.message, error.details
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
