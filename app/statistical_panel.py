"""The ``statsforecast_panel`` kind: one statistical model fitted to each series of a panel.

A version holds ``{series id: fit}`` (:mod:`contract.panel_fits`, trained by
``training.statistical_panel``). A request's series are read by their ids
(:func:`app.forecaster.keyed`):

* a series the version holds is forecast from its fit's parameters, the states filtered
  through the request's values (statsforecast's ``forward``), so a panel's next forecasts need
  no search;
* a series it does not hold (a new id, or no id) is fitted on the values of its first request
  with the version's rules, and that fit is kept (by id, or by the values themselves without
  one) for later requests, the :data:`KEPT` most recently used;
* a series a stored fit cannot take (a multiplicative one given a zero) is fitted afresh on
  the request's values, not refused.

Intervals: the version's validation residuals are in units of each series' scale (its mean
absolute value over the last ``scale_window`` values), so each series' bands are its forecast
plus those offsets times its own scale, as a global network's; every interval holds its
forecast. It has no fixed-size window tensors, so TF Serving and the OIP answer
``kind_unsupported``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import statsforecast

from app.errors import ModelCannotForecast
from app.forecaster import (
    Array,
    Context,
    Forecaster,
    Horizon,
    TensorModel,
    Windowed,
    residual_offsets,
    scaled_bands,
)
from contract import panel as framing
from contract import panel_fits, statistical
from contract.metadata import STATSFORECAST_PANEL, ModelMetadata
from contract.panel_fits import Fit
from contract.statistical import StatisticalError
from contract.store import StoreError

KIND = STATSFORECAST_PANEL
KEPT = 10_000  # fits made for series the version did not hold, kept at most
T = TypeVar("T")


class PanelFits:
    """A panel's fits, and the fits made for new series since loading."""

    tensors: TensorModel | None = None

    def __init__(
        self, name: str, version: int, metadata: ModelMetadata, fits: dict[str, Fit]
    ) -> None:
        info = metadata.panel_fits
        if info is None:
            raise StoreError("metadata.json has no panel_fits fields")
        self.name = name
        self.version = version
        self.metadata = metadata
        self._fits = fits
        self._made: OrderedDict[str, Fit] = OrderedDict()
        self._lock = threading.Lock()
        self._scale_window = info.scale_window
        self.context = Context(None, info.min_length)

    @property
    def made(self) -> int:
        """How many series have been fitted since loading (new ids or series without one)."""
        return len(self._made)

    def forget(self) -> None:
        """Drop the fits made since loading (the warm-up's)."""
        with self._lock:
            self._made.clear()

    def _failed(self, e: StatisticalError) -> ModelCannotForecast:
        return ModelCannotForecast(
            f"model {self.name!r} version {self.version} ({self.metadata.architecture}) cannot"
            f" forecast this series: {e}",
            {"model": self.name, "version": self.version},
        )

    def _new(self, values: Array) -> Fit:
        try:
            return panel_fits.fit(self.metadata.architecture, self.metadata.season_length, values)
        except StatisticalError as e:
            raise self._failed(e) from None

    def fit_for(self, key: str | None, values: Array) -> Fit:
        """The fit a series is forecast with: the version's, else one made and kept."""
        if key is not None and key in self._fits:
            return self._fits[key]
        kept = key if key is not None else "values:" + hashlib.sha256(values.tobytes()).hexdigest()
        with self._lock:
            if kept in self._made:
                self._made.move_to_end(kept)
                return self._made[kept]
        fit = self._new(values)
        with self._lock:
            self._made[kept] = fit
            while len(self._made) > KEPT:
                self._made.popitem(last=False)
        return fit

    def _apply(self, key: str | None, values: Array, use: Callable[[Fit], T]) -> T:
        """``use`` of the series' fit; a fit that cannot take the values is made afresh."""
        fit = self.fit_for(key, values)
        try:
            return use(fit)
        except StatisticalError:
            pass
        try:
            return use(self._new(values))
        except StatisticalError as e:
            raise self._failed(e) from None

    def keyed(self, ids: Sequence[str | None]) -> Forecaster:
        return _ForIds(self, list(ids))

    def windowed(
        self, panel: Sequence[Array], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        return self.windowed_ids(panel, [None] * len(panel), probabilities)

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        return self.ahead_ids(panel, [None] * len(panel), steps, probabilities)

    def windowed_ids(
        self,
        panel: Sequence[Array],
        ids: Sequence[str | None],
        probabilities: Sequence[float],
        known: dict[int, Array] | None = None,
    ) -> list[Windowed]:
        """One-step forecasts of each series from its fit's ``min_length`` on; ``known``: those
        already made, by the series' index (:meth:`ahead_ids`' ``windowed``)."""
        unique = sorted({float(p) for p in probabilities})
        one_step = (
            residual_offsets(self.metadata.residual_quantiles, unique, 1)[:, 0] if unique else None
        )
        out = []
        for i, (key, series) in enumerate(zip(ids, panel, strict=True)):
            x = np.asarray(series, dtype=np.float64)
            made = known.get(i) if known is not None else None
            values = made if made is not None else self._apply(key, x, partial(_windowed, x=x))
            start = len(x) - len(values)  # the fit's min_length: it depends on its seasons
            bands: dict[float, Array] = {}
            if one_step is not None and len(values):
                ends = np.arange(start, len(x))
                scale = framing.window_scale(*framing.windows_ending(x, ends, self._scale_window))
                bands = {p: values + one_step[i] * scale for i, p in enumerate(unique)}
            out.append(Windowed(start, values, bands))
        return out

    def ahead_ids(
        self,
        panel: Sequence[Array],
        ids: Sequence[str | None],
        steps: int,
        probabilities: Sequence[float],
        windowed: dict[int, Array] | None = None,
    ) -> Horizon:
        """Each series' next ``steps`` values, with bands from the scaled validation residuals.

        With ``windowed`` (a dict), each series' one-step forecasts are made in the same pass
        and recorded there by index, for :meth:`windowed_ids` of the same request.
        """
        series = [np.asarray(s, dtype=np.float64) for s in panel]
        rows = []
        for i, (key, x) in enumerate(zip(ids, series, strict=True)):
            if windowed is None:
                rows.append(self._apply(key, x, partial(_ahead, x=x, steps=steps)))
                continue
            mean, windowed[i] = self._apply(key, x, partial(_both, x=x, steps=steps))
            rows.append(mean)
        mean = np.stack(rows)
        if not probabilities:
            return Horizon(mean)
        scale = framing.window_scale(*framing.last_windows(series, self._scale_window))
        quantiles = self.metadata.residual_quantiles
        bands = scaled_bands(quantiles, mean, probabilities, scale)
        return Horizon(mean, bands, quantiles.note() if quantiles is not None else None)


def _windowed(fit: Fit, x: Array) -> Array:
    return statistical.windowed(fit.shape, fit.model, x)


def _ahead(fit: Fit, x: Array, steps: int) -> Array:
    return statistical.ahead(fit.shape, fit.model, x, steps).mean


def _both(fit: Fit, x: Array, steps: int) -> tuple[Array, Array]:
    return statistical.ahead_and_windowed(fit.shape, fit.model, x, steps)


class _ForIds:
    """A :class:`PanelFits` for a request's series ids, in order."""

    tensors: TensorModel | None = None

    def __init__(self, fits: PanelFits, ids: list[str | None]) -> None:
        self._fits = fits
        self._ids = ids
        self.name = fits.name
        self.version = fits.version
        self.metadata = fits.metadata
        self.context = fits.context
        # The last ahead call's one-step forecasts, by series index, and its panel's digest.
        self._made: tuple[str, dict[int, Array]] | None = None

    def _for(self, panel: Sequence[Array]) -> list[str | None]:
        return self._ids if len(self._ids) == len(panel) else [None] * len(panel)

    def windowed(
        self, panel: Sequence[Array], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        made, self._made = self._made, None
        known = made[1] if made is not None and made[0] == _digest(panel) else None
        return self._fits.windowed_ids(panel, self._for(panel), probabilities, known)

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        # The one-step forecasts come out of the same pass: kept for this request's windowed.
        made: dict[int, Array] = {}
        horizon = self._fits.ahead_ids(panel, self._for(panel), steps, probabilities, made)
        self._made = (_digest(panel), made)
        return horizon


def _digest(panel: Sequence[Array]) -> str:
    """What identifies a panel's values: a request's windowed call reuses its ahead call's
    one-step forecasts only for the very same series."""
    digest = hashlib.sha256()
    for series in panel:
        x = np.ascontiguousarray(series, dtype=np.float64)
        digest.update(len(x).to_bytes(8, "little"))
        digest.update(x.tobytes())
    return digest.hexdigest()


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def load(
    folder: Path,
    name: str,
    version: int,
    metadata: ModelMetadata,
    on_call: Callable[[str, int, str], None] | None = None,
) -> PanelFits:
    """Check the fits file's hash and statsforecast's version, unpickle and warm; raises."""
    info = metadata.panel_fits
    if info is None:
        raise StoreError("metadata.json has no panel_fits fields")
    if _minor(info.statsforecast_version) != _minor(statsforecast.__version__):
        raise StoreError(
            f"trained with statsforecast {info.statsforecast_version}, but this server has"
            f" {statsforecast.__version__}: retrain it, or serve it with that version"
        )
    try:
        fits = panel_fits.load(folder, info.sha256)
    except statistical.HashMismatch as e:
        raise StoreError(str(e)) from None
    if len(fits) != info.series:
        raise StoreError(
            f"fits.pkl holds {len(fits)} series, but metadata.json records {info.series}"
        )
    loaded = PanelFits(name, version, metadata, fits)
    # The first call compiles statsforecast's numba kernels: a request should not pay for it.
    warm = 10 + np.sin(np.arange(3 * max(metadata.season_length, 4), dtype=np.float64))
    try:
        loaded.ahead_ids([warm], [next(iter(fits))], 2, (0.1, 0.9))
        loaded.windowed([warm])
    except ModelCannotForecast:
        pass  # a series this model cannot forecast is a request's problem, not the version's
    loaded.forget()
    return loaded
