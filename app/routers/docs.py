"""``/docs`` without the internet: Swagger UI's script and style are served by the app itself.

FastAPI's default page loads them from a CDN, which a machine without outside access (or a
browser behind a strict proxy) cannot reach. The files come from the ``swagger-ui-bundle-v2``
package (Swagger UI 5, which renders OpenAPI 3.1 as FastAPI writes it); only the three the page
needs are served, not the package's demo page, which points at a public example API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException
from swagger_ui_bundle import swagger_ui_path

SWAGGER_UI = Path(str(swagger_ui_path))
STATIC_PREFIX = "/docs/static"
FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}

router = APIRouter(include_in_schema=False)

# The docstrings that become descriptions are reStructuredText, as every docstring here is;
# Swagger UI reads Markdown, where ``x`` shows its backticks and :mod:`x` its role.
_RST_LITERAL = re.compile(r"(?::[a-z]+:)?``?([^`]+)``?")


def markdown(text: str) -> str:
    """An RST description as Markdown: ``x`` and :mod:`x` become `x`."""
    return _RST_LITERAL.sub(r"`\1`", text)


def _in_markdown(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: markdown(v) if k == "description" and isinstance(v, str) else _in_markdown(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_in_markdown(v) for v in node]
    return node


def openapi_in_markdown(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with every description (routes', models', fields') made Markdown."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _in_markdown(build())
        return app.openapi_schema

    return openapi


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this app's OpenAPI document, every file from this app."""
    app = request.app
    static = f"{request.scope.get('root_path', '')}{STATIC_PREFIX}"
    return get_swagger_ui_html(
        openapi_url=f"{request.scope.get('root_path', '')}{app.openapi_url}",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{static}/swagger-ui-bundle.js",
        swagger_css_url=f"{static}/swagger-ui.css",
        swagger_favicon_url=f"{static}/favicon-32x32.png",
        swagger_ui_parameters=app.swagger_ui_parameters,
    )


@router.get(STATIC_PREFIX + "/{filename}")
async def swagger_file(filename: str) -> Response:
    """One of Swagger UI's files."""
    if filename not in FILES:
        raise HTTPException(404)
    return FileResponse(SWAGGER_UI / filename, media_type=FILES[filename])
