"""Forecast accuracy metrics, each defined once, in plain numpy.

Every function takes ``actual`` and ``forecast`` of the same shape ``(n,)``. A metric that is
undefined for the data (MAPE when every actual is zero, MASE without a usable scale) is
returned as ``None`` rather than NaN, so no NaN ever reaches a JSON response.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

METRIC_NAMES = ("mae", "mse", "rmse", "mape", "mase")


def _errors(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> Array:
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if a.shape != f.shape:
        raise ValueError(f"actual has shape {a.shape} but forecast has shape {f.shape}")
    if a.size == 0:
        raise ValueError("cannot score an empty forecast")
    return a - f


def mae(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Mean absolute error: ``mean(|y - f|)``."""
    return float(np.mean(np.abs(_errors(actual, forecast))))


def mse(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Mean squared error: ``mean((y - f)^2)``."""
    return float(np.mean(np.square(_errors(actual, forecast))))


def rmse(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Root mean squared error: ``sqrt(mse)``."""
    return float(np.sqrt(mse(actual, forecast)))


def mape(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float | None:
    """Mean absolute percentage error in percent, over the positions where ``y != 0``.

    Returns None when every actual is zero (the metric is undefined there).
    """
    e = _errors(actual, forecast)
    a = np.asarray(actual, dtype=np.float64)
    nonzero = a != 0
    if not nonzero.any():
        return None
    return float(100.0 * np.mean(np.abs(e[nonzero] / a[nonzero])))


def smape(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Symmetric MAPE in percent, the M competitions': ``mean(200 |y - f| / (|y| + |f|))``.

    A position where both are zero is a perfect forecast (0), not a division by zero.
    """
    e = np.abs(_errors(actual, forecast))
    total = np.abs(np.asarray(actual, np.float64)) + np.abs(np.asarray(forecast, np.float64))
    return float(np.mean(np.where(total > 0, 200.0 * e / np.where(total > 0, total, 1.0), 0.0)))


def seasonal_naive_scale(insample: npt.ArrayLike, lag: int = 1) -> float | None:
    """In-sample seasonal naive MAE ``mean(|x[t] - x[t-lag]|)``, M4's MASE denominator.

    ``insample`` ``(m,)``; lag 1 is :func:`naive_scale`. None when ``m <= lag`` or it is 0.
    """
    x = np.asarray(insample, dtype=np.float64)
    if x.size <= lag:
        return None
    scale = float(np.mean(np.abs(x[lag:] - x[:-lag])))
    return scale if scale > 0 else None


def naive_scale(insample: npt.ArrayLike) -> float | None:
    """In-sample one-step naive MAE ``mean(|x[t] - x[t-1]|)``, the denominator of MASE.

    ``insample`` has shape ``(m,)``; None when ``m < 2`` or the series is constant.
    """
    x = np.asarray(insample, dtype=np.float64)
    if x.size < 2:
        return None
    scale = float(np.mean(np.abs(np.diff(x))))
    return scale if scale > 0 else None


def mase(actual: npt.ArrayLike, forecast: npt.ArrayLike, scale: float | None) -> float | None:
    """Mean absolute scaled error: ``mae / scale``, scale from :func:`naive_scale` on training data."""
    if scale is None or scale <= 0:
        return None
    return mae(actual, forecast) / scale


def score(
    actual: npt.ArrayLike, forecast: npt.ArrayLike, scale: float | None
) -> dict[str, float | None]:
    """All metrics of ``forecast`` against ``actual``, keyed by :data:`METRIC_NAMES`."""
    return {
        "mae": mae(actual, forecast),
        "mse": mse(actual, forecast),
        "rmse": rmse(actual, forecast),
        "mape": mape(actual, forecast),
        "mase": mase(actual, forecast, scale),
    }
