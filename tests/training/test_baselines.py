"""The classic baselines: the course's numbers, a brute-force twin of each, and no look-ahead."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract import baselines, metrics
from contract.baselines import diff_window, moving_average_window, smoothing_window
from training.data import synthetic, synthetic_noise, synthetic_values

SPLIT = 1000
SEASON = 365

COURSE_MAE = {
    "naive": 5.938,
    "moving_average": 7.142,
    "seasonal_diff_ma": 5.839,
    "seasonal_diff_ma_smoothed": 4.567,
}


def _validation_mae(name: str) -> float:
    x = synthetic().values
    start, values = baselines.windowed(name, x, SEASON)
    return metrics.mae(x[SPLIT:], values[SPLIT - start :])


@pytest.mark.parametrize(("name", "expected"), COURSE_MAE.items())
def test_validation_mae_reproduces_the_course(name: str, expected: float) -> None:
    assert _validation_mae(name) == pytest.approx(expected, abs=0.005)


def test_perfect_model_mae_is_the_noise_alone() -> None:
    x = synthetic().values
    perfect = x - synthetic_noise()
    assert metrics.mae(x[SPLIT:], perfect[SPLIT:]) == pytest.approx(4.007, abs=0.005)


def test_smoothed_seasonal_difference_beats_naive_and_is_beaten_by_the_perfect_model() -> None:
    noise_mae = float(np.mean(np.abs(synthetic_noise()[SPLIT:])))
    assert noise_mae < _validation_mae("seasonal_diff_ma_smoothed") < _validation_mae("naive")


# Each baseline again, as the course states it: one forecast from the history before it.
def _seasonal_diff_mean(history: np.ndarray, m: int) -> float:
    t = len(history)
    diffs = [history[j] - history[j - m] for j in range(t - diff_window(m), t)]
    return float(np.mean(diffs))


def _smoothed_past(history: np.ndarray, m: int) -> float:
    half = smoothing_window(m) // 2
    t = len(history)
    return float(np.mean(history[t - m - half : t - m + half + 1]))


BRUTE_FORCE: dict[str, Callable[[np.ndarray, int], float]] = {
    "naive": lambda h, m: float(h[-1]),
    "moving_average": lambda h, m: float(np.mean(h[-moving_average_window(m) :])),
    "seasonal_naive": lambda h, m: float(h[-m]),
    "seasonal_diff_ma": lambda h, m: float(h[-m]) + _seasonal_diff_mean(h, m),
    "seasonal_diff_ma_smoothed": lambda h, m: _smoothed_past(h, m) + _seasonal_diff_mean(h, m),
}


def test_every_baseline_has_a_brute_force_twin() -> None:
    assert set(BRUTE_FORCE) == set(baselines.BASELINES)


@pytest.mark.parametrize("name", sorted(baselines.BASELINES))
def test_windowed_equals_a_loop_over_the_history(name: str) -> None:
    m = 50
    x = synthetic_values(length=300, period=m)
    start, values = baselines.windowed(name, x, m)
    assert start == baselines.BASELINES[name].min_length(m) - 1  # type: ignore[operator]
    assert values.shape == (len(x) - start,)
    expected = [BRUTE_FORCE[name](x[: start + i], m) for i in range(len(values))]
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("name", sorted(baselines.BASELINES))
@settings(max_examples=25, deadline=None)
@given(cut=st.integers(min_value=0, max_value=299), seed=st.integers(0, 2**16))
def test_windowed_forecasts_ignore_later_values(name: str, cut: int, seed: int) -> None:
    m = 50
    x = synthetic_values(length=300, period=m)
    changed = x.copy()
    changed[cut:] += np.random.default_rng(seed).normal(0, 100, len(x) - cut)
    start, before = baselines.windowed(name, x, m)
    _, after = baselines.windowed(name, changed, m)
    # values[i] forecasts x[start + i]; every forecast of a position <= cut used only x[:cut].
    known = max(0, cut - start + 1)
    np.testing.assert_array_equal(after[:known], before[:known])


@pytest.mark.parametrize("name", sorted(baselines.BASELINES))
@pytest.mark.parametrize("horizon", [1, 7, 120])
def test_forecast_shape_finite_and_first_step_matches_windowed(name: str, horizon: int) -> None:
    m = 50
    x = synthetic_values(length=300, period=m)
    ahead = baselines.forecast(name, x[:250], horizon, m)
    assert ahead.shape == (horizon,)
    assert np.isfinite(ahead).all()
    start, values = baselines.windowed(name, x, m)
    assert ahead[0] == pytest.approx(values[250 - start])


def test_seasonal_forecast_beyond_one_season_repeats_its_own_forecasts() -> None:
    m = 50
    x = synthetic_values(length=300, period=m)
    ahead = baselines.forecast("seasonal_naive", x, 2 * m + 3, m)
    np.testing.assert_array_equal(ahead[:m], x[-m:])
    np.testing.assert_array_equal(ahead[m : 2 * m], x[-m:])
    diff = baselines.forecast("seasonal_diff_ma", x, 2 * m, m)
    w = diff_window(m)
    drift = np.mean(x[-w:] - x[-w - m : -m])
    np.testing.assert_allclose(diff[m:], diff[:m] + drift)


def test_too_short_series_is_refused_and_available_lists_what_fits() -> None:
    m = 50
    assert baselines.available(m + diff_window(m), m) == [
        "naive",
        "moving_average",
        "seasonal_naive",
    ]
    assert "seasonal_diff_ma_smoothed" in baselines.available(m + diff_window(m) + 1, m)
    with pytest.raises(ValueError, match="needs at least 51 values"):
        baselines.windowed("seasonal_naive", np.zeros(50), m)
    with pytest.raises(ValueError, match="needs at least 2 values"):
        baselines.forecast("naive", np.zeros(1), 3, m)


def test_season_length_of_one_means_no_season_and_zero_is_refused() -> None:
    baselines.check_season_length(1)
    with pytest.raises(ValueError, match="at least 1"):
        baselines.check_season_length(0)
    assert baselines.available(1000, 1) == ["naive", "moving_average"]
    with pytest.raises(ValueError, match="needs at least a season of 2"):
        baselines.windowed("seasonal_naive", np.zeros(100), 1)


@pytest.mark.parametrize(
    ("season", "smoothing", "diffs", "average"),
    [
        (365, 11, 50, 30),
        (52, 11, 50, 30),
        (12, 11, 12, 12),
        (7, 5, 7, 7),
        (4, 3, 4, 4),
        (2, 1, 2, 2),
    ],
)
def test_windows_adapt_to_the_season_and_keep_the_course_numbers_on_long_seasons(
    season: int, smoothing: int, diffs: int, average: int
) -> None:
    assert smoothing_window(season) == smoothing
    assert diff_window(season) == diffs
    assert moving_average_window(season) == average


@pytest.mark.parametrize("name", sorted(baselines.BASELINES))
@pytest.mark.parametrize("m", [2, 3, 4, 6, 12])
def test_short_seasons_match_the_loop_over_the_history(name: str, m: int) -> None:
    x = synthetic_values(length=120, period=m)
    start, values = baselines.windowed(name, x, m)
    assert start == baselines.BASELINES[name].min_length(m) - 1  # type: ignore[operator]
    expected = [BRUTE_FORCE[name](x[: start + i], m) for i in range(len(values))]
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-9)
    ahead = baselines.forecast(name, x[:100], 3 * m, m)
    assert np.isfinite(ahead).all()
    assert ahead[0] == pytest.approx(values[100 - start])
