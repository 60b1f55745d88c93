"""``POST /forecast`` and its picture, ``POST /forecast/plot``."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app import forecasting, plotting
from app.csv_bodies import FORECAST
from app.dependencies import RegistryDep, SettingsDep, resolve_model
from app.errors import InvalidRequest
from app.forecasting import ForecastResult, ReferenceLimits
from app.limits import Limited
from app.routing import accepts, csv_route
from app.schemas import (
    ERRORS,
    ForecastRequest,
    ForecastResponse,
    PanelResponse,
    SeriesForecast,
    SeriesItem,
)
from app.servable import LoadedModel
from app.settings import Settings
from contract.frequency import Stamps


def _compute(
    model: LoadedModel, body: ForecastRequest, items: list[SeriesItem], settings: Settings
) -> list[ForecastResult]:
    return forecasting.forecast_panel(
        model,
        model.metadata.residual_quantiles,
        [
            (
                np.asarray(item.values, dtype=np.float64),
                np.asarray(item.actuals, dtype=np.float64) if item.actuals else None,
            )
            for item in items
        ],
        horizon=body.horizon,
        season_length=body.season_length or model.metadata.season_length,
        baselines=body.baselines,
        levels=body.level or (),
        probabilities=body.quantiles or (),
        reference_limits=ReferenceLimits(
            settings.reference_max_length, settings.reference_max_season
        ),
    )


def _stamps(model: LoadedModel, item: SeriesItem, horizon: int) -> Stamps | None:
    """The item's stamps; InvalidRequest when their frequency is not the model's."""
    try:
        stamps = item.stamps(horizon)
    except ValueError as e:
        raise InvalidRequest(f"series {item.id!r}: {e}", {"id": item.id}) from None
    trained = model.metadata.dataset.frequency
    if stamps is not None and trained is not None and stamps.frequency != trained:
        raise InvalidRequest(
            f"series {item.id!r} is {stamps.frequency} but model {model.name!r} version"
            f" {model.version} was trained on {trained} values",
            {"id": item.id, "frequency": stamps.frequency, "model_frequency": trained},
        )
    return stamps


def answer(
    model: LoadedModel, body: ForecastRequest, settings: Settings
) -> ForecastResponse | PanelResponse:
    """The answer to ``body``: one forecast for one list of numbers, else one per series."""
    items = body.items()
    stamps = [_stamps(model, item, body.horizon) for item in items]
    results = _compute(model, body, items, settings)
    intervals, quantiles = body.level is not None, body.quantiles is not None
    if not body.many():
        return ForecastResponse.of(model, results[0], intervals, quantiles)
    return PanelResponse(
        series=[
            SeriesForecast.of(
                model,
                result,
                intervals,
                quantiles,
                stamps=stamp,
                id=item.id,
                frequency=stamp.frequency if stamp else None,
            )
            for item, stamp, result in zip(items, stamps, results, strict=True)
        ]
    )


def _picture(model: LoadedModel, body: ForecastRequest, settings: Settings) -> bytes:
    items = body.items()
    if len(items) > 1:
        raise InvalidRequest(
            f"a picture draws one series, but the body has {len(items)}: send one",
            {"series": len(items)},
        )
    item = items[0]
    result = _compute(model, body, items, settings)[0]
    title = f"{model.name} version {model.version} ({model.metadata.architecture})"
    actuals = np.asarray(item.actuals, dtype=np.float64) if item.actuals else None
    season = body.season_length or model.metadata.season_length
    series = np.asarray(item.values, dtype=np.float64)
    return plotting.forecast_png(
        series, result, title, actuals, season_length=season, baselines=body.baselines
    )


def router(bodies: Limited) -> APIRouter:
    """The forecast routes, their bodies validated by this deployment's request model."""
    routes = APIRouter(
        prefix="/forecast",
        tags=["forecast"],
        responses={code: ERRORS[code] for code in (400, 401, 404, 413, 422, 502, 503)},
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
        return await run_in_threadpool(answer, model, body, settings)

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
