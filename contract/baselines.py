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

# The course's windows, tuned on daily values with a yearly season; each is also capped by the
# season, so that monthly or quarterly data averages over at most one season (see the functions).
MOVING_AVERAGE_WINDOW = 30
DIFF_MOVING_AVERAGE_WINDOW = 50
SMOOTHING_WINDOW = 11  # centred, so it is odd
# A season of 1 means "no season": the seasonal baselines are then unavailable.
MIN_SEASON_LENGTH = 1


def moving_average_window(season_length: int) -> int:
    """The trailing mean's window: 30 values, at most one season (30 when there is no season)."""
    m = season_length
    return MOVING_AVERAGE_WINDOW if m <= 1 else min(MOVING_AVERAGE_WINDOW, m)


def diff_window(season_length: int) -> int:
    """How many seasonal differences are averaged: 50, at most one season's worth."""
    return min(DIFF_MOVING_AVERAGE_WINDOW, season_length)


def smoothing_window(season_length: int) -> int:
    """The centred smoothing's window: the largest odd number <= min(11, season - 1), at least 1.

    Shorter than the season, so the smoothed value a season ago never reads a later value.
    """
    w = max(1, min(SMOOTHING_WINDOW, season_length - 1))
    return w if w % 2 else w - 1


def _trailing_means(x: Array, window: int) -> Array:
    """``out[j] = mean(x[j : j + window])`` for ``j in 0..n - window``; shape ``(n - window + 1,)``."""
    c = np.concatenate(([0.0], np.cumsum(x)))
    return (c[window:] - c[:-window]) / window


def _naive_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    return 1, x[:-1].copy()


def _naive_forecast(x: Array, horizon: int, season_length: int) -> Array:
    return np.full(horizon, x[-1])


def _moving_average_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    w = moving_average_window(season_length)
    return w, _trailing_means(x, w)[:-1]


def _moving_average_forecast(x: Array, horizon: int, season_length: int) -> Array:
    return np.full(horizon, x[-moving_average_window(season_length) :].mean())


def _seasonal_naive_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    m = season_length
    return m, x[:-m].copy()


def _seasonal_naive_forecast(x: Array, horizon: int, season_length: int) -> Array:
    last_season = x[-season_length:]
    return np.resize(last_season, horizon)


def _diff_means(x: Array, season_length: int) -> tuple[int, Array]:
    """Trailing MA of the seasonal differences: ``out[i]`` forecasts ``d[m + w + i]`` from before it."""
    m, w = season_length, diff_window(season_length)
    d = x[m:] - x[:-m]
    return m + w, _trailing_means(d, w)[:-1]


def _seasonal_diff_ma_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    start, dbar = _diff_means(x, season_length)
    return start, x[start - season_length : len(x) - season_length] + dbar


def _smoothed_past(x: Array, season_length: int, start: int) -> Array:
    """Centred MA of the values a season before each position ``t >= start``."""
    window = smoothing_window(season_length)
    half = window // 2
    means = _trailing_means(x, window)  # means[j] centres on x[j + half]
    first = start - season_length - half
    return means[first : first + len(x) - start]


def _seasonal_diff_ma_smoothed_windowed(x: Array, season_length: int) -> tuple[int, Array]:
    start, dbar = _diff_means(x, season_length)
    return start, _smoothed_past(x, season_length, start) + dbar


def _seasonal_diff_forecast(x: Array, horizon: int, season_length: int, smoothed: bool) -> Array:
    """Hold the latest MA of the seasonal differences; add the (smoothed) value a season earlier.

    Where "a season earlier" lies beyond ``x`` it is this forecast's own earlier value.
    """
    m, w, half = season_length, diff_window(season_length), smoothing_window(season_length) // 2
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
    min_length: Callable[[int], int | None]  # None: not defined for this season length
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
            lambda m: moving_average_window(m) + 1,
            _moving_average_windowed,
            _moving_average_forecast,
        ),
        Baseline(
            "seasonal_naive",
            "the value one season earlier",
            lambda m: m + 1 if m > 1 else None,
            _seasonal_naive_windowed,
            _seasonal_naive_forecast,
        ),
        Baseline(
            "seasonal_diff_ma",
            f"value a season ago plus the mean of the last {DIFF_MOVING_AVERAGE_WINDOW} (at most a"
            " season of) seasonal differences",
            lambda m: m + diff_window(m) + 1 if m > 1 else None,
            _seasonal_diff_ma_windowed,
            lambda x, h, m: _seasonal_diff_forecast(x, h, m, smoothed=False),
        ),
        Baseline(
            "seasonal_diff_ma_smoothed",
            f"as seasonal_diff_ma, with a centred MA {SMOOTHING_WINDOW} (shorter than the season)"
            " of the past season",
            lambda m: m + diff_window(m) + 1 if m > 1 else None,
            _seasonal_diff_ma_smoothed_windowed,
            lambda x, h, m: _seasonal_diff_forecast(x, h, m, smoothed=True),
        ),
    )
}


NAMES: tuple[str, ...] = tuple(BASELINES)


def check_season_length(season_length: int) -> None:
    """Raise ValueError unless ``season_length`` is a season (1 means none)."""
    if season_length < MIN_SEASON_LENGTH:
        raise ValueError(
            f"season_length must be at least {MIN_SEASON_LENGTH} (1 means no season),"
            f" got {season_length}"
        )


def available(length: int, season_length: int) -> list[str]:
    """Names of the baselines that can forecast from a series of ``length`` values."""
    return [
        b.name
        for b in BASELINES.values()
        if (need := b.min_length(season_length)) is not None and length >= need
    ]


def _long_enough(name: str, series: npt.ArrayLike, season_length: int) -> tuple[Baseline, Array]:
    """Baseline ``name`` and ``series`` as float64, or ValueError if the series is too short."""
    x = np.asarray(series, dtype=np.float64)
    baseline = BASELINES[name]
    need = baseline.min_length(season_length)
    if need is None:
        raise ValueError(f"baseline {name!r} needs at least a season of 2, got {season_length}")
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
