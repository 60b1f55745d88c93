"""TensorFlow Serving's REST bodies (and KServe v1's model list), beside their routes.

``model_version_status``, the signature definitions of ``.../metadata`` (protobuf's JSON: int64
as text), and the predict body in its row (``instances``) and columnar (``inputs``) formats; the
deployment's limits enter through :func:`app.limits.limited`. Importing this module imports
neither TensorFlow nor the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, Field, model_validator

from app.schemas import FiniteFloat, Strict, either, is_object
from app.version_state import VersionState

if TYPE_CHECKING:
    from app.registry import VersionEntry


# ---- a model's status ----


class TFServingStatus(BaseModel):
    """TF Serving's status of one version."""

    error_code: str = "OK"
    error_message: str = ""


class TFServingVersionStatus(BaseModel):
    """One entry of TF Serving's ``model_version_status``."""

    version: str
    state: Literal["START", "LOADING", "AVAILABLE", "UNLOADING", "END"]
    status: TFServingStatus

    @classmethod
    def of(cls, entry: VersionEntry) -> Self:
        if entry.state is VersionState.FAILED:
            # TF Serving has no FAILED state: a version that could not load has ended, with an error.
            return cls(
                version=str(entry.version),
                state="END",
                status=TFServingStatus(error_code="UNKNOWN", error_message=entry.error or ""),
            )
        return cls(version=str(entry.version), state=entry.state.value, status=TFServingStatus())


class TFServingModelStatus(BaseModel):
    """TF Serving's ``GET /v1/models/{name}`` body, with KServe v1's ``name`` and ``ready`` beside."""

    name: str = Field(description="KServe v1: the model's name")
    ready: bool = Field(description="KServe v1: a version asked for (or any) is AVAILABLE")
    model_version_status: list[TFServingVersionStatus]


# ---- a model's metadata: its signatures ----


class TFServingDim(BaseModel):
    """One dimension of a tensor shape; ``"-1"``: any size (int64 as text, as protobuf's JSON)."""

    size: str
    name: str = ""


class TFServingShape(BaseModel):
    """A ``TensorShapeProto``."""

    dim: list[TFServingDim]
    unknown_rank: bool = False

    @classmethod
    def of(cls, shape: tuple[int | None, ...]) -> Self:
        return cls(dim=[TFServingDim(size=str(-1 if d is None else d)) for d in shape])


class TFServingTensor(BaseModel):
    """A ``TensorInfo``: the tensor's type, shape and name."""

    dtype: str = Field(examples=["DT_FLOAT"])
    tensor_shape: TFServingShape
    name: str


class TFServingSignature(BaseModel):
    """A ``SignatureDef``."""

    inputs: dict[str, TFServingTensor]
    outputs: dict[str, TFServingTensor]
    method_name: str = "tensorflow/serving/predict"


class TFServingSignatureDefs(BaseModel):
    """``SignatureDefMap``: every signature by key."""

    signature_def: dict[str, TFServingSignature]


class TFServingMetadataBody(BaseModel):
    """The metadata field TF Serving fills: ``signature_def``."""

    signature_def: TFServingSignatureDefs


class TFServingModelSpec(BaseModel):
    """Which model and version answered."""

    name: str
    signature_name: str = ""
    version: str


class TFServingModelMetadata(BaseModel):
    """TF Serving's ``GET /v1/models/{name}/metadata`` body."""

    model_spec: TFServingModelSpec
    metadata: TFServingMetadataBody


# ---- predict ----


class PredictRow(Strict):
    """One instance in TF Serving's row format with the input named."""

    window: list[FiniteFloat]


class PredictColumns(Strict):
    """TF Serving's columnar ``inputs`` with named inputs (``steps`` for the forecast signature)."""

    window: list[list[FiniteFloat]]
    steps: int | None = Field(None, ge=1)


if TYPE_CHECKING:
    Instance = list[float] | PredictRow
    Columnar = list[list[float]] | PredictColumns
else:
    Instance = either(list[FiniteFloat], PredictRow, is_object)
    Columnar = either(list[list[FiniteFloat]], PredictColumns, is_object)


class PredictRequest(Strict):
    """TF Serving's predict body: ``instances`` (row format) or ``inputs`` (columnar)."""

    signature_name: Literal["serving_default", "forecast"] = "serving_default"
    instances: list[Instance] | None = Field(
        None, description="windows of window_size values, one per instance"
    )
    inputs: Columnar | None = None

    @model_validator(mode="after")
    def _one_format(self) -> Self:
        if (self.instances is None) == (self.inputs is None):
            raise ValueError('send exactly one of "instances" or "inputs"')
        return self

    def windows(self) -> list[list[float]]:
        """The windows, whichever format they came in."""
        if self.instances is not None:
            return [i.window if isinstance(i, PredictRow) else i for i in self.instances]
        if isinstance(self.inputs, PredictColumns):
            return self.inputs.window
        return self.inputs or []

    def steps(self) -> int | None:
        """``steps`` of the forecast signature, when given."""
        return self.inputs.steps if isinstance(self.inputs, PredictColumns) else None


class PredictResponse(BaseModel):
    """TF Serving's predict answer: ``predictions`` for ``instances``, ``outputs`` for ``inputs``."""

    predictions: list[list[float]] | None = None
    outputs: list[list[float]] | None = None


# ---- KServe v1 ----


class KServeModelList(BaseModel):
    """KServe v1's ``GET /v1/models``: the names of the models in the store."""

    models: list[str]
