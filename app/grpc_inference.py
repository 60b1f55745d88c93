"""KServe v2's gRPC API, ``inference.GRPCInferenceService``, from tritonclient's own protos.

Triton's ``service_pb2`` is KServe's ``grpc_predict_v2`` plus Triton's extras, with the same
package, service, methods and field numbers, so ``tritonclient.grpc`` and KServe's
``InferenceGRPCClient`` both call it. Served: ServerLive, ServerReady, ServerMetadata,
ModelReady, ModelMetadata and ModelInfer, whose tensors come in ``contents`` or in
``raw_input_contents`` (tritonclient's default) and go out in ``raw_output_contents``, as
Triton's do; they are decoded into :class:`app.window_tensors.Tensor` and checked by
:func:`app.window_tensors.oip_infer`, as the REST half's are. Triton's other methods (model
repository, shared memory, statistics, streaming) answer UNIMPLEMENTED.
"""

from __future__ import annotations

import grpc
import numpy as np
from starlette.concurrency import run_in_threadpool
from tritonclient.grpc import service_pb2, service_pb2_grpc

from app import window_tensors
from app.binary_tensors import DTYPES
from app.errors import InvalidRequest, ModelUnavailable, NotReady
from app.forecaster import Array, Forecaster
from app.grpc_calls import Call, Calls
from app.version_state import VersionState
from app.window_tensors import Tensor
from contract.store import OUTPUT_KEY, STEPS_KEY

SERVICE = "/inference.GRPCInferenceService/"
SERVER_NAME = "forecast-service"
# Where the protocol puts each datatype's values when they are not raw bytes (FP16 has none).
_CONTENTS = {
    "BOOL": "bool_contents",
    **dict.fromkeys(("INT8", "INT16", "INT32"), "int_contents"),
    "INT64": "int64_contents",
    **dict.fromkeys(("UINT8", "UINT16", "UINT32"), "uint_contents"),
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
}


def _version(text: str) -> int | None:
    """The version a request names ("" for the default); InvalidRequest when not a number."""
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise InvalidRequest(f"model_version {text!r} is not a version number")
    return int(text)


def _decoded(tensor: service_pb2.ModelInferRequest.InferInputTensor, raw: bytes | None) -> Tensor:
    """One input's values from its raw bytes (read as the REST half reads binary data) or its
    contents field."""
    dtype = DTYPES.get(tensor.datatype)
    if dtype is None:
        raise InvalidRequest(
            f'input "{tensor.name}" has datatype {tensor.datatype!r}, which this server cannot'
            f" read (it reads {', '.join(DTYPES)})"
        )
    if raw is not None:
        if len(raw) % dtype.itemsize:
            raise InvalidRequest(
                f'input "{tensor.name}" has {len(raw)} raw bytes, not a whole number of'
                f" {tensor.datatype} values ({dtype.itemsize} bytes each)"
            )
        values = np.frombuffer(raw, dtype=dtype).astype(np.float64)
    elif tensor.datatype in _CONTENTS:
        values = np.asarray(getattr(tensor.contents, _CONTENTS[tensor.datatype]), np.float64)
    else:
        raise InvalidRequest(f'input "{tensor.name}" is {tensor.datatype}: send it as raw bytes')
    return Tensor(tensor.name, tensor.datatype, tuple(tensor.shape), values)


def _inputs(request: service_pb2.ModelInferRequest) -> list[Tensor]:
    raw = list(request.raw_input_contents)
    if not raw:
        return [_decoded(t, None) for t in request.inputs]
    if len(raw) != len(request.inputs):
        raise InvalidRequest(
            f"raw_input_contents holds {len(raw)} tensors but there are"
            f" {len(request.inputs)} inputs: send one per input, in order"
        )
    if any(t.HasField("contents") for t in request.inputs):
        raise InvalidRequest("send every input in raw_input_contents or in contents, not both")
    return [_decoded(t, r) for t, r in zip(request.inputs, raw, strict=True)]


def _steps(request: service_pb2.ModelInferRequest) -> int | None:
    if STEPS_KEY not in request.parameters:
        return None
    parameter = request.parameters[STEPS_KEY]
    kind = parameter.WhichOneof("parameter_choice")
    if kind not in ("int64_param", "uint64_param"):
        raise InvalidRequest(f'parameter "{STEPS_KEY}" must be an integer, got {kind}')
    return int(getattr(parameter, kind))


def _infer(model: Forecaster, request: service_pb2.ModelInferRequest, calls: Calls) -> Array:
    return window_tensors.oip_infer(
        model,
        _inputs(request),
        _steps(request),
        [o.name for o in request.outputs],
        calls.settings,
    )


class InferenceService(service_pb2_grpc.GRPCInferenceServiceServicer):
    """``inference.GRPCInferenceService``: the Open Inference Protocol over gRPC."""

    def __init__(self, calls: Calls, version: str) -> None:
        self.calls = calls
        self.version = version

    async def ServerLive(
        self, request: service_pb2.ServerLiveRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.ServerLiveResponse:
        """The process is up."""

        async def work(call: Call) -> service_pb2.ServerLiveResponse:
            return service_pb2.ServerLiveResponse(live=True)

        return await self.calls.answer(SERVICE + "ServerLive", context, work, needs_key=False)

    async def ServerReady(
        self, request: service_pb2.ServerReadyRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.ServerReadyResponse:
        """Ready as ``GET /ready`` is: the store scanned and a version AVAILABLE."""

        async def work(call: Call) -> service_pb2.ServerReadyResponse:
            try:
                self.calls.registry.check_ready()
            except NotReady:
                return service_pb2.ServerReadyResponse(ready=False)
            return service_pb2.ServerReadyResponse(ready=True)

        return await self.calls.answer(SERVICE + "ServerReady", context, work, needs_key=False)

    async def ServerMetadata(
        self, request: service_pb2.ServerMetadataRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.ServerMetadataResponse:
        """The server's name and version."""

        async def work(call: Call) -> service_pb2.ServerMetadataResponse:
            return service_pb2.ServerMetadataResponse(name=SERVER_NAME, version=self.version)

        return await self.calls.answer(SERVICE + "ServerMetadata", context, work, needs_key=False)

    async def ModelReady(
        self, request: service_pb2.ModelReadyRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.ModelReadyResponse:
        """Whether the model (or the version named) is AVAILABLE; NOT_FOUND for none such."""

        async def work(call: Call) -> service_pb2.ModelReadyResponse:
            try:
                model = self.calls.registry.resolve(request.name, _version(request.version))
            except ModelUnavailable:
                return service_pb2.ModelReadyResponse(ready=False)
            call.model = model.name
            return service_pb2.ModelReadyResponse(ready=True)

        return await self.calls.answer(SERVICE + "ModelReady", context, work)

    async def ModelMetadata(
        self, request: service_pb2.ModelMetadataRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.ModelMetadataResponse:
        """The version's inputs and outputs, and the model's AVAILABLE versions."""

        async def work(call: Call) -> service_pb2.ModelMetadataResponse:
            registry = self.calls.registry
            model = registry.resolve(request.name, _version(request.version))
            call.model = model.name
            inputs, outputs = window_tensors.oip_signature(model)
            tensor = service_pb2.ModelMetadataResponse.TensorMetadata
            return service_pb2.ModelMetadataResponse(
                name=model.name,
                versions=[
                    str(v.version)
                    for _, v in sorted(registry.model(model.name).versions.items())
                    if v.state is VersionState.AVAILABLE
                ],
                platform="tensorflow_savedmodel",
                inputs=[tensor(name=t.name, datatype=t.datatype, shape=t.shape) for t in inputs],
                outputs=[tensor(name=t.name, datatype=t.datatype, shape=t.shape) for t in outputs],
            )

        return await self.calls.answer(SERVICE + "ModelMetadata", context, work)

    async def ModelInfer(
        self, request: service_pb2.ModelInferRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.ModelInferResponse:
        """Forecast each window of ``window``, as REST's ``infer`` does."""

        async def work(call: Call) -> service_pb2.ModelInferResponse:
            model = self.calls.registry.resolve(request.model_name, _version(request.model_version))
            call.model = model.name
            out = await run_in_threadpool(_infer, model, request, self.calls)
            return service_pb2.ModelInferResponse(
                model_name=model.name,
                model_version=str(model.version),
                id=request.id,
                outputs=[
                    service_pb2.ModelInferResponse.InferOutputTensor(
                        name=OUTPUT_KEY, datatype="FP32", shape=list(out.shape)
                    )
                ],
                raw_output_contents=[out.astype("<f4").tobytes()],
            )

        return await self.calls.answer(SERVICE + "ModelInfer", context, work)
