"""The ``statsforecast`` kind: a fitted statsforecast model served through the Forecaster interface.

The work is :mod:`contract.statistical`'s (the functions training scored the version with);
this module checks the stored file and its statsforecast version at load, and turns what the
model cannot do with a request's series into the service's errors. The windowed forecasts'
bands come from the validation residuals stored with the version, like a network's; the
horizon's are the model's own intervals. It has no fixed-size window tensors, so TF Serving
and the OIP answer ``kind_unsupported`` for it (:func:`app.forecaster.tensors_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import statsforecast

from app.errors import ModelCannotForecast
from app.forecaster import Array, Context, Horizon, TensorModel, Windowed, one_step_bands
from contract import statistical
from contract.metadata import ModelMetadata
from contract.store import StoreError

KIND = statistical.KIND


class StatisticalModel:
    """One fitted statsforecast version; never changed after it is loaded."""

    tensors: TensorModel | None = None

    def __init__(
        self, name: str, version: int, metadata: ModelMetadata, model: Any, shape: statistical.Shape
    ) -> None:
        self.name = name
        self.version = version
        self.metadata = metadata
        self._model = model
        self._shape = shape
        self.context = Context(None, shape.min_length)

    def _failed(self, e: statistical.StatisticalError) -> ModelCannotForecast:
        return ModelCannotForecast(
            f"model {self.name!r} version {self.version} ({self.metadata.architecture}) cannot"
            f" forecast this series: {e}",
            {"model": self.name, "version": self.version},
        )

    def windowed(
        self, panel: Sequence[Array], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        """One-step forecasts of each series' positions from ``min_length`` on."""
        start = self._shape.min_length
        out = []
        for series in panel:
            try:
                values = statistical.windowed(self._shape, self._model, np.asarray(series))
            except statistical.StatisticalError as e:
                raise self._failed(e) from None
            quantiles = self.metadata.residual_quantiles
            bands = one_step_bands(quantiles, values, probabilities) if len(values) else {}
            out.append(Windowed(start, values, bands))
        return out

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        """Each series' next ``steps`` values with the model's own intervals."""
        try:
            each = [
                statistical.ahead(self._shape, self._model, np.asarray(s), steps, probabilities)
                for s in panel
            ]
        except statistical.StatisticalError as e:
            raise self._failed(e) from None
        return Horizon(
            np.stack([a.mean for a in each]),
            {p: np.stack([a.quantiles[p] for a in each]) for p in each[0].quantiles},
        )


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def load(
    folder: Path,
    name: str,
    version: int,
    metadata: ModelMetadata,
    on_call: Callable[[str, int, str], None] | None = None,
) -> StatisticalModel:
    """Check the file's hash and statsforecast's version, unpickle and warm; raises on failure."""
    info = metadata.statsforecast
    if info is None:
        raise StoreError("metadata.json has no statsforecast fields")
    if _minor(info.statsforecast_version) != _minor(statsforecast.__version__):
        raise StoreError(
            f"trained with statsforecast {info.statsforecast_version}, but this server has"
            f" {statsforecast.__version__}: retrain it, or serve it with that version"
        )
    try:
        model = statistical.load(folder, info.sha256)
    except statistical.HashMismatch as e:
        raise StoreError(str(e)) from None
    shape = statistical.Shape(metadata.architecture, tuple(info.season_lengths))
    loaded = StatisticalModel(name, version, metadata, model, shape)
    # The first call compiles statsforecast's numba kernels: a request should not pay for it.
    warm = 10 + np.sin(np.arange(shape.min_length + 2, dtype=np.float64))
    try:
        loaded.windowed([warm])
        loaded.ahead([warm], 2, (0.1, 0.9))
    except ModelCannotForecast:
        pass  # a series this model cannot forecast is a request's problem, not the version's
    return loaded
