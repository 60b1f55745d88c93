"""Window tensors in, forecasts out: the checks every tensor protocol shares, REST or gRPC.

TF Serving's ``Predict`` and the Open Inference Protocol's ``infer`` carry the same thing: a
batch of windows of ``window_size`` values and, for the forecast signature, a number of steps.
Whatever the wire (JSON, Triton's binary tensors, protobuf), a protocol's module decodes its
tensors into :class:`Tensor` and calls :func:`oip_infer` or :func:`predict`, so a client gets the
same refusal, in the same words, from every protocol. None of this imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app import service
from app.errors import InvalidRequest
from app.forecaster import Array, Forecaster, TensorInfo, TensorModel, tensors_of
from app.settings import Limit, Settings
from contract.store import FORECAST_SIGNATURE, INPUT_KEY, OUTPUT_KEY, STEPS_KEY

DATATYPES = {"DT_FLOAT": "FP32", "DT_INT32": "INT32"}  # TensorFlow's type -> the OIP's
OIP = "the Open Inference Protocol"


@dataclass(frozen=True)
class Tensor:
    """A decoded input tensor: its name, the OIP's datatype, its shape and its values flat."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    values: Array  # (prod(shape),) row-major, float64 whatever the datatype


@dataclass(frozen=True)
class TensorSpec:
    """An input or output of a model as the OIP describes it (``-1``: any size)."""

    name: str
    datatype: str
    shape: list[int]


def _spec(key: str, info: TensorInfo) -> TensorSpec:
    # A scalar (steps) travels as a one-element tensor: the protocol's tensors have a dimension.
    shape = [-1 if d is None else d for d in info.shape] or [1]
    return TensorSpec(name=key, datatype=DATATYPES.get(info.dtype, info.dtype), shape=shape)


def oip_signature(model: Forecaster) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """The OIP's inputs (``window`` first, then ``steps``) and outputs of ``model``."""
    signature = tensors_of(model, OIP).signatures[FORECAST_SIGNATURE]
    keys = sorted(signature.inputs, key=lambda key: (key != INPUT_KEY, key))
    return (
        [_spec(k, signature.inputs[k]) for k in keys],
        [_spec(k, t) for k, t in signature.outputs.items()],
    )


def _windows(
    model: Forecaster, tensors: TensorModel, tensor: Tensor, max_instances: Limit
) -> Array:
    """The ``window`` input as ``(batch, window_size)``, checked against the model."""
    if tensor.datatype != "FP32":
        raise InvalidRequest(f'input "{INPUT_KEY}" must be FP32, got {tensor.datatype}')
    shape, size = list(tensor.shape), tensors.window_size
    if len(shape) != 2 or shape[1] != size or shape[0] < 1:
        raise InvalidRequest(
            f'input "{INPUT_KEY}" has shape {shape} but model {model.name!r} version'
            f" {model.version} takes [batch, {size}] (batch at least 1)"
        )
    if shape[0] > max_instances.value:
        raise InvalidRequest(
            f'input "{INPUT_KEY}" holds {shape[0]} windows, more than {max_instances.allows()}'
        )
    if tensor.values.size != shape[0] * size:
        raise InvalidRequest(
            f'input "{INPUT_KEY}" has {tensor.values.size} values but its shape {shape} needs'
            f" {shape[0] * size}"
        )
    if not np.isfinite(tensor.values).all():
        raise InvalidRequest(f'input "{INPUT_KEY}" holds a NaN or an infinity: send finite values')
    return tensor.values.reshape(shape[0], size)


def _steps(given: int | None, tensor: Tensor | None, max_horizon: Limit) -> int | None:
    """``steps`` from the parameters (``given``) or the INT32 input, given at most once."""
    if tensor is None:
        if given is not None and not 1 <= given <= max_horizon.value:
            raise InvalidRequest(
                f'parameter "{STEPS_KEY}" must be an integer from 1 to {max_horizon.value}'
                f" ({max_horizon.setting})"
            )
        return given
    if given is not None:
        raise InvalidRequest(f'give "{STEPS_KEY}" once: as a parameter or as an input, not both')
    values = tensor.values
    if (
        tensor.datatype != "INT32"
        or list(tensor.shape) != [1]
        or values.size != 1
        or not float(values[0]).is_integer()
        or not 1 <= values[0] <= max_horizon.value
    ):
        raise InvalidRequest(
            f'input "{STEPS_KEY}" must be INT32 of shape [1] holding an integer from 1 to'
            f" {max_horizon.value} ({max_horizon.setting})"
        )
    return int(values[0])


def oip_infer(
    model: Forecaster,
    inputs: Sequence[Tensor],
    steps: int | None,
    outputs: Sequence[str],
    settings: Settings,
) -> Array:
    """The OIP's ``forecast`` output ``(batch, steps or horizon)`` for decoded ``inputs``.

    ``steps``: the request's parameter, when given; ``outputs``: the names the client asked for.
    """
    tensors = tensors_of(model, OIP)
    by_name = {t.name: t for t in inputs}
    unknown = sorted(set(by_name) - {INPUT_KEY, STEPS_KEY})
    if unknown or INPUT_KEY not in by_name or len(by_name) != len(inputs):
        raise InvalidRequest(
            f'the inputs are "{INPUT_KEY}" (FP32 [batch, {tensors.window_size}]) and optionally'
            f' "{STEPS_KEY}" (INT32 [1]), each once; got {[t.name for t in inputs]}'
        )
    wrong = [name for name in outputs if name != OUTPUT_KEY]
    if wrong:
        raise InvalidRequest(f'the only output is "{OUTPUT_KEY}"; asked for {wrong}')
    windows = _windows(model, tensors, by_name[INPUT_KEY], settings.limit("max_instances"))
    steps = _steps(steps, by_name.get(STEPS_KEY), settings.limit("max_horizon"))
    return service.predict_windows(tensors, windows, steps, settings)


def predict(
    model: Forecaster,
    windows: Sequence[Sequence[float]] | Array,
    signature_name: str,
    steps: int | None,
    settings: Settings,
    protocol: str = "TensorFlow Serving's Predict",
) -> Array:
    """TF Serving's ``Predict``: ``(k, 1)`` one-step or ``(k, steps)`` forecasts of ``windows``."""
    tensors = tensors_of(model, protocol)
    if len(windows) == 0:
        raise InvalidRequest("no instances: send at least one window")
    wrong = next((i for i, row in enumerate(windows) if len(row) != tensors.window_size), None)
    if wrong is not None:
        raise InvalidRequest(
            f"instance {wrong} has {len(windows[wrong])} values but model {model.name!r} version"
            f" {model.version} takes windows of window_size {tensors.window_size}"
        )
    max_instances = settings.limit("max_instances")
    if len(windows) > max_instances.value:
        raise InvalidRequest(
            f'input "{INPUT_KEY}" holds {len(windows)} windows, more than {max_instances.allows()}'
        )
    if signature_name == FORECAST_SIGNATURE and steps is None:
        raise InvalidRequest(
            f'the forecast signature needs the inputs "{INPUT_KEY}" and "{STEPS_KEY}"'
            ' (over REST: columnar "inputs")'
        )
    if signature_name != FORECAST_SIGNATURE and steps is not None:
        raise InvalidRequest(f'"{STEPS_KEY}" is an input of the forecast signature only')
    max_horizon = settings.limit("max_horizon")
    if steps is not None and not 1 <= steps <= max_horizon.value:
        raise InvalidRequest(
            f'"{STEPS_KEY}" must be an integer from 1 to {max_horizon.value}'
            f" ({max_horizon.setting})"
        )
    values = np.asarray(windows, dtype=np.float64)
    if not np.isfinite(values).all():
        raise InvalidRequest("an instance holds a NaN or an infinity: send finite values")
    return service.predict_windows(tensors, values, steps, settings)
