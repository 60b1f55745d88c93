"""``POST /forecast`` and its picture, ``POST /forecast/plot``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app import service
from app.csv_bodies import FORECAST
from app.dependencies import RegistryDep, SettingsDep, resolve_model
from app.limits import Limited
from app.routing import accepts, csv_route
from app.schemas import (
    ERRORS,
    ForecastRequest,
    ForecastResponse,
    PanelResponse,
)


def router(bodies: Limited) -> APIRouter:
    """The forecast routes, their bodies validated by this deployment's request model."""
    routes = APIRouter(
        prefix="/forecast",
        tags=["forecast"],
        responses={code: ERRORS[code] for code in (400, 401, 404, 413, 415, 422, 502, 503)},
        route_class=csv_route(FORECAST, bodies.forecast),
    )

    @routes.post("")
    @accepts(bodies.forecast)
    async def forecast(
        body: ForecastRequest, request: Request, registry: RegistryDep, settings: SettingsDep
    ) -> ForecastResponse | PanelResponse:
        """Forecast ``horizon`` steps and every window of each series, beside the baselines, scored.

        One series (a list of numbers) is answered as one forecast; many (a list of series with
        ids) as a list in the same order. The model is called once for every series' horizon
        and once per distinct series length for the windowed forecasts.

        The body may also be ``text/csv``: a header row, then a value column and optionally
        time and id columns (long format: ``unique_id,ds,y``), the other fields as query
        parameters. With ids or times it is the many-series form, else the one-series form.
        """
        model = resolve_model(request, registry, body.model, body.version)
        return await run_in_threadpool(service.forecast, model, body, settings)

    @routes.post(
        "/plot",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}, "description": "a PNG of the forecast"}},
    )
    @accepts(bodies.forecast)
    async def forecast_plot(
        body: ForecastRequest, request: Request, registry: RegistryDep, settings: SettingsDep
    ) -> Response:
        """The same forecast as ``POST /forecast``, drawn: series, windowed, horizon, baselines."""
        model = resolve_model(request, registry, body.model, body.version)
        png = await run_in_threadpool(service.forecast_picture, model, body, settings)
        return Response(png, media_type="image/png")

    return routes
