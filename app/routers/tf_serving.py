"""TensorFlow Serving's REST API, so its clients work unchanged.

``GET /v1/models/{name}[/versions/{v}|/labels/{l}]`` gives ``model_version_status`` (with
KServe v1's ``name`` and ``ready`` beside it), ``.../metadata`` the signature definitions read from
the SavedModel; ``GET /v1/models`` lists the models as KServe v1 does;
``POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict`` takes ``instances`` (row format) or
``inputs`` (columnar) and answers ``predictions`` or ``outputs``. TF Serving's quirks belong to
these routes' class, :class:`app.routing.ServingProtocolRoute`: every body is read as JSON
whatever its Content-Type, and errors are ``{"error": "<message>"}`` (400 where TF Serving
answers INVALID_ARGUMENT).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import window_tensors
from app.dependencies import RegistryDep, SettingsDep, resolve_model, tag_model
from app.forecaster import Forecaster, TensorInfo, tensors_of
from app.limits import Limited
from app.registry import ModelRegistry
from app.routers.tf_serving_types import (
    KServeModelList,
    PredictRequest,
    PredictResponse,
    TFServingMetadataBody,
    TFServingModelMetadata,
    TFServingModelSpec,
    TFServingModelStatus,
    TFServingShape,
    TFServingSignature,
    TFServingSignatureDefs,
    TFServingTensor,
    TFServingVersionStatus,
)
from app.routing import MESSAGE_ERRORS, ServingProtocolRoute, accepts
from app.settings import Settings
from app.version_state import VersionState

VersionPath = Annotated[int, Path(ge=1)]


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
        name=model.name,
        ready=any(v.state is VersionState.AVAILABLE for v in entries),
        model_version_status=[TFServingVersionStatus.of(v) for v in entries],
    )


def _tensor(info: TensorInfo) -> TFServingTensor:
    return TFServingTensor(
        dtype=info.dtype, tensor_shape=TFServingShape.of(info.shape), name=info.name
    )


def _metadata(
    registry: ModelRegistry, request: Request, name: str, version: int | str | None
) -> TFServingModelMetadata:
    model = resolve_model(request, registry, name, version)
    signatures = {
        key: TFServingSignature(
            inputs={k: _tensor(t) for k, t in info.inputs.items()},
            outputs={k: _tensor(t) for k, t in info.outputs.items()},
        )
        for key, info in tensors_of(model, "TensorFlow Serving's metadata").signatures.items()
    }
    return TFServingModelMetadata(
        model_spec=TFServingModelSpec(name=model.name, version=str(model.version)),
        metadata=TFServingMetadataBody(
            signature_def=TFServingSignatureDefs(signature_def=signatures)
        ),
    )


def _run(model: Forecaster, body: PredictRequest, settings: Settings) -> list[list[float]]:
    out = window_tensors.predict(
        model, body.windows(), body.signature_name, body.steps(), settings,
        "TensorFlow Serving's :predict",
    )  # fmt: skip
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
        responses=MESSAGE_ERRORS,
        route_class=ServingProtocolRoute,
    )

    @routes.get("", tags=["kserve"])
    async def list_models(registry: RegistryDep) -> KServeModelList:
        """KServe v1: the names of the models in the store."""
        return KServeModelList(models=[m.name for m in registry.models()])

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

    @routes.get("/{name}/metadata")
    async def model_metadata(
        name: str, request: Request, registry: RegistryDep
    ) -> TFServingModelMetadata:
        """The signature definitions of the default (highest AVAILABLE) version."""
        return _metadata(registry, request, name, None)

    @routes.get("/{name}/versions/{version}/metadata")
    async def version_metadata(
        name: str, version: VersionPath, request: Request, registry: RegistryDep
    ) -> TFServingModelMetadata:
        """One version's signature definitions."""
        return _metadata(registry, request, name, version)

    @routes.get("/{name}/labels/{label}/metadata")
    async def label_metadata(
        name: str, label: str, request: Request, registry: RegistryDep
    ) -> TFServingModelMetadata:
        """The signature definitions of the version a label names."""
        return _metadata(registry, request, name, label)

    @routes.api_route("/{path:path}", methods=["GET", "POST"], include_in_schema=False)
    async def unknown(request: Request) -> Response:
        """Any other path under TF Serving's prefix: a 404 in its shape, not the service's."""
        raise StarletteHTTPException(404)

    return routes
