"""``POST /backtest``, rolling-origin backtests of a model beside the baselines, and its picture."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app import service
from app.csv_bodies import BACKTEST
from app.dependencies import RegistryDep, resolve_model
from app.limits import Limited
from app.routing import accepts, csv_route
from app.schemas import ERRORS, BacktestRequest, BacktestResponse


def router(bodies: Limited) -> APIRouter:
    """The backtest routes, their bodies validated by this deployment's request model."""
    routes = APIRouter(
        prefix="/backtest",
        tags=["backtest"],
        responses={code: ERRORS[code] for code in (400, 401, 404, 413, 415, 422, 502, 503)},
        route_class=csv_route(BACKTEST, bodies.backtest),
    )

    @routes.post("")
    @accepts(bodies.backtest)
    async def backtest(
        body: BacktestRequest, request: Request, registry: RegistryDep
    ) -> BacktestResponse:
        """Forecast ``h`` steps from each of ``n_windows`` cutoffs with the model and the
        baselines, and score every method per step and overall.

        The body may also be ``text/csv``: a header row, then a value column (and an id column
        holding one id), the other fields as query parameters.
        """
        model = resolve_model(request, registry, body.model, body.version)
        return await run_in_threadpool(service.backtest, model, body)

    @routes.post(
        "/plot",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}, "description": "a PNG of the backtest"}},
    )
    @accepts(bodies.backtest)
    async def backtest_plot_png(
        body: BacktestRequest, request: Request, registry: RegistryDep
    ) -> Response:
        """The same backtest as ``POST /backtest``, drawn: each cutoff's forecasts, MAE by step."""
        model = resolve_model(request, registry, body.model, body.version)
        png = await run_in_threadpool(service.backtest_picture, model, body)
        return Response(png, media_type="image/png")

    return routes
