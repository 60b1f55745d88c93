"""The forecast picture, drawn from real forecasts of the session's SavedModels."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import numpy as np
import pytest
from fastapi import FastAPI
from matplotlib import dates as mdates
from matplotlib.figure import Figure

from app import csv_bodies, forecasting, plotting, service
from app.forecasting import ForecastResult
from app.schemas import ForecastRequest
from contract.frequency import series_stamps
from tests.app.support import TestClient, registry_of
from tests.support import SEASON, WINDOW


def _result(
    client: TestClient, series: np.ndarray, horizon: int, actuals: np.ndarray | None = None
) -> ForecastResult:
    model = registry_of(client).resolve("gru")
    return forecasting.forecast(
        model, series, horizon=horizon,
        season_length=SEASON, levels=(80, 95), actuals=actuals,
    )  # fmt: skip


def _labels(fig: object) -> list[str]:
    main = fig.axes[0]  # type: ignore[attr-defined]
    return [t.get_text() for t in main.get_legend().get_texts()]


@pytest.mark.parametrize(
    ("n", "horizon", "season", "start"),
    [
        (1000, 7, 365, 1000 - 84),  # three seasons is too far back for 7 steps: twelve horizons
        (1000, 120, 365, 0),  # three seasons, more than the series has
        (400, 20, 50, 400 - 150),  # three seasons, between four and twelve horizons
        (1000, 1, 365, 1000 - 12),
        (1000, 100, 7, 1000 - 400),  # a short season: four horizons at least
        (1000, 10, None, 1000 - 80),  # no season: eight horizons
        (30, 10, 50, 0),
    ],
)
def test_focus_comes_from_the_season_and_the_horizon(
    n: int, horizon: int, season: int | None, start: int
) -> None:
    assert plotting.focus_start(n, horizon, season) == start


def test_default_picture_shows_the_best_baseline_only(
    shared_client: TestClient, series: np.ndarray
) -> None:
    x = series[:380]
    result = _result(shared_client, x, 20, actuals=series[380:])
    assert result.windowed_scores is not None
    maes = {k: s["mae"] for k, s in result.windowed_scores.scores.items() if k != "model"}
    best = min(maes, key=lambda k: maes[k])
    fig = plotting.forecast_figure(x, result, "gru", series[380:], season_length=SEASON)
    labels = _labels(fig)
    assert f"best baseline: {best}" in labels
    assert not set(labels) & set(result.baselines)  # no other baseline drawn
    assert {"series", "model forecast", "80% interval", "95% interval", "actuals"} <= set(labels)
    main, overview, _text = fig.axes
    assert main.get_xlim()[0] == pytest.approx(plotting.focus_start(380, 20, SEASON) - 0.5)
    assert main.get_xlabel() == "time step"  # no stamps: positions
    assert overview.get_xlim()[0] < 0  # the whole history
    text = plotting.scores_text(result)
    assert best in text and "Horizon against the actuals, 380 to 399 (20 values)" in text
    model_mae = result.windowed_scores.scores["model"]["mae"]
    assert model_mae is not None and f"{model_mae:.4g}" in text


def test_baselines_asked_for_are_drawn_too(shared_client: TestClient, series: np.ndarray) -> None:
    result = _result(shared_client, series, 10)
    fig = plotting.forecast_figure(
        series, result, "gru", season_length=SEASON, baselines=["naive", "seasonal_naive"]
    )
    labels = _labels(fig)
    best = plotting.best_baseline(result.windowed_scores)
    assert {"naive", "seasonal_naive"} - {best} <= set(labels)
    assert "actuals" not in labels and "Horizon" not in plotting.scores_text(result)


def test_no_overview_when_the_focus_holds_the_whole_series(
    shared_client: TestClient, series: np.ndarray
) -> None:
    x = series[: WINDOW + 30]
    result = _result(shared_client, x, 30)
    fig = plotting.forecast_figure(x, result, "gru", season_length=SEASON)
    assert len(fig.axes) == 2  # main panel and the scores text
    png = plotting.forecast_png(x, result, "gru", season_length=SEASON)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_series_as_long_as_the_window_has_no_scores(
    shared_client: TestClient, series: np.ndarray
) -> None:
    result = _result(shared_client, series[:WINDOW], 5)
    assert plotting.best_baseline(result.windowed_scores) is None
    assert plotting.scores_text(result).startswith("No one-step scores")
    assert plotting.forecast_png(series[:WINDOW], result, "gru").startswith(b"\x89PNG")


def test_stamps_put_the_x_axis_in_their_times(
    shared_client: TestClient, series: np.ndarray
) -> None:
    x = series[:380]
    result = _result(shared_client, x, 20)
    stamps = series_stamps(380, 20, start="1990-01", freq="MS")
    assert stamps is not None
    fig = plotting.forecast_figure(x, result, "gru", season_length=SEASON, stamps=stamps)
    main, overview, _text = fig.axes
    assert main.get_xlabel() == "month"
    start = plotting.focus_start(380, 20, SEASON)
    days = mdates.date2num(stamps.times)
    line = next(li for li in main.get_lines() if li.get_label() == "series")
    assert np.array_equal(line.get_xdata(), days[start:380])
    forecast = next(li for li in main.get_lines() if li.get_label() == "model forecast")
    assert np.array_equal(forecast.get_xdata(), days[380:])
    # Half a month before the first value shown, and on past the horizon (2021-09 to 2023-04).
    assert days[start - 1] < main.get_xlim()[0] < days[start]
    assert mdates.num2date(main.get_xlim()[1]) > datetime(2022, 4, 1, tzinfo=mdates.UTC)
    fig.canvas.draw()
    ticks = [t.get_text() for t in main.get_xticklabels() if t.get_text()]
    assert ticks and all(t.isdigit() and 2008 <= int(t) <= 2024 for t in ticks), ticks
    assert overview.get_xlabel() == "" and overview.get_xlim()[0] < days[0]


def _request_figure(client: TestClient, body: ForecastRequest) -> Figure:
    model = registry_of(client).resolve(body.model)
    return service.forecast_figure(model, body, cast(FastAPI, client.app).state.settings)


def test_the_picture_of_a_request_is_in_its_stamps(
    shared_client: TestClient, series: np.ndarray
) -> None:
    values = series[:100].tolist()
    hours = [f"2024-03-{1 + i // 24:02d}T{i % 24:02d}:00" for i in range(100)]
    forms: dict[str, Any] = {
        "time step": values,
        "week": [{"id": "a", "values": values, "start": "2020-01-06", "freq": "W"}],
        "hour": [{"id": "a", "values": values, "timestamps": hours}],
    }
    for label, given in forms.items():
        body = ForecastRequest.model_validate({"model": "gru", "horizon": 5, "series": given})
        assert _request_figure(shared_client, body).axes[0].get_xlabel() == label


def test_the_picture_of_a_csv_with_a_time_column_is_in_its_times(
    shared_client: TestClient, series: np.ndarray
) -> None:
    stamps = series_stamps(100, 5, start="2021-03-01", freq="D")
    assert stamps is not None
    text = "ds,y\n" + "".join(
        f"{t.date()},{v}\n" for t, v in zip(stamps.times, series[:100], strict=False)
    )
    parameters = csv_bodies.FORECAST.parameters(ForecastRequest.model_json_schema())
    query = [("model", "gru"), ("horizon", "5")]
    fields = csv_bodies.json_body(csv_bodies.FORECAST, parameters, text.encode(), "text/csv", query)
    main = _request_figure(shared_client, ForecastRequest.model_validate(fields)).axes[0]
    assert main.get_xlabel() == "day"
    line = next(li for li in main.get_lines() if li.get_label() == "series")
    assert mdates.num2date(line.get_xdata()[-1]).date() == stamps.times[99].date()
