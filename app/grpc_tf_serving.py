"""TensorFlow Serving's gRPC API: ``PredictionService`` (Predict, GetModelMetadata) and
``ModelService`` (GetModelStatus), from ``tensorflow-serving-api``'s own protos.

``Predict`` takes ``inputs["window"]`` ``[batch, window_size]`` and, for the ``forecast``
signature, ``inputs["steps"]`` (a scalar or one value), and answers ``outputs["forecast"]``
as float32, the numbers REST's ``:predict`` gives on the same windows: both go through
:func:`app.window_tensors.predict`. A model spec names a version, a label, or neither (the
default version). Classify, Regress and MultiInference answer UNIMPLEMENTED, as for a model
without those signatures.
"""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
import tensorflow as tf
from starlette.concurrency import run_in_threadpool
from tensorflow.core.framework import tensor_shape_pb2, types_pb2
from tensorflow.core.protobuf import error_codes_pb2, meta_graph_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from app import window_tensors
from app.errors import InvalidRequest
from app.forecaster import Array, Forecaster, TensorInfo, tensors_of
from app.grpc_calls import Call, Calls
from app.version_state import VersionState
from contract.store import INPUT_KEY, OUTPUT_KEY, SERVING_SIGNATURE, STEPS_KEY

SERVICE = "/tensorflow.serving.PredictionService/"
MODEL_SERVICE = "/tensorflow.serving.ModelService/"
SIGNATURE_DEF = "signature_def"
PROTOCOL = "TensorFlow Serving's Predict"
_STATES = {
    VersionState.LOADING: get_model_status_pb2.ModelVersionStatus.LOADING,
    VersionState.AVAILABLE: get_model_status_pb2.ModelVersionStatus.AVAILABLE,
    # TF Serving has no FAILED state: a version that could not load has ended, with an error.
    VersionState.FAILED: get_model_status_pb2.ModelVersionStatus.END,
}


def _version(spec: model_pb2.ModelSpec) -> int | str | None:
    """The version a model spec names: a number, a label (a oneof), or None for the default."""
    choice = spec.WhichOneof("version_choice")
    if choice == "version":
        return int(spec.version.value)
    return spec.version_label if choice == "version_label" else None


def _spec(model: Forecaster, signature_name: str = "") -> model_pb2.ModelSpec:
    spec = model_pb2.ModelSpec(name=model.name, signature_name=signature_name)
    spec.version.value = model.version
    return spec


def _array(name: str, tensor: Any, integer: bool = False) -> Array:
    """A TensorProto's values; InvalidRequest when it cannot be read or is of the wrong kind."""
    try:
        values = tf.make_ndarray(tensor)
    except (TypeError, ValueError) as e:
        raise InvalidRequest(f'input "{name}" is not a readable tensor: {e}') from None
    kind = "iu" if integer else "iuf"
    if values.dtype.kind not in kind:
        wanted = "an integer" if integer else "a number"
        raise InvalidRequest(f'input "{name}" must hold {wanted} type, got {values.dtype.name}')
    return np.asarray(values, dtype=np.float64)


def _steps(request: predict_pb2.PredictRequest) -> int | None:
    if STEPS_KEY not in request.inputs:
        return None
    values = _array(STEPS_KEY, request.inputs[STEPS_KEY], integer=True)
    if values.size != 1:
        raise InvalidRequest(f'input "{STEPS_KEY}" must hold one integer, got {values.size}')
    return int(values.ravel()[0])


def _predict(model: Forecaster, request: predict_pb2.PredictRequest, calls: Calls) -> Array:
    signature = request.model_spec.signature_name or SERVING_SIGNATURE
    if signature not in tensors_of(model, PROTOCOL).signatures or signature == "windowed":
        raise InvalidRequest(f"no signature {signature!r}: use serving_default or forecast")
    unknown = sorted(set(request.inputs) - {INPUT_KEY, STEPS_KEY})
    if unknown or INPUT_KEY not in request.inputs:
        raise InvalidRequest(
            f'the inputs are "{INPUT_KEY}" ([batch, window_size]) and, for the forecast'
            f' signature, "{STEPS_KEY}"; got {sorted(request.inputs)}'
        )
    wrong = [name for name in request.output_filter if name != OUTPUT_KEY]
    if wrong:
        raise InvalidRequest(f'the only output is "{OUTPUT_KEY}"; asked for {wrong}')
    windows = _array(INPUT_KEY, request.inputs[INPUT_KEY])
    if windows.ndim != 2:
        raise InvalidRequest(
            f'input "{INPUT_KEY}" has shape {list(windows.shape)}: send [batch, window_size]'
        )
    return window_tensors.predict(
        model, windows, signature, _steps(request), calls.settings, PROTOCOL
    )


def _tensor_info(info: TensorInfo) -> meta_graph_pb2.TensorInfo:
    dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else d) for d in info.shape]
    return meta_graph_pb2.TensorInfo(
        name=info.name,
        dtype=types_pb2.DataType.Value(info.dtype),
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=dims),
    )


def _signature_defs(model: Forecaster) -> get_model_metadata_pb2.SignatureDefMap:
    signatures = tensors_of(model, "TensorFlow Serving's metadata").signatures
    defs = get_model_metadata_pb2.SignatureDefMap()
    for key, info in signatures.items():
        signature = defs.signature_def[key]
        signature.method_name = "tensorflow/serving/predict"
        for name, tensor in info.inputs.items():
            signature.inputs[name].CopyFrom(_tensor_info(tensor))
        for name, tensor in info.outputs.items():
            signature.outputs[name].CopyFrom(_tensor_info(tensor))
    return defs


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """``tensorflow.serving.PredictionService``: Predict and GetModelMetadata."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def Predict(
        self, request: predict_pb2.PredictRequest, context: grpc.aio.ServicerContext
    ) -> predict_pb2.PredictResponse:
        """Forecast each window of ``inputs["window"]``, as REST's ``:predict``."""

        async def work(call: Call) -> predict_pb2.PredictResponse:
            spec = request.model_spec
            model = self.calls.registry.resolve(spec.name, _version(spec))
            call.model = model.name
            out = await run_in_threadpool(_predict, model, request, self.calls)
            response = predict_pb2.PredictResponse(
                model_spec=_spec(model, spec.signature_name or SERVING_SIGNATURE)
            )
            response.outputs[OUTPUT_KEY].CopyFrom(tf.make_tensor_proto(out.astype(np.float32)))
            return response

        return await self.calls.answer(SERVICE + "Predict", context, work)

    async def GetModelMetadata(
        self,
        request: get_model_metadata_pb2.GetModelMetadataRequest,
        context: grpc.aio.ServicerContext,
    ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        """The version's signature definitions (``metadata_field: ["signature_def"]``)."""

        async def work(call: Call) -> get_model_metadata_pb2.GetModelMetadataResponse:
            spec = request.model_spec
            model = self.calls.registry.resolve(spec.name, _version(spec))
            call.model = model.name
            fields = list(request.metadata_field)
            if fields != [SIGNATURE_DEF]:
                raise InvalidRequest(
                    f'metadata_field must be ["{SIGNATURE_DEF}"] (the only one), got {fields}'
                )
            response = get_model_metadata_pb2.GetModelMetadataResponse(model_spec=_spec(model))
            response.metadata[SIGNATURE_DEF].Pack(_signature_defs(model))
            return response

        return await self.calls.answer(SERVICE + "GetModelMetadata", context, work)


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    """``tensorflow.serving.ModelService``: GetModelStatus (reloading config is not offered)."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def GetModelStatus(
        self,
        request: get_model_status_pb2.GetModelStatusRequest,
        context: grpc.aio.ServicerContext,
    ) -> get_model_status_pb2.GetModelStatusResponse:
        """Every version of a model with its state, newest first (or the one the spec names)."""

        async def work(call: Call) -> get_model_status_pb2.GetModelStatusResponse:
            spec, registry = request.model_spec, self.calls.registry
            model = registry.model(spec.name)
            call.model = model.name
            version = _version(spec)
            if version is None:
                entries = sorted(model.versions.values(), key=lambda v: -v.version)
            else:
                entries = [registry.version_of(spec.name, version)]
            response = get_model_status_pb2.GetModelStatusResponse()
            for entry in entries:
                status = response.model_version_status.add(
                    version=entry.version, state=_STATES[entry.state]
                )
                if entry.state is VersionState.FAILED:
                    status.status.error_code = error_codes_pb2.UNKNOWN
                    status.status.error_message = entry.error or ""
            return response

        return await self.calls.answer(MODEL_SERVICE + "GetModelStatus", context, work)
