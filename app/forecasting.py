"""The numbers behind ``POST /forecast``: plain functions on numpy arrays, no web framework.

For a series ``x`` of shape ``(n,)`` and a model with window ``W``:

* the *windowed* forecasts are the one-step-ahead forecasts of ``x[W:]``, each made from the
  window just before it; every window goes through the model in a few fixed-size batched calls,
  so the number of calls grows with ``n / batch`` only, never one call per window;
* the *horizon* forecast is the next ``h`` values after ``x[-1]``, from one call of the
  ``forecast`` signature (recursive inside the graph for one-step models, direct for multi-step);
* prediction intervals come from the validation residuals' quantiles stored with the version
  (``metadata.residual_quantiles``): for a level ``L`` the interval at ``s`` steps ahead is
  ``forecast + [q_s((1 - L/100) / 2), q_s((1 + L/100) / 2)]``, ``q_s`` interpolated linearly
  between the stored probabilities and clamped to the outermost ones (0.5% and 99.5%); beyond the
  ``S`` stored steps the last row is used, widened by ``sqrt(s / S)``;
* every method (the model and the baselines) is scored on the same positions, those all of them
  cover, with MASE scaled by the naive in-sample MAE of the values before those positions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.errors import InvalidRequest, NonFiniteResult, SeriesTooShort
from contract import baselines as baseline_methods
from contract import metrics, references
from contract.metadata import ResidualQuantiles

Array = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
MODEL = "model"


class Forecaster(Protocol):
    """What forecasting needs of a model version (``app.registry.LoadedModel`` is one)."""

    @property
    def window_size(self) -> int: ...

    def one_step(self, windows: Float32Array) -> Float32Array: ...

    def ahead(self, windows: Float32Array, steps: int) -> Float32Array: ...

    def windowed(self, series: Float32Array) -> Float32Array: ...


@dataclass(frozen=True)
class Windowed:
    """One-step-ahead forecasts: ``values[i]`` forecasts ``x[start + i]``."""

    start: int
    values: Array


@dataclass(frozen=True)
class MethodForecast:
    """A method's horizon forecast ``(h,)`` and its windowed forecasts."""

    forecast: Array
    windowed: Windowed


@dataclass(frozen=True)
class Interval:
    """Lower and upper bounds, each ``(h,)``."""

    lower: Array
    upper: Array


@dataclass(frozen=True)
class Scored:
    """Scores of every method on positions ``start .. end - 1`` of the series (and beyond it)."""

    start: int
    end: int
    scores: dict[str, dict[str, float | None]]


@dataclass(frozen=True)
class ForecastResult:
    """Everything one forecast request computes."""

    model: MethodForecast
    intervals: dict[str, Interval]
    quantiles: dict[str, Array]
    baselines: dict[str, MethodForecast]
    windowed_scores: Scored | None
    horizon_scores: Scored | None
    best: str | None


def in_batches(
    call: Callable[[Float32Array], Float32Array], windows: npt.NDArray[np.floating], batch: int
) -> Array:
    """``call`` over ``windows`` ``(k, W)`` in chunks of ``batch`` rows; returns ``(k, H)``."""
    chunks = [
        call(np.ascontiguousarray(windows[lo : lo + batch], dtype=np.float32))
        for lo in range(0, len(windows), batch)
    ]
    return np.concatenate(chunks).astype(np.float64)


def windowed_forecast(model: Forecaster, series: Array) -> Windowed:
    """One-step-ahead forecasts of ``series[W:]`` from the window before each; ``(n - W,)``."""
    return windowed_forecasts(model, [series])[0]


def windowed_forecasts(model: Forecaster, panel: Sequence[Array]) -> list[Windowed]:
    """:func:`windowed_forecast` of every series, one ``windowed`` call per distinct length.

    The signature frames the windows inside the graph, so series of one length stack into one
    batch. Different lengths are grouped, not padded: padding would change the first windows.
    """
    w = model.window_size
    out = [Windowed(w, np.empty(0)) for _ in panel]
    by_length: dict[int, list[int]] = {}
    for i, series in enumerate(panel):
        if len(series) > w:
            by_length.setdefault(len(series), []).append(i)
    for indices in by_length.values():
        batch = np.stack([panel[i] for i in indices]).astype(np.float32)
        values = model.windowed(batch).astype(np.float64)
        for row, i in enumerate(indices):
            out[i] = Windowed(w, values[row])
    return out


def horizon_forecast(model: Forecaster, series: Array, horizon: int) -> Array:
    """The next ``horizon`` values after ``series``, from its last window; ``(horizon,)``."""
    return horizon_forecasts(model, [series], horizon)[0]


def horizon_forecasts(model: Forecaster, panel: Sequence[Array], horizon: int) -> Array:
    """The next ``horizon`` values of every series, in one call; ``(len(panel), horizon)``."""
    windows = np.stack([s[-model.window_size :] for s in panel]).astype(np.float32)
    return model.ahead(windows, horizon).astype(np.float64)


def residual_quantiles(
    quantiles: ResidualQuantiles, probabilities: Sequence[float], horizon: int
) -> Array:
    """Residual quantiles at ``probabilities`` for 1..``horizon`` steps ahead; ``(p, horizon)``."""
    levels = np.asarray(quantiles.levels, dtype=np.float64)
    rows = quantiles.by_step
    if (
        len(levels) < 2
        or not rows
        or any(len(row) != len(levels) for row in rows)
        or not np.all(np.diff(levels) > 0)
    ):
        raise InvalidRequest(
            "this model version has no usable residual quantiles, so it cannot give intervals"
        )
    by_step = np.asarray(rows, dtype=np.float64)  # (S, L)
    stored = len(by_step)
    steps = np.arange(1, horizon + 1)
    table = (
        by_step[np.minimum(steps, stored) - 1] * np.sqrt(np.maximum(steps / stored, 1.0))[:, None]
    )
    return np.array([[np.interp(p, levels, row) for row in table] for p in probabilities])


def level_key(level: float) -> str:
    """How a level is written as a key: 80 -> "80", 97.5 -> "97.5"."""
    return f"{level:g}"


def forecast_quantiles(
    values: Array, quantiles: ResidualQuantiles, probabilities: Iterable[float]
) -> dict[str, Array]:
    """The forecast's quantiles ``(h,)`` at each probability: ``values`` plus the residuals'."""
    unique = sorted({float(p) for p in probabilities})
    if not unique:
        return {}
    q = residual_quantiles(quantiles, unique, len(values))
    return {f"{p:g}": values + q[i] for i, p in enumerate(unique)}


def prediction_intervals(
    values: Array, quantiles: ResidualQuantiles, levels: Iterable[float]
) -> dict[str, Interval]:
    """Intervals around ``values`` ``(h,)`` for each level in percent (see the module's notes)."""
    unique = sorted({float(level) for level in levels})
    if not unique:
        return {}
    probabilities = [p for level in unique for p in ((1 - level / 100) / 2, (1 + level / 100) / 2)]
    q = residual_quantiles(quantiles, probabilities, len(values))
    return {
        level_key(level): Interval(values + q[2 * i], values + q[2 * i + 1])
        for i, level in enumerate(unique)
    }


def check_baselines(
    names: Sequence[str], length: int, season_length: int, subject: str = "the series"
) -> None:
    """Raise :class:`SeriesTooShort` naming each baseline ``subject`` is too short for."""
    short = {
        name: need
        for name in names
        if (need := baseline_methods.BASELINES[name].min_length(season_length)) is None
        or length < need
    }
    if short:
        text = ", ".join(
            f"{name!r} needs a season_length above 1"
            if need is None
            else f"{name!r} needs at least {need} values"
            for name, need in short.items()
        )
        raise SeriesTooShort(
            f"{subject} has {length} values, too short for baseline(s): {text}"
            f" (season_length {season_length})",
            {"length": length, "season_length": season_length, "needed": short},
        )


def choose_baselines(
    asked: Sequence[str] | None,
    length: int,
    season_length: int,
    subject: str = "the series",
    references_allowed: bool = False,
) -> list[str]:
    """The baselines to run on ``length`` values: those ``asked`` (checked), else every one that fits.

    Raises :class:`InvalidRequest` for a season length below 1, or for ``auto_ets`` and
    ``auto_arima`` where they are not offered; :class:`SeriesTooShort` naming each asked-for
    classic baseline ``subject`` is too short for.
    """
    try:
        baseline_methods.check_season_length(season_length)
    except ValueError as e:
        raise InvalidRequest(str(e), {"season_length": season_length}) from None
    if asked is None:
        return baseline_methods.available(length, season_length)
    names = list(dict.fromkeys(asked))
    fitted = [b for b in names if b in references.NAMES]
    if fitted and not references_allowed:
        raise InvalidRequest(
            f"{' and '.join(fitted)} are offered by POST /forecast only (fitting them once per"
            " cutoff would cost a fit per window here)",
            {"baselines": fitted},
        )
    check_baselines([b for b in names if b not in fitted], length, season_length, subject)
    return names


def baseline_forecasts(
    series: Array, names: Sequence[str], horizon: int, season_length: int
) -> dict[str, MethodForecast]:
    """Each named baseline's horizon and windowed forecasts (:mod:`contract.baselines`)."""
    out = {}
    for name in names:
        start, values = baseline_methods.windowed(name, series, season_length)
        ahead = baseline_methods.forecast(name, series, horizon, season_length)
        out[name] = MethodForecast(ahead, Windowed(start, values))
    return out


@dataclass(frozen=True)
class ReferenceLimits:
    """How far per-request AutoETS and AutoARIMA fits may go (the service's settings)."""

    max_length: int = 2000
    max_season: int = 12


def reference_forecasts(
    series: Array,
    names: Sequence[str],
    start: int,
    horizon: int,
    season_length: int,
    limits: ReferenceLimits,
) -> dict[str, MethodForecast]:
    """AutoETS and AutoARIMA fitted once on ``series[:start]`` (:mod:`contract.references`).

    Each forecasts ``series[start:]`` one step ahead from the values before each position, and
    the ``horizon`` values after the series from the same fit.
    """
    if names and len(series) > limits.max_length:
        raise InvalidRequest(
            f"the series has {len(series)} values; {' and '.join(names)} are fitted on series of"
            f" at most {limits.max_length} (setting FORECAST_REFERENCE_MAX_LENGTH)",
            {"length": len(series), "max_length": limits.max_length},
        )
    out = {}
    for name in names:
        try:
            fitted = references.windowed(
                name, series, start, season_length, horizon, limits.max_season
            )
        except references.ReferenceError as e:
            raise InvalidRequest(str(e), {"baseline": name, "fit_values": start}) from None
        out[name] = MethodForecast(fitted.forecast, Windowed(start, fitted.values))
    return out


def score_windowed(series: Array, windowed: Mapping[str, Windowed]) -> Scored | None:
    """Score every method on the positions all of them cover; None when there are none."""
    start = max(w.start for w in windowed.values())
    end = len(series)
    if start >= end:
        return None
    actual = series[start:]
    scale = metrics.naive_scale(series[:start])
    scores = {
        name: metrics.score(actual, w.values[start - w.start :], scale)
        for name, w in windowed.items()
    }
    return Scored(start, end, scores)


def score_horizon(series: Array, actuals: Array, forecasts: Mapping[str, Array]) -> Scored:
    """Score each method's first ``len(actuals)`` forecast values; MASE scaled on ``series``."""
    n, k = len(series), len(actuals)
    scale = metrics.naive_scale(series)
    scores = {name: metrics.score(actuals, f[:k], scale) for name, f in forecasts.items()}
    return Scored(n, n + k, scores)


def best_method(scored: Scored | None) -> str | None:
    """The method with the lowest MAE (the model wins ties), or None without scores."""
    if scored is None:
        return None

    def mae(name: str) -> tuple[float, bool]:
        value = scored.scores[name]["mae"]
        return (math.inf if value is None else value, name != MODEL)

    return min(scored.scores, key=mae)


def _check_finite(result: ForecastResult) -> None:
    """Refuse to answer with NaN or infinity anywhere (JSON has no place for them)."""
    arrays: dict[str, Array] = {
        "forecast.values": result.model.forecast,
        "windowed.values": result.model.windowed.values,
    }
    for key, interval in result.intervals.items():
        arrays[f"forecast.intervals.{key}.lower"] = interval.lower
        arrays[f"forecast.intervals.{key}.upper"] = interval.upper
    for key, values in result.quantiles.items():
        arrays[f"forecast.quantiles.{key}"] = values
    for name, b in result.baselines.items():
        arrays[f"baselines.{name}.forecast"] = b.forecast
        arrays[f"baselines.{name}.windowed.values"] = b.windowed.values
    for where, scored in (("windowed", result.windowed_scores), ("horizon", result.horizon_scores)):
        for name, scores in (scored.scores if scored else {}).items():
            for metric, value in scores.items():
                if value is not None and not math.isfinite(value):
                    arrays[f"metrics.{where}.scores.{name}.{metric}"] = np.array([value])
    bad = [key for key, values in arrays.items() if not np.isfinite(values).all()]
    if bad:
        raise NonFiniteResult(
            f"the result overflowed (non-finite values in {', '.join(bad[:5])});"
            " the series' values are too large, or too close to zero, to score",
            {"fields": bad},
        )


def forecast(
    model: Forecaster,
    quantiles: ResidualQuantiles,
    series: Array,
    *,
    horizon: int,
    season_length: int,
    baselines: Sequence[str] | None = None,
    levels: Sequence[float] = (),
    probabilities: Sequence[float] = (),
    actuals: Array | None = None,
    reference_limits: ReferenceLimits = ReferenceLimits(),
) -> ForecastResult:
    """The model's and the baselines' forecasts, intervals and scores for ``series`` ``(n,)``.

    ``baselines`` None takes every classic baseline the series is long enough for; naming one it
    is too short for raises :class:`SeriesTooShort`. ``auto_ets`` and ``auto_arima`` are only
    fitted when named: on the first half of the series at least, and on everything before the
    first position the others cover; every method is then scored from there on. The model is
    called twice whatever the series' length: once for every window's one-step forecast and
    once for the horizon.
    """
    return forecast_panel(
        model,
        quantiles,
        [(series, actuals)],
        horizon=horizon,
        season_length=season_length,
        baselines=baselines,
        levels=levels,
        probabilities=probabilities,
        reference_limits=reference_limits,
    )[0]


def forecast_panel(
    model: Forecaster,
    quantiles: ResidualQuantiles,
    panel: Sequence[tuple[Array, Array | None]],
    *,
    horizon: int,
    season_length: int,
    baselines: Sequence[str] | None = None,
    levels: Sequence[float] = (),
    probabilities: Sequence[float] = (),
    reference_limits: ReferenceLimits = ReferenceLimits(),
) -> list[ForecastResult]:
    """:func:`forecast` of every ``(series, actuals)`` of ``panel``, with batched model calls.

    One ``forecast`` call for every series' horizon, one ``windowed`` call per distinct length
    (:func:`windowed_forecasts`); each result equals the one-series answer.
    """
    w = model.window_size
    for n in sorted({len(series) for series, _ in panel}):
        if n < w:
            raise SeriesTooShort(
                f"the series has {n} values but this model's window_size is {w}:"
                f" send at least {w} values",
                {"length": n, "window_size": w},
            )
    chosen = [
        choose_baselines(baselines, len(series), season_length, references_allowed=True)
        for series, _ in panel
    ]

    serieses = [series for series, _ in panel]
    windowed = windowed_forecasts(model, serieses)
    ahead = horizon_forecasts(model, serieses, horizon)
    return [
        _result(
            series,
            actuals,
            windowed[i],
            ahead[i],
            quantiles,
            horizon=horizon,
            season_length=season_length,
            names=[b for b in chosen[i] if b not in references.NAMES],
            fitted=[b for b in chosen[i] if b in references.NAMES],
            levels=levels,
            probabilities=probabilities,
            reference_limits=reference_limits,
        )
        for i, (series, actuals) in enumerate(panel)
    ]


def _result(
    series: Array,
    actuals: Array | None,
    windowed: Windowed,
    ahead: Array,
    quantiles: ResidualQuantiles,
    *,
    horizon: int,
    season_length: int,
    names: Sequence[str],
    fitted: Sequence[str],
    levels: Sequence[float],
    probabilities: Sequence[float],
    reference_limits: ReferenceLimits,
) -> ForecastResult:
    """One series' result from its model forecasts: intervals, baselines, scores."""
    n = len(series)
    intervals = prediction_intervals(ahead, quantiles, levels)
    by_probability = forecast_quantiles(ahead, quantiles, probabilities)
    others = baseline_forecasts(series, names, horizon, season_length)
    if fitted:
        start = max(windowed.start, n // 2, *(b.windowed.start for b in others.values()))
        others |= reference_forecasts(
            series, fitted, start, horizon, season_length, reference_limits
        )

    windowed_scores = score_windowed(
        series, {MODEL: windowed, **{name: b.windowed for name, b in others.items()}}
    )
    horizon_scores = None
    if actuals is not None and len(actuals):
        horizon_scores = score_horizon(
            series, actuals, {MODEL: ahead, **{name: b.forecast for name, b in others.items()}}
        )
    result = ForecastResult(
        model=MethodForecast(ahead, windowed),
        intervals=intervals,
        quantiles=by_probability,
        baselines=others,
        windowed_scores=windowed_scores,
        horizon_scores=horizon_scores,
        best=best_method(windowed_scores),
    )
    _check_finite(result)
    return result
