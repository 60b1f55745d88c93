"""bench/m3.py's numpy kernels (sMAPE, M4's MASE scale and OWA, Naive2) against hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest

from bench import m3


def test_smape_by_hand() -> None:
    # 200 * 10 / 210 and 200 * 20 / 380, averaged over the horizon.
    assert m3.smape([100.0, 200.0], [110.0, 180.0]) == pytest.approx((2000 / 210 + 4000 / 380) / 2)


def test_smape_counts_zero_for_zero_as_perfect() -> None:
    assert m3.smape([0.0, 2.0], [0.0, 1.0]) == pytest.approx((0 + 200 / 3) / 2)


def test_mase_scale_is_the_seasonal_naive_mae_at_the_period() -> None:
    # |2 - 1|, |6 - 3|, |4 - 2| at lag 2; lag 1 is contract.metrics.naive_scale's.
    assert m3.seasonal_scale([1.0, 3.0, 2.0, 6.0, 4.0], 2) == pytest.approx(2.0)
    assert m3.seasonal_scale([1.0, 3.0, 2.0, 6.0, 4.0], 1) == pytest.approx((2 + 1 + 4 + 2) / 4)


def test_owa_is_the_mean_of_the_two_ratios_to_naive2() -> None:
    assert m3.owa(12.0, 1.5, 15.0, 2.0) == pytest.approx((12 / 15 + 1.5 / 2) / 2)


def test_seasonality_test_at_lag_m() -> None:
    alternating = [5.0, 15.0] * 12  # r_1 = -23/24, r_2 = 22/24, limit 0.565
    assert m3.seasonal(alternating, 2)
    assert not m3.seasonal([5.0, 15.0] * 3, 2)  # r_2 = 0.667 below its limit 1.04 at n = 6
    assert not m3.seasonal(np.arange(1.0, 21.0), 4)  # a trend: r_4 0.42 below its limit
    assert not m3.seasonal(alternating, 1)


def test_seasonal_figure_of_a_level_times_a_season() -> None:
    np.testing.assert_allclose(m3.seasonal_figure([1.0, 2.0, 3.0] * 4, 3), [0.5, 1.0, 1.5])
    np.testing.assert_allclose(m3.seasonal_figure([5.0, 15.0] * 12, 2), [0.5, 1.5])


def test_naive2_reseasonalises_the_last_adjusted_value() -> None:
    # Seasonal: the last value 15 over its index 1.5 is 10, times the indices ahead.
    np.testing.assert_allclose(m3.naive2([5.0, 15.0] * 12, 3, 2), [5.0, 15.0, 5.0])
    # Not seasonal: plain naive.
    np.testing.assert_allclose(m3.naive2([5.0, 15.0] * 3, 3, 2), [15.0, 15.0, 15.0])
