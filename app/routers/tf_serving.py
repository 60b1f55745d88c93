"""TensorFlow Serving's REST API, so its clients work unchanged.

``GET /v1/models/{name}[/versions/{v}|/labels/{l}]`` gives ``model_version_status``;
``POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict`` takes ``instances`` (row format) or
``inputs`` (columnar) and answers ``predictions`` or ``outputs``. Errors are ``{"error": "..."}``
(with 400 where TF Serving answers INVALID_ARGUMENT).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.dependencies import RegistryDep, SettingsDep, resolve_model, tag_model
from app.errors import InvalidRequest, LimitExceeded
from app.forecasting import in_batches
from app.registry import LoadedModel, ModelRegistry
from app.schemas import (
    PredictRequest,
    PredictResponse,
    TFServingModelStatus,
    TFServingVersionStatus,
)
from app.settings import Settings
from training.store import FORECAST_SIGNATURE

TF_ERROR: dict[int | str, dict[str, Any]] = {
    code: {
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
    for code in (400, 401, 404, 413, 502, 503)
}

router = APIRouter(prefix="/v1/models", tags=["tensorflow-serving"], responses=TF_ERROR)

VersionPath = Annotated[int, Path(ge=1)]


async def predict_body(request: Request) -> PredictRequest:
    """The body parsed as JSON whatever its Content-Type, as TF Serving does: its clients rely
    on that (``curl -d`` sends form-encoded)."""
    raw = await request.body()
    try:
        data = json.loads(raw)
    except ValueError as e:  # also UnicodeDecodeError
        raise InvalidRequest(f"the body is not valid JSON: {e}") from None
    try:
        return PredictRequest.model_validate(data)
    except ValidationError as e:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in e.errors()]
        raise RequestValidationError(errors) from None


PredictBody = Annotated[PredictRequest, Depends(predict_body)]
PREDICT_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}
        },
    }
}


def openapi_components() -> dict[str, Any]:
    """The schemas of the predict body, which is parsed by hand, for the OpenAPI document."""
    schema = PredictRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = schema.pop("$defs", {})
    components["PredictRequest"] = schema
    return components


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
    if len(rows) > settings.max_instances:
        raise LimitExceeded(f"{len(rows)} instances; at most {settings.max_instances} are accepted")
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
        if steps > settings.max_horizon:
            raise LimitExceeded(f"steps {steps} is beyond the maximum {settings.max_horizon}")
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


@router.get("/{name}")
async def model_status(name: str, request: Request, registry: RegistryDep) -> TFServingModelStatus:
    """Every version of a model with its state, newest first."""
    return _status(registry, request, name, None)


@router.get("/{name}/versions/{version}")
async def version_status(
    name: str, version: VersionPath, request: Request, registry: RegistryDep
) -> TFServingModelStatus:
    """One version's state."""
    return _status(registry, request, name, version)


@router.get("/{name}/labels/{label}")
async def label_status(
    name: str, label: str, request: Request, registry: RegistryDep
) -> TFServingModelStatus:
    """The state of the version a label names."""
    return _status(registry, request, name, label)


@router.post("/{name}:predict", response_model_exclude_none=True, openapi_extra=PREDICT_DOC)
async def predict(
    name: str, body: PredictBody, request: Request, registry: RegistryDep, settings: SettingsDep
) -> PredictResponse:
    """Forecast each window with the default (highest AVAILABLE) version."""
    return await _predict(request, registry, settings, name, None, body)


@router.post(
    "/{name}/versions/{version}:predict",
    response_model_exclude_none=True,
    openapi_extra=PREDICT_DOC,
)
async def predict_version(
    name: str,
    version: VersionPath,
    body: PredictBody,
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
) -> PredictResponse:
    """Forecast each window with one version."""
    return await _predict(request, registry, settings, name, version, body)


@router.post(
    "/{name}/labels/{label}:predict", response_model_exclude_none=True, openapi_extra=PREDICT_DOC
)
async def predict_label(
    name: str,
    label: str,
    body: PredictBody,
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
) -> PredictResponse:
    """Forecast each window with the version a label names."""
    return await _predict(request, registry, settings, name, label, body)
