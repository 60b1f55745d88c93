"""Metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from contract import metrics

ACTUAL = [2.0, 4.0, 0.0, -5.0]
FORECAST = [1.0, 6.0, 1.0, -5.0]  # errors 1, -2, -1, 0


def test_mae_mse_rmse_by_hand() -> None:
    assert metrics.mae(ACTUAL, FORECAST) == pytest.approx((1 + 2 + 1 + 0) / 4)
    assert metrics.mse(ACTUAL, FORECAST) == pytest.approx((1 + 4 + 1 + 0) / 4)
    assert metrics.rmse(ACTUAL, FORECAST) == pytest.approx(math.sqrt(1.5))


def test_mape_skips_zero_actuals() -> None:
    # |1/2|, |-2/4|, |0/-5| over the three non-zero actuals, in percent.
    assert metrics.mape(ACTUAL, FORECAST) == pytest.approx(100 * (0.5 + 0.5 + 0.0) / 3)


def test_mape_is_none_when_every_actual_is_zero() -> None:
    assert metrics.mape([0.0, 0.0], [1.0, -1.0]) is None


def test_naive_scale_and_mase_by_hand() -> None:
    scale = metrics.naive_scale([1.0, 3.0, 2.0, 6.0])  # |2|, |-1|, |4|
    assert scale == pytest.approx(7 / 3)
    assert metrics.mase(ACTUAL, FORECAST, scale) == pytest.approx(1.0 / (7 / 3))


@pytest.mark.parametrize("insample", [[3.0, 3.0, 3.0], [4.0], []])
def test_mase_is_none_without_a_usable_scale(insample: list[float]) -> None:
    scale = metrics.naive_scale(insample)
    assert scale is None
    assert metrics.mase(ACTUAL, FORECAST, scale) is None


def test_score_has_every_metric_and_no_nan() -> None:
    scores = metrics.score([0.0, 0.0], [1.0, 1.0], metrics.naive_scale([5.0, 5.0]))
    assert tuple(scores) == metrics.METRIC_NAMES
    assert scores == {"mae": 1.0, "mse": 1.0, "rmse": 1.0, "mape": None, "mase": None}


def test_mismatched_or_empty_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        metrics.mae([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="empty"):
        metrics.mse(np.array([]), np.array([]))
