"""Anomalies behind ``POST /anomalies``: the values the model's one-step interval did not expect.

For a series ``x`` of shape ``(n,)`` and a model with window ``W``, every ``x[t]``, ``t >= W``, is
compared with the model's one-step forecast ``f[t]`` from the window just before it (the
*windowed* forecasts of ``POST /forecast``) and its interval at ``level``, the one-step forecast's
quantiles at ``(1 - level/100) / 2`` and ``(1 + level/100) / 2`` (for a SavedModel:
``f[t]`` plus the one-step residual quantiles). A value
strictly outside is an anomaly.

Its *score* is how far outside, in units of the interval's half-width ``(upper - lower) / 2``:
``(x - upper) / half`` above, ``(lower - x) / half`` below. It is above 0 for every anomaly; 1
means the value is a whole half-width beyond the bound. For a model whose intervals come
from residual quantiles the half-width is the same at every position, so scores compare across
the series; a score is None where the interval has no width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.errors import NonFiniteResult, SeriesTooShort
from app.forecaster import Array, Forecaster
from app.forecasting import interval_probabilities

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class AnomalyResult:
    """The anomalies of a series: positions ``start .. end - 1`` were checked.

    ``indices`` ``(a,)`` are the anomalies' positions in the series, ascending; ``values``,
    ``forecasts``, ``lower``, ``upper`` ``(a,)`` and ``scores`` ``(a,)`` (None: no width) go
    with them.
    """

    start: int
    end: int
    level: float
    indices: IntArray
    values: Array
    forecasts: Array
    lower: Array
    upper: Array
    scores: list[float | None]


def anomalies(model: Forecaster, series: Array, *, level: float) -> AnomalyResult:
    """The values of ``series`` ``(n,)`` outside the model's one-step interval at ``level``.

    One model call, the windowed one with its quantiles. Raises :class:`SeriesTooShort` unless
    the series has a value after the model's first window.
    """
    n, w = len(series), model.context.min_length
    if n <= w:
        raise SeriesTooShort(
            f"the series has {n} values but this model's window_size is {w}: send at least"
            f" {w + 1} values, so that one of them follows a whole window",
            {"length": n, "window_size": w},
        )
    low, high = interval_probabilities([level])
    (windowed,) = model.windowed([series], [low, high])
    lower, upper = windowed.quantiles[low], windowed.quantiles[high]
    actual = series[windowed.start :]
    above, below = actual > upper, actual < lower
    outside = np.flatnonzero(above | below)
    half = ((upper - lower) / 2)[outside]
    beyond = np.where(above, actual - upper, lower - actual)[outside]
    wide = half > 0
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ratio = beyond / np.where(wide, half, 1.0)
    if not np.isfinite(ratio[wide]).all():
        raise NonFiniteResult(
            "the anomaly scores overflowed: the series' values are too large for this"
            " model's interval width to score",
            {"fields": ["anomalies.score"]},
        )
    scores = [float(r) if w else None for r, w in zip(ratio, wide, strict=True)]
    return AnomalyResult(
        start=windowed.start,
        end=n,
        level=level,
        indices=(outside + windowed.start).astype(np.int64),
        values=actual[outside],
        forecasts=windowed.values[outside],
        lower=lower[outside],
        upper=upper[outside],
        scores=scores,
    )
