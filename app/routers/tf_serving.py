"""TensorFlow Serving's REST API, so its clients work unchanged.

``GET /v1/models/{name}[/versions/{v}|/labels/{l}]`` gives ``model_version_status``;
``POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict`` takes ``instances`` (row format) or
``inputs`` (columnar) and answers ``predictions`` or ``outputs``. TF Serving's quirks belong to
these routes' class, :class:`TFServingRoute`: every body is read as JSON whatever its
Content-Type, and errors are ``{"error": "<message>"}`` (400 where TF Serving answers
INVALID_ARGUMENT).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.dependencies import RegistryDep, SettingsDep, resolve_model, tag_model
from app.errors import InvalidRequest, failure
from app.forecasting import in_batches
from app.registry import ModelRegistry
from app.routing import accepts
from app.schemas import (
    Limited,
    PredictRequest,
    PredictResponse,
    TFServingModelStatus,
    TFServingVersionStatus,
)
from app.servable import LoadedModel
from app.settings import Settings
from contract.store import FORECAST_SIGNATURE

_ERROR_SCHEMA: dict[str, Any] = {
    "description": "TF Serving's error shape",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            },
            "example": {"error": "message"},
        }
    },
}
# Ranges, not codes: TF Serving's clients read the message, and FastAPI then adds no 422
# (these routes answer 400 for an invalid body, as TF Serving does).
TF_ERRORS: dict[int | str, dict[str, Any]] = {"4XX": _ERROR_SCHEMA, "5XX": _ERROR_SCHEMA}

VersionPath = Annotated[int, Path(ge=1)]


class TFServingRoute(APIRoute):
    """A route that speaks TF Serving's dialect: JSON bodies by default, its error shape."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def tf_serving(request: Request) -> Response:
            # TF Serving parses the body as JSON whatever it is labelled (``curl -d`` sends
            # form-encoded), and its clients rely on that.
            headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
            request.scope["headers"] = [*headers, (b"content-type", b"application/json")]
            try:
                response: Response = await handler(request)
            except Exception as exc:
                f = failure(request, exc)
                return JSONResponse(
                    {"error": f.message},
                    status_code=400 if f.status == 422 else f.status,
                    headers=dict(f.headers),
                )
            return response

        return tf_serving


def _status(
    registry: ModelRegistry, request: Request, name: str, version: int | str | None
) -> TFServingModelStatus:
    model = registry.model(name)
    tag_model(request, model.name)
    if version is None:
        entries = sorted(model.versions.values(), key=lambda v: -v.version)
    else:
        entries = [registry.version_of(name, version)]
    return TFServingModelStatus(
        model_version_status=[TFServingVersionStatus.of(v) for v in entries]
    )


def _run(model: LoadedModel, body: PredictRequest, settings: Settings) -> list[list[float]]:
    rows = body.windows()
    if not rows:
        raise InvalidRequest("no instances: send at least one window")
    wrong = next((i for i, row in enumerate(rows) if len(row) != model.window_size), None)
    if wrong is not None:
        raise InvalidRequest(
            f"instance {wrong} has {len(rows[wrong])} values but model {model.name!r} version"
            f" {model.version} takes windows of window_size {model.window_size}"
        )
    windows = np.asarray(rows, dtype=np.float64)
    if body.signature_name == FORECAST_SIGNATURE:
        steps = body.steps()
        if steps is None:
            raise InvalidRequest(
                'the forecast signature needs columnar "inputs" with "window" and "steps"'
            )
        out = in_batches(lambda w: model.ahead(w, steps), windows, settings.batch_windows)
    else:
        if body.steps() is not None:
            raise InvalidRequest('"steps" is an input of the forecast signature only')
        out = in_batches(model.one_step, windows, settings.batch_windows)
    result: list[list[float]] = out.tolist()
    return result


async def _predict(
    request: Request,
    registry: ModelRegistry,
    settings: Settings,
    name: str,
    version: int | str | None,
    body: PredictRequest,
) -> PredictResponse:
    model = resolve_model(request, registry, name, version)
    out = await run_in_threadpool(_run, model, body, settings)
    if body.instances is not None:
        return PredictResponse(predictions=out)
    return PredictResponse(outputs=out)


def router(bodies: Limited) -> APIRouter:
    """TF Serving's routes, their bodies validated by this deployment's request model."""
    routes = APIRouter(
        prefix="/v1/models",
        tags=["tensorflow-serving"],
        responses=TF_ERRORS,
        route_class=TFServingRoute,
    )

    @routes.get("/{name}")
    async def model_status(
        name: str, request: Request, registry: RegistryDep
    ) -> TFServingModelStatus:
        """Every version of a model with its state, newest first."""
        return _status(registry, request, name, None)

    @routes.get("/{name}/versions/{version}")
    async def version_status(
        name: str, version: VersionPath, request: Request, registry: RegistryDep
    ) -> TFServingModelStatus:
        """One version's state."""
        return _status(registry, request, name, version)

    @routes.get("/{name}/labels/{label}")
    async def label_status(
        name: str, label: str, request: Request, registry: RegistryDep
    ) -> TFServingModelStatus:
        """The state of the version a label names."""
        return _status(registry, request, name, label)

    @routes.post("/{name}:predict", response_model_exclude_none=True)
    @accepts(bodies.predict)
    async def predict(
        name: str,
        body: PredictRequest,
        request: Request,
        registry: RegistryDep,
        settings: SettingsDep,
    ) -> PredictResponse:
        """Forecast each window with the default (highest AVAILABLE) version."""
        return await _predict(request, registry, settings, name, None, body)

    @routes.post("/{name}/versions/{version}:predict", response_model_exclude_none=True)
    @accepts(bodies.predict)
    async def predict_version(
        name: str,
        version: VersionPath,
        body: PredictRequest,
        request: Request,
        registry: RegistryDep,
        settings: SettingsDep,
    ) -> PredictResponse:
        """Forecast each window with one version."""
        return await _predict(request, registry, settings, name, version, body)

    @routes.post("/{name}/labels/{label}:predict", response_model_exclude_none=True)
    @accepts(bodies.predict)
    async def predict_label(
        name: str,
        label: str,
        body: PredictRequest,
        request: Request,
        registry: RegistryDep,
        settings: SettingsDep,
    ) -> PredictResponse:
        """Forecast each window with the version a label names."""
        return await _predict(request, registry, settings, name, label, body)

    @routes.api_route("/{path:path}", methods=["GET", "POST"], include_in_schema=False)
    async def unknown(request: Request) -> Response:
        """Any other path under TF Serving's prefix: a 404 in its shape, not the service's."""
        raise StarletteHTTPException(404)

    return routes
