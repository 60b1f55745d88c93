"""Prometheus's scrape endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.schemas import ERRORS

router = APIRouter(tags=["metrics"], responses={401: ERRORS[401]})


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Requests and latency per route and model, model calls, versions by state."""
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
