"""One deployment's request models: the configured limits in their fields.

Each limit is a setting (:mod:`app.settings`), read here only: the OpenAPI document
(``maxItems``, ``maximum``), the validation and its error messages all derive from the field it
sets, and a value beyond it is refused naming the setting (``FORECAST_MAX_HORIZON``): the limit
is this server's choice, and that is what its operator would change. Importing this module
imports neither TensorFlow nor the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, ValidationError, WrapValidator, create_model
from pydantic_core import PydanticCustomError

from app.routers.tf_serving_types import Instance, PredictColumns, PredictRequest
from app.schemas import (
    BACKTEST_SERIES_DOC,
    H_DOC,
    HORIZON_DOC,
    N_WINDOWS_DOC,
    PANEL_DOC,
    SERIES_DOC,
    AnomaliesRequest,
    BacktestRequest,
    FiniteFloat,
    ForecastRequest,
    SeriesItem,
    Stamp,
    either,
    is_object,
    starts_with_object,
)

if TYPE_CHECKING:
    from app.settings import Limit, Settings


@dataclass(frozen=True)
class Limited:
    """The request models of one deployment, with its configured limits in their fields."""

    forecast: type[ForecastRequest]
    predict: type[PredictRequest]
    backtest: type[BacktestRequest]
    anomalies: type[AnomaliesRequest]


def within(limit: Limit, unit: str = "") -> WrapValidator:
    """Refuse a number over ``limit`` (with ``unit``, a list longer than it) naming its setting.

    The field's own ``le`` or ``max_length`` still checks, and the OpenAPI document still shows
    it; this rewords its refusal only: "5000 is more than the 1000 this server allows
    (FORECAST_MAX_HORIZON)" where pydantic says "less than or equal to 1000".
    """

    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as e:
            kinds = ("too_long",) if unit else ("less_than_equal",)
            over = next((x for x in e.errors() if x["loc"] == () and x["type"] in kinds), None)
            if over is None:
                raise
            if unit:
                given = (over.get("ctx") or {}).get("actual_length", "more")
                said = f"holds {given} {unit}, more than {limit.allows()}"
            else:
                said = f"{over['input']} is more than {limit.allows()}"
            raise PydanticCustomError(
                "over_limit", said, {"limit": limit.value, "setting": limit.setting}
            ) from None

    return WrapValidator(check)


def at_most(settings: Settings, name: str, kind: Any, unit: str = "", **field: Any) -> Any:
    """``kind`` with ``field``'s constraints, the setting ``name`` its largest value or, given
    the ``unit`` of its items, its longest list; refused beyond it naming the setting."""
    limit = settings.limit(name)
    bound: dict[str, Any] = {"max_length": limit.value} if unit else {"le": limit.value}
    return Annotated[kind, Field(**bound, **field), within(limit, unit)]


def limited(settings: Settings) -> Limited:
    """Request models carrying ``settings``' limits.

    Each limit is a setting, read here only: the OpenAPI document (``maxItems``, ``maximum``),
    the validation and its error messages all derive from the field it sets.
    """
    windows = at_most(
        settings,
        "max_instances",
        list[list[FiniteFloat]],
        "windows",
        description="at most max_instances",
    )
    steps = at_most(settings, "max_horizon", int, ge=1)
    columns = create_model(
        "PredictColumns",
        __base__=PredictColumns,
        __doc__=PredictColumns.__doc__,
        window=(windows, ...),
        steps=(steps | None, None),
    )
    values = at_most(
        settings,
        "max_series_length",
        list[FiniteFloat],
        "values",
        min_length=1,
        description=SERIES_DOC,
    )
    stamps = at_most(settings, "max_series_length", list[Stamp], "stamps")
    item = create_model(
        "SeriesItem",
        __base__=SeriesItem,
        __doc__=SeriesItem.__doc__,
        values=(values, ...),
        timestamps=(stamps | None, Field(None, description="one per value")),
    )
    many = at_most(
        settings,
        "max_series",
        list[item],
        "series",
        min_length=1,
        description=f"at most max_series, {settings.max_total_points} values in all",
    )
    forecast = create_model(
        "ForecastRequest",
        __base__=ForecastRequest,
        __doc__=ForecastRequest.__doc__,
        series=(either(values, many, starts_with_object), Field(description=PANEL_DOC)),
        horizon=(at_most(settings, "max_horizon", int, ge=1, description=HORIZON_DOC), 1),
    )
    forecast.max_total_points = settings.limit("max_total_points")
    instances = at_most(settings, "max_instances", list[Instance], "windows")
    return Limited(
        forecast=forecast,
        predict=create_model(
            "PredictRequest",
            __base__=PredictRequest,
            __doc__=PredictRequest.__doc__,
            instances=(
                instances | None,
                Field(None, description="windows of window_size values, one per instance"),
            ),
            inputs=(either(windows, columns, is_object) | None, None),
        ),
        backtest=_limited_backtest(settings),
        anomalies=_limited_anomalies(settings),
    )


def _limited_backtest(settings: Settings) -> type[BacktestRequest]:
    """:class:`BacktestRequest` with ``settings``' limits in its fields and validation."""
    model = create_model(
        "BacktestRequest",
        __base__=BacktestRequest,
        __doc__=BacktestRequest.__doc__,
        series=(
            at_most(
                settings,
                "max_series_length",
                list[FiniteFloat],
                "values",
                min_length=1,
                description=BACKTEST_SERIES_DOC,
            ),
            ...,
        ),
        h=(at_most(settings, "max_horizon", int, ge=1, description=H_DOC), ...),
        n_windows=(
            at_most(settings, "max_backtest_forecasts", int, ge=1, description=N_WINDOWS_DOC),
            1,
        ),
    )
    model.max_forecasts = settings.limit("max_backtest_forecasts")
    return model


def _limited_anomalies(settings: Settings) -> type[AnomaliesRequest]:
    """:class:`AnomaliesRequest` with ``settings``' longest series."""
    return create_model(
        "AnomaliesRequest",
        __base__=AnomaliesRequest,
        __doc__=AnomaliesRequest.__doc__,
        series=(
            at_most(
                settings,
                "max_series_length",
                list[FiniteFloat],
                "values",
                min_length=1,
                description=AnomaliesRequest.model_fields["series"].description,
            ),
            ...,
        ),
    )
