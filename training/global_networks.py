"""Global networks: one network trained across every series of a panel, published as one version.

A panel is a long CSV's series (``forecast-train --global --id-column``). Each version is a
small ensemble of member networks of one architecture, every member trained on windows drawn
from all the series at once, and it forecasts any series, those of the panel and new ones
(``app.global_network`` serves it). What makes such a network work on short series, each
recorded in ``metadata.json``'s ``global`` block:

* **per-window scaling**: every input window and its target are divided by the window's scale,
  the mean absolute value of its data (:func:`contract.panel.window_scale`); the member's
  SavedModel does the same to raw windows, so it is served raw values in and out;
* **direct multi-step output**: one call gives the whole horizon ``H``;
* **recent windows**: training windows end at every cut point within the last ``L x H``
  values of each series' training part (N-BEATS's sampling), ``L`` the median training length
  over ``H`` kept within [1.5, 10], so a long series gives no more windows than a median one;
* **scale-free losses**: sMAPE, and MASE (the absolute error weighted by the window's scale over
  the series' in-sample seasonal naive MAE up to the cut, so MASE in the raw units);
* **an ensemble** over lookbacks (2H, 4H, 7H), those two losses and seeds: the version answers
  the median of the members whose validation sMAPE is within 10% of the best member's;
* **short series** are left-padded and masked (:mod:`contract.panel`), never refused while they
  hold :data:`contract.panel.MIN_INPUTS` values and a validation part of ``H``; one that also
  holds a target of ``H`` before its validation part gives training windows, a shorter one is
  only scored (:meth:`training.data.Panel.check`).

Honesty: the last ``H`` values of every series are its validation part, read only for early
stopping and to score the finished version (the members' forecasts through their exported
SavedModels, as the service calls them); no window, scale or target of training reaches into
it. The residuals behind the intervals are those validation errors divided by each series'
window scale, so the service multiplies them back by the scale of the series it forecasts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf
from keras import layers, ops

from contract.local_store import LocalStore
from contract.metadata import (
    GLOBAL,
    DatasetInfo,
    GlobalInfo,
    GlobalMember,
    ModelMetadata,
    Validation,
)
from contract.panel import MIN_INPUTS, last_windows, window_scale, windows_ending
from contract.publishing import now_utc
from contract.store import MEMBERS_DIR, OUTPUT_KEY, SERVING_SIGNATURE, files_sha256, validate_name
from training import nbeats, panel_scoring
from training.architectures import ARCHITECTURES
from training.data import Panel
from training.pipeline import Published, TrainingDiverged

Array = npt.NDArray[np.float64]

LOOKBACK_MULTIPLES = (2, 4, 7)  # the members' lookbacks, in horizons
MEMBER_LOSSES = ("smape", "mase", "smape")  # one per member, alternating
HISTORY_BOUNDS = (1.5, 10.0)  # L, the sampling window in horizons
STEP_BUDGET = 1000  # optimiser steps per member at most (early stopping may end sooner)
STEPS_PER_EPOCH = 50  # at most: an epoch is a check of the validation loss
PATIENCE = 5
BATCH_BOUNDS = (32, 1024)
LEARNING_RATE = 1e-3
# A member whose validation sMAPE is more than this above the best member's is left out of the
# median: on small panels the longest lookback can memorise its series and lag far behind.
MEMBER_TOLERANCE = 0.10
MASK_KEY = "mask"
WINDOW_KEY = "window"


class PaddingValue(layers.Layer):
    """``(window, mask)`` ``[b, L]`` -> the window with padded steps set to a learnt value.

    A zoo network reads one value per step; padding then reads as a value of its own, learnt,
    so the network tells it from data (zeros after scaling are data too)."""

    def build(self, input_shape: Any) -> None:
        self.pad = self.add_weight(shape=(), initializer="zeros", name="pad")

    def call(self, window: Any, mask: Any) -> Any:
        return window * mask + (1.0 - mask) * self.pad


def zoo(architecture: str) -> Callable[[int, int], keras.Model]:
    """A zoo architecture (:mod:`training.architectures`) over a masked window: its last
    step's output, added to the window's last value, is the horizon ``[b, H]``."""
    arch = ARCHITECTURES[architecture]

    def build(lookback: int, horizon: int) -> keras.Model:
        window = keras.Input((lookback,), name=WINDOW_KEY)
        mask = keras.Input((lookback,), name=MASK_KEY)
        y = arch.build(lookback, horizon, None)(PaddingValue()(window, mask))
        if arch.output == "sequence":  # the forecast after the window's last step
            y = layers.Lambda(lambda s: s[:, -1, :])(y)
        # As N-BEATS does, the network corrects a naive start: the window's last value (data,
        # since windows are padded on the left), not a level from nothing.
        y = layers.Add()([y, layers.Lambda(lambda w: w[:, -1:])(window)])
        return keras.Model([window, mask], y, name=f"global_{architecture}")

    return build


BUILDERS: dict[str, Callable[[int, int], keras.Model]] = {
    **nbeats.BUILDERS,
    **{name: zoo(name) for name in ("wavenet", "conv_lstm", "lstm", "linear", "dense", "gru")},
}
DESCRIPTIONS = {
    "nbeats": "N-BEATS generic: 3 doubly residual blocks of 4 Dense(128)",
    "nbeats_interpretable": "N-BEATS interpretable: trend then seasonality stacks, shared weights",
}


@dataclass(frozen=True)
class Plan:
    """A global version's training, worked out from the panel (:func:`plan`)."""

    lookbacks: tuple[int, ...]
    losses: tuple[str, ...]
    seeds: tuple[int, ...]
    history_multiple: float
    batch_size: int
    steps_per_epoch: int
    max_epochs: int
    learning_rate: float
    windows: int
    history_rule: str
    epochs_rule: str


@dataclass(frozen=True)
class GlobalConfig:
    """What to train: one architecture across a panel; None takes the derived default."""

    architecture: str
    panel: Panel
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seed: int = 42
    verbose: bool = True
    name: str | None = None

    @property
    def model_name(self) -> str:
        return self.name or f"{self.panel.name}-{self.architecture}".replace("_", "-")


def history_multiple(panel: Panel) -> tuple[float, str]:
    """L: the median training length in horizons, within :data:`HISTORY_BOUNDS`; and why."""
    lengths = [len(v) - panel.horizon for v in panel.values]
    median = float(np.median(lengths))
    low, high = HISTORY_BOUNDS
    multiple = min(max(median / panel.horizon, low), high)
    return round(multiple, 2), (
        f"median training length {median:g} / horizon {panel.horizon} = "
        f"{median / panel.horizon:.2f}, kept within [{low:g}, {high:g}]: {multiple:.2f}"
    )


def cut_points(length: int, horizon: int, multiple: float) -> npt.NDArray[np.int64]:
    """Where the training windows of a training part of ``length`` values end: every cut ``c``
    with ``MIN_INPUTS`` values before it, its ``H`` targets inside the part, and within its
    last ``L x H`` values."""
    low = max(MIN_INPUTS, length - math.ceil(multiple * horizon))
    return np.arange(low, length - horizon + 1, dtype=np.int64)


def plan(config: GlobalConfig) -> Plan:
    """The members (lookbacks, losses, seeds), the sampling window, batch and epochs."""
    panel = config.panel
    h = panel.horizon
    multiple, history_rule = history_multiple(panel)
    windows = sum(len(cut_points(len(v) - h, h, multiple)) for v in panel.values)
    low, high = BATCH_BOUNDS
    batch = config.batch_size or min(
        high, max(low, 1 << max(int(windows / 16), 1).bit_length() - 1)
    )
    per_epoch = max(1, min(STEPS_PER_EPOCH, math.ceil(windows / batch)))
    if config.epochs is None:
        epochs = max(1, math.ceil(STEP_BUDGET / per_epoch))
        epochs_rule = (
            f"{windows} windows in batches of {batch} (a sixteenth of them, within"
            f" [{low}, {high}]), epochs of {per_epoch} steps, at most {STEP_BUDGET} steps:"
            f" {epochs} epochs, patience {PATIENCE}"
        )
    else:
        epochs, epochs_rule = config.epochs, f"given: {config.epochs}, batch {batch}"
    count = len(LOOKBACK_MULTIPLES)
    return Plan(
        lookbacks=tuple(m * h for m in LOOKBACK_MULTIPLES),
        losses=MEMBER_LOSSES[:count],
        seeds=tuple(config.seed + i for i in range(count)),
        history_multiple=multiple,
        batch_size=batch,
        steps_per_epoch=per_epoch,
        max_epochs=epochs,
        learning_rate=config.learning_rate or LEARNING_RATE,
        windows=windows,
        history_rule=history_rule,
        epochs_rule=epochs_rule,
    )


def insample_scales(train: Array, ends: npt.NDArray[np.int64], season: int) -> Array:
    """MASE's scale for forecasts from each cut in ``ends`` ``(k,)``: the seasonal naive MAE of
    ``train[:c]`` (lag 1 when it holds no season); NaN where both are 0 or undefined."""
    out = np.full(len(ends), np.nan)
    for lag in dict.fromkeys((1, season)):  # the seasonal lag, when there is one, wins
        if len(train) <= lag:
            continue
        sums = np.concatenate([[0.0], np.cumsum(np.abs(train[lag:] - train[:-lag]))])
        count = ends - lag
        usable = count > 0
        scale = np.where(usable, sums[np.clip(count, 0, None)] / np.maximum(count, 1), 0.0)
        out = np.where(usable & (scale > 0), scale, out)
    return out


@dataclass(frozen=True)
class Samples:
    """Scaled windows with their targets and MASE weights: ``x``, ``mask`` ``(k, L)``,
    ``y`` ``(k, H)``, ``mase_weight`` ``(k,)`` (window scale over in-sample scale)."""

    x: Array
    mask: Array
    y: Array
    mase_weight: Array

    def inputs(self) -> dict[str, npt.NDArray[np.float32]]:
        return {WINDOW_KEY: self.x.astype(np.float32), MASK_KEY: self.mask.astype(np.float32)}

    def weights(self, loss: str) -> npt.NDArray[np.float32]:
        if loss == "mase":
            return self.mase_weight.astype(np.float32)
        return np.ones(len(self.y), np.float32)


def _scaled(values: Array, mask: Array, targets: Array, insample: Array) -> Samples:
    scale = window_scale(values, mask)
    weight = np.where(
        np.isfinite(insample), scale / np.where(np.isfinite(insample), insample, 1.0), 1.0
    )
    return Samples(values / scale[:, None], mask, targets / scale[:, None], weight)


def training_samples(panel: Panel, lookback: int, multiple: float) -> Samples:
    """Every training window of the panel (:func:`cut_points`), from training parts only."""
    h, parts = panel.horizon, []
    for i in range(len(panel.values)):
        train = panel.train(i)
        cuts = cut_points(len(train), h, multiple)
        values, mask = windows_ending(train, cuts, lookback)
        targets = train[cuts[:, None] + np.arange(h)[None, :]]
        parts.append((values, mask, targets, insample_scales(train, cuts, panel.season_length)))
    return _scaled(*(np.concatenate([p[j] for p in parts]) for j in range(4)))


def validation_samples(panel: Panel, lookback: int) -> Samples:
    """One window per series, its training part's last values, with its validation part."""
    trains = [panel.train(i) for i in range(len(panel.values))]
    values, mask = last_windows(trains, lookback)
    targets = np.stack([panel.valid(i) for i in range(len(panel.values))])
    insample = np.array(
        [insample_scales(t, np.array([len(t)]), panel.season_length)[0] for t in trains]
    )
    return _scaled(values, mask, targets, insample)


def smape_loss(y_true: Any, y_pred: Any) -> Any:
    """sMAPE as a fraction (0..2) per window; 0 where target and forecast are both 0."""
    total = ops.abs(y_true) + ops.abs(y_pred)
    ratio = 2.0 * ops.abs(y_true - y_pred) / ops.where(total > 0, total, 1.0)
    return ops.mean(ops.where(total > 0, ratio, 0.0), axis=-1)


def mase_loss(y_true: Any, y_pred: Any) -> Any:
    """The scaled absolute error per window; the sample weight makes it MASE (see Samples)."""
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


LOSSES = {"smape": smape_loss, "mase": mase_loss}


class GlobalServable(tf.Module):
    """A member network with its per-window scaling: raw ``window``, ``mask`` ``[b, L]`` ->
    raw ``forecast`` ``[b, H]`` (signature ``serving_default``)."""

    def __init__(self, model: keras.Model, lookback: int, horizon: int) -> None:
        super().__init__()
        self.model = model
        self.lookback, self.horizon = lookback, horizon
        window = tf.TensorSpec([None, lookback], tf.float32, name=WINDOW_KEY)
        mask = tf.TensorSpec([None, lookback], tf.float32, name=MASK_KEY)
        self.serve = tf.function(self._serve, input_signature=[window, mask])

    def _serve(self, window: tf.Tensor, mask: tf.Tensor) -> dict[str, tf.Tensor]:
        # contract.panel.window_scale in TensorFlow: the same numbers training divided by.
        count = tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)
        scale = tf.reduce_sum(tf.abs(window) * mask, axis=1, keepdims=True) / count
        scale = tf.where(scale > 0, scale, tf.ones_like(scale))
        y = self.model({WINDOW_KEY: window * mask / scale, MASK_KEY: mask}, training=False)
        return {OUTPUT_KEY: y * scale}


def save_member(servable: GlobalServable, folder: Path) -> None:
    """Write a member as a SavedModel with its one signature."""
    tf.saved_model.save(servable, str(folder), signatures={SERVING_SIGNATURE: servable.serve})


def member_forecast(folder: Path, panel: Sequence[Array], lookback: int) -> Array:
    """A saved member's forecasts ``(k, H)`` after each series, through its signature."""
    values, mask = last_windows(panel, lookback)
    signature = tf.saved_model.load(str(folder)).signatures[SERVING_SIGNATURE]
    out = signature(
        **{WINDOW_KEY: tf.constant(values, tf.float32), MASK_KEY: tf.constant(mask, tf.float32)}
    )
    return out[OUTPUT_KEY].numpy().astype(np.float64)


@dataclass
class Member:
    """One trained member and what the metadata records of it."""

    servable: GlobalServable
    lookback: int
    loss: str
    seed: int
    epochs: int
    seconds: float


def _dataset(samples: Samples, loss: str, batch: int, seed: int | None) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices(
        (samples.inputs(), samples.y.astype(np.float32), samples.weights(loss))
    )
    if seed is not None:  # training: shuffled, endless; epochs are counted in steps
        ds = ds.shuffle(len(samples.y), seed=seed, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch).prefetch(tf.data.AUTOTUNE)


def train_member(config: GlobalConfig, run: Plan, lookback: int, loss: str, seed: int) -> Member:
    """Fit one member on the panel's training windows, stopping early on its validation part."""
    panel = config.panel
    started = time.perf_counter()
    train = training_samples(panel, lookback, run.history_multiple)
    hold = validation_samples(panel, lookback)
    keras.utils.set_random_seed(seed)
    model = BUILDERS[config.architecture](lookback, panel.horizon)
    model.compile(optimizer=keras.optimizers.Adam(run.learning_rate), loss=LOSSES[loss])
    history = model.fit(
        _dataset(train, loss, run.batch_size, seed),
        steps_per_epoch=run.steps_per_epoch,
        epochs=run.max_epochs,
        validation_data=_dataset(hold, loss, 4096, None),
        callbacks=[
            keras.callbacks.TerminateOnNaN(),
            # Restores the best epoch's weights at the end, whether it stopped early or not.
            keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True),
        ],
        shuffle=False,  # the dataset shuffles itself
        verbose=0,
    ).history
    losses = history.get("loss", [])
    if not losses or not all(math.isfinite(v) for v in losses):
        raise TrainingDiverged(
            f"{config.architecture} member (lookback {lookback}, {loss}) diverged (loss became"
            f" NaN); lower the learning rate (was {run.learning_rate:g})"
        )
    epochs = int(np.argmin(history["val_loss"])) + 1
    return Member(
        GlobalServable(model, lookback, panel.horizon),
        lookback,
        loss,
        seed,
        epochs,
        time.perf_counter() - started,
    )


def _progress(config: GlobalConfig, text: str) -> None:
    if config.verbose:
        print(f"  {config.model_name}: {text}", flush=True)


def train_and_publish(config: GlobalConfig, store_path: Path) -> Published:
    """Train every member, score their median on the validation parts, publish one version."""
    name = validate_name(config.model_name)
    panel = config.panel
    panel.check()
    run = plan(config)
    started = time.perf_counter()
    members = []
    for lookback, loss, seed in zip(run.lookbacks, run.losses, run.seeds, strict=True):
        member = train_member(config, run, lookback, loss, seed)
        _progress(
            config,
            f"member lookback {lookback}, {loss} loss, seed {seed}: {member.epochs} epochs,"
            f" {member.seconds:.1f} s",
        )
        members.append(member)
    seconds = time.perf_counter() - started
    trains = [panel.train(i) for i in range(len(panel.values))]

    def build(folder: Path) -> ModelMetadata:
        recorded, forecasts = [], []
        for i, member in enumerate(members):
            inside = folder / MEMBERS_DIR / str(i)
            save_member(member.servable, inside)
            # Scored through the exported signature, the path the service answers from.
            forecast = member_forecast(inside, trains, member.lookback)
            forecasts.append(forecast)
            _, own = panel_scoring.panel_scores(panel, forecast)
            recorded.append(
                GlobalMember(
                    lookback=member.lookback,
                    loss=member.loss,
                    seed=member.seed,
                    epochs=member.epochs,
                    validation_smape=round(own.smape, 4),
                    sha256=files_sha256(inside),
                )
            )
        best = min(m.validation_smape for m in recorded)
        used = [m.validation_smape <= best * (1 + MEMBER_TOLERANCE) for m in recorded]
        recorded = [m.model_copy(update={"used": u}) for m, u in zip(recorded, used, strict=True)]
        median = np.median(np.stack([f for f, u in zip(forecasts, used, strict=True) if u]), axis=0)
        scores, by_panel = panel_scoring.validation(panel, median)
        panel_by = by_panel.scores
        model_panel = panel_by["model"]
        panel_scoring.save_forecasts(median, folder)
        lengths = sorted(len(v) for v in panel.values)
        total = sum(lengths)
        _progress(
            config,
            f"validation sMAPE {model_panel.smape:.3f} (naive {panel_by['naive'].smape:.3f}),"
            f" MASE {_cell(model_panel.mase)} (naive {_cell(panel_by['naive'].mase)})",
        )
        return ModelMetadata(
            kind=GLOBAL,
            name=name,
            version=0,
            architecture=config.architecture,
            window_size=max(run.lookbacks),
            horizon=panel.horizon,
            season_length=panel.season_length,
            dataset=DatasetInfo(
                name=panel.name,
                length=total,
                sha256=panel.sha256(),
                split=total - len(lengths) * panel.horizon,
                frequency=panel.frequency,
                last_timestamp=panel.last_timestamp,
                season_length_source=None,
            ),
            training_seconds=round(seconds, 3),
            created_at=now_utc(),
            validation=Validation(
                start=total - len(lengths) * panel.horizon,
                end=total,
                scores=scores,
                panel=by_panel,
            ),
            residual_quantiles=panel_scoring.residual_quantiles(panel, median, max(run.lookbacks)),
            global_=GlobalInfo(
                tensorflow_version=tf.__version__,
                keras_version=keras.__version__,
                members=recorded,
                combination="median",
                choice=f"members within {MEMBER_TOLERANCE:.0%} of the best member's validation"
                f" sMAPE ({best:.3f}): {sum(used)} of {len(used)}",
                min_length=MIN_INPUTS,
                scaling="per window: divided by the mean absolute value of its data (1 if 0)",
                masking=f"left-padded to the lookback, a mask input marks data; at least {MIN_INPUTS} values",
                output=f"direct: the whole horizon of {panel.horizon} in one call; longer horizons"
                " feed the forecast back",
                sampling=f"windows end at every cut point within the last L x H ="
                f" {math.ceil(run.history_multiple * panel.horizon)} values of each training part"
                f" (L from the {run.history_rule})",
                history_multiple=run.history_multiple,
                losses=sorted(set(run.losses)),
                lookbacks_rule=f"{', '.join(f'{m}H' for m in LOOKBACK_MULTIPLES)} for horizon"
                f" {panel.horizon}: {', '.join(map(str, run.lookbacks))}",
                epochs_rule=run.epochs_rule,
                refit=False,
                intervals="validation errors over each series' window scale, by step, times the"
                " scale of the series forecast",
                series=len(lengths),
                lengths=[lengths[0], int(np.median(lengths)), lengths[-1]],
                windows=run.windows,
            ),
        )

    local = LocalStore(store_path)
    version = local.publish(name, build)
    return Published(
        name, version, local.local_folder(name, version), local.read_metadata(name, version)
    )


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
