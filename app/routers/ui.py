"""``GET /ui``: a small web page over the public API, plain HTML, CSS and JavaScript.

The page is a client like any other: it lists the models with ``GET /models`` and forecasts with
``POST /forecast`` and ``POST /forecast/plot``, sending the API key the user types as
``X-API-Key``. The page and its files hold no data, so they need no key themselves.
"""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException

STATIC = Path(__file__).resolve().parent.parent / "static" / "ui"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
ROOT_MARK = "{{root}}"  # where the page says the app's root path, so it works behind a prefix

router = APIRouter(prefix="/ui", include_in_schema=False)


@functools.cache
def _page() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


@functools.cache
def _files() -> dict[str, str]:
    return {p.name: MEDIA_TYPES[p.suffix] for p in STATIC.iterdir() if p.suffix in MEDIA_TYPES}


@router.get("")
async def page(request: Request) -> HTMLResponse:
    """The page: models and their validation scores, and a forecast form."""
    root = request.scope.get("root_path", "")
    return HTMLResponse(_page().replace(ROOT_MARK, root))


@router.get("/static/{filename}")
async def static_file(filename: str) -> Response:
    """The page's script and style sheet."""
    media_type = _files().get(filename)
    if media_type is None:
        raise HTTPException(404)
    return FileResponse(STATIC / filename, media_type=media_type)
