"""KServe's time-series forecast API's bodies (``kserve.protocol.rest.timeseries``), beside its routes.

Importing this module imports neither TensorFlow nor the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.schemas import (
    HORIZON_DOC,
    FiniteFloat,
    ModelName,
    Probability,
    Stamp,
    Strict,
    either,
    starts_with_list,
)

# KServe's frequency codes and the service's names of them (contract.frequency); None: no such
# step here (nothing is finer than a minute).
KSERVE_FREQUENCIES: dict[str, str | None] = {
    "second": None, "S": None,
    "minute": "minutely", "T": "minutely",
    "hour": "hourly", "H": "hourly",
    "day": "daily", "D": "daily",
    "week": "weekly", "W": "weekly",
    "month": "monthly", "M": "monthly",
    "quarter": "quarterly", "Q": "quarterly",
    "year": "yearly", "Y": "yearly",
}  # fmt: skip


if TYPE_CHECKING:
    KServeFrequency = str
else:
    KServeFrequency = Literal[tuple(KSERVE_FREQUENCIES)]


KServeSeriesType = Literal["univariate_time_series", "multivariate_time_series"]
if TYPE_CHECKING:
    KServeSeries = list[float] | list[list[float]]
else:
    KServeSeries = either(
        Annotated[list[FiniteFloat], Field(min_length=1)],
        Annotated[list[list[FiniteFloat]], Field(min_length=1)],
        starts_with_list,
    )


class KServeTimeSeriesInput(Strict):
    """One series to forecast: its name, values and their frequency and first time."""

    type: KServeSeriesType = Field(description="only univariate_time_series is served")
    name: str = Field(min_length=1, max_length=200, description="answered back with its forecast")
    series: KServeSeries = Field(
        description="the values so far, oldest first: at least the model's window"
    )
    frequency: KServeFrequency = Field(description="the step between values (not second: S)")
    start_timestamp: Stamp | None = Field(
        None, description="ISO 8601 time of the first value; needed, to stamp the forecast"
    )


class KServeForecastOptions(Strict):
    """How far to forecast, and which quantiles to add."""

    horizon: int = Field(ge=1, description=HORIZON_DOC)
    quantiles: list[Probability] | None = Field(
        None, min_length=1, max_length=20, description="e.g. [0.1, 0.5, 0.9]"
    )


class KServeForecastRequest(Strict):
    """``POST /v1/timeseries/forecast``: series to forecast with the model's highest AVAILABLE version."""

    model: ModelName
    inputs: list[KServeTimeSeriesInput] = Field(min_length=1)
    options: KServeForecastOptions
    metadata: dict[str, Any] | None = Field(None, description="the client's; not read")


class KServeTimeSeriesForecast(BaseModel):
    """The forecast of one series."""

    type: KServeSeriesType = "univariate_time_series"
    name: str
    mean_forecast: list[float]
    frequency: KServeFrequency = Field(description="the input's")
    start_timestamp: str = Field(description="ISO 8601 time of the first forecast step")
    quantiles: dict[str, list[float]] | None = Field(
        None, description='by probability, e.g. "0.9"; only when quantiles were asked for'
    )


class KServeForecastOutput(BaseModel):
    """One input's result."""

    type: Literal["time_series_forecast"] = "time_series_forecast"
    id: str
    status: Literal["completed"] = "completed"
    content: list[KServeTimeSeriesForecast]
    error: None = None


class KServeForecastResponse(BaseModel):
    """The forecasts, one output per input, in the order of the inputs."""

    id: str
    created_at: int = Field(description="Unix time of the answer")
    status: Literal["completed"] = "completed"
    error: None = None
    model: str
    outputs: list[KServeForecastOutput]


class KServeErrorDetail(BaseModel):
    """What went wrong, as KServe's time-series API says it."""

    code: str = Field(description="the HTTP status, as text")
    message: str
    param: str | None = Field(None, description="the request field at fault, if one is")
    type: str = Field(description="the service's error code, e.g. model_not_found")


class KServeErrorResponse(BaseModel):
    """KServe's time-series error shape."""

    error: KServeErrorDetail
