"""The Open Inference Protocol v2's bodies (KServe v2, Triton's HTTP/REST API), beside its routes.

Server and model metadata, health, and ``infer``'s tensors: their values as JSON in ``data``,
or as bytes after the JSON, which then gives only ``parameters.binary_data_size`` (Triton's
binary tensor data extension, :mod:`app.binary_tensors`). :func:`oip_request` makes
the infer body with a deployment's limit on ``steps``. Importing this module imports neither
TensorFlow nor the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.limits import at_most
from app.schemas import FiniteFloat, Strict, either, starts_with_list

if TYPE_CHECKING:
    from app.settings import Settings


class OIPServerMetadata(BaseModel):
    """The Open Inference Protocol's ``GET /v2``."""

    name: str
    version: str
    extensions: list[str] = Field(default_factory=list)


class OIPLive(BaseModel):
    """``GET /v2/health/live``."""

    live: bool = True


class OIPReady(BaseModel):
    """``GET /v2/health/ready``: 200 once the service is ready (see ``GET /ready``), else 503."""

    ready: bool = True


class OIPModelReady(BaseModel):
    """``GET /v2/models/{name}[/versions/{v}]/ready``: 200 when AVAILABLE, else 503 or 404."""

    name: str
    ready: bool = True


class OIPTensorMetadata(BaseModel):
    """An input or output of a model: name, datatype and shape (-1: any size)."""

    name: str
    datatype: str = Field(examples=["FP32"])
    shape: list[int]


class OIPModelMetadata(BaseModel):
    """``GET /v2/models/{name}[/versions/{v}]``."""

    name: str
    versions: list[str] = Field(description="the AVAILABLE versions")
    platform: str = "tensorflow_savedmodel"
    inputs: list[OIPTensorMetadata]
    outputs: list[OIPTensorMetadata]


if TYPE_CHECKING:
    OIPData = list[float] | list[list[float]]
else:
    OIPData = either(list[FiniteFloat], list[list[FiniteFloat]], starts_with_list)


class OIPTensorParameters(BaseModel):
    """A tensor's parameters: ``binary_data_size`` when its values travel as bytes; others ignored."""

    model_config = ConfigDict(extra="allow", strict=True)

    binary_data_size: int | None = Field(
        None,
        ge=0,
        description="its values are this many bytes after the JSON (binary tensor data), not"
        " in data",
    )


class OIPInput(Strict):
    """An input tensor: its data row-major, flat or nested, or its size in bytes when binary."""

    name: str
    shape: list[Annotated[int, Field(ge=0)]] = Field(min_length=1, max_length=2)
    datatype: str
    parameters: OIPTensorParameters | None = None
    data: OIPData | None = Field(None, description="required unless parameters.binary_data_size")


class OIPOutputParameters(BaseModel):
    """A requested output's parameters: ``binary_data`` asks for its bytes; others are ignored."""

    model_config = ConfigDict(extra="allow", strict=True)

    binary_data: bool | None = Field(
        None, description="return it as bytes after the JSON; overrides binary_data_output"
    )


class OIPRequestedOutput(Strict):
    """An output the client asks for (only ``forecast`` exists)."""

    name: str
    parameters: OIPOutputParameters | None = None


class OIPParameters(BaseModel):
    """Request parameters: ``steps`` asks for a forecast that many steps ahead; others are ignored."""

    model_config = ConfigDict(extra="allow", strict=True)

    steps: int | None = Field(None, ge=1, description="forecast this many steps ahead")
    binary_data_output: bool | None = Field(
        None, description="return every output as bytes after the JSON, unless it says otherwise"
    )


class OIPInferRequest(Strict):
    """``POST /v2/models/{name}[/versions/{v}]/infer``.

    Input ``window``, FP32 ``[batch, window_size]``; ``steps`` as a parameter or an INT32 input
    of shape ``[1]`` gives ``forecast`` ``[batch, steps]``, else ``[batch, horizon]`` (one call).
    Each input's values are in ``data`` or, with ``parameters.binary_data_size``, bytes after
    this JSON (header ``Inference-Header-Content-Length``: the JSON's length).
    """

    id: str | None = None
    model_name: str | None = Field(
        None, description="KServe's client sends it; when given it must match the path's"
    )
    parameters: OIPParameters | None = None
    inputs: list[OIPInput] = Field(min_length=1, max_length=2)
    outputs: list[OIPRequestedOutput] | None = None


class OIPOutput(BaseModel):
    """An output tensor, its data flat and row-major, or its size in bytes when binary."""

    name: str
    datatype: str
    shape: list[int]
    parameters: OIPTensorParameters | None = None
    data: list[float] | None = None


class OIPInferResponse(BaseModel):
    """The answer to ``infer``."""

    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[OIPOutput]


def oip_request(settings: Settings) -> type[OIPInferRequest]:
    """The infer request with ``settings``' limit on ``steps`` (the horizon's)."""
    parameters = create_model(
        "OIPParameters",
        __base__=OIPParameters,
        __doc__=OIPParameters.__doc__,
        steps=(
            at_most(settings, "max_horizon", int, ge=1) | None,
            Field(None, description="forecast this many steps ahead"),
        ),
    )
    return create_model(
        "OIPInferRequest",
        __base__=OIPInferRequest,
        __doc__=OIPInferRequest.__doc__,
        parameters=(parameters | None, None),
    )
