"""``POST /anomalies``: the values of a series outside the model's one-step interval."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app import service
from app.dependencies import RegistryDep, resolve_model
from app.limits import Limited
from app.routing import accepts
from app.schemas import ERRORS, AnomaliesRequest, AnomaliesResponse


def router(bodies: Limited) -> APIRouter:
    """The anomaly route, its body validated by this deployment's request model."""
    routes = APIRouter(
        prefix="/anomalies",
        tags=["anomalies"],
        responses={code: ERRORS[code] for code in (400, 401, 404, 413, 422, 502, 503)},
    )

    @routes.post("")
    @accepts(bodies.anomalies)
    async def anomalies(
        body: AnomaliesRequest, request: Request, registry: RegistryDep
    ) -> AnomaliesResponse:
        """The values outside the model's one-step interval at ``level`` (default 99), scored."""
        model = resolve_model(request, registry, body.model, body.version)
        return await run_in_threadpool(service.anomalies, model, body)

    return routes
