"""``POST /forecast`` and its picture, ``POST /forecast/plot``."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app import forecasting, plotting
from app.dependencies import RegistryDep, SettingsDep, resolve_model
from app.forecasting import ForecastResult
from app.registry import LoadedModel
from app.schemas import ERRORS, ForecastRequest, ForecastResponse
from app.settings import Settings

router = APIRouter(
    prefix="/forecast",
    tags=["forecast"],
    responses={code: ERRORS[code] for code in (400, 401, 404, 413, 422, 502, 503)},
)


def _compute(model: LoadedModel, body: ForecastRequest, settings: Settings) -> ForecastResult:
    return forecasting.forecast(
        model,
        model.metadata.residual_quantiles,
        np.asarray(body.series, dtype=np.float64),
        horizon=body.horizon,
        season_length=body.season_length or model.metadata.season_length,
        baselines=body.baselines,
        levels=body.level or (),
        actuals=np.asarray(body.actuals, dtype=np.float64) if body.actuals else None,
    )


def _answer(model: LoadedModel, body: ForecastRequest, settings: Settings) -> ForecastResponse:
    result = _compute(model, body, settings)
    return ForecastResponse.of(model, result, with_intervals=body.level is not None)


def _picture(model: LoadedModel, body: ForecastRequest, settings: Settings) -> bytes:
    result = _compute(model, body, settings)
    title = f"{model.name} version {model.version} ({model.metadata.architecture})"
    actuals = np.asarray(body.actuals, dtype=np.float64) if body.actuals else None
    return plotting.forecast_png(
        np.asarray(body.series, dtype=np.float64), result, title, actuals,
        season_length=body.season_length or model.metadata.season_length, baselines=body.baselines,
    )  # fmt: skip


@router.post("")
async def forecast(
    body: ForecastRequest, request: Request, registry: RegistryDep, settings: SettingsDep
) -> ForecastResponse:
    """Forecast ``horizon`` steps and every window of the series, beside the baselines, scored."""
    body.check_limits(settings.max_series_length, settings.max_horizon)
    model = resolve_model(request, registry, body.model, body.version)
    return await run_in_threadpool(_answer, model, body, settings)


@router.post(
    "/plot",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "a PNG of the forecast"}},
)
async def forecast_plot(
    body: ForecastRequest, request: Request, registry: RegistryDep, settings: SettingsDep
) -> Response:
    """The same forecast as ``POST /forecast``, drawn: series, windowed, horizon, baselines."""
    body.check_limits(settings.max_series_length, settings.max_horizon)
    model = resolve_model(request, registry, body.model, body.version)
    png = await run_in_threadpool(_picture, model, body, settings)
    return Response(png, media_type="image/png")
