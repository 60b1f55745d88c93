"""The ``statsforecast`` kind: a fitted statsforecast model, stored, checked and applied to a series.

Shared by training (which fits, stores and scores a version through these functions) and the
service (which serves it through the same ones), so the validation score a user reads comes
from the code path that answers. Nothing here imports TensorFlow.

A version is statsforecast's own fitted object pickled into ``model.pkl``; ``metadata.json``
records the statsforecast version and the file's sha256, and :func:`load` refuses a file whose
hash differs before unpickling it. The store is trusted as a SavedModel is (a pickle runs code
when loaded, as a SavedModel's graph does): only the training job writes to it.

Applying a fitted model to a series is statsforecast's ``forward``: the parameters found at
training, the states filtered through the request's values.

* Horizon: ``forward(y, h, level)``, its mean and the model's own intervals.
* One-step forecasts of every position (:func:`windowed`): AutoETS and AutoARIMA filter with
  fixed parameters, so ``forward(fitted=True)``'s in-sample values read only earlier values.
  Theta and MSTL first take a seasonal pattern out of the whole series, which would let every
  in-sample value read later ones. Their positions are therefore forecast in blocks: a block's
  season is estimated on the values before it and carried over the block, and the model's
  non-seasonal part filters the adjusted values one step at a time (at most
  :data:`REFRESHES` blocks, each at least the longest season).
"""

from __future__ import annotations

import copy
import hashlib
import math
import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

KIND = "statsforecast"
MODEL_FILE = "model.pkl"
NAMES: tuple[str, ...] = ("auto_ets", "auto_arima", "auto_theta", "mstl")
DESCRIPTIONS = {
    "auto_ets": "statsforecast AutoETS: exponential smoothing, model chosen by AICc",
    "auto_arima": "statsforecast AutoARIMA: stepwise (seasonal) ARIMA search, under a time cap",
    "auto_theta": "statsforecast AutoTheta, dynamic optimised (DOTM): the M3 winner's method",
    "mstl": "statsforecast MSTL: LOESS seasons (one or several) and AutoETS on the rest",
}
REFRESHES = 8
MIN_VALUES = 8  # fewer values than this cannot choose between models, nor start a filter


class StatisticalError(ValueError):
    """A statistical model could not forecast these values (named in the message)."""


class HashMismatch(ValueError):
    """A stored model file is not the one its metadata describes."""


@dataclass(frozen=True)
class Shape:
    """What a fitted model reads: its family, seasons (empty: none) and the fewest values."""

    name: str
    seasons: tuple[int, ...]

    @property
    def min_length(self) -> int:
        """The fewest values it forecasts from: two whole seasons for a decomposition."""
        longest = max(self.seasons, default=1)
        if self.name in ("auto_theta", "mstl") and longest > 1:
            return max(MIN_VALUES, 2 * longest + 1)
        return max(MIN_VALUES, longest + 2)


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(model: Any, folder: Path) -> str:
    """Pickle a fitted statsforecast model into ``folder``; returns the file's sha256."""
    path = folder / MODEL_FILE
    path.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    return sha256_of(path)


def load(folder: Path, sha256: str) -> Any:
    """The fitted model in ``folder``; HashMismatch, before unpickling, if its hash differs."""
    path = folder / MODEL_FILE
    found = sha256_of(path)
    if found != sha256:
        raise HashMismatch(
            f"{MODEL_FILE} has sha256 {found[:12]}..., but metadata.json records"
            f" {sha256[:12]}...: the file is not the one training wrote; it is not loaded"
        )
    return pickle.loads(path.read_bytes())  # the store is trusted: see the module notes


def describe(name: str, model: Any) -> str:
    """What a fit chose, e.g. ``ETS(M,A,M)``, ``ARIMA(0,1,1)(0,1,1)[12]``, ``Theta(DOTM)``."""
    if name == "mstl":
        return f"MSTL{list(model.season_length)} + {describe('auto_ets', model.trend_forecaster)}"
    fitted = model.model_
    if name == "auto_ets":
        return f"ETS({','.join(fitted['components'][:3])})"
    if name == "auto_theta":
        season = f", {fitted['decomposition_type']} season" if fitted.get("decompose") else ""
        return f"Theta({fitted['modeltype']}{season})"
    p, q, sp, sq, m, d, sd = fitted["arma"]
    seasonal = f"({sp},{sd},{sq})[{m}]" if m > 1 else ""
    return f"ARIMA({p},{d},{q}){seasonal}"


def _levels(probabilities: Sequence[float]) -> list[float]:
    """statsforecast's interval levels (0-100) for the probabilities other than the median."""
    return sorted({float(round(abs(2 * p - 1) * 100, 6)) for p in probabilities if p != 0.5})


def _quantiles(
    result: dict[str, Any], mean: Array, probabilities: Sequence[float], suffix: str = ""
) -> dict[float, Array]:
    """The quantile at each probability from statsforecast's symmetric ``lo-L``/``hi-L`` keys."""
    out = {}
    for p in probabilities:
        if p == 0.5:
            out[p] = mean
            continue
        level = float(round(abs(2 * p - 1) * 100, 6))  # the key statsforecast formats
        side = "lo" if p < 0.5 else "hi"
        out[p] = np.asarray(result[f"{suffix}{side}-{level}"], dtype=np.float64)
    return out


def _forward(model: Any, y: Array, h: int, levels: list[float], fitted: bool) -> dict[str, Any]:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return dict(
                model.forward(y=y, h=h, level=[float(v) for v in levels] or None, fitted=fitted)
            )
        except Exception as e:  # statsforecast raises bare Exception too
            raise StatisticalError(f"statsforecast could not apply the model: {e}") from None


def _finite(values: Array, what: str) -> Array:
    if not np.isfinite(values).all():
        raise StatisticalError(
            f"the model gave non-finite {what} on this series (a multiplicative model needs"
            " positive values)"
        )
    return values


@dataclass(frozen=True)
class Ahead:
    """A horizon: ``mean`` ``(steps,)`` and the quantile at each probability asked, ``(steps,)``."""

    mean: Array
    quantiles: dict[float, Array]


def _multiplies(shape: Shape, model: Any) -> str | None:
    """The ETS model (AutoETS's, or MSTL's on the rest) when it multiplies, else None."""
    ets = model.trend_forecaster if shape.name == "mstl" else model
    if shape.name not in ("auto_ets", "mstl") or not hasattr(ets, "model_"):
        return None
    components = ets.model_["components"][:3]
    return f"ETS({','.join(components)})" if "M" in components else None


def check(shape: Shape, model: Any, x: Array) -> None:
    """StatisticalError when ``x`` is not a series the model can take (a multiplicative one
    needs positive values, as statsforecast's fit does)."""
    multiplies = _multiplies(shape, model)
    if multiplies is not None and x.size and x.min() <= 0:
        at = int(np.argmax(x <= 0))
        raise StatisticalError(
            f"{multiplies} multiplies, so it needs positive values; the series has {x[at]:g}"
            f" at position {at}"
        )


def ahead(
    shape: Shape, model: Any, x: Array, steps: int, probabilities: Sequence[float] = ()
) -> Ahead:
    """The next ``steps`` values after ``x`` with the model's own intervals."""
    check(shape, model, x)
    if shape.name == "auto_theta":
        return _theta_ahead(model, x, steps, probabilities)
    result = _forward(model, x, steps, _levels(probabilities), fitted=False)
    mean = _finite(np.asarray(result["mean"], dtype=np.float64), "forecasts")
    bands = _quantiles(result, mean, probabilities)
    return Ahead(mean, {p: _finite(v, "intervals") for p, v in bands.items()})


def windowed(shape: Shape, model: Any, x: Array) -> Array:
    """One-step forecasts of ``x[start:]``, ``start = shape.min_length``, each from earlier values."""
    start = shape.min_length
    if len(x) <= start:
        return np.empty(0)
    check(shape, model, x)
    if shape.name in ("auto_ets", "auto_arima", "naive"):
        fitted = _forward(model, x, 1, [], fitted=True)["fitted"]
        return _finite(np.asarray(fitted, dtype=np.float64)[start:], "one-step forecasts")
    if shape.name == "auto_theta" and not model.model_.get("decompose"):
        fitted = _theta_filter(model, x)["fitted"]
        return _finite(np.asarray(fitted, dtype=np.float64)[start:], "one-step forecasts")
    out = np.empty(len(x) - start)
    size = max(max(shape.seasons), math.ceil((len(x) - start) / REFRESHES))
    for a in range(start, len(x), size):
        b = min(a + size, len(x))
        out[a - start : b - start] = _block(shape, model, x[:b], a)
    return _finite(out, "one-step forecasts")


def ahead_and_windowed(shape: Shape, model: Any, x: Array, steps: int) -> tuple[Array, Array]:
    """:func:`ahead`'s mean (no intervals) and :func:`windowed`, both at once.

    A model that filters its state through the series (ETS, ARIMA, the naive method) gives both
    from one ``forward`` over ``x``, so a request that asks for both pays for one pass;
    the others are asked twice.
    """
    if shape.name in ("auto_ets", "auto_arima", "naive") and len(x) > shape.min_length:
        check(shape, model, x)
        result = _forward(model, x, steps, [], fitted=True)
        mean = _finite(np.asarray(result["mean"], dtype=np.float64), "forecasts")
        fitted = np.asarray(result["fitted"], dtype=np.float64)[shape.min_length :]
        return mean, _finite(fitted, "one-step forecasts")
    return ahead(shape, model, x, steps).mean, windowed(shape, model, x)


def _block(shape: Shape, model: Any, x: Array, a: int) -> Array:
    """One-step forecasts of ``x[a:]``: the season from ``x[:a]``, carried over ``x[a:]``."""
    if shape.name == "mstl":
        from statsforecast.models import _predict_mstl_seas
        from statsforecast.mstl import mstl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts = mstl(x[:a], period=list(model.season_length), stl_kwargs=model.stl_kwargs)
            carried = np.asarray(
                _predict_mstl_seas(parts, h=len(x) - a, season_length=list(model.season_length))
            )
        known = parts[["trend", "remainder"]].sum(axis=1).to_numpy()
        adjusted = np.concatenate([known, x[a:] - carried])
        fitted = _forward(model.trend_forecaster, adjusted, 1, [], fitted=True)["fitted"]
        return np.asarray(fitted, dtype=np.float64)[a:] + carried
    season, multiplicative = _theta_season(model, x[:a])
    carried = _carry(season, len(x) - a, int(model.model_["m"]))
    adjusted = np.concatenate([_remove(x[:a], season, multiplicative),
                               _remove(x[a:], carried, multiplicative)])  # fmt: skip
    fitted = _theta_filter(model, adjusted)["fitted"][a:]
    return _restore(fitted, carried, multiplicative)


# Theta: statsforecast's AutoTheta takes a classical seasonal decomposition out of the values
# when its fit found a season (multiplicative unless a value or an index is too small), filters
# the rest with its theta model and puts the season back. The same steps, on values before a
# block only.


def _theta_season(model: Any, x: Array) -> tuple[Array, bool]:
    """The classical seasonal indices of ``x`` ``(len(x),)`` and whether they multiply."""
    m = int(model.model_["m"])
    multiplicative = model.model_.get("decomposition_type") == "multiplicative" and x.min() > 0
    season = classical_season(x, m, multiplicative)
    if multiplicative and (season < 0.01).any():
        multiplicative = False
        season = classical_season(x, m, multiplicative)
    return season, multiplicative


def classical_season(x: Array, period: int, multiplicative: bool) -> Array:
    """statsmodels' ``seasonal_decompose(x, model, period).seasonal`` (its defaults) in numpy.

    The same steps as statsmodels' (a centred moving average of ``period`` values, halves at
    the ends when it is even; each phase's mean of the detrended values, normalised to sum to 0
    or average 1), without its pandas calls, which were most of a windowed theta forecast's
    time. ValueError with fewer than two cycles, as statsmodels'.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n < 2 * period:
        raise ValueError(f"x must have 2 complete cycles requires {2 * period} observations")
    if period % 2 == 0:
        weights = np.array([0.5] + [1.0] * (period - 1) + [0.5]) / period
    else:
        weights = np.repeat(1.0 / period, period)
    half = (len(weights) - 1) // 2
    trend = np.full(n, np.nan)
    trend[half : n - half] = np.convolve(x, weights, mode="valid")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detrended = x / trend if multiplicative else x - trend
        # Each phase's values in one row (padded with NaN to whole cycles), then each row's
        # mean of its numbers: a NaN-ignoring mean of detrended[i::period] for every i at once.
        cycles = -(-n // period)
        grid = np.full(cycles * period, np.nan)
        grid[:n] = detrended
        rows = np.ascontiguousarray(grid.reshape(cycles, period).T)
        known = np.isfinite(rows)
        means = np.where(known, rows, 0.0).sum(axis=1) / known.sum(axis=1)
    means = means / means.mean() if multiplicative else means - means.mean()
    return np.tile(means, n // period + 1)[:n]


def _carry(season: Array, h: int, m: int) -> Array:
    """A pattern of period ``m``, ``season`` ``(n,)``, continued ``h`` steps: its last cycle."""
    return np.asarray(season, dtype=np.float64)[len(season) - m :][np.arange(h) % m]


def _remove(x: Array, season: Array, multiplicative: bool) -> Array:
    return x / season if multiplicative else x - season


def _restore(x: Array, season: Array, multiplicative: bool) -> Array:
    return x * season if multiplicative else x + season


def _theta_filter(
    model: Any, adjusted: Array, h: int = 1, levels: Sequence[float] = ()
) -> dict[str, Any]:
    """statsforecast's theta model, with its fitted parameters, over seasonally adjusted values."""
    from statsforecast.theta import forecast_theta, forward_theta

    plain = copy.copy(model.model_)
    plain["m"] = 1  # the season is already out: forward_theta must not look for one again
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            fitted = forward_theta(plain, y=adjusted)
            result = dict(forecast_theta(fitted, h, level=[float(v) for v in levels] or None))
        except Exception as e:
            raise StatisticalError(f"statsforecast could not apply the model: {e}") from None
    result["fitted"] = adjusted - fitted["residuals"]
    return result


def _theta_ahead(model: Any, x: Array, steps: int, probabilities: Sequence[float]) -> Ahead:
    """Theta's horizon: without its season when its fit found none, else adjusted and restored."""
    if model.model_.get("decompose"):
        season, multiplicative = _theta_season(model, x)
        carried = _carry(season, steps, int(model.model_["m"]))
    else:
        season, carried, multiplicative = np.zeros(len(x)), np.zeros(steps), False
    result = _theta_filter(model, _remove(x, season, multiplicative), steps, _levels(probabilities))
    mean = _finite(_restore(np.asarray(result["mean"]), carried, multiplicative), "forecasts")
    bands = _quantiles(result, np.asarray(result["mean"]), probabilities)
    return Ahead(
        mean,
        {
            p: mean if p == 0.5 else _finite(_restore(v, carried, multiplicative), "intervals")
            for p, v in bands.items()
        },
    )
