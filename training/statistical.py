"""Fit a statsforecast model on the training part and publish it as a ``statsforecast`` version.

The same split and hold-out as a network's (:mod:`training.pipeline`):

1. the model is searched on the fit part (the training part less its hold-out) and run one
   step ahead over the hold-out: that MAE weighs it in an ensemble, as a network's
   early-stopping hold-out does;
2. it is searched again on the whole training part, and that fit is the version;
3. the version is scored through :mod:`contract.statistical`, the functions the service answers
   with, on the validation part: one-step forecasts beside the baselines and references, and
   multi-step residuals behind the windowed forecasts' bands (the horizon has the model's own
   intervals).

Seasons follow the data: AutoETS takes the series' season up to 24, AutoARIMA up to 52 and
fitted on its last ten seasons (:mod:`contract.references`' rules); AutoTheta and MSTL take any
season the fit part holds twice, and MSTL adds the frequency's longer cycle (a week of hourly or
half-hourly values, a year of daily ones) when that fits too. A model needs the fit part to
hold its seasons: with none left, AutoETS, AutoARIMA and AutoTheta fit without one and MSTL is
refused.

AutoARIMA's search runs in a child process under a time cap (``--arima-time-cap``, default
:data:`DEFAULT_ARIMA_TIME_CAP` s, or ``FORECAST_ARIMA_TIME_CAP``): past it, the child is stopped
and the airline model ``ARIMA(0,1,1)(0,1,1)[m]`` (or ``ARIMA(0,1,1)`` without a season) is fitted
instead, under the same cap; past that too, a non-seasonal approximate search on the last
:data:`QUICK_VALUES` values. The metadata says so (``statsforecast.cut_short``, ``search``).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from contract import references, statistical, store
from contract.local_store import LocalStore
from contract.metadata import ModelMetadata, StatsforecastInfo
from contract.publishing import now_utc
from contract.statistical import Shape
from training import capped
from training.capped import CappedFailed, run_capped
from training.data import DataError, Series, fit_length

if TYPE_CHECKING:
    from training.pipeline import Origins, Published

Array = npt.NDArray[np.float64]

NAMES = statistical.NAMES
DEFAULT_ARIMA_TIME_CAP = capped.DEFAULT_ARIMA_TIME_CAP
ARIMA_TIME_CAP_ENV = capped.ARIMA_TIME_CAP_ENV
arima_time_cap = capped.arima_time_cap
QUICK_VALUES = 1000
QUANTILE_ORIGINS = 30  # each origin is one forward over the prefix: a decomposition each
# The longer cycle a frequency has beside its usual season (MSTL's second season).
LONGER_SEASONS = {"quarter-hourly": 672, "half-hourly": 336, "hourly": 168, "daily": 365}


@dataclass(frozen=True)
class StatisticalConfig:
    """One statistical model to fit on one series; ``time_cap`` bounds AutoARIMA's search."""

    architecture: str
    series: Series
    holdout: float = 0.2
    name: str | None = None
    references: bool = True
    time_cap: float = DEFAULT_ARIMA_TIME_CAP
    verbose: bool = True

    @property
    def model_name(self) -> str:
        return self.name or f"{self.series.name}-{self.architecture}".replace("_", "-")

    def quiet(self) -> StatisticalConfig:
        """This config without progress output."""
        return dataclasses.replace(self, verbose=False)

    @property
    def shape(self) -> Shape:
        """The seasons it is fitted with, decided on the fit part (the shorter of the two fits)."""
        return shape_for(
            self.architecture, self.series, fit_length(self.series.split, self.holdout)
        )


def shape_for(name: str, series: Series, length: int) -> Shape:
    """The seasons ``name`` is fitted with on ``length`` training values (module notes)."""
    if name not in NAMES:
        raise DataError(f"unknown statistical model {name!r}; choose from {', '.join(NAMES)}")
    m = series.season_length
    if name in ("auto_ets", "auto_arima"):
        season = references.season_used(name, m, length)
        return Shape(name, (season,) if season > 1 else ())
    seasons = [m]
    longer = LONGER_SEASONS.get(series.frequency or "")
    if name == "mstl" and longer is not None and longer > m:
        seasons.append(longer)
    fitting = tuple(s for s in seasons if s > 1 and length >= 2 * s + 1)
    if name == "mstl" and not fitting:
        raise DataError(
            f"mstl needs a season the fit part holds twice: season {m}, and the fit part has"
            f" {length} values; use auto_ets or auto_theta"
        )
    return Shape(name, fitting)


def _model(shape: Shape, quick: str | None = None) -> Any:
    """The statsforecast model to fit: its auto search, or a fallback of AutoARIMA's."""
    from statsforecast.models import ARIMA, MSTL, AutoARIMA, AutoETS, AutoTheta

    season = shape.seasons[0] if shape.seasons else 1
    if shape.name == "auto_ets":
        return AutoETS(season_length=season)
    if shape.name == "auto_theta":
        # The dynamic optimised variant: its trend line is updated one value at a time, so its
        # in-sample forecasts read only earlier values (the static variants fit the line to
        # the whole series); on M3 it also scores best of the theta family.
        return AutoTheta(season_length=season, model="DOTM")
    if shape.name == "mstl":
        return MSTL(
            season_length=list(shape.seasons),
            trend_forecaster=AutoETS(model="ZZN"),
            stl_kwargs=stl_jumps(min(shape.seasons), len(shape.seasons)),
        )
    if quick == "airline":
        seasonal = (0, 1, 1) if season > 1 else (0, 0, 0)
        return ARIMA(order=(0, 1, 1), seasonal_order=seasonal, season_length=season)
    if quick == "approximate":
        return AutoARIMA(season_length=1, approximation=True)
    return AutoARIMA(season_length=season)


def stl_jumps(period: int, seasons: int = 1) -> dict[str, int]:
    """R's ``stl`` defaults for the LOESS jumps: a tenth of each smoother's window.

    statsmodels evaluates every smoother at every value (jumps of 1); R's default interpolates
    between every tenth, which decomposes a daily series with a yearly season 30 times faster
    (0.26 s against 0.009 s for 1,461 values) with components within 2% of their spread. MSTL
    shares one set of jumps across its seasons, so they are sized for the shortest season
    (its seasonal window is 7 + 4 k for the k-th season, as statsforecast sets it).
    """
    seasonal = 7 + 4 * seasons
    trend = _odd(1.5 * period / (1 - 1.5 / seasonal))
    low_pass = _odd(period + 1)
    return {
        "seasonal_jump": math.ceil(seasonal / 10),
        "trend_jump": math.ceil(trend / 10),
        "low_pass_jump": math.ceil(low_pass / 10),
    }


def _odd(value: float) -> int:
    whole = math.ceil(value)
    return whole if whole % 2 else whole + 1


def _fitted_values(shape: Shape, values: Array, quick: str | None = None) -> Array:
    """The training values a model is fitted on: AutoARIMA's seasonal search on its last seasons."""
    if quick == "approximate":
        return values[-QUICK_VALUES:]
    if shape.name == "auto_arima" and shape.seasons:
        keep = max(references.ARIMA_SEASONS_FITTED * shape.seasons[0], references.ARIMA_MIN_FIT)
        return values[-keep:]
    return values


def _fit(shape: Shape, values: Array, quick: str | None = None) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return _model(shape, quick).fit(_fitted_values(shape, values, quick))
        except Exception as e:  # statsforecast raises bare Exception ("no model able to be fitted")
            raise DataError(
                f"{shape.name} could not be fitted: {' '.join(str(e).split())}"
            ) from None


def _capped(shape: Shape, values: Array, cap: float, quick: str | None) -> Any | None:
    """``_fit`` under the time cap (:mod:`training.capped`); None when it runs past it."""
    try:
        done, model = run_capped(_fit, (shape, values, quick), cap, (DataError,))
    except CappedFailed as e:
        raise DataError(f"{shape.name}'s fit failed: {e}") from None
    return model if done else None


def search(shape: Shape, values: Array, cap: float) -> tuple[Any, str, bool]:
    """The fitted model, how it was found, and whether its search was cut short."""
    if shape.name != "auto_arima":
        return _fit(shape, values), "full search", False
    model = _capped(shape, values, cap, None)
    if model is not None:
        return model, f"full stepwise search within the {cap:g} s cap", False
    fallback = "ARIMA(0,1,1)(0,1,1) (the airline model)" if shape.seasons else "ARIMA(0,1,1)"
    model = _capped(shape, values, cap, "airline")
    if model is not None:
        return model, f"the search ran past the {cap:g} s cap; fitted {fallback} instead", True
    return (
        _fit(shape, values, "approximate"),
        f"the search and {fallback} each ran past the {cap:g} s cap; fitted a non-seasonal"
        f" approximate search on the last {QUICK_VALUES} values",
        True,
    )


def holdout_mae(config: StatisticalConfig) -> float | None:
    """One-step MAE over the training part's hold-out of a model fitted before it."""
    series, shape = config.series, config.shape
    fit_end = fit_length(series.split, config.holdout)
    if shape.min_length > fit_end or fit_end >= series.split:
        return None
    model, _, _ = search(shape, series.train[:fit_end], config.time_cap)
    try:
        forecast = statistical.windowed(shape, model, series.train)
    except statistical.StatisticalError:
        return None
    held = forecast[fit_end - shape.min_length :]
    return float(np.mean(np.abs(held - series.train[fit_end:])))


def forecasts(
    shape: Shape, model: Any, x: Array, origins: Origins, steps: int
) -> tuple[int, Array, Array]:
    """One-step forecasts of ``x[start:]`` and ``steps``-step forecasts from each origin."""
    every = statistical.windowed(shape, model, x)
    paths = np.stack([statistical.ahead(shape, model, x[:t], steps).mean for t in origins])
    return shape.min_length, every, paths


def fit_and_publish(config: StatisticalConfig, store_path: Path) -> Published:
    """Fit, score on the validation part and publish the next version of ``config``'s model."""
    import statsforecast

    from training import pipeline, plots

    series, name = config.series, store.validate_name(config.model_name)
    shape = config.shape
    if shape.min_length > series.split:
        raise DataError(
            f"{config.architecture} needs at least {shape.min_length} training values with"
            f" seasons {list(shape.seasons)}; the training part has {series.split}"
        )
    started = time.perf_counter()
    held = holdout_mae(config)
    model, how, cut = search(shape, series.train, config.time_cap)
    seconds = time.perf_counter() - started
    origins, steps = pipeline.quantile_origins(series, QUANTILE_ORIGINS)
    try:
        start, every, paths = forecasts(shape, model, series.values, origins, steps)
    except statistical.StatisticalError as e:
        raise DataError(f"{config.architecture} cannot forecast its validation part: {e}") from None
    forecast = every[series.split - start :]
    validation = pipeline.score(series, forecast, config.references)
    quantiles = pipeline.residual_quantiles(series, origins, paths)

    def build(folder: Path) -> ModelMetadata:
        digest = statistical.save(model, folder)
        assets = folder / store.ASSETS_DIR
        assets.mkdir(exist_ok=True)
        plots.validation_png(
            assets / store.VALIDATION_PICTURE,
            series,
            forecast,
            f"{name}: validation MAE {validation.scores['model'].mae:.3f}",
        )
        return ModelMetadata(
            kind=statistical.KIND,
            name=name,
            version=0,
            architecture=config.architecture,
            window_size=shape.min_length,
            horizon=1,
            season_length=series.season_length,
            dataset=pipeline.dataset_info(series),
            training_seconds=round(seconds, 3),
            created_at=now_utc(),
            validation=validation,
            residual_quantiles=quantiles,
            statsforecast=StatsforecastInfo(
                statsforecast_version=statsforecast.__version__,
                model=statistical.describe(config.architecture, model),
                season_lengths=list(shape.seasons),
                fit_values=len(_fitted_values(shape, series.train)),
                sha256=digest,
                holdout_mae=held,
                time_cap_seconds=config.time_cap if config.architecture == "auto_arima" else None,
                cut_short=cut,
                search=how,
            ),
        )

    local = LocalStore(store_path)
    version = local.publish(name, build)
    return pipeline.Published(
        name, version, local.local_folder(name, version), local.read_metadata(name, version)
    )
