"""An ``ensemble`` version: one SavedModel that combines the networks trained in the same run.

Its window is the largest member window; each member reads the last ``W_i`` values of it, so a
client calls the ensemble exactly as it calls any version (the store's three signatures).

The weights are inversely proportional to each member's squared one-step MAE on the training
part's early-stopping hold-out (``hyperparameters.holdout_mae``, measured before a refit learns
the hold-out), the classic inverse-MSE combination: with equal weights, one member that
extrapolates badly drags the mean (airpassengers: 22.0 against its best member's 14.9), while
members of similar skill still get similar weights. Nothing of the validation part
(``series[split:]``) chooses the members or their weights. Members without a hold-out score
(versions from before it was recorded) get the plain mean.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf

from contract import store
from contract.metadata import EnsembleInfo, EnsembleMember
from training.data import DataError, Series
from training.export import Servable
from training.pipeline import Published, Trained, publish_servable

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
    combination, chosen = weights([m.metadata.network.hyperparameters.holdout_mae for m in usable])
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
    info = EnsembleInfo(
        combination=combination,
        members=[
            EnsembleMember(
                name=m.name,
                version=m.version,
                architecture=m.metadata.architecture,
                window_size=m.metadata.window_size,
                weight=w,
            )
            for m, w in zip(usable, chosen, strict=True)
        ],
    )
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
