"""KServe's time-series forecast API (``kserve.protocol.rest.timeseries``), on the forecast core.

``POST /v1/timeseries/forecast`` forecasts each input with the model's highest AVAILABLE
version; ``GET /v1/timeseries/models`` lists the models that have one. Each input becomes one
series of ``POST /forecast``'s many-series body (its name the id, its ``start_timestamp`` and
``frequency`` the series' start and freq), which the deployment's request model validates and
:func:`app.routers.forecast.answer` answers, without baselines: the protocol has no place for
them. Errors are KServe's ``{"error": {"code", "message", "param", "type"}}``
(:class:`TimeSeriesRoute`), 400 where the service says 422.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app import service
from app.dependencies import RegistryDep, SettingsDep, resolve_model
from app.errors import Failure, InvalidRequest, plain_errors
from app.limits import Limited
from app.routers.kserve_types import (
    KSERVE_FREQUENCIES,
    KServeErrorResponse,
    KServeForecastOutput,
    KServeForecastRequest,
    KServeForecastResponse,
    KServeTimeSeriesForecast,
)
from app.routing import ServingProtocolRoute
from app.schemas import ForecastRequest, PanelResponse

ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": KServeErrorResponse, "description": "KServe's error shape"},
    "5XX": {"model": KServeErrorResponse, "description": "KServe's error shape"},
}
# Where a field of the forecast body came from in this protocol's body.
_FIELDS = {"values": "series", "start": "start_timestamp", "freq": "frequency"}


class TimeSeriesRoute(ServingProtocolRoute):
    """The API's routes: JSON bodies, and KServe's time-series error shape."""

    def failed(self, f: Failure) -> JSONResponse:
        """``{"error": {"code": "<status>", "message", "param", "type": "<service's code>"}}``."""
        status = 400 if f.status == 422 else f.status
        param = None
        if f.code == "validation_error" and f.details and f.details.get("errors"):
            loc = [str(part) for part in f.details["errors"][0]["loc"]]
            param = ".".join(loc[1:] if loc[:1] == ["body"] else loc) or None
        error = {"code": str(status), "message": f.message, "param": param, "type": f.code}
        return JSONResponse({"error": error}, status_code=status, headers=dict(f.headers))


def _location(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A forecast body's location as this protocol's body names it."""
    if loc[:1] == ("series",):
        rest = loc[1:]
        return ("inputs", *rest[:1], *(_FIELDS.get(p, p) for p in rest[1:2]), *rest[2:])
    if loc[:1] in (("horizon",), ("quantiles",)):
        return ("options", *loc)
    return loc


def _forecast_body(body: KServeForecastRequest, forecast: type[ForecastRequest]) -> ForecastRequest:
    """The many-series forecast body the inputs mean, validated by the deployment's model."""
    items = []
    for i, given in enumerate(body.inputs):
        where = {"input": i, "name": given.name}
        if given.type != "univariate_time_series" or any(isinstance(v, list) for v in given.series):
            raise InvalidRequest(
                f"inputs[{i}] ({given.name!r}): only univariate_time_series (one list of"
                " numbers) can be forecast",
                where,
            )
        freq = KSERVE_FREQUENCIES[given.frequency]
        if freq is None:
            served = [k for k, v in KSERVE_FREQUENCIES.items() if v is not None]
            raise InvalidRequest(
                f"inputs[{i}] ({given.name!r}): frequency {given.frequency!r} is not served;"
                f" one of {', '.join(served)}",
                {**where, "frequency": given.frequency},
            )
        if given.start_timestamp is None:
            raise InvalidRequest(
                f"inputs[{i}] ({given.name!r}): start_timestamp is needed, since the"
                " forecast's start_timestamp is counted from it",
                where,
            )
        items.append(
            {"id": given.name, "values": given.series, "start": given.start_timestamp, "freq": freq}
        )
    fields = {
        "model": body.model,
        "series": items,
        "horizon": body.options.horizon,
        "quantiles": body.options.quantiles,
        "baselines": [],
    }
    try:
        return forecast.model_validate(fields)
    except ValidationError as e:
        errors = plain_errors(e.errors(), fields)
        raise RequestValidationError(
            [{**err, "loc": ("body", *_location(tuple(err["loc"])))} for err in errors]
        ) from None


def _stamp(t: datetime) -> str:
    """ISO 8601, UTC written as Z as KServe writes it."""
    return t.isoformat().replace("+00:00", "Z")


def _response(body: KServeForecastRequest, panel: PanelResponse) -> KServeForecastResponse:
    return KServeForecastResponse(
        id=str(uuid.uuid4()),
        created_at=int(time.time()),
        model=body.model,
        outputs=[
            KServeForecastOutput(
                id=str(uuid.uuid4()),
                content=[
                    KServeTimeSeriesForecast(
                        name=series.id,
                        mean_forecast=series.forecast.values,
                        frequency=given.frequency,
                        start_timestamp=_stamp((series.forecast.timestamps or [])[0]),
                        quantiles=series.forecast.quantiles,
                    )
                ],
            )
            for given, series in zip(body.inputs, panel.series, strict=True)
        ],
    )


def router(bodies: Limited) -> APIRouter:
    """The API's two routes; forecasts are validated by this deployment's request model."""
    routes = APIRouter(
        prefix="/v1/timeseries",
        tags=["kserve-timeseries"],
        responses=ERRORS,
        route_class=TimeSeriesRoute,
    )

    @routes.post("/forecast")
    async def forecast(
        body: KServeForecastRequest, request: Request, registry: RegistryDep, settings: SettingsDep
    ) -> KServeForecastResponse:
        """Forecast ``options.horizon`` steps of every input, with ``options.quantiles``."""
        forecast_body = _forecast_body(body, bodies.forecast)
        model = resolve_model(request, registry, body.model, None)
        panel = await run_in_threadpool(service.forecast, model, forecast_body, settings)
        assert isinstance(panel, PanelResponse)  # the many-series form is answered per series
        return _response(body, panel)

    @routes.get("/models")
    async def models(registry: RegistryDep) -> list[str]:
        """The models with an AVAILABLE version, by name."""
        return [m.name for m in registry.models() if m.default_version() is not None]

    return routes
