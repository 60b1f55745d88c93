"""The forecasting service: ``create_app()`` assembles it; ``app`` is what uvicorn runs.

Nothing heavy happens at import: the lifespan sets TensorFlow's devices up, starts the
registry's watch over the store, which loads every version off the event loop, and starts the
gRPC server (:mod:`app.grpc_server`) unless FORECAST_GRPC_PORT is 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import runtime
from app.dependencies import API_KEY_HEADER, require_api_key
from app.errors import install_error_handlers
from app.limits import limited
from app.middleware import BodySizeLimit
from app.registry import ModelRegistry
from app.routers import (
    anomalies,
    backtest,
    docs,
    forecast,
    health,
    kserve_timeseries,
    metrics,
    models,
    oip,
    tf_serving,
    ui,
)
from app.settings import Settings, get_settings
from app.telemetry import Metrics, MetricsMiddleware
from contract.local_store import LocalStore

logger = logging.getLogger("app")


def _ensure_logging() -> None:
    """Show the service's INFO logs (loads, unloads) unless logging was configured already."""
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Set the devices up, start watching the store; stop watching on shutdown."""
    settings: Settings = app.state.settings
    _ensure_logging()
    app.state.devices = await asyncio.to_thread(runtime.configure_devices, settings.device)
    registry = ModelRegistry(
        LocalStore(settings.model_store),
        on_call=app.state.metrics.count_call,
        load_workers=settings.load_workers,
    )
    app.state.registry = registry
    watcher = asyncio.create_task(registry.watch(settings.reload_seconds), name="store-watch")
    grpc = None
    try:
        if settings.grpc_port:
            # Imported here: TF Serving's protos import TensorFlow, which app.main must not.
            grpc_server = importlib.import_module("app.grpc_server")
            grpc = await grpc_server.start(settings, registry, app.state.metrics, app.version)
        yield
    finally:
        if grpc is not None:
            await grpc_server.stop(grpc)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        app.state.registry = None


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Forecast service",
        summary="Serves the time-series models training/ publishes, beside classic baselines.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # app.routers.docs serves /docs with its files from this app
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.registry = None
    app.state.devices = []
    app.state.metrics = Metrics(lambda: app.state.registry)

    install_error_handlers(app)
    guarded = [Depends(require_api_key)]
    bodies = limited(settings)
    app.include_router(health.router)
    app.include_router(models.router, dependencies=guarded)
    app.include_router(forecast.router(bodies), dependencies=guarded)
    app.include_router(backtest.router(bodies), dependencies=guarded)
    app.include_router(anomalies.router(bodies), dependencies=guarded)
    app.include_router(tf_serving.router(bodies), dependencies=guarded)
    app.include_router(kserve_timeseries.router(bodies), dependencies=guarded)
    app.include_router(oip.router(settings))  # its model routes need the key, its health ones not
    app.include_router(metrics.router, dependencies=guarded)
    app.include_router(docs.router)
    app.include_router(ui.router)
    app.openapi = docs.openapi_in_markdown(app)  # type: ignore[method-assign]

    # Added innermost first: CORS outside everything, then metrics, then the body limit.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", API_KEY_HEADER],
        )
    return app


app = create_app()
