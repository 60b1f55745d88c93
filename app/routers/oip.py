"""The Open Inference Protocol v2 (KServe v2, Triton's HTTP/REST API), so their clients work.

``GET /v2`` (server metadata), ``/v2/health/live``, ``/v2/health/ready``;
``GET /v2/models/{name}[/versions/{v}]`` (model metadata), ``.../ready``, and
``POST .../infer``: input ``window``, FP32 ``[batch, window_size]``, and ``steps`` as a request
parameter or an INT32 input of shape ``[1]``; output ``forecast`` ``[batch, steps]``
(``[batch, horizon]`` without steps). The names are the SavedModel's signature keys. Tensors
travel as JSON or, as tritonclient sends them by default, as bytes after the JSON (Triton's
binary tensor data extension, :mod:`app.binary_tensors`): :class:`OIPRoute` sets a body's
tensor bytes aside for the handler, and the answer's ``forecast`` is bytes when the request asks
(``binary_data`` on the output, else the request's ``binary_data_output``). Errors are the
protocol's ``{"error": "<message>"}``, as JSON whatever the request's form.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from app import binary_tensors, window_tensors
from app.binary_tensors import BinaryInput
from app.dependencies import RegistryDep, SettingsDep, require_api_key, resolve_model
from app.errors import InvalidRequest
from app.forecaster import Forecaster
from app.registry import ModelRegistry
from app.routers.oip_types import (
    OIPData,
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
    OIPTensorParameters,
    oip_request,
)
from app.routing import MESSAGE_ERRORS, ServingProtocolRoute, accepts, with_body
from app.settings import Settings
from app.version_state import VersionState
from app.window_tensors import Tensor
from contract.store import OUTPUT_KEY

SERVER_NAME = "forecast-service"
TENSOR_BYTES = "binary_tensors"  # where OIPRoute leaves the bytes after the JSON (request.state)
EXTENSIONS = ["binary_tensor_data"]  # as Triton's server metadata names what it supports
_BYTES: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
# The binary form in the OpenAPI document: FastAPI merges these into the infer routes' own.
# The request's is told, not declared as a header and a media type: the header's value depends
# on the body, which a schema cannot say, so a client or a fuzzer sending it, or bytes, with any
# other body would only be refused.
BINARY_REQUEST: dict[str, Any] = {
    "requestBody": {
        "description": "JSON, or (Triton's binary tensor data extension) with header"
        f" {binary_tensors.HEADER}: N, N bytes of JSON and then the bytes of each input whose"
        " parameters give binary_data_size, in the inputs' order; N = 0: the body is the"
        " window's FP32 bytes alone, batch 1",
    }
}
BINARY_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON; or, when an output is asked for as bytes, the JSON header and"
        " then the outputs' bytes",
        "headers": {
            binary_tensors.HEADER: {
                "description": "the JSON header's length, when outputs follow it as bytes",
                "schema": {"type": "integer"},
            }
        },
        "content": {binary_tensors.MEDIA_TYPE: _BYTES},
    }
}

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


def _from_json(tensor: OIPInput, data: OIPData) -> Tensor:
    """The tensor's values, row-major, whether ``data`` came flat or nested (even ragged)."""
    if not any(isinstance(row, list) for row in data):  # flat: no list per value to make
        values = np.asarray(data, dtype=np.float64)
    else:
        rows = (row if isinstance(row, list) else (row,) for row in data)
        values = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64)
    return Tensor(tensor.name, tensor.datatype, tuple(tensor.shape), values)


def _decoded(inputs: Sequence[OIPInput], tensor_bytes: bytes | None) -> list[Tensor]:
    """``inputs``, each from its JSON ``data`` or from its share of ``tensor_bytes`` (binary)."""
    binary = []
    for tensor in inputs:
        size = tensor.parameters.binary_data_size if tensor.parameters is not None else None
        if (tensor.data is None) == (size is None):
            raise InvalidRequest(
                f'input "{tensor.name}" has both "data" and {binary_tensors.SIZE}: send its'
                " values once, as JSON or as bytes after the JSON"
                if size is not None
                else f'input "{tensor.name}" has neither "data" nor {binary_tensors.SIZE}: send'
                ' its values as JSON in "data", or as bytes after the JSON (Triton\'s binary'
                " tensor data extension)"
            )
        if size is not None:
            binary.append(BinaryInput(tensor.name, tensor.datatype, tuple(tensor.shape), size))
    read = iter(binary_tensors.decoded(binary, tensor_bytes))
    return [next(read) if t.data is None else _from_json(t, t.data) for t in inputs]


def _as_bytes(body: OIPInferRequest) -> bool:
    """Whether ``forecast`` goes back as bytes: its own ``binary_data``, else the request's."""
    for output in body.outputs or ():
        own = output.parameters.binary_data if output.parameters is not None else None
        if output.name == OUTPUT_KEY and own is not None:
            return own
    return body.parameters is not None and body.parameters.binary_data_output is True


def _infer(
    model: Forecaster, body: OIPInferRequest, tensor_bytes: bytes | None, settings: Settings
) -> OIPInferResponse | Response:
    if body.model_name not in (None, model.name):
        raise InvalidRequest(
            f"model_name {body.model_name!r} in the body is not the path's {model.name!r}"
        )
    out = window_tensors.oip_infer(
        model,
        _decoded(body.inputs, tensor_bytes),
        body.parameters.steps if body.parameters is not None else None,
        [o.name for o in body.outputs or ()],
        settings,
    )

    def response(output: OIPOutput) -> OIPInferResponse:
        return OIPInferResponse(
            model_name=model.name, model_version=str(model.version), id=body.id, outputs=[output]
        )

    forecast = {"name": OUTPUT_KEY, "datatype": "FP32", "shape": list(out.shape)}
    if not _as_bytes(body):
        return response(OIPOutput(**forecast, data=out.ravel().tolist()))
    raw = binary_tensors.encoded(out, "FP32")
    header = response(
        OIPOutput(**forecast, parameters=OIPTensorParameters(binary_data_size=len(raw)))
    )
    return binary_tensors.answer(header.model_dump_json(exclude_none=True).encode(), [raw])


async def _run_infer(
    request: Request,
    registry: ModelRegistry,
    settings: Settings,
    name: str,
    version: int | None,
    body: OIPInferRequest,
) -> OIPInferResponse | Response:
    model = resolve_model(request, registry, name, version)
    tensor_bytes = getattr(request.state, TENSOR_BYTES, None)
    return await run_in_threadpool(_infer, model, body, tensor_bytes, settings)


class OIPRoute(ServingProtocolRoute):
    """The protocol's routes: its error shape, and Triton's binary tensors in a body."""

    async def prepared(self, request: Request) -> Request:
        """With ``Inference-Header-Content-Length``, the body's JSON alone, its tensors set aside.

        The handler validates the JSON as any other body (so every check and message is the
        JSON form's) and finds the bytes after it in ``request.state`` (:data:`TENSOR_BYTES`).
        """
        length = request.headers.get(binary_tensors.HEADER)
        if length is None or self.body_field is None:
            return request
        header, tensor_bytes = binary_tensors.split(await request.body(), length)
        replayed = with_body(request, header)
        setattr(replayed.state, TENSOR_BYTES, tensor_bytes)
        return replayed


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
        return OIPServerMetadata(
            name=SERVER_NAME, version=request.app.version, extensions=EXTENSIONS
        )

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

    infer_route: dict[str, Any] = {
        "response_model": OIPInferResponse,
        "response_model_exclude_none": True,
        "responses": BINARY_ANSWER,
        "openapi_extra": BINARY_REQUEST,
    }

    @models.post("/models/{name}/infer", **infer_route)
    @accepts(body_model)
    async def infer(
        name: str,
        body: OIPInferRequest,
        request: Request,
        registry: RegistryDep,
        settings: SettingsDep,
    ) -> OIPInferResponse | Response:
        """Forecast each window with the default (highest AVAILABLE) version."""
        return await _run_infer(request, registry, settings, name, None, body)

    @models.post("/models/{name}/versions/{version}/infer", **infer_route)
    @accepts(body_model)
    async def infer_version(
        name: str,
        version: VersionPath,
        body: OIPInferRequest,
        request: Request,
        registry: RegistryDep,
        settings: SettingsDep,
    ) -> OIPInferResponse | Response:
        """Forecast each window with one version."""
        return await _run_infer(request, registry, settings, name, version, body)

    both = APIRouter()
    both.include_router(routes)
    both.include_router(models)
    return both
