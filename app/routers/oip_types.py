"""The Open Inference Protocol v2's bodies (KServe v2, Triton's HTTP/REST API), beside its routes.

Server and model metadata, health, and ``infer``'s tensors as JSON; :func:`oip_request` makes
the infer body with a deployment's limit on ``steps``. Importing this module imports neither
TensorFlow nor the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

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


class OIPInput(Strict):
    """An input tensor: its data row-major, flat or nested."""

    name: str
    shape: list[Annotated[int, Field(ge=0)]] = Field(min_length=1, max_length=2)
    datatype: str
    parameters: dict[str, Any] | None = None
    data: OIPData


class OIPRequestedOutput(Strict):
    """An output the client asks for (only ``forecast`` exists)."""

    name: str
    parameters: dict[str, Any] | None = None


class OIPParameters(BaseModel):
    """Request parameters: ``steps`` asks for a forecast that many steps ahead; others are ignored."""

    model_config = ConfigDict(extra="allow", strict=True)

    steps: int | None = Field(None, ge=1, description="forecast this many steps ahead")


class OIPInferRequest(Strict):
    """``POST /v2/models/{name}[/versions/{v}]/infer``.

    Input ``window``, FP32 ``[batch, window_size]``; ``steps`` as a parameter or an INT32 input
    of shape ``[1]`` gives ``forecast`` ``[batch, steps]``, else ``[batch, horizon]`` (one call).
    """

    id: str | None = None
    model_name: str | None = Field(
        None, description="KServe's client sends it; when given it must match the path's"
    )
    parameters: OIPParameters | None = None
    inputs: list[OIPInput] = Field(min_length=1, max_length=2)
    outputs: list[OIPRequestedOutput] | None = None


class OIPOutput(BaseModel):
    """An output tensor, its data flat and row-major."""

    name: str
    datatype: str
    shape: list[int]
    data: list[float]


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
