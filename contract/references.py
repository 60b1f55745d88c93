"""Statistical references: AutoETS and AutoARIMA from statsforecast, beside the networks.

statsforecast (Nixtla) is used rather than statsmodels because it has both automatic model
selections (the R ``forecast`` package's ``ets`` and ``auto.arima``, reimplemented) and runs them
in compiled code: a monthly series takes well under a second.

A reference is fitted once on the values before ``start`` and then run one step ahead over the
rest of the series with that fit: the forecast of ``x[t]`` is ``forward(y=x[:t], h=1)``, what
statsforecast's ``cross_validation(h=1, refit=False)`` does. Each forecast reads only the values
before it (``forward`` on the whole series would not: its in-sample values read later ones).

Seasons: ETS has seasonal models up to a season of 24 (as in R, above that it cannot hold the
seasonal states), so a longer season is fitted without one. Seasonal ARIMA costs grow with the
season times the length: it is fitted with the season when the season is at most 52 (weekly,
half-hourly, hourly, monthly, quarterly data) and the fit part holds at least three seasons,
on the fit part's last ten seasons (at least 200 values), and without a season otherwise.
On this machine that keeps a season of 48 near 100 s and a monthly series under a second.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

NAMES: tuple[str, ...] = ("auto_ets", "auto_arima")
ETS_MAX_SEASON = 24
ARIMA_MAX_SEASON = 52
ARIMA_SEASONS_FITTED = 10
ARIMA_MIN_FIT = 200
MIN_FIT = 8  # fewer values than this cannot choose between models


class ReferenceError(ValueError):
    """A reference could not be fitted on these values."""


@dataclass(frozen=True)
class Fitted:
    """A reference's one-step forecasts of ``x[start:]`` and what was fitted."""

    name: str
    start: int
    values: Array
    description: str
    season_length: int
    fit_values: int
    seconds: float
    forecast: Array  # the next ``horizon`` values after the series, from the same fit


def season_used(
    name: str, season_length: int, fit_length: int, max_season: int | None = None
) -> int:
    """The season ``name`` is fitted with: the series' when the rule above allows it, else 1.

    ``max_season`` lowers the limit further (the service keeps per-request fits quick with it).
    """
    m = season_length
    limit = ETS_MAX_SEASON if name == "auto_ets" else ARIMA_MAX_SEASON
    if max_season is not None:
        limit = min(limit, max_season)
    return m if 2 <= m <= limit and fit_length >= 3 * m else 1


def _model(name: str, season: int) -> Any:
    from statsforecast.models import AutoARIMA, AutoETS

    if name == "auto_ets":
        return AutoETS(season_length=season)
    if name == "auto_arima":
        return AutoARIMA(season_length=season)
    raise KeyError(f"unknown reference {name!r}: choose from {', '.join(NAMES)}")


def _describe(name: str, model: Any) -> str:
    fitted = model.model_
    if name == "auto_ets":
        return f"ETS({','.join(fitted['components'][:3])})"
    p, q, sp, sq, m, d, sd = fitted["arma"]
    seasonal = f"({sp},{sd},{sq})[{m}]" if m > 1 else ""
    return f"ARIMA({p},{d},{q}){seasonal}"


def windowed(
    name: str,
    series: npt.ArrayLike,
    start: int,
    season_length: int,
    horizon: int = 0,
    max_season: int | None = None,
) -> Fitted:
    """Fit ``name`` on ``series[:start]``, then forecast each of ``series[start:]`` one step ahead.

    With ``horizon``, the same fit also forecasts that many values after the series' end.
    """
    x = np.asarray(series, dtype=np.float64)
    if not MIN_FIT <= start <= len(x):
        raise ReferenceError(
            f"{name} needs at least {MIN_FIT} values to fit on, and got {start}"
            if start < MIN_FIT
            else f"{name}: the fit part ({start}) is longer than the series ({len(x)})"
        )
    season = season_used(name, season_length, start, max_season)
    fit = x[:start]
    if name == "auto_arima" and season > 1:
        fit = fit[-max(ARIMA_SEASONS_FITTED * season, ARIMA_MIN_FIT) :]
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _model(name, season).fit(fit)
            values = np.array(
                [model.forward(y=x[:t], h=1)["mean"][0] for t in range(start, len(x))],
                dtype=np.float64,
            )
            ahead = (
                np.asarray(model.forward(y=x, h=horizon)["mean"], dtype=np.float64)
                if horizon
                else np.empty(0)
            )
    except Exception as e:  # statsforecast raises bare Exception too ("no model able to be fitted")
        raise ReferenceError(f"{name} could not be fitted: {e}") from None
    if not (np.isfinite(values).all() and np.isfinite(ahead).all()):
        raise ReferenceError(f"{name} gave non-finite forecasts on this series")
    return Fitted(
        name,
        start,
        values,
        _describe(name, model),
        season,
        len(fit),
        round(time.perf_counter() - started, 3),
        ahead,
    )
