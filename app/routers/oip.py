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

from app import service
from app.dependencies import RegistryDep, SettingsDep, require_api_key, resolve_model
from app.errors import InvalidRequest
from app.forecaster import Forecaster, TensorInfo, TensorModel, tensors_of
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
from app.settings import Limit, Settings
from app.version_state import VersionState
from contract.store import FORECAST_SIGNATURE, INPUT_KEY, OUTPUT_KEY, STEPS_KEY

SERVER_NAME = "forecast-service"
DATATYPES = {"DT_FLOAT": "FP32", "DT_INT32": "INT32"}  # TensorFlow's type -> the protocol's
BINARY_HEADER = "inference-header-content-length"

VersionPath = Annotated[int, Path(ge=1, description="a version number")]


def _tensor(key: str, info: TensorInfo) -> OIPTensorMetadata:
    # A scalar (steps) travels as a one-element tensor: the protocol's tensors have a dimension.
    shape = [-1 if d is None else d for d in info.shape] or [1]
    return OIPTensorMetadata(name=key, datatype=DATATYPES.get(info.dtype, info.dtype), shape=shape)


def _window_first(key: str) -> tuple[bool, str]:
    return key != INPUT_KEY, key


def _metadata(
    registry: ModelRegistry, request: Request, name: str, version: int | None
) -> OIPModelMetadata:
    model = resolve_model(request, registry, name, version)
    signature = tensors_of(model, "the Open Inference Protocol").signatures[FORECAST_SIGNATURE]
    available = [
        str(v.version)
        for _, v in sorted(registry.model(name).versions.items())
        if v.state is VersionState.AVAILABLE
    ]
    return OIPModelMetadata(
        name=model.name,
        versions=available,
        inputs=[
            _tensor(k, signature.inputs[k]) for k in sorted(signature.inputs, key=_window_first)
        ],
        outputs=[_tensor(k, t) for k, t in signature.outputs.items()],
    )


def _flat(tensor: OIPInput) -> np.ndarray:
    """The tensor's values, row-major, whether ``data`` came flat or nested (even ragged)."""
    rows = [r if isinstance(r, list) else [r] for r in tensor.data]
    return np.asarray([v for row in rows for v in row], dtype=np.float64)


def _window(
    model: Forecaster, tensors: TensorModel, tensor: OIPInput, max_instances: Limit
) -> np.ndarray:
    """The ``window`` input as ``(batch, window_size)`` float64, checked against the model."""
    if tensor.datatype != "FP32":
        raise InvalidRequest(f'input "{INPUT_KEY}" must be FP32, got {tensor.datatype}')
    shape, size = tensor.shape, tensors.window_size
    if len(shape) != 2 or shape[1] != size or shape[0] < 1:
        raise InvalidRequest(
            f'input "{INPUT_KEY}" has shape {shape} but model {model.name!r} version'
            f" {model.version} takes [batch, {size}] (batch at least 1)"
        )
    if shape[0] > max_instances.value:
        raise InvalidRequest(
            f'input "{INPUT_KEY}" holds {shape[0]} windows, more than {max_instances.allows()}'
        )
    values = _flat(tensor)
    if values.size != shape[0] * size:
        raise InvalidRequest(
            f'input "{INPUT_KEY}" has {values.size} values but its shape {shape} needs'
            f" {shape[0] * size}"
        )
    return values.reshape(shape[0], size)


def _steps(body: OIPInferRequest, tensor: OIPInput | None, max_horizon: Limit) -> int | None:
    """``steps`` from the parameters or the INT32 input, given at most once."""
    given = body.parameters.steps if body.parameters is not None else None
    if tensor is None:
        return given
    if given is not None:
        raise InvalidRequest(f'give "{STEPS_KEY}" once: as a parameter or as an input, not both')
    values = _flat(tensor)
    if (
        tensor.datatype != "INT32"
        or tensor.shape != [1]
        or values.size != 1
        or not values[0].is_integer()
        or not 1 <= values[0] <= max_horizon.value
    ):
        raise InvalidRequest(
            f'input "{STEPS_KEY}" must be INT32 of shape [1] holding an integer from 1 to'
            f" {max_horizon.value} ({max_horizon.setting})"
        )
    return int(values[0])


def _infer(model: Forecaster, body: OIPInferRequest, settings: Settings) -> OIPInferResponse:
    tensors = tensors_of(model, "the Open Inference Protocol")
    if body.model_name not in (None, model.name):
        raise InvalidRequest(
            f"model_name {body.model_name!r} in the body is not the path's {model.name!r}"
        )
    inputs = {t.name: t for t in body.inputs}
    unknown = sorted(set(inputs) - {INPUT_KEY, STEPS_KEY})
    if unknown or INPUT_KEY not in inputs or len(inputs) != len(body.inputs):
        raise InvalidRequest(
            f'the inputs are "{INPUT_KEY}" (FP32 [batch, {tensors.window_size}]) and optionally'
            f' "{STEPS_KEY}" (INT32 [1]), each once; got {[t.name for t in body.inputs]}'
        )
    wrong = [o.name for o in body.outputs or () if o.name != OUTPUT_KEY]
    if wrong:
        raise InvalidRequest(f'the only output is "{OUTPUT_KEY}"; asked for {wrong}')
    windows = _window(model, tensors, inputs[INPUT_KEY], settings.limit("max_instances"))
    steps = _steps(body, inputs.get(STEPS_KEY), settings.limit("max_horizon"))
    out = service.predict_windows(tensors, windows, steps, settings)
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
