"""The service's own bodies: the OpenAPI document is built from these, and so is validation.

The wire contract: importing this module imports neither TensorFlow nor the registry, so a
client or a documentation build can use it alone. The service's configured limits enter through
:func:`app.limits.limited`, which makes the request models of one deployment; each serving
protocol's bodies live beside its routes (``app/routers/*_types.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    Tag,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from app.forecaster import Windowed as WindowedArrays
from app.forecasting import ForecastResult, MethodForecast, Scored
from app.version_state import VersionState
from contract import frequency
from contract.baselines import MIN_SEASON_LENGTH
from contract.baselines import NAMES as BASELINE_NAMES
from contract.frequency import Stamps
from contract.metadata import ModelMetadata, Scores
from contract.references import NAMES as REFERENCE_NAMES
from contract.selection import Choice
from contract.store import NAME_PATTERN

if TYPE_CHECKING:
    from app.anomalies import AnomalyResult
    from app.backtesting import BacktestResult
    from app.forecaster import Forecaster
    from app.registry import ModelEntry, VersionEntry
    from app.runtime import Device
    from app.settings import Limit

FLOAT32_MAX = float(np.finfo(np.float32).max)

FiniteFloat = Annotated[
    float,
    Field(
        allow_inf_nan=False,
        ge=-FLOAT32_MAX,
        le=FLOAT32_MAX,
        description="a finite number within float32's range",
    ),
]
ModelName = Annotated[
    str,
    Field(
        pattern=f"^{NAME_PATTERN.pattern}$",
        description="a model in the store: 1-64 of a-z, 0-9, '_' and '-'",
        examples=["synthetic-wavenet"],
    ),
]
Label = Annotated[
    str,
    Field(
        pattern=f"^{NAME_PATTERN.pattern}$",
        description="a label from labels.json (e.g. stable), or a version number as text",
    ),
]
if TYPE_CHECKING:
    BaselineName = str
else:
    BaselineName = Literal[BASELINE_NAMES + REFERENCE_NAMES]
Level = Annotated[float, Field(gt=0, lt=100, description="a prediction-interval level in percent")]
Probability = Annotated[float, Field(gt=0, lt=1, description="a probability, e.g. 0.9")]


class _AnyOf:
    """JSON Schema: a discriminated union stays ``anyOf``, since it takes what either member does."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        if "oneOf" in found:
            found["anyOf"] = found.pop("oneOf")
        return found


def either(first: Any, second: Any, is_second: Callable[[Any], bool]) -> Any:
    """The union ``first | second``, a value validated by one member: ``second`` if ``is_second``.

    A plain union validates a value against every member and reports every member's errors, so
    a client reads about forms it never sent (a string in a list of numbers is also "not a
    series object"); told which member the value meant, pydantic reports one error per mistake.
    Both members take what they took before, so the OpenAPI document keeps its ``anyOf``.
    """
    return Annotated[
        Annotated[first, Tag("first")] | Annotated[second, Tag("second")],
        Discriminator(lambda value: "second" if is_second(value) else "first"),
        _AnyOf(),
    ]


def is_object(value: Any) -> bool:
    """A JSON object (or a model already made of one)."""
    return isinstance(value, dict | BaseModel)


def starts_with_object(value: Any) -> bool:
    """A list whose first item is a JSON object: the many-series form, the row format's."""
    return isinstance(value, list) and bool(value) and is_object(value[0])


def starts_with_list(value: Any) -> bool:
    """A list whose first item is a list: nested rows, not one flat list of numbers."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], list)


if TYPE_CHECKING:
    Version = int | str
else:
    Version = either(
        Annotated[int, Field(ge=1, strict=True)], Label, lambda value: isinstance(value, str)
    )
VERSION_DOC = "a version number, a label, or omitted for the highest AVAILABLE one"


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a misspelt option is an error, not ignored.

    Strict: a number must be a JSON number, so "1.5", true or 5.0 for an integer are refused,
    as the OpenAPI document says, instead of being quietly converted.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


# ---- errors ----


class ErrorBody(BaseModel):
    """What went wrong."""

    code: str = Field(description="stable machine-readable name, e.g. model_not_found")
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The one error shape of every route except the TF-Serving-compatible ones."""

    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 415, 422, 502, 503)
}


# ---- health ----


class DeviceInfo(BaseModel):
    """A device TensorFlow places work on."""

    name: str
    device_type: str

    @classmethod
    def of(cls, device: Device) -> Self:
        return cls(name=device.name, device_type=device.device_type)


class Health(BaseModel):
    """The process is up; which devices TensorFlow uses."""

    status: Literal["ok"] = "ok"
    devices: list[DeviceInfo]
    tensorflow_version: str
    versions_available: int


class Ready(BaseModel):
    """Every version found at start has finished loading, and at least one is AVAILABLE."""

    status: Literal["ready"] = "ready"
    versions_available: int
    loading: list[str] = Field(
        default_factory=list,
        description="name/version of versions published since start that are still loading",
    )


class KServeLive(BaseModel):
    """KServe v1's liveness answer at ``GET /``."""

    status: Literal["alive"] = "alive"


# ---- models ----


class VersionStatus(BaseModel):
    """One version folder and its state."""

    version: int
    state: VersionState
    error: str | None = Field(None, description="why a FAILED version could not be loaded")
    labels: list[str]
    metadata: ModelMetadata | None = Field(description="the version's metadata.json, as is")

    @classmethod
    def of(cls, model: ModelEntry, entry: VersionEntry) -> Self:
        return cls(
            version=entry.version,
            state=entry.state,
            error=entry.error,
            labels=model.labels_of(entry.version),
            metadata=entry.metadata,
        )


class ModelStatus(BaseModel):
    """One model with its versions (ascending) and labels."""

    name: str
    default_version: int | None = Field(
        description="the highest AVAILABLE version, which requests without a version get"
    )
    labels: dict[str, int]
    labels_error: str | None = None
    error: str | None = None
    versions: list[VersionStatus]

    @classmethod
    def of(cls, model: ModelEntry) -> Self:
        default = model.default_version()
        return cls(
            name=model.name,
            default_version=default.version if default else None,
            labels=dict(model.labels),
            labels_error=model.labels_error,
            error=model.error,
            versions=[VersionStatus.of(model, v) for _, v in sorted(model.versions.items())],
        )


class BestVersion(BaseModel):
    """The AVAILABLE version with the lowest validation MAE among those trained on one dataset.

    Versions compare only when trained on the same values split at the same index, so that they
    were scored on the same validation positions (:mod:`contract.selection`).
    """

    dataset: str
    sha256: str
    split: int
    model: str
    version: int
    validation_mae: float
    candidates: int = Field(description="the AVAILABLE versions of this dataset compared")
    metric: str = Field(
        "mae",
        description='what chose it: "mae", or "smape" (the panel mean) among versions trained'
        " across a panel",
    )
    score: float | None = Field(
        None, description="the chosen version's sMAPE when metric is smape; None for mae"
    )

    @classmethod
    def of(cls, choice: Choice) -> Self:
        return cls(**dataclasses.asdict(choice))


class ModelList(BaseModel):
    """Every model in the store, and the best version for each dataset by validation."""

    models: list[ModelStatus]
    best: list[BestVersion] = Field(
        default_factory=list,
        description="per dataset (name, sha256, split), the lowest validation MAE: pick by this",
    )
    store_error: str | None = Field(None, description="why the store could not be read, if so")


# ---- forecast ----


SERIES_DOC = "the values so far, oldest first: at least the model's window_size"
PANEL_DOC = (
    "the values so far, oldest first (at least the model's window_size), or a list of series"
    " each with an id, its values and optional timestamps (or start and freq)"
)
HORIZON_DOC = "steps to forecast"


Stamp = Annotated[
    str,
    Field(max_length=64, description="an ISO 8601 date or date-time", examples=["2024-01-31"]),
]


class SeriesItem(Strict):
    """One series of a many-series request: its id, values and, optionally, its time stamps."""

    id: str = Field(min_length=1, max_length=200, description="answered back with its forecast")
    values: list[FiniteFloat] = Field(min_length=1, description=SERIES_DOC)
    timestamps: list[Stamp] | None = Field(
        None, description="one ISO 8601 stamp per value, evenly spaced (not with start)"
    )
    start: Stamp | None = Field(None, description="the time of the first value, with freq")
    freq: str | None = Field(
        None,
        max_length=32,
        description=f"the step between values with start: one of {', '.join(frequency.NAMES)}"
        f" (or a pandas alias: {', '.join(frequency.ALIASES)})",
    )
    actuals: list[FiniteFloat] | None = Field(
        None, min_length=1, description="the true values that followed, to score the horizon"
    )

    @field_validator("start")
    @classmethod
    def _readable_start(cls, start: str | None) -> str | None:
        if start is not None:
            frequency.parse_stamp(start)
        return start

    @field_validator("freq")
    @classmethod
    def _known_freq(cls, freq: str | None) -> str | None:
        if freq is not None:
            frequency.canonical(freq)
        return freq

    @model_validator(mode="after")
    def _stamps_fit(self) -> Self:
        if self.timestamps is not None:
            if self.start is not None or self.freq is not None:
                raise ValueError("send timestamps, or start with freq, not both")
            if len(self.timestamps) != len(self.values):
                raise ValueError(
                    f"timestamps has {len(self.timestamps)} stamps for {len(self.values)} values"
                )
        elif (self.start is None) != (self.freq is None):
            raise ValueError("start and freq go together")
        try:
            self.stamps(0)  # unreadable stamps or an unknown frequency are this body's error
        except frequency.IrregularStamps as e:
            raise ValueError(
                f"{e}; nothing is filled in: send the missing values with their stamps, or the"
                " values without timestamps (in a CSV, the missing rows, or no time column)"
            ) from None
        return self

    def stamps(self, horizon: int) -> Stamps | None:
        """The stamps of the values and the ``horizon`` after them; None without stamps."""
        return frequency.series_stamps(
            len(self.values), horizon, timestamps=self.timestamps, start=self.start, freq=self.freq
        )


if TYPE_CHECKING:
    Panel = list[float] | list[SeriesItem]
else:
    Panel = either(
        Annotated[list[FiniteFloat], Field(min_length=1)],
        Annotated[list[SeriesItem], Field(min_length=1)],
        starts_with_object,
    )


class ForecastRequest(Strict):
    """One series (a list of numbers), or many with ids and stamps, to forecast with one model.

    Every series is forecast beside the classic baselines; the many-series form is answered in
    the same order, one entry per id.
    """

    max_total_points: ClassVar[Limit | None] = None  # set per deployment by app.limits.limited()

    model: ModelName
    version: Version | None = Field(None, description=VERSION_DOC)
    series: Panel = Field(description=PANEL_DOC)
    horizon: int = Field(1, ge=1, description=HORIZON_DOC)
    baselines: list[BaselineName] | None = Field(
        None,
        max_length=len(BASELINE_NAMES) + len(REFERENCE_NAMES),
        description=(
            "baselines to compare with; default: every classic one the series is long enough"
            " for. auto_ets and auto_arima (statsforecast) only when named: fitted on the first"
            " half of the series at least, and every method is then scored after it"
        ),
    )
    season_length: int | None = Field(
        None,
        ge=MIN_SEASON_LENGTH,
        description="season length for the seasonal baselines; default the model's",
    )
    level: list[Level] | None = Field(
        None, min_length=1, max_length=20, description="prediction-interval levels, e.g. [80, 95]"
    )
    quantiles: list[Probability] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="forecast quantiles to return, e.g. [0.1, 0.5, 0.9], from the same residual"
        " quantiles as the intervals",
    )
    actuals: list[FiniteFloat] | None = Field(
        None,
        min_length=1,
        description="the true values that followed the series, to score the horizon forecast",
    )

    @model_validator(mode="after")
    def _actuals_within_horizon(self) -> Self:
        items = self.items()
        if self.actuals is not None and self.many():
            raise ValueError("with many series, send actuals in each series")
        for item in items:
            if item.actuals is not None and len(item.actuals) > self.horizon:
                raise ValueError(
                    f"actuals has {len(item.actuals)} values, more than the horizon {self.horizon}"
                )
        total = sum(len(item.values) for item in items)
        limit = self.max_total_points
        if limit is not None and total > limit.value:
            raise ValueError(
                f"the series hold {total} values in all, more than {limit.allows('values')}"
            )
        return self

    def many(self) -> bool:
        """The many-series form (answered per id), not one list of numbers."""
        return bool(self.series) and isinstance(self.series[0], SeriesItem)

    def items(self) -> list[SeriesItem]:
        """Every series as an item; the one-series form's as one item without an id."""
        if self.many():
            return [s for s in self.series if isinstance(s, SeriesItem)]
        values = [float(v) for v in self.series if not isinstance(v, SeriesItem)]
        return [SeriesItem.model_construct(id="", values=values, actuals=self.actuals)]


class ModelRef(BaseModel):
    """The version that answered."""

    name: str
    version: int
    architecture: str
    window_size: int
    horizon: int = Field(description="values the model forecasts per call")
    season_length: int

    @classmethod
    def of(cls, model: Forecaster) -> Self:
        m = model.metadata
        return cls(
            name=model.name,
            version=model.version,
            architecture=m.architecture,
            window_size=m.window_size,
            horizon=m.horizon,
            season_length=m.season_length,
        )


class Interval(BaseModel):
    """Bounds of a prediction interval, one per forecast step."""

    lower: list[float]
    upper: list[float]


class Forecast(BaseModel):
    """The horizon forecast."""

    values: list[float]
    intervals: dict[str, Interval] | None = Field(
        None, description='by level, e.g. "80"; only when levels were asked for'
    )
    quantiles: dict[str, list[float]] | None = Field(
        None, description='by probability, e.g. "0.9"; only when quantiles were asked for'
    )
    timestamps: list[datetime] | None = Field(
        None, description="the time of each step (and of its bounds); only for stamped series"
    )
    intervals_note: str | None = Field(
        None,
        description="what to know about the intervals and quantiles, e.g. that they rest on"
        " few validation residuals; null when nothing (or none were asked for)",
    )


class Windowed(BaseModel):
    """One-step-ahead forecasts: ``values[i]`` forecasts ``series[start + i]``."""

    start: int
    values: list[float]
    timestamps: list[datetime] | None = Field(
        None, description="the time of each value forecast; only for stamped series"
    )

    @classmethod
    def of(cls, w: WindowedArrays, stamps: Stamps | None = None) -> Self:
        times = stamps.times[w.start : w.start + len(w.values)] if stamps else None
        return cls(start=w.start, values=w.values.tolist(), timestamps=times)


class BaselineForecast(BaseModel):
    """A baseline's horizon and windowed forecasts."""

    forecast: list[float]
    timestamps: list[datetime] | None = Field(
        None, description="the time of each forecast step; only for stamped series"
    )
    windowed: Windowed

    @classmethod
    def of(cls, b: MethodForecast, stamps: Stamps | None, n: int) -> Self:
        return cls(
            forecast=b.forecast.tolist(),
            timestamps=stamps.times[n:] if stamps else None,
            windowed=Windowed.of(b.windowed, stamps),
        )


class ScoredPositions(BaseModel):
    """Scores of every method on positions ``start .. end - 1`` (beyond the series: horizon)."""

    start: int
    end: int
    scores: dict[str, Scores] = Field(description='"model" and one entry per baseline')

    @classmethod
    def of(cls, scored: Scored | None) -> Self | None:
        if scored is None:
            return None
        return cls(
            start=scored.start,
            end=scored.end,
            scores={k: Scores.model_validate(v) for k, v in scored.scores.items()},
        )


class ForecastMetrics(BaseModel):
    """Accuracy of the model and the baselines."""

    windowed: ScoredPositions | None = Field(
        description="one-step scores on the positions all methods cover; null when there are"
        " none. Positions before trained_until are the version's training part: in-sample"
    )
    trained_until: int | None = Field(
        None,
        description="positions before this index are the version's training part, found by its"
        " last training values in the series; null when the series does not hold them",
    )
    out_of_sample: ScoredPositions | None = Field(
        None,
        description="the one-step scores on the positions after trained_until only (what best"
        " is chosen on then); null without trained_until or positions after it",
    )
    horizon: ScoredPositions | None = Field(
        None, description="scores of the horizon forecasts against actuals; only with actuals"
    )


class ForecastResponse(BaseModel):
    """The model's forecasts beside the baselines', and how each scores."""

    model: ModelRef
    forecast: Forecast
    windowed: Windowed
    baselines: dict[str, BaselineForecast]
    metrics: ForecastMetrics
    best: str | None = Field(
        description="the method with the lowest one-step MAE, out of sample when the series"
        " holds the version's training part"
    )

    @classmethod
    def of(
        cls,
        model: Forecaster,
        result: ForecastResult,
        intervals: bool,
        quantiles: bool,
        stamps: Stamps | None = None,
        **more: Any,
    ) -> Self:
        """The answer for one series; ``stamps`` give every forecast its times."""
        n = len(stamps.times) - len(result.model.forecast) if stamps else 0
        bounds = {
            key: Interval(lower=i.lower.tolist(), upper=i.upper.tolist())
            for key, i in result.intervals.items()
        }
        return cls(
            model=ModelRef.of(model),
            forecast=Forecast(
                values=result.model.forecast.tolist(),
                intervals=bounds if intervals else None,
                quantiles={k: v.tolist() for k, v in result.quantiles.items()}
                if quantiles
                else None,
                timestamps=stamps.times[n:] if stamps else None,
                intervals_note=result.intervals_note,
            ),
            windowed=Windowed.of(result.model.windowed, stamps),
            baselines={k: BaselineForecast.of(b, stamps, n) for k, b in result.baselines.items()},
            metrics=ForecastMetrics(
                windowed=ScoredPositions.of(result.windowed_scores),
                horizon=ScoredPositions.of(result.horizon_scores),
                trained_until=result.trained_until,
                out_of_sample=ScoredPositions.of(result.out_of_sample_scores),
            ),
            best=result.best,
            **more,
        )


class SeriesForecast(ForecastResponse):
    """The answer for one series of a many-series request."""

    id: str
    frequency: str | None = Field(description="the series' step, from its stamps or freq")


class PanelResponse(BaseModel):
    """The answers of a many-series request, in its order."""

    series: list[SeriesForecast]


# ---- backtests and anomalies ----


BACKTEST_SERIES_DOC = (
    "the values, oldest first: at least the model's window_size + h + (n_windows - 1) * step_size"
)
H_DOC = "steps each window forecasts (statsforecast's h)"
N_WINDOWS_DOC = "windows (cutoffs) to backtest; the last one ends with the series"


class BacktestRequest(Strict):
    """A rolling-origin backtest of one model version beside the baselines.

    statsforecast's ``cross_validation`` windows, meanings and defaults: the last
    ``h + (n_windows - 1) * step_size`` values are held out; window ``i`` sees the values before
    its cutoff only and forecasts the ``h`` after it; cutoffs are ``step_size`` apart.
    """

    max_forecasts: ClassVar[Limit | None] = None  # h * n_windows, set by app.limits.limited()

    model: ModelName
    version: Version | None = Field(None, description=VERSION_DOC)
    series: list[FiniteFloat] = Field(min_length=1, description=BACKTEST_SERIES_DOC)
    h: int = Field(ge=1, description=H_DOC)
    n_windows: int = Field(1, ge=1, description=N_WINDOWS_DOC)
    step_size: int = Field(1, ge=1, description="values between consecutive cutoffs")
    baselines: list[BaselineName] | None = Field(
        None,
        max_length=len(BASELINE_NAMES),
        description="baselines to backtest beside the model; default: every one the first"
        " window is long enough for",
    )
    season_length: int | None = Field(
        None,
        ge=MIN_SEASON_LENGTH,
        description="season length for the seasonal baselines; default the model's",
    )
    level: list[Level] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="prediction-interval levels whose coverage to measure, e.g. [80, 95]",
    )

    @model_validator(mode="after")
    def _within_the_limit(self) -> Self:
        limit = self.max_forecasts
        if limit is not None and self.h * self.n_windows > limit.value:
            raise ValueError(
                f"h * n_windows is {self.h * self.n_windows} forecasts per method, more than"
                f" {limit.allows()}"
            )
        return self


class BacktestBand(BaseModel):
    """Bounds of the model's interval at one level: one row per window, ``h`` values each."""

    lower: list[list[float]]
    upper: list[list[float]]


class Coverage(BaseModel):
    """Share of actuals inside an interval: per step, and over every window and step."""

    by_step: list[float]
    overall: float


class BacktestMetrics(BaseModel):
    """Accuracy of every method on the same windows and steps."""

    mase_scale: float | None = Field(
        description="MASE's one denominator: the naive in-sample MAE of the values before the"
        " first window (null when they are constant or fewer than 2)"
    )
    overall: dict[str, Scores] = Field(
        description='over every window and step: "model" and each baseline'
    )
    by_step: dict[str, list[Scores]] = Field(
        description="one entry per step ahead (1 .. h), over the windows"
    )
    coverage: dict[str, Coverage] | None = Field(
        None,
        description='the model\'s intervals, by level (e.g. "80"); only when levels were asked for',
    )


class BacktestResponse(BaseModel):
    """The model's and the baselines' forecasts from every cutoff, and how each scores."""

    model: ModelRef
    h: int
    n_windows: int
    step_size: int
    cutoffs: list[int] = Field(
        description="per window, the position of the last value it sees (statsforecast's"
        " cutoff); it forecasts positions cutoff + 1 .. cutoff + h"
    )
    actuals: list[list[float]] = Field(description="per window, the h values that followed")
    forecasts: dict[str, list[list[float]]] = Field(
        description='per method ("model" and each baseline), per window, h values'
    )
    intervals: dict[str, BacktestBand] | None = Field(
        None, description="the model's, by level; only when levels were asked for"
    )
    metrics: BacktestMetrics
    best: str = Field(description="the method with the lowest overall MAE (the model wins ties)")

    @classmethod
    def of(cls, model: Forecaster, body: BacktestRequest, result: BacktestResult) -> Self:
        asked = body.level is not None
        return cls(
            model=ModelRef.of(model),
            h=body.h,
            n_windows=body.n_windows,
            step_size=body.step_size,
            cutoffs=result.windows.cutoffs.tolist(),
            actuals=result.actuals.tolist(),
            forecasts={name: m.forecasts.tolist() for name, m in result.methods.items()},
            intervals={
                level: BacktestBand(lower=i.lower.tolist(), upper=i.upper.tolist())
                for level, i in result.intervals.items()
            }
            if asked
            else None,
            metrics=BacktestMetrics(
                mase_scale=result.scale,
                overall={
                    name: Scores.model_validate(m.overall) for name, m in result.methods.items()
                },
                by_step={
                    name: [Scores.model_validate(s) for s in m.by_step]
                    for name, m in result.methods.items()
                },
                coverage={
                    level: Coverage(by_step=c.by_step.tolist(), overall=c.overall)
                    for level, c in result.coverage.items()
                }
                if asked
                else None,
            ),
            best=result.best,
        )


class AnomaliesRequest(Strict):
    """A series to check, value by value, against one model version's one-step interval."""

    model: ModelName
    version: Version | None = Field(None, description=VERSION_DOC)
    series: list[FiniteFloat] = Field(
        min_length=1, description="the values, oldest first: more than the model's window_size"
    )
    level: Level = Field(
        99, description="the interval's level in percent: values outside it are anomalies"
    )


class Anomaly(BaseModel):
    """A value outside the one-step interval."""

    index: int = Field(description="its position in the series")
    value: float
    forecast: float = Field(description="the model's one-step forecast of it")
    lower: float
    upper: float
    score: float | None = Field(
        description="how far outside, in interval half-widths ((upper - lower) / 2): above 0;"
        " null when the interval has no width"
    )


class AnomaliesResponse(BaseModel):
    """The values of the series the model's one-step interval at ``level`` did not expect."""

    model: ModelRef
    level: float
    start: int = Field(description="the first position checked (the model's window_size)")
    end: int = Field(description="one past the last position checked (the series' length)")
    count: int = Field(description="anomalies found")
    anomalies: list[Anomaly] = Field(description="in the order of the series")

    @classmethod
    def of(cls, model: Forecaster, result: AnomalyResult) -> Self:
        found = zip(
            result.indices.tolist(),
            result.values.tolist(),
            result.forecasts.tolist(),
            result.lower.tolist(),
            result.upper.tolist(),
            result.scores,
            strict=True,
        )
        return cls(
            model=ModelRef.of(model),
            level=result.level,
            start=result.start,
            end=result.end,
            count=len(result.indices),
            anomalies=[
                Anomaly(index=i, value=v, forecast=f, lower=lo, upper=up, score=s)
                for i, v, f, lo, up, s in found
            ],
        )
