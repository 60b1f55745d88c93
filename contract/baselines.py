"""The course's classic baselines, in plain numpy.

Every baseline gives two things for a series ``x`` of shape ``(n,)``:

* ``windowed(x, season_length)`` -> ``(start, values)``: ``values[i]`` (shape ``(n - start,)``) is
  the one-step-ahead forecast of ``x[start + i]`` made only from ``x[:start + i]``;
* ``forecast(x, horizon, season_length)`` -> ``(horizon,)``: the next ``horizon`` values after
  ``x[-1]``, made only from ``x``.

Windowed forecasts use cumulative sums, so their cost is linear in ``n`` whatever the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

MOVING_AVERAGE_WINDOW = 30
DIFF_MOVING_AVERAGE_WINDOW = 50
SMOOTHING_WINDOW = 11  # centred, so it must be odd and shorter than the season
# The centred smoothing reads half its window either side of the value a season ago.
MIN_SEASON_LENGTH = SMOOTHING_WINDOW // 2 + 1


def _trailing_means(x: Array, window: int) -> Array:
    """``out[j] = mean(x[j : j + window])`` for ``j in 0..n - window``; shape ``(n - window + 1,)``."""
    c = np.concatenate(([0.0], np.cumsum(x)))
    return (c[window:] - c[:-window]) / window


def _naive_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    return 1, x[:-1].copy()


def _naive_forecast(x: Array, horizon: int, season_length: int) -> Array:
    return np.full(horizon, x[-1])


def _moving_average_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    w = MOVING_AVERAGE_WINDOW
    return w, _trailing_means(x, w)[:-1]


def _moving_average_forecast(x: Array, horizon: int, season_length: int) -> Array:
    return np.full(horizon, x[-MOVING_AVERAGE_WINDOW:].mean())


def _seasonal_naive_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    m = season_length
    return m, x[:-m].copy()


def _seasonal_naive_forecast(x: Array, horizon: int, season_length: int) -> Array:
    last_season = x[-season_length:]
    return np.resize(last_season, horizon)


def _diff_means(x: Array, season_length: int) -> tuple[int, Array]:
    """Trailing MA of the seasonal differences: ``out[i]`` forecasts ``d[m + w + i]`` from before it."""
    m, w = season_length, DIFF_MOVING_AVERAGE_WINDOW
    d = x[m:] - x[:-m]
    return m + w, _trailing_means(d, w)[:-1]


def _seasonal_diff_ma_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    start, dbar = _diff_means(x, season_length)
    return start, x[start - season_length : len(x) - season_length] + dbar


def _smoothed_past(x: Array, season_length: int, start: int) -> Array:
    """Centred MA of the values a season before each position ``t >= start``."""
    half = SMOOTHING_WINDOW // 2
    means = _trailing_means(x, SMOOTHING_WINDOW)  # means[j] centres on x[j + half]
    first = start - season_length - half
    return means[first : first + len(x) - start]


def _seasonal_diff_ma_smoothed_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    start, dbar = _diff_means(x, season_length)
    return start, _smoothed_past(x, season_length, start) + dbar


def _seasonal_diff_forecast(x: Array, horizon: int, season_length: int, smoothed: bool) -> Array:
    """Hold the latest MA of the seasonal differences; add the (smoothed) value a season earlier.

    Where "a season earlier" lies beyond ``x`` it is this forecast's own earlier value.
    """
    m, w, half = season_length, DIFF_MOVING_AVERAGE_WINDOW, SMOOTHING_WINDOW // 2
    n = len(x)
    dbar = float(np.mean(x[n - w :] - x[n - w - m : n - m]))
    ext = np.concatenate((x, np.empty(horizon)))
    for k in range(horizon):
        t = n + k
        past = ext[t - m - half : t - m + half + 1].mean() if smoothed else ext[t - m]
        ext[t] = past + dbar
    return ext[n:]


@dataclass(frozen=True)
class Baseline:
    """A named classic forecaster and the shortest series it can forecast from."""

    name: str
    description: str
    min_length: Callable[[int], int]
    windowed: Callable[[Array, int], tuple[int, Array]]
    forecast: Callable[[Array, int, int], Array]


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(
            "naive",
            "tomorrow equals today",
            lambda m: 2,
            _naive_windowed,
            _naive_forecast,
        ),
        Baseline(
            "moving_average",
            f"mean of the last {MOVING_AVERAGE_WINDOW} values",
            lambda m: MOVING_AVERAGE_WINDOW + 1,
            _moving_average_windowed,
            _moving_average_forecast,
        ),
        Baseline(
            "seasonal_naive",
            "the value one season earlier",
            lambda m: m + 1,
            _seasonal_naive_windowed,
            _seasonal_naive_forecast,
        ),
        Baseline(
            "seasonal_diff_ma",
            f"value a season ago plus the MA {DIFF_MOVING_AVERAGE_WINDOW} of seasonal differences",
            lambda m: m + DIFF_MOVING_AVERAGE_WINDOW + 1,
            _seasonal_diff_ma_windowed,
            lambda x, h, m: _seasonal_diff_forecast(x, h, m, smoothed=False),
        ),
        Baseline(
            "seasonal_diff_ma_smoothed",
            f"as seasonal_diff_ma, with a centred MA {SMOOTHING_WINDOW} of the past season",
            lambda m: m + DIFF_MOVING_AVERAGE_WINDOW + 1,
            _seasonal_diff_ma_smoothed_windowed,
            lambda x, h, m: _seasonal_diff_forecast(x, h, m, smoothed=True),
        ),
    )
}


NAMES: tuple[str, ...] = tuple(BASELINES)


def check_season_length(season_length: int) -> None:
    """Raise ValueError unless ``season_length`` leaves room for the centred smoothing window."""
    if season_length < MIN_SEASON_LENGTH:
        raise ValueError(
            f"season_length must be greater than {MIN_SEASON_LENGTH - 1}, got {season_length}"
        )


def available(length: int, season_length: int) -> list[str]:
    """Names of the baselines that can forecast from a series of ``length`` values."""
    return [b.name for b in BASELINES.values() if length >= b.min_length(season_length)]


def _long_enough(name: str, series: npt.ArrayLike, season_length: int) -> tuple[Baseline, Array]:
    """Baseline ``name`` and ``series`` as float64, or ValueError if the series is too short."""
    x = np.asarray(series, dtype=np.float64)
    baseline = BASELINES[name]
    need = baseline.min_length(season_length)
    if len(x) < need:
        raise ValueError(f"baseline {name!r} needs at least {need} values, got {len(x)}")
    return baseline, x


def windowed(name: str, series: npt.ArrayLike, season_length: int) -> tuple[int, Array]:
    """One-step-ahead forecasts of baseline ``name`` over every position it can forecast."""
    baseline, x = _long_enough(name, series, season_length)
    return baseline.windowed(x, season_length)


def forecast(name: str, series: npt.ArrayLike, horizon: int, season_length: int) -> Array:
    """The next ``horizon`` values after ``series`` by baseline ``name``; shape ``(horizon,)``."""
    baseline, x = _long_enough(name, series, season_length)
    return baseline.forecast(x, horizon, season_length)
