"""Triton's binary tensor data extension: tensors as raw bytes after a JSON header, both ways.

A request with the header ``Inference-Header-Content-Length: N`` has a body of N bytes of
JSON and then, in the order of the inputs, the bytes of each input whose parameters say
``binary_data_size``: its values little-endian, row-major, without padding. ``N = 0`` is a raw
binary request: the whole body is the one input, ``window``, batch 1, and every output comes
back as bytes. An answer with binary outputs is the JSON header and then their bytes, with
``Content-Type: application/octet-stream`` and ``Inference-Header-Content-Length`` giving the
header's length (as Triton's server answers; tritonclient reads the header, not the type).

This module knows bytes and datatypes only: what the tensors must hold is
:mod:`app.window_tensors`' to check, in the same words as for JSON tensors. None of this
imports TensorFlow.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from starlette.responses import Response

from app.errors import InvalidRequest
from app.forecaster import Array
from app.window_tensors import Tensor
from contract.store import INPUT_KEY

HEADER = "Inference-Header-Content-Length"
MEDIA_TYPE = "application/octet-stream"
SIZE = "parameters.binary_data_size"
# The OIP's fixed-size datatypes as numpy reads them, little-endian. BYTES (length-prefixed
# strings) and BF16 (which numpy lacks) have no entry: no input of these models is either.
DTYPES = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
RAW_DATATYPE = "FP32"  # a raw binary request's one input is the window


@dataclass(frozen=True)
class BinaryInput:
    """An input whose values follow the JSON as bytes: its name, datatype, shape and size."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    size: int  # binary_data_size, in bytes


def split(body: bytes, header_length: str) -> tuple[bytes, bytes]:
    """The JSON header of ``body`` and the tensors' bytes after it.

    For a raw binary request (``header_length`` 0), the header is the one Triton implies: the
    body is input ``window``, ``[1, values]``, and every output is asked for as bytes.
    """
    if not (header_length.isascii() and header_length.isdigit()):
        raise InvalidRequest(
            f"{HEADER} is {header_length!r}, not a number: it gives the length in bytes of the"
            " JSON that starts the body"
        )
    length = int(header_length)
    if length > len(body):
        raise InvalidRequest(
            f"{HEADER} is {length}, more than the body's {len(body)} bytes: it gives the length"
            " in bytes of the JSON that starts the body"
        )
    if length > 0:
        header = body[:length]
        _check_json(header)
        return header, body[length:]
    values, left = divmod(len(body), DTYPES[RAW_DATATYPE].itemsize)
    if left:
        raise InvalidRequest(
            f"with {HEADER} 0 the body is input {INPUT_KEY!r}'s {RAW_DATATYPE} values alone, but"
            f" its {len(body)} bytes are not a whole number of {RAW_DATATYPE} values"
            f" ({DTYPES[RAW_DATATYPE].itemsize} bytes each)"
        )
    raw = {
        "inputs": [
            {
                "name": INPUT_KEY,
                "shape": [1, values],
                "datatype": RAW_DATATYPE,
                "parameters": {"binary_data_size": len(body)},
            }
        ],
        "parameters": {"binary_data_output": True},
    }
    return json.dumps(raw).encode(), body


def _check_json(header: bytes) -> None:
    """Refuse a header that is not JSON, naming the length as the likely mistake.

    The handler parses it again; parsed here too, a wrong length is named as such rather than
    as a body that is not JSON (or, cut inside the tensors' bytes, not even text).
    """
    try:
        json.loads(header.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError or json.JSONDecodeError
        why = (
            f"{e.msg} at character {e.pos}" if isinstance(e, json.JSONDecodeError) else "not UTF-8"
        )
        raise InvalidRequest(
            f"the body's first {len(header)} bytes, its JSON by {HEADER}, are not valid JSON"
            f" ({why}): the header gives the length in bytes of the JSON alone"
        ) from None


def _expected_size(tensor: BinaryInput) -> int:
    """The bytes ``tensor``'s shape and datatype take, refusing a datatype without a binary form."""
    if tensor.datatype == "BYTES":
        raise InvalidRequest(
            f'input "{tensor.name}" is BYTES, which these models do not take: their inputs are'
            " numbers"
        )
    dtype = DTYPES.get(tensor.datatype)
    if dtype is None:
        raise InvalidRequest(
            f'input "{tensor.name}" has datatype {tensor.datatype!r}, which this server cannot'
            f" read as binary data (it reads {', '.join(DTYPES)})"
        )
    return math.prod(tensor.shape) * dtype.itemsize


def decoded(inputs: Sequence[BinaryInput], data: bytes | None) -> list[Tensor]:
    """The binary ``inputs``, in order, read from ``data``: the bytes after the JSON header.

    ``data`` is None when the request had no ``Inference-Header-Content-Length`` header.
    """
    if data is None:
        if inputs:
            raise InvalidRequest(
                f'input "{inputs[0].name}" has {SIZE} but the request has no {HEADER} header'
                " giving the length of the JSON before the tensors' bytes"
            )
        return []
    for tensor in inputs:
        expected = _expected_size(tensor)
        if tensor.size != expected:
            raise InvalidRequest(
                f'input "{tensor.name}" has {SIZE} {tensor.size}, but its shape'
                f" {list(tensor.shape)} of {tensor.datatype} takes {expected} bytes"
            )
    given = sum(t.size for t in inputs)
    if given != len(data):
        raise InvalidRequest(
            f"the inputs' {SIZE} add up to {given} bytes, but {len(data)} bytes follow the"
            f" JSON ({HEADER})"
        )
    tensors, start = [], 0
    for tensor in inputs:
        raw = data[start : start + tensor.size]
        start += tensor.size
        values = np.frombuffer(raw, DTYPES[tensor.datatype]).astype(np.float64)
        tensors.append(Tensor(tensor.name, tensor.datatype, tensor.shape, values))
    return tensors


def encoded(values: Array, datatype: str) -> bytes:
    """``values`` as ``datatype``'s bytes, little-endian and row-major."""
    return np.ascontiguousarray(values, DTYPES[datatype]).tobytes()


def answer(header: bytes, tensors: Sequence[bytes]) -> Response:
    """The answer: the JSON ``header``, then each binary output's bytes in the header's order."""
    return Response(
        b"".join([header, *tensors]),
        media_type=MEDIA_TYPE,
        headers={HEADER: str(len(header))},
    )
