"""A statistical model fitted to every series of a panel, the fits keyed by series id.

The ``statsforecast_panel`` kind: one version per model and panel instead of one per series.
Shared by training (which fits and scores the version) and the service (which fits a series
the version never saw, when it is first asked for), so both fit with the same rules:

* seasons follow each series' length, as a one-series version's do (:func:`shape`): AutoETS
  and AutoARIMA take the panel's season when the values hold it three times (up to 24 and 52),
  AutoTheta when they hold it twice;
* AutoARIMA reads at most its last ten seasons (at least 200 values), as the references do;
* a search that fails is refitted without its season, then as simple exponential smoothing,
  then as the naive method: :attr:`Fit.fallback` says which, so a panel never loses a series;
  a series of fewer than :data:`contract.statistical.MIN_VALUES` values gets the naive method.

``fits.pkl`` holds ``{id: Fit}`` pickled; ``metadata.json`` records its sha256 and
:func:`load` refuses a file whose hash differs before unpickling it (the store is trusted as
a SavedModel is: see :mod:`contract.statistical`).
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contract import references, statistical
from contract.statistical import Array, HashMismatch, Shape, StatisticalError, sha256_of

FITS_FILE = "fits.pkl"
NAMES: tuple[str, ...] = ("auto_ets", "auto_arima", "auto_theta")
NAIVE = "naive"  # the last fallback: statsforecast's Naive, applied like AutoARIMA
FALLBACKS = ("without its season", "as simple exponential smoothing", "as the naive method")


@dataclass(frozen=True)
class Fit:
    """One series' fitted model, the shape it reads and, when its search failed, the fallback."""

    shape: Shape
    model: Any
    fallback: str | None = None

    @property
    def chosen(self) -> str:
        """What the fit chose, e.g. ``ETS(M,A,N)``; ``naive`` for the last fallback."""
        if self.shape.name == NAIVE:
            return NAIVE
        return statistical.describe(self.shape.name, self.model)


def shape(name: str, season_length: int, length: int) -> Shape:
    """The seasons ``name`` is fitted with on ``length`` values of a series (module notes)."""
    if name not in NAMES:
        raise StatisticalError(f"unknown statistical model {name!r}; choose from {NAMES}")
    if name == "auto_theta":
        m = season_length if season_length > 1 and length >= 2 * season_length + 1 else 1
    else:
        m = references.season_used(name, season_length, length)
    return Shape(name, (m,) if m > 1 else ())


def _model(shape: Shape, simple: bool = False) -> Any:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive

    season = shape.seasons[0] if shape.seasons else 1
    if shape.name == "auto_ets":
        return AutoETS(model="ANN") if simple else AutoETS(season_length=season)
    if shape.name == "auto_theta":
        return AutoTheta(season_length=season, model="DOTM")
    if shape.name == "auto_arima":
        return AutoARIMA(season_length=season)
    return Naive()


def _fit_values(shape: Shape, values: Array) -> Array:
    if shape.name != "auto_arima":
        return values
    season = shape.seasons[0] if shape.seasons else 1
    return values[-max(references.ARIMA_SEASONS_FITTED * season, references.ARIMA_MIN_FIT) :]


def _try(shape: Shape, model: Any, values: Array) -> Any | None:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            fitted = model.fit(_fit_values(shape, values))
            # A fit that cannot forecast its own values is no fit (a degenerate search).
            statistical.ahead(shape, fitted, values, 1)
            return fitted
        except Exception:  # statsforecast raises bare Exception too
            return None


def fit(name: str, season_length: int, values: Array) -> Fit:
    """``name`` fitted to ``values`` (1-D, finite), falling back as the module notes say."""
    x = np.asarray(values, dtype=np.float64)
    naive = Shape(NAIVE, ())
    if len(x) < statistical.MIN_VALUES:
        # Too few values to choose between models: the naive method, said so.
        fitted = _try(naive, _model(naive), x)
        if fitted is None:
            raise StatisticalError(f"a series of {len(x)} values cannot be fitted")
        return Fit(naive, fitted, f"{FALLBACKS[2]} (fewer than {statistical.MIN_VALUES} values)")
    first = shape(name, season_length, len(x))
    attempts: list[tuple[str | None, Shape, Any]] = [(None, first, _model(first))]
    if first.seasons:
        plain = Shape(name, ())
        attempts.append((FALLBACKS[0], plain, _model(plain)))
    ses = Shape("auto_ets", ())
    attempts.append((FALLBACKS[1], ses, _model(ses, simple=True)))
    attempts.append((FALLBACKS[2], naive, _model(naive)))
    for fallback, attempt, model in attempts:
        fitted = _try(attempt, model, x)
        if fitted is not None:
            return Fit(attempt, fitted, fallback)
    raise StatisticalError(f"{name} could not be fitted to this series, nor any fallback")


def fit_and_forecast(
    name: str, season_length: int, horizon: int, chunk: Sequence[Array]
) -> list[tuple[Fit, Array]]:
    """Each series of ``chunk`` fitted (:func:`fit`), with its forecast of the next ``horizon``
    values: a training worker's task (``training.statistical_panel``), here so that a worker
    process imports nothing but this package."""
    out = []
    for values in chunk:
        made = fit(name, season_length, values)
        out.append((made, statistical.ahead(made.shape, made.model, values, horizon).mean))
    return out


def save(fits: Mapping[str, Fit], folder: Path) -> str:
    """Pickle ``{id: Fit}`` into ``folder``; returns the file's sha256."""
    path = folder / FITS_FILE
    path.write_bytes(pickle.dumps(dict(fits), protocol=pickle.HIGHEST_PROTOCOL))
    return sha256_of(path)


def load(folder: Path, sha256: str) -> dict[str, Fit]:
    """The fits in ``folder``; HashMismatch, before unpickling, when the hash differs."""
    path = folder / FITS_FILE
    found = sha256_of(path)
    if found != sha256:
        raise HashMismatch(
            f"{FITS_FILE} has sha256 {found[:12]}..., but metadata.json records"
            f" {sha256[:12]}...: the file is not the one training wrote; it is not loaded"
        )
    fits = pickle.loads(path.read_bytes())  # the store is trusted: see the module notes
    if not isinstance(fits, dict):
        raise HashMismatch(f"{FITS_FILE} does not hold a mapping of series ids to fits")
    return fits
