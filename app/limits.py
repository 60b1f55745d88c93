"""One deployment's request models: the configured limits in their fields.

Each limit is a setting (:mod:`app.settings`), read here only: the OpenAPI document
(``maxItems``, ``maximum``), the validation and its error messages all derive from the field it
sets. Importing this module imports neither TensorFlow nor the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, create_model

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
    from app.settings import Settings


@dataclass(frozen=True)
class Limited:
    """The request models of one deployment, with its configured limits in their fields."""

    forecast: type[ForecastRequest]
    predict: type[PredictRequest]
    backtest: type[BacktestRequest]
    anomalies: type[AnomaliesRequest]


def limited(settings: Settings) -> Limited:
    """Request models carrying ``settings``' limits.

    Each limit is a setting, read here only: the OpenAPI document (``maxItems``, ``maximum``),
    the validation and its error messages all derive from the field it sets.
    """
    windows = Field(max_length=settings.max_instances, description="at most max_instances")
    columns = create_model(
        "PredictColumns",
        __base__=PredictColumns,
        __doc__=PredictColumns.__doc__,
        window=(list[list[FiniteFloat]], windows),
        steps=(int | None, Field(None, ge=1, le=settings.max_horizon)),
    )
    values = Field(min_length=1, max_length=settings.max_series_length, description=SERIES_DOC)
    item = create_model(
        "SeriesItem",
        __base__=SeriesItem,
        __doc__=SeriesItem.__doc__,
        values=(list[FiniteFloat], values),
        timestamps=(
            list[Stamp] | None,
            Field(None, max_length=settings.max_series_length, description="one per value"),
        ),
    )
    many = Field(
        min_length=1,
        max_length=settings.max_series,
        description=f"at most max_series, {settings.max_total_points} values in all",
    )
    forecast = create_model(
        "ForecastRequest",
        __base__=ForecastRequest,
        __doc__=ForecastRequest.__doc__,
        series=(
            either(
                Annotated[list[FiniteFloat], values],
                Annotated[list[item], many],
                starts_with_object,
            ),
            Field(description=PANEL_DOC),
        ),
        horizon=(int, Field(1, ge=1, le=settings.max_horizon, description=HORIZON_DOC)),
    )
    forecast.max_total_points = settings.max_total_points
    return Limited(
        forecast=forecast,
        predict=create_model(
            "PredictRequest",
            __base__=PredictRequest,
            __doc__=PredictRequest.__doc__,
            instances=(
                list[Instance] | None,
                Field(
                    None,
                    max_length=settings.max_instances,
                    description="windows of window_size values, one per instance",
                ),
            ),
            inputs=(
                either(Annotated[list[list[FiniteFloat]], windows], columns, is_object) | None,
                None,
            ),
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
            list[FiniteFloat],
            Field(
                min_length=1,
                max_length=settings.max_series_length,
                description=BACKTEST_SERIES_DOC,
            ),
        ),
        h=(int, Field(ge=1, le=settings.max_horizon, description=H_DOC)),
        n_windows=(
            int,
            Field(1, ge=1, le=settings.max_backtest_forecasts, description=N_WINDOWS_DOC),
        ),
    )
    model.max_forecasts = settings.max_backtest_forecasts
    return model


def _limited_anomalies(settings: Settings) -> type[AnomaliesRequest]:
    """:class:`AnomaliesRequest` with ``settings``' longest series."""
    return create_model(
        "AnomaliesRequest",
        __base__=AnomaliesRequest,
        __doc__=AnomaliesRequest.__doc__,
        series=(
            list[FiniteFloat],
            Field(
                min_length=1,
                max_length=settings.max_series_length,
                description=AnomaliesRequest.model_fields["series"].description,
            ),
        ),
    )
