"""The service's use cases, which every protocol's routes call: REST, TF Serving, OIP, KServe.

Each takes a loaded version (any :class:`app.forecaster.Forecaster`) and a validated body and
returns the wire answer (or a picture); none knows which route or protocol asked. They run in a
worker thread (the routes hand them to ``run_in_threadpool``): the model calls block.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from app import anomalies as detection
from app import backtest_plot, backtesting, forecasting, plotting
from app.backtesting import BacktestResult
from app.errors import InvalidRequest
from app.forecaster import Array, Float32Array, Forecaster, TensorModel, keyed
from app.forecasting import ForecastResult, ReferenceLimits
from app.registry import ModelEntry
from app.schemas import (
    AnomaliesRequest,
    AnomaliesResponse,
    BacktestRequest,
    BacktestResponse,
    BestVersion,
    ForecastRequest,
    ForecastResponse,
    ModelList,
    ModelStatus,
    PanelResponse,
    SeriesForecast,
    SeriesItem,
)
from app.settings import Settings
from app.version_state import VersionState
from contract.frequency import Stamps
from contract.selection import Choice, best_by_dataset


def _title(model: Forecaster) -> str:
    return f"{model.name} version {model.version} ({model.metadata.architecture})"


def _season(model: Forecaster, asked: int | None) -> int:
    return asked or model.metadata.season_length


def _forecast_results(
    model: Forecaster, body: ForecastRequest, items: list[SeriesItem], settings: Settings
) -> list[ForecastResult]:
    return forecasting.forecast_panel(
        keyed(model, [item.id or None for item in items]),
        [
            (
                np.asarray(item.values, dtype=np.float64),
                np.asarray(item.actuals, dtype=np.float64) if item.actuals else None,
            )
            for item in items
        ],
        horizon=body.horizon,
        season_length=_season(model, body.season_length),
        baselines=body.baselines,
        levels=body.level or (),
        probabilities=body.quantiles or (),
        reference_limits=ReferenceLimits(
            settings.reference_max_length, settings.reference_max_season
        ),
        training_tail=model.metadata.dataset.training_tail,
    )


def _stamps(model: Forecaster, item: SeriesItem, horizon: int) -> Stamps | None:
    """The item's stamps; InvalidRequest when their frequency is not the model's."""
    try:
        stamps = item.stamps(horizon)
    except ValueError as e:
        raise InvalidRequest(f"series {item.id!r}: {e}", {"id": item.id}) from None
    trained = model.metadata.dataset.frequency
    if stamps is not None and trained is not None and stamps.frequency != trained:
        raise InvalidRequest(
            f"series {item.id!r} is {stamps.frequency} but model {model.name!r} version"
            f" {model.version} was trained on {trained} values",
            {"id": item.id, "frequency": stamps.frequency, "model_frequency": trained},
        )
    return stamps


def forecast(
    model: Forecaster, body: ForecastRequest, settings: Settings
) -> ForecastResponse | PanelResponse:
    """The answer to a forecast body: one forecast for one list of numbers, else one per series."""
    items = body.items()
    stamps = [_stamps(model, item, body.horizon) for item in items]
    results = _forecast_results(model, body, items, settings)
    intervals, quantiles = body.level is not None, body.quantiles is not None
    if not body.many():
        return ForecastResponse.of(model, results[0], intervals, quantiles)
    return PanelResponse(
        series=[
            SeriesForecast.of(
                model,
                result,
                intervals,
                quantiles,
                stamps=stamp,
                id=item.id,
                frequency=stamp.frequency if stamp else None,
            )
            for item, stamp, result in zip(items, stamps, results, strict=True)
        ]
    )


def forecast_figure(model: Forecaster, body: ForecastRequest, settings: Settings) -> Figure:
    """One series' forecast drawn: series, windowed, horizon and baselines, in its stamps' times."""
    items = body.items()
    if len(items) > 1:
        raise InvalidRequest(
            f"a picture draws one series, but the body has {len(items)}: send one",
            {"series": len(items)},
        )
    item = items[0]
    stamps = _stamps(model, item, body.horizon)
    result = _forecast_results(model, body, items, settings)[0]
    actuals = np.asarray(item.actuals, dtype=np.float64) if item.actuals else None
    series = np.asarray(item.values, dtype=np.float64)
    return plotting.forecast_figure(
        series,
        result,
        _title(model),
        actuals,
        season_length=_season(model, body.season_length),
        baselines=body.baselines,
        stamps=stamps,
    )


def forecast_picture(model: Forecaster, body: ForecastRequest, settings: Settings) -> bytes:
    """The PNG of :func:`forecast_figure`."""
    return plotting.png(forecast_figure(model, body, settings))


def _backtest_result(model: Forecaster, body: BacktestRequest) -> BacktestResult:
    return backtesting.backtest(
        model,
        np.asarray(body.series, dtype=np.float64),
        h=body.h,
        n_windows=body.n_windows,
        step_size=body.step_size,
        season_length=_season(model, body.season_length),
        baselines=body.baselines,
        levels=body.level or (),
    )


def backtest(model: Forecaster, body: BacktestRequest) -> BacktestResponse:
    """The rolling-origin backtest of the model and the baselines on the body's series."""
    return BacktestResponse.of(model, body, _backtest_result(model, body))


def backtest_picture(model: Forecaster, body: BacktestRequest) -> bytes:
    """The PNG of a backtest."""
    result = _backtest_result(model, body)
    series = np.asarray(body.series, dtype=np.float64)
    return backtest_plot.backtest_png(series, result, _title(model))


def anomalies(model: Forecaster, body: AnomaliesRequest) -> AnomaliesResponse:
    """The values of the body's series outside the model's one-step interval."""
    series = np.asarray(body.series, dtype=np.float64)
    return AnomaliesResponse.of(model, detection.anomalies(model, series, level=body.level))


def best_versions(models: list[ModelEntry]) -> list[Choice]:
    """Per dataset, the AVAILABLE version with the lowest validation MAE (:mod:`contract.selection`)."""
    available = [
        (m.name, v.version, v.metadata)
        for m in models
        for v in m.versions.values()
        if v.state is VersionState.AVAILABLE and v.metadata is not None
    ]
    return best_by_dataset(available)


def describe_models(models: list[ModelEntry], store_error: str | None) -> ModelList:
    """Every model with every version, and the best version per dataset by validation."""
    return ModelList(
        models=[ModelStatus.of(m) for m in models],
        best=[BestVersion.of(c) for c in best_versions(models)],
        store_error=store_error,
    )


def in_batches(
    call: Callable[[Float32Array], Float32Array], windows: npt.NDArray[np.floating], batch: int
) -> Array:
    """``call`` over ``windows`` ``(k, W)`` in chunks of ``batch`` rows; returns ``(k, H)``."""
    chunks = [
        call(np.ascontiguousarray(windows[lo : lo + batch], dtype=np.float32))
        for lo in range(0, len(windows), batch)
    ]
    return np.concatenate(chunks).astype(np.float64)


def predict_windows(
    model: TensorModel, windows: Array, steps: int | None, settings: Settings
) -> Array:
    """``serving_default`` over ``windows`` ``(k, W)``, or ``forecast`` with ``steps``; batched.

    The window-tensor protocols (TF Serving's ``:predict``, the OIP's ``infer``) call this with
    :func:`app.forecaster.tensors_of` the version.
    """
    if steps is None:
        return in_batches(model.one_step, windows, settings.batch_windows)
    return in_batches(lambda w: model.forecast_windows(w, steps), windows, settings.batch_windows)
