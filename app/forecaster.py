"""The one interface every kind of model version implements, whatever its family.

The routes, backtests, anomalies, plots and protocols see a version only as a
:class:`Forecaster`: what context it needs, its one-step forecasts of every position of a
series, and its horizon forecast with quantiles. How a family computes them (a SavedModel's
signatures, a statistical fit, a mean in numpy) is the family's module's business; the loader
table (:mod:`app.kinds`) maps a version's ``kind`` to the function that loads it.

A family whose intervals come from validation residuals computes its quantiles with
:func:`residual_offsets`; a family with its own predictive distribution returns its own.

A family that holds something per series of its panel (fits keyed by series id) is also a
:class:`Keyed`: :func:`keyed` gives the view of it for a request's series ids, and every other
family ignores ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from app.errors import InvalidRequest, KindUnsupported, SeriesTooShort
from contract.metadata import ModelMetadata, ResidualQuantiles

Array = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Context:
    """How much of a series a version reads.

    ``window``: it reads at most the last ``window`` values (None: the whole series);
    ``min_length``: the fewest values it forecasts from. A fixed-window model has both equal;
    one with a variable context reads what there is, from ``min_length`` values up.
    """

    window: int | None
    min_length: int

    def check(self, n: int) -> None:
        """Raise :class:`SeriesTooShort` unless a series of ``n`` values can be forecast."""
        if n >= self.min_length:
            return
        if self.window == self.min_length:
            raise SeriesTooShort(
                f"the series has {n} values but this model's window_size is {self.window}:"
                f" send at least {self.window} values",
                {"length": n, "window_size": self.window},
            )
        raise SeriesTooShort(
            f"the series has {n} values but this model needs at least {self.min_length}:"
            f" send at least {self.min_length} values",
            {"length": n, "min_length": self.min_length},
        )


@dataclass(frozen=True)
class Windowed:
    """One-step-ahead forecasts: ``values[i]`` forecasts ``x[start + i]``.

    ``quantiles[p]`` ``(len(values),)`` is the one-step forecast's quantile at probability ``p``
    (only those asked for).
    """

    start: int
    values: Array
    quantiles: Mapping[float, Array] = field(default_factory=dict)


@dataclass(frozen=True)
class Horizon:
    """Horizon forecasts of a panel: ``mean`` ``(k, steps)``, ``quantiles[p]`` ``(k, steps)``.

    ``note``: what a client should know about the quantiles (e.g. that they rest on few
    residuals); None when there is nothing to say or none were asked for.
    """

    mean: Array
    quantiles: Mapping[float, Array] = field(default_factory=dict)
    note: str | None = None


class TensorModel(Protocol):
    """A version called on fixed-size windows (TF Serving's and the OIP's tensors)."""

    @property
    def window_size(self) -> int: ...

    @property
    def signatures(self) -> Mapping[str, SignatureInfo]: ...

    def one_step(self, windows: Float32Array) -> Float32Array: ...

    def forecast_windows(self, windows: Float32Array, steps: int) -> Float32Array: ...


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of a signature as its spec says; ``None`` in ``shape``: any size."""

    name: str
    dtype: str  # TensorFlow's name of the type, e.g. DT_FLOAT
    shape: tuple[int | None, ...]


@dataclass(frozen=True)
class SignatureInfo:
    """A signature's inputs and outputs by key."""

    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]


class Forecaster(Protocol):
    """What serving needs of one loaded version, whatever its kind."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def metadata(self) -> ModelMetadata: ...

    @property
    def context(self) -> Context: ...

    @property
    def tensors(self) -> TensorModel | None:
        """The window-tensor view TF Serving and the OIP call; None for kinds without one."""
        ...

    def windowed(
        self, panel: Sequence[Array], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        """One-step forecasts of every position of each series from the values before it.

        Each series' forecasts start at ``context.min_length``; a series no longer than that
        gets none.
        """
        ...

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        """The next ``steps`` values after each series (each at least ``min_length`` long)."""
        ...


@runtime_checkable
class Keyed(Protocol):
    """A version that forecasts a series by its id (fits kept per series of its panel)."""

    def keyed(self, ids: Sequence[str | None]) -> Forecaster:
        """The version for a panel whose series have these ids (None: no id), in order."""
        ...


def keyed(model: Forecaster, ids: Sequence[str | None]) -> Forecaster:
    """``model`` for series with these ids: a :class:`Keyed` version binds them, others ignore them."""
    return model.keyed(ids) if isinstance(model, Keyed) else model


def tensors_of(model: Forecaster, protocol: str) -> TensorModel:
    """The version's window-tensor view, or :class:`KindUnsupported` naming why there is none."""
    if model.tensors is None:
        raise KindUnsupported(
            f"model {model.name!r} version {model.version} is of kind"
            f" {model.metadata.kind!r}, which {protocol} cannot serve: it has no fixed-size"
            " window tensors; use POST /forecast or KServe's /v1/timeseries/forecast",
            {"model": model.name, "version": model.version, "kind": model.metadata.kind},
        )
    return model.tensors


def residual_offsets(
    quantiles: ResidualQuantiles | None, probabilities: Sequence[float], horizon: int
) -> Array:
    """Residual quantiles at ``probabilities`` for 1..``horizon`` steps ahead; ``(p, horizon)``.

    ``q_s`` is interpolated linearly between the stored probabilities and clamped to the
    outermost ones; beyond the ``S`` stored steps the last row is used, widened by
    ``sqrt(s / S)``. Offsets below the median are at most 0 and those above at least 0, so
    every interval holds its forecast.
    """
    rows = quantiles.by_step if quantiles is not None else []
    levels = np.asarray(quantiles.levels if quantiles is not None else [], dtype=np.float64)
    if (
        len(levels) < 2
        or not rows
        or any(len(row) != len(levels) for row in rows)
        or not np.all(np.diff(levels) > 0)
    ):
        why = quantiles.note() if quantiles is not None and not rows else None
        raise InvalidRequest(
            "this model version has no usable residual quantiles, so it cannot give intervals"
            + (f" ({why})" if why else "")
        )
    by_step = np.asarray(rows, dtype=np.float64)  # (S, L)
    stored = len(by_step)
    steps = np.arange(1, horizon + 1)
    table = (
        by_step[np.minimum(steps, stored) - 1] * np.sqrt(np.maximum(steps / stored, 1.0))[:, None]
    )
    offsets = np.array([[np.interp(p, levels, row) for row in table] for p in probabilities])
    # An interval always holds its forecast: a bound the residuals put on the wrong side of it
    # (all of them positive, say) is moved onto the forecast.
    below = np.asarray(probabilities) < 0.5
    above = np.asarray(probabilities) > 0.5
    offsets[below] = np.minimum(offsets[below], 0.0)
    offsets[above] = np.maximum(offsets[above], 0.0)
    return offsets


def residual_horizon(
    quantiles: ResidualQuantiles | None, mean: Array, probabilities: Sequence[float]
) -> Horizon:
    """A horizon ``mean`` ``(k, h)`` with :func:`residual_bands`, and their note when asked."""
    bands = residual_bands(quantiles, mean, probabilities)
    note = quantiles.note() if bands and quantiles is not None else None
    return Horizon(mean, bands, note)


def residual_bands(
    quantiles: ResidualQuantiles | None, mean: Array, probabilities: Sequence[float]
) -> dict[float, Array]:
    """``mean`` ``(k, h)`` plus the residuals' quantile at each probability, ``(k, h)`` each."""
    unique = sorted({float(p) for p in probabilities})
    if not unique:
        return {}
    q = residual_offsets(quantiles, unique, mean.shape[-1])
    return {p: mean + q[i] for i, p in enumerate(unique)}


def one_step_bands(
    quantiles: ResidualQuantiles | None, values: Array, probabilities: Sequence[float]
) -> dict[float, Array]:
    """One-step forecasts ``values`` ``(n,)`` plus the one-step residuals' quantiles."""
    bands = residual_bands(quantiles, values[:, None], probabilities)
    return {p: band[:, 0] for p, band in bands.items()}


def scaled_bands(
    quantiles: ResidualQuantiles | None, mean: Array, probabilities: Sequence[float], scale: Array
) -> dict[float, Array]:
    """``mean`` ``(k, h)`` plus scale-free residual quantiles times each series' ``scale`` ``(k,)``.

    For versions trained across a panel, whose residuals are in units of each series' scale.
    """
    unique = sorted({float(p) for p in probabilities})
    if not unique:
        return {}
    q = residual_offsets(quantiles, unique, mean.shape[-1])
    return {p: mean + q[i][None, :] * scale[:, None] for i, p in enumerate(unique)}
