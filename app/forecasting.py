"""The numbers behind ``POST /forecast``: plain functions on numpy arrays, no web framework.

For a series ``x`` of shape ``(n,)`` and a model whose context starts at ``W`` values:

* the *windowed* forecasts are the one-step-ahead forecasts of ``x[W:]``, each made from the
  values just before it (:meth:`app.forecaster.Forecaster.windowed`: the model family decides
  how; a SavedModel frames every window inside one call);
* the *horizon* forecast is the next ``h`` values after ``x[-1]`` with its quantiles
  (:meth:`app.forecaster.Forecaster.ahead`); for a level ``L`` the interval at each step is the
  forecast's quantiles at ``(1 - L/100) / 2`` and ``(1 + L/100) / 2``: for a SavedModel, the
  forecast plus the validation residuals' quantiles (:func:`app.forecaster.residual_offsets`);
* every method (the model and the baselines) is scored on the same positions, those all of them
  cover, with MASE scaled by the naive in-sample MAE of the values before those positions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.errors import InvalidRequest, NonFiniteResult, SeriesTooShort
from app.forecaster import Array, Forecaster, Windowed
from contract import baselines as baseline_methods
from contract import metrics, references

MODEL = "model"


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
    trained_until: int | None = None  # positions before it are the version's training part
    out_of_sample_scores: Scored | None = None  # the windowed scores after trained_until
    intervals_note: str | None = None


def trained_until(series: Array, tail: Sequence[float] | None) -> int | None:
    """One past where ``series`` ``(n,)`` holds a version's last training values, else None.

    The last place the whole tail occurs, so that a run of repeated values never lets a
    training position pass as out of sample; None without a tail (older versions) or a match.
    """
    if not tail or len(series) < len(tail):
        return None
    runs = np.lib.stride_tricks.sliding_window_view(series, len(tail))
    found = np.flatnonzero((runs == np.asarray(tail, dtype=np.float64)).all(axis=1))
    return int(found[-1]) + len(tail) if len(found) else None


def windowed_forecast(model: Forecaster, series: Array) -> Windowed:
    """The model's one-step-ahead forecasts of ``series`` ``(n,)`` (see :class:`Forecaster`)."""
    return model.windowed([series])[0]


def level_key(level: float) -> str:
    """How a level is written as a key: 80 -> "80", 97.5 -> "97.5"."""
    return f"{level:g}"


def interval_probabilities(levels: Iterable[float]) -> list[float]:
    """The quantile probabilities behind intervals at ``levels`` (percent): two a level."""
    unique = sorted({float(level) for level in levels})
    return [p for level in unique for p in ((1 - level / 100) / 2, (1 + level / 100) / 2)]


def prediction_intervals(
    quantiles: Mapping[float, Array], levels: Iterable[float]
) -> dict[str, Interval]:
    """Intervals at each level in percent, from quantiles at :func:`interval_probabilities`."""
    unique = sorted({float(level) for level in levels})
    return {
        level_key(level): Interval(
            quantiles[(1 - level / 100) / 2], quantiles[(1 + level / 100) / 2]
        )
        for level in unique
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


def score_windowed(
    series: Array, windowed: Mapping[str, Windowed], first: int = 0
) -> Scored | None:
    """Score every method on the positions all of them cover from ``first`` on; None when
    there are none."""
    start = max(first, *(w.start for w in windowed.values()))
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
    series: Array,
    *,
    horizon: int,
    season_length: int,
    baselines: Sequence[str] | None = None,
    levels: Sequence[float] = (),
    probabilities: Sequence[float] = (),
    actuals: Array | None = None,
    reference_limits: ReferenceLimits = ReferenceLimits(),
    training_tail: Sequence[float] | None = None,
) -> ForecastResult:
    """The model's and the baselines' forecasts, intervals and scores for ``series`` ``(n,)``.

    ``baselines`` None takes every classic baseline the series is long enough for; naming one it
    is too short for raises :class:`SeriesTooShort`. ``auto_ets`` and ``auto_arima`` are only
    fitted when named: on the first half of the series at least, and on everything before the
    first position the others cover; every method is then scored from there on. The model is
    asked twice whatever the series' length: once for every position's one-step forecast and
    once for the horizon with its quantiles.
    """
    return forecast_panel(
        model,
        [(series, actuals)],
        horizon=horizon,
        season_length=season_length,
        baselines=baselines,
        levels=levels,
        probabilities=probabilities,
        reference_limits=reference_limits,
        training_tail=training_tail,
    )[0]


def forecast_panel(
    model: Forecaster,
    panel: Sequence[tuple[Array, Array | None]],
    *,
    horizon: int,
    season_length: int,
    baselines: Sequence[str] | None = None,
    levels: Sequence[float] = (),
    probabilities: Sequence[float] = (),
    reference_limits: ReferenceLimits = ReferenceLimits(),
    training_tail: Sequence[float] | None = None,
) -> list[ForecastResult]:
    """:func:`forecast` of every ``(series, actuals)`` of ``panel``, the model asked once for all.

    One ``windowed`` and one ``ahead`` call of the model for the whole panel; each result
    equals the one-series answer. ``training_tail``: the version's last training values
    (``dataset.training_tail``), by which each series' in-sample positions are found.
    """
    for n in sorted({len(series) for series, _ in panel}):
        model.context.check(n)
    chosen = [
        choose_baselines(baselines, len(series), season_length, references_allowed=True)
        for series, _ in panel
    ]
    asked = sorted({float(p) for p in probabilities})
    serieses = [series for series, _ in panel]
    # The horizon first: a version that filters each series (ETS, ARIMA) makes its one-step
    # forecasts in the same pass and gives them to the windowed call that follows.
    ahead = model.ahead(serieses, horizon, [*interval_probabilities(levels), *asked])
    windowed = model.windowed(serieses)
    return [
        _result(
            series,
            actuals,
            windowed[i],
            ahead.mean[i],
            {p: q[i] for p, q in ahead.quantiles.items()},
            horizon=horizon,
            season_length=season_length,
            names=[b for b in chosen[i] if b not in references.NAMES],
            fitted=[b for b in chosen[i] if b in references.NAMES],
            levels=levels,
            probabilities=asked,
            reference_limits=reference_limits,
            trained=trained_until(series, training_tail),
            note=ahead.note,
        )
        for i, (series, actuals) in enumerate(panel)
    ]


def _result(
    series: Array,
    actuals: Array | None,
    windowed: Windowed,
    ahead: Array,
    quantiles: Mapping[float, Array],
    *,
    horizon: int,
    season_length: int,
    names: Sequence[str],
    fitted: Sequence[str],
    levels: Sequence[float],
    probabilities: Sequence[float],
    reference_limits: ReferenceLimits,
    trained: int | None = None,
    note: str | None = None,
) -> ForecastResult:
    """One series' result from its model forecasts and quantiles: intervals, baselines, scores.

    With ``trained`` (where the series holds the version's training part), the positions after
    it are scored apart and choose ``best``: a model's scores on values it was trained on say
    little about how it forecasts.
    """
    n = len(series)
    intervals = prediction_intervals(quantiles, levels)
    by_probability = {f"{p:g}": quantiles[p] for p in probabilities}
    others = baseline_forecasts(series, names, horizon, season_length)
    if fitted:
        start = max(windowed.start, n // 2, *(b.windowed.start for b in others.values()))
        others |= reference_forecasts(
            series, fitted, start, horizon, season_length, reference_limits
        )

    every = {MODEL: windowed, **{name: b.windowed for name, b in others.items()}}
    windowed_scores = score_windowed(series, every)
    out_of_sample = score_windowed(series, every, trained) if trained is not None else None
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
        best=best_method(out_of_sample if trained is not None else windowed_scores),
        trained_until=trained,
        out_of_sample_scores=out_of_sample,
        intervals_note=note if (levels or probabilities) else None,
    )
    _check_finite(result)
    return result
