"""``POST /forecast`` and its picture, ``POST /forecast/plot``."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app import forecasting, plotting
from app.dependencies import RegistryDep, SettingsDep, resolve_model
from app.forecasting import Array, ForecastResult, ReferenceLimits
from app.routing import accepts
from app.schemas import ERRORS, ForecastRequest, ForecastResponse, Limited
from app.servable import LoadedModel
from app.settings import Settings


def _compute(
    model: LoadedModel, body: ForecastRequest, series: Array, settings: Settings
) -> ForecastResult:
    return forecasting.forecast(
        model,
        model.metadata.residual_quantiles,
        series,
        horizon=body.horizon,
        season_length=body.season_length or model.metadata.season_length,
        baselines=body.baselines,
        levels=body.level or (),
        probabilities=body.quantiles or (),
        actuals=np.asarray(body.actuals, dtype=np.float64) if body.actuals else None,
        reference_limits=ReferenceLimits(
            settings.reference_max_length, settings.reference_max_season
        ),
    )


def _answer(model: LoadedModel, body: ForecastRequest, settings: Settings) -> ForecastResponse:
    result = _compute(model, body, np.asarray(body.series, dtype=np.float64), settings)
    return ForecastResponse.of(
        model, result, intervals=body.level is not None, quantiles=body.quantiles is not None
    )


def _picture(model: LoadedModel, body: ForecastRequest, settings: Settings) -> bytes:
    series = np.asarray(body.series, dtype=np.float64)
    result = _compute(model, body, series, settings)
    title = f"{model.name} version {model.version} ({model.metadata.architecture})"
    actuals = np.asarray(body.actuals, dtype=np.float64) if body.actuals else None
    season = body.season_length or model.metadata.season_length
    return plotting.forecast_png(
        series, result, title, actuals, season_length=season, baselines=body.baselines
    )


def router(bodies: Limited) -> APIRouter:
    """The forecast routes, their bodies validated by this deployment's request model."""
    routes = APIRouter(
        prefix="/forecast",
        tags=["forecast"],
        responses={code: ERRORS[code] for code in (400, 401, 404, 413, 422, 502, 503)},
    )

    @routes.post("")
    @accepts(bodies.forecast)
    async def forecast(
        body: ForecastRequest, request: Request, registry: RegistryDep, settings: SettingsDep
    ) -> ForecastResponse:
        """Forecast ``horizon`` steps and every window of the series, beside the baselines, scored."""
        model = resolve_model(request, registry, body.model, body.version)
        return await run_in_threadpool(_answer, model, body, settings)

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
        png = await run_in_threadpool(_picture, model, body, settings)
        return Response(png, media_type="image/png")

    return routes
