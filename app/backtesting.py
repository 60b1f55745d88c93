"""Rolling-origin backtests behind ``POST /backtest``: plain functions on numpy arrays.

The windows are statsforecast's ``cross_validation`` ones, with its meanings and defaults
(``n_windows=1``, ``step_size=1``, an expanding input). For a series ``x`` of shape ``(n,)``,
``h`` steps, ``k`` windows and a step size ``s``, the last ``test_size = h + s * (k - 1)``
values are held out; window ``i`` (``0 .. k - 1``) sees only ``x[:e_i]``, with
``e_i = n - test_size + i * s``, and forecasts ``x[e_i : e_i + h]``. Its *cutoff* is ``e_i - 1``,
the last value it sees (statsforecast's ``cutoff`` column); the last window ends with the series.

* The model forecasts every window from ``x[:e_i]`` (a fixed-window model reads its last ``W``
  values): all ``k`` windows in ONE call of its ``ahead`` (a SavedModel's ``forecast``
  signature on a batch ``(k, W)``).
* Each baseline is fitted on ``x[:e_i]`` alone (no look-ahead), as statsforecast refits its
  models on every window.
* Scores per step ``j`` (over the ``k`` windows) and overall (over every window and step):
  MAE, MSE, RMSE, MAPE and MASE. MASE has ONE scale for the whole backtest: the in-sample naive
  MAE of ``x[:e_0]``, the values every window has seen, so MASE is MAE divided by one number
  and ranks methods and steps exactly as MAE does.
* Interval coverage (the model's only: the baselines have no intervals): the share of actuals
  within the interval at each level, per step and overall; the intervals are the ones
  ``POST /forecast`` gives (:func:`app.forecasting.prediction_intervals`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.errors import NonFiniteResult, SeriesTooShort
from app.forecaster import Array, Forecaster, Horizon
from app.forecasting import (
    MODEL,
    Interval,
    Scored,
    best_method,
    choose_baselines,
    interval_probabilities,
    prediction_intervals,
)
from contract import baselines as baseline_methods
from contract import metrics

IntArray = npt.NDArray[np.int64]
Scores = dict[str, float | None]


@dataclass(frozen=True)
class Windows:
    """Where a backtest's windows start: window ``i`` forecasts ``x[ends[i] : ends[i] + h]``."""

    ends: IntArray  # (k,) values each window sees
    h: int

    @property
    def cutoffs(self) -> IntArray:
        """The last position each window sees, ``(k,)``."""
        return self.ends - 1


@dataclass(frozen=True)
class MethodBacktest:
    """One method's forecasts ``(k, h)`` and their scores per step (``h`` of them) and overall."""

    forecasts: Array
    by_step: list[Scores]
    overall: Scores


@dataclass(frozen=True)
class Coverage:
    """Share of actuals inside an interval: per step ``(h,)`` and over every window and step."""

    by_step: Array
    overall: float


@dataclass(frozen=True)
class BacktestResult:
    """Everything one backtest computes; ``methods`` holds ``"model"`` first, then baselines."""

    windows: Windows
    actuals: Array  # (k, h)
    scale: float | None  # MASE's denominator
    methods: dict[str, MethodBacktest]
    intervals: dict[str, Interval]  # by level, bounds (k, h)
    coverage: dict[str, Coverage]  # by level
    best: str  # the method with the lowest overall MAE, the model winning ties


def held_out_size(h: int, n_windows: int, step_size: int) -> int:
    """Values held out at the end of the series: ``h + step_size * (n_windows - 1)``."""
    return h + step_size * (n_windows - 1)


def backtest_windows(n: int, h: int, n_windows: int, step_size: int) -> Windows:
    """The windows of a series of ``n`` values (see the module's notes); may start below 0."""
    first = n - held_out_size(h, n_windows, step_size)
    return Windows(first + step_size * np.arange(n_windows, dtype=np.int64), h)


def _scored(actuals: Array, forecasts: Array, scale: float | None) -> MethodBacktest:
    """Scores of ``forecasts`` ``(k, h)`` against ``actuals`` ``(k, h)``, per step and overall."""
    by_step = [
        metrics.score(actuals[:, j], forecasts[:, j], scale) for j in range(actuals.shape[1])
    ]
    return MethodBacktest(forecasts, by_step, metrics.score(actuals, forecasts, scale))


def _coverage(actuals: Array, interval: Interval) -> Coverage:
    inside = (actuals >= interval.lower) & (actuals <= interval.upper)
    return Coverage(inside.mean(axis=0), float(inside.mean()))


def model_forecasts(
    model: Forecaster, series: Array, windows: Windows, levels: Sequence[float] = ()
) -> Horizon:
    """The model's forecasts of every window ``(k, h)`` with the quantiles behind ``levels``.

    One call of ``ahead`` for all, each window's input being ``x[:e_i]`` alone.
    """
    prefixes = [series[:e] for e in windows.ends]
    return model.ahead(prefixes, windows.h, interval_probabilities(levels))


def baseline_backtest(name: str, series: Array, windows: Windows, season_length: int) -> Array:
    """Baseline ``name``'s forecasts of every window, ``(k, h)``, each from ``x[:e_i]`` alone."""
    return np.stack(
        [
            baseline_methods.forecast(name, series[:e], windows.h, season_length)
            for e in windows.ends
        ]
    )


def _check_finite(result: BacktestResult) -> None:
    """Refuse to answer with NaN or infinity (JSON has no place for them)."""
    bad = [
        f"{name}.{metric}"
        for name, method in result.methods.items()
        for scores in (*method.by_step, method.overall)
        for metric, value in scores.items()
        if value is not None and not math.isfinite(value)
    ]
    bad += [name for name, m in result.methods.items() if not np.isfinite(m.forecasts).all()]
    if bad:
        raise NonFiniteResult(
            f"the backtest overflowed (non-finite values in {', '.join(sorted(set(bad))[:5])});"
            " the series' values are too large, or too close to zero, to score",
            {"fields": sorted(set(bad))},
        )


def backtest(
    model: Forecaster,
    series: Array,
    *,
    h: int,
    n_windows: int = 1,
    step_size: int = 1,
    season_length: int,
    baselines: Sequence[str] | None = None,
    levels: Sequence[float] = (),
) -> BacktestResult:
    """Backtest the model and the baselines on ``series`` ``(n,)`` (see the module's notes).

    ``baselines`` None takes every baseline the first window is long enough for; naming one it
    is too short for raises :class:`SeriesTooShort`, as does a series too short to hold the
    model's window before the first cutoff.
    """
    n, w = len(series), model.context.min_length
    held_out = held_out_size(h, n_windows, step_size)
    if n - held_out < w:
        needs = f"its window_size of {w}" if model.context.window == w else f"at least {w} values"
        raise SeriesTooShort(
            f"the series has {n} values, too short for this backtest: it holds out the last"
            f" {held_out} (h + (n_windows - 1) * step_size) and the model needs {needs}"
            f" before the first cutoff: send at least {w + held_out} values, or lower"
            " h, n_windows or step_size",
            {"length": n, "window_size": w, "test_size": held_out, "needed": w + held_out},
        )
    windows = backtest_windows(n, h, n_windows, step_size)
    first = int(windows.ends[0])
    names = choose_baselines(
        baselines,
        first,
        season_length,
        subject=f"the first backtest window (the series less the {held_out} values held out)",
    )
    actuals = np.stack([series[e : e + h] for e in windows.ends])
    scale = metrics.naive_scale(series[:first])
    ahead = model_forecasts(model, series, windows, levels)
    forecasts = {MODEL: ahead.mean}
    forecasts |= {name: baseline_backtest(name, series, windows, season_length) for name in names}
    intervals = prediction_intervals(ahead.quantiles, levels)
    methods = {name: _scored(actuals, f, scale) for name, f in forecasts.items()}
    overall = Scored(first, n, {name: m.overall for name, m in methods.items()})
    result = BacktestResult(
        windows=windows,
        actuals=actuals,
        scale=scale,
        methods=methods,
        intervals=intervals,
        coverage={level: _coverage(actuals, i) for level, i in intervals.items()},
        best=best_method(overall) or MODEL,
    )
    _check_finite(result)
    return result
