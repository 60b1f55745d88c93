"""An ensemble version: the models trained in the same run, combined with hold-out weights.

When every member is a network, the ensemble is one SavedModel (:func:`publish_ensemble`): its
window is the largest member window; each member reads the last ``W_i`` values of it, so a
client calls the ensemble exactly as it calls any version (the store's three signatures), TF
Serving's and the OIP's routes included. When the members span families (networks and
statistical models), it is a version of kind ``ensemble`` (:func:`publish_combined`) holding a
copy of each member's folder; the service combines the members' own forecasts
(:mod:`app.ensemble`), and training scores it from the same members' forecasts.

The weights are inversely proportional to each member's squared one-step MAE on the training
part's early-stopping hold-out (``hyperparameters.holdout_mae``, measured before a refit learns
the hold-out), the classic inverse-MSE combination: with equal weights, one member that
extrapolates badly drags the mean (airpassengers: 22.0 against its best member's 14.9), while
members of similar skill still get similar weights. Nothing of the validation part
(``series[split:]``) chooses the members or their weights. Members without a hold-out score
(versions from before it was recorded) get the plain mean.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from contract import statistical, store
from contract.local_store import LocalStore
from contract.metadata import ENSEMBLE, SAVEDMODEL, EnsembleInfo, EnsembleMember, ModelMetadata
from contract.publishing import now_utc
from training import pipeline, plots
from training import statistical as fitting
from training.data import DataError, Series
from training.export import Servable, load
from training.pipeline import Origins, Published, Trained, publish_servable

Array = npt.NDArray[np.float64]

ARCHITECTURE = "ensemble"
MIN_MEMBERS = 2


def weights(holdout_maes: Sequence[float | None]) -> tuple[str, list[float]]:
    """The combination's name and weights: inverse hold-out MSE, or the mean without scores."""
    if any(m is None or m <= 0 for m in holdout_maes):
        return "mean", [1.0 / len(holdout_maes)] * len(holdout_maes)
    inverse = [1.0 / float(m) ** 2 for m in holdout_maes if m is not None]
    return "inverse_holdout_mse", [v / sum(inverse) for v in inverse]


class EnsembleServable(tf.Module):
    """The weighted sum of members' outputs, with the store's three signatures.

    ``members`` are :class:`training.export.Servable` s of one horizon; the window is the largest
    of theirs and every member reads its own last ``window_size`` values of it.
    """

    def __init__(self, members: Sequence[Servable], weights: Sequence[float]) -> None:
        super().__init__()
        horizons = {m.horizon for m in members}
        if len(horizons) != 1:
            raise DataError(f"ensemble members forecast different horizons: {sorted(horizons)}")
        self.members = list(members)
        self.weights = [float(w) for w in weights]
        self.window_size = max(m.window_size for m in members)
        self.horizon = horizons.pop()
        spec = tf.TensorSpec([None, self.window_size], tf.float32, name=store.INPUT_KEY)
        steps = tf.TensorSpec([], tf.int32, name=store.STEPS_KEY)
        series = tf.TensorSpec([None, None], tf.float32, name=store.SERIES_KEY)
        self.serve = tf.function(self._serve, input_signature=[spec])
        self.forecast = tf.function(self._forecast, input_signature=[spec, steps], jit_compile=True)
        self.windowed = tf.function(self._windowed, input_signature=[series])

    def _combined(self, outputs: Sequence[tf.Tensor]) -> tf.Tensor:
        return tf.add_n([w * y for w, y in zip(self.weights, outputs, strict=True)])

    def _serve(self, window: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = [m.step(window[:, -m.window_size :]) for m in self.members]
        return {store.OUTPUT_KEY: self._combined(outputs)}

    def _forecast(self, window: tf.Tensor, steps: tf.Tensor) -> dict[str, tf.Tensor]:
        # Each member runs its own recursion; the ensemble averages whole trajectories.
        outputs = [
            m._forecast(window[:, -m.window_size :], steps)[store.OUTPUT_KEY] for m in self.members
        ]
        return {store.OUTPUT_KEY: self._combined(outputs)}

    def _windowed(self, series: tf.Tensor) -> dict[str, tf.Tensor]:
        # Member i forecasts series[W_i:]; all are cut to the common start, series[W:].
        outputs = [
            m._windowed(series)[store.OUTPUT_KEY][:, self.window_size - m.window_size :]
            for m in self.members
        ]
        return {store.OUTPUT_KEY: self._combined(outputs)}


def publish_ensemble(
    members: Sequence[Published],
    series: Series,
    store_path: Path,
    name: str | None = None,
    with_references: bool = True,
) -> Published:
    """Combine the versions published in this run into one ensemble version and publish it.

    ``members`` are those of this run (their servables still in memory); DataError when fewer
    than :data:`MIN_MEMBERS` are there.
    """
    usable = [m for m in members if isinstance(m.servable, Servable)]
    if len(usable) < MIN_MEMBERS:
        have = ", ".join(m.name for m in usable) or "none"
        raise DataError(
            f"an ensemble needs at least {MIN_MEMBERS} models published in the same run;"
            f" this run published {len(usable)} ({have})"
        )
    started = time.perf_counter()
    combination, chosen = weights([m.metadata.holdout_mae for m in usable])
    servable = EnsembleServable(
        [m.servable for m in usable if isinstance(m.servable, Servable)], chosen
    )
    widest = max(usable, key=lambda m: m.metadata.window_size)
    hp = widest.metadata.network.hyperparameters.model_copy(
        update={
            "window_size": servable.window_size,
            "window_rule": f"ensemble: the largest member window ({widest.name})",
        }
    )
    info = EnsembleInfo(combination=combination, members=_member_info(usable, chosen))
    # Nothing is trained: its epochs are 0 and its seconds those of combining and exporting.
    trained = Trained(servable, hp, 0, time.perf_counter() - started, {})
    published = publish_servable(
        store_path,
        store.validate_name(name or f"{series.name}-{ARCHITECTURE}"),
        ARCHITECTURE,
        trained,
        series,
        with_references,
        ensemble=info,
    )
    published.servable = servable
    return published


def _member_info(members: Sequence[Published], chosen: Sequence[float]) -> list[EnsembleMember]:
    return [
        EnsembleMember(
            name=m.name,
            version=m.version,
            kind=m.metadata.kind,
            architecture=m.metadata.architecture,
            window_size=m.metadata.window_size,
            weight=w,
        )
        for m, w in zip(members, chosen, strict=True)
    ]


def member_forecasts(
    member: Published, x: Array, origins: Origins, steps: int
) -> tuple[int, Array, Array]:
    """A published member's one-step forecasts of ``x[start:]`` and ``steps``-step forecasts
    from each origin, read back from its folder as the service loads it."""
    meta = member.metadata
    if meta.kind == SAVEDMODEL:
        return pipeline.network_forecasts(load(member.path), x, origins, steps)
    if meta.statsforecast is None:
        raise DataError(f"{member.name} is of kind {meta.kind!r}, which an ensemble cannot hold")
    shape = statistical.Shape(meta.architecture, tuple(meta.statsforecast.season_lengths))
    model = statistical.load(member.path, meta.statsforecast.sha256)
    return fitting.forecasts(shape, model, x, origins, steps)


def publish_combined(
    members: Sequence[Published],
    series: Series,
    store_path: Path,
    name: str | None = None,
    with_references: bool = True,
) -> Published:
    """Combine this run's versions of any families into one ``ensemble`` version and publish it.

    The weights are :func:`weights` of the members' hold-out MAEs; the ensemble is scored on
    the validation part from the members' own forecasts, weighted the same way.
    """
    if len(members) < MIN_MEMBERS:
        have = ", ".join(m.name for m in members) or "none"
        raise DataError(
            f"an ensemble needs at least {MIN_MEMBERS} models published in the same run;"
            f" this run published {len(members)} ({have})"
        )
    name = store.validate_name(name or f"{series.name}-{ARCHITECTURE}")
    started = time.perf_counter()
    combination, chosen = weights([m.metadata.holdout_mae for m in members])
    origins, steps = pipeline.quantile_origins(series, fitting.QUANTILE_ORIGINS)
    each = [member_forecasts(m, series.values, origins, steps) for m in members]
    start = max(first for first, _, _ in each)
    if start > series.split:
        raise DataError(f"the members forecast from position {start}, after the split")
    one_step = sum(
        (w * every[start - first :] for w, (first, every, _) in zip(chosen, each, strict=True)),
        np.zeros(len(series.values) - start),
    )
    paths = sum(
        (w * ahead for w, (_, _, ahead) in zip(chosen, each, strict=True)),
        np.zeros((len(origins), steps)),
    )
    forecast = one_step[series.split - start :]
    validation = pipeline.score(series, forecast, with_references)
    quantiles = pipeline.residual_quantiles(series, origins, paths)
    seconds = time.perf_counter() - started

    def build(folder: Path) -> ModelMetadata:
        for i, member in enumerate(members):
            shutil.copytree(member.path, folder / store.MEMBERS_DIR / str(i))
        assets = folder / store.ASSETS_DIR
        assets.mkdir(exist_ok=True)
        plots.validation_png(
            assets / store.VALIDATION_PICTURE,
            series,
            forecast,
            f"{name}: validation MAE {validation.scores['model'].mae:.3f}",
        )
        return ModelMetadata(
            kind=ENSEMBLE,
            name=name,
            version=0,
            architecture=ARCHITECTURE,
            window_size=max(m.metadata.window_size for m in members),
            horizon=1,
            season_length=series.season_length,
            dataset=pipeline.dataset_info(series),
            training_seconds=round(seconds, 3),
            created_at=now_utc(),
            validation=validation,
            residual_quantiles=quantiles,
            ensemble=EnsembleInfo(combination=combination, members=_member_info(members, chosen)),
        )

    local = LocalStore(store_path)
    version = local.publish(name, build)
    return Published(
        name, version, local.local_folder(name, version), local.read_metadata(name, version)
    )
