"""The forecast picture, drawn from real forecasts of the session's SavedModels."""

from __future__ import annotations

import numpy as np
import pytest

from app import forecasting, plotting
from app.forecasting import ForecastResult
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
