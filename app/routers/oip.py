"""The Open Inference Protocol v2 (KServe v2, Triton's HTTP/REST API), so their clients work.

``GET /v2`` (server metadata), ``/v2/health/live``, ``/v2/health/ready``;
``GET /v2/models/{name}[/versions/{v}]`` (model metadata), ``.../ready``, and
``POST .../infer`` with FP32 tensors as JSON: input ``window`` ``[batch, window_size]``, and
``steps`` as a request parameter or an INT32 input of shape ``[1]``; output ``forecast``
``[batch, steps]`` (``[batch, horizon]`` without steps). The names are the SavedModel's
signature keys. Errors are the protocol's ``{"error": "<message>"}``
(:class:`OIPRoute`), which also refuses Triton's binary tensor extension with a message saying to
send JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from app import window_tensors
from app.dependencies import RegistryDep, SettingsDep, require_api_key, resolve_model
from app.errors import InvalidRequest
from app.forecaster import Forecaster
from app.registry import ModelRegistry
from app.routers.oip_types import (
    OIPInferRequest,
    OIPInferResponse,
    OIPInput,
    OIPLive,
    OIPModelMetadata,
    OIPModelReady,
    OIPOutput,
    OIPReady,
    OIPServerMetadata,
    OIPTensorMetadata,
    oip_request,
)
from app.routing import MESSAGE_ERRORS, ServingProtocolRoute, accepts
from app.settings import Settings
from app.version_state import VersionState
from app.window_tensors import Tensor
from contract.store import OUTPUT_KEY

SERVER_NAME = "forecast-service"
BINARY_HEADER = "inference-header-content-length"

VersionPath = Annotated[int, Path(ge=1, description="a version number")]


def _metadata(
    registry: ModelRegistry, request: Request, name: str, version: int | None
) -> OIPModelMetadata:
    model = resolve_model(request, registry, name, version)
    inputs, outputs = window_tensors.oip_signature(model)
    available = [
        str(v.version)
        for _, v in sorted(registry.model(name).versions.items())
        if v.state is VersionState.AVAILABLE
    ]
    return OIPModelMetadata(
        name=model.name,
        versions=available,
        inputs=[OIPTensorMetadata(**vars(t)) for t in inputs],
        outputs=[OIPTensorMetadata(**vars(t)) for t in outputs],
    )


def _decoded(tensor: OIPInput) -> Tensor:
    """The tensor's values, row-major, whether ``data`` came flat or nested (even ragged)."""
    rows = [r if isinstance(r, list) else [r] for r in tensor.data]
    values = np.asarray([v for row in rows for v in row], dtype=np.float64)
    return Tensor(tensor.name, tensor.datatype, tuple(tensor.shape), values)


def _infer(model: Forecaster, body: OIPInferRequest, settings: Settings) -> OIPInferResponse:
    if body.model_name not in (None, model.name):
        raise InvalidRequest(
            f"model_name {body.model_name!r} in the body is not the path's {model.name!r}"
        )
    out = window_tensors.oip_infer(
        model,
        [_decoded(t) for t in body.inputs],
        body.parameters.steps if body.parameters is not None else None,
        [o.name for o in body.outputs or ()],
        settings,
    )
    return OIPInferResponse(
        model_name=model.name,
        model_version=str(model.version),
        id=body.id,
        outputs=[
            OIPOutput(
                name=OUTPUT_KEY, datatype="FP32", shape=list(out.shape), data=out.ravel().tolist()
            )
        ],
    )


async def _run_infer(
    request: Request,
    registry: ModelRegistry,
    settings: Settings,
    name: str,
    version: int | None,
    body: OIPInferRequest,
) -> OIPInferResponse:
    model = resolve_model(request, registry, name, version)
    return await run_in_threadpool(_infer, model, body, settings)


class OIPRoute(ServingProtocolRoute):
    """The protocol's routes: its error shape, and JSON tensors only."""

    def check(self, request: Request) -> None:
        """Refuse Triton's binary tensor extension, whose body is not JSON."""
        if BINARY_HEADER in request.headers:
            raise InvalidRequest(
                "binary tensor data is not supported: send every tensor as JSON"
                " (tritonclient: binary_data=False)"
            )


def router(settings: Settings) -> APIRouter:
    """The protocol's routes; the model routes need the API key, the health routes do not.

    Each half carries the ``/v2`` prefix itself rather than inheriting it from an enclosing
    router: a route's template (``/v2/models/{name}/infer``, the ``route`` label of ``/metrics``)
    is the path it was declared with, and a prefix added by ``include_router`` is not in it.
    """

    def half(*dependencies: Any) -> APIRouter:
        return APIRouter(
            prefix="/v2",
            tags=["open-inference-protocol"],
            dependencies=list(dependencies),
            responses=MESSAGE_ERRORS,
            route_class=OIPRoute,
        )

    routes = half()
    models = half(Depends(require_api_key))
    body_model = oip_request(settings)

    @routes.get("")
    async def server_metadata(request: Request) -> OIPServerMetadata:
        """The server's name and version."""
        return OIPServerMetadata(name=SERVER_NAME, version=request.app.version)

    @routes.get("/health/live")
    async def server_live() -> OIPLive:
        """The process is up."""
        return OIPLive()

    @routes.get("/health/ready")
    async def server_ready(registry: RegistryDep) -> OIPReady:
        """200 once ready (as ``GET /ready``), else 503 saying why."""
        registry.check_ready()
        return OIPReady()

    @models.get("/models/{name}")
    async def model_metadata(
        name: str, request: Request, registry: RegistryDep
    ) -> OIPModelMetadata:
        """The default (highest AVAILABLE) version's inputs and outputs."""
        return _metadata(registry, request, name, None)

    @models.get("/models/{name}/versions/{version}")
    async def version_metadata(
        name: str, version: VersionPath, request: Request, registry: RegistryDep
    ) -> OIPModelMetadata:
        """One version's inputs and outputs."""
        return _metadata(registry, request, name, version)

    @models.get("/models/{name}/ready")
    async def model_ready(name: str, request: Request, registry: RegistryDep) -> OIPModelReady:
        """200 when the model has an AVAILABLE version; 503 when not, 404 for no such model."""
        return OIPModelReady(name=resolve_model(request, registry, name, None).name)

    @models.get("/models/{name}/versions/{version}/ready")
    async def version_ready(
        name: str, version: VersionPath, request: Request, registry: RegistryDep
    ) -> OIPModelReady:
        """200 when the version is AVAILABLE; 503 when not, 404 for no such version."""
        return OIPModelReady(name=resolve_model(request, registry, name, version).name)

    @models.post(
        "/models/{name}/infer",
        response_model_exclude_none=True,
    )
    @accepts(body_model)
    async def infer(
        name: str,
        body: OIPInferRequest,
        request: Request,
        registry: RegistryDep,
        settings: SettingsDep,
    ) -> OIPInferResponse:
        """Forecast each window with the default (highest AVAILABLE) version."""
        return await _run_infer(request, registry, settings, name, None, body)

    @models.post(
        "/models/{name}/versions/{version}/infer",
        response_model_exclude_none=True,
    )
    @accepts(body_model)
    async def infer_version(
        name: str,
        version: VersionPath,
        body: OIPInferRequest,
        request: Request,
        registry: RegistryDep,
        settings: SettingsDep,
    ) -> OIPInferResponse:
        """Forecast each window with one version."""
        return await _run_infer(request, registry, settings, name, version, body)

    both = APIRouter()
    both.include_router(routes)
    both.include_router(models)
    return both
