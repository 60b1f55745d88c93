"""Train one architecture on one series and publish it into the store as a new version.

Nothing here reads the validation part (``series[split:]``) before the model is final: early
stopping and the learning-rate sweep use a hold-out carved from the end of the training part.
Architectures that ``refit`` are then trained afresh on the whole training part for the epoch
count early stopping found, so the most recent training values are learnt from too.
The validation part is read only to score the finished model and the baselines.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

from training import baselines, metrics, store, windows
from training.architectures import ARCHITECTURES, Architecture
from training.data import DataError, Series, check_length
from training.export import Servable, save

Array = npt.NDArray[np.float64]

QUANTILE_STEPS = 30  # residual quantiles are kept for up to this many steps ahead
LR_SWEEP_EPOCHS = 40
LR_SWEEP_START = 1e-6
LR_SWEEP_GROWTH = 10 ** (1 / 8)  # one decade every 8 epochs: 1e-6 .. 1e-1


@dataclass
class TrainConfig:
    """What to train; ``None`` takes the architecture's default."""

    architecture: str
    series: Series
    window_size: int | None = None
    horizon: int = 1
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    patience: int | None = None
    holdout: float = 0.2
    refit: bool | None = None
    seed: int = 42
    find_lr: bool = False
    verbose: bool = True
    name: str | None = None

    @property
    def arch(self) -> Architecture:
        return ARCHITECTURES[self.architecture]

    @property
    def model_name(self) -> str:
        return self.name or f"{self.series.name}-{self.architecture}".replace("_", "-")


@dataclass
class Trained:
    """A finished model with what the metadata records about its training."""

    servable: Servable
    hyperparameters: dict[str, Any]
    epochs: int
    seconds: float
    history: dict[str, list[float]]
    lr_sweep: tuple[list[float], list[float]] | None = None


@dataclass
class Published:
    """A version that is now in the store."""

    name: str
    version: int
    path: Path
    metadata: store.ModelMetadata
    extra: dict[str, Any] = field(default_factory=dict)


def _verbosity(config: TrainConfig) -> int:
    if not config.verbose:
        return 0
    return 1 if sys.stdout.isatty() else 2


@dataclass
class _Windows:
    """Scaled windows of the training part: ``fit`` and ``hold`` split it, ``every`` is both."""

    fit: tuple[Array, Array]
    hold: tuple[Array, Array, Array | None]  # with per-step loss weights for sequence outputs
    every: tuple[Array, Array]
    scale: float


def _split_windows(config: TrainConfig, window: int, horizon: int) -> _Windows:
    """Training and hold-out windows from the training part only, and the scale.

    A sequence-to-sequence hold-out window also forecasts values of the fit part at its earlier
    steps; those steps get weight 0 so that the hold-out loss scores only values after the fit part.
    """
    train = config.series.train
    fit_end = round(len(train) * (1 - config.holdout))
    if fit_end < window + horizon + 1 or len(train) - fit_end < horizon + 1:
        raise DataError(
            f"series too short: the training part ({len(train)} values) cannot hold a hold-out of"
            f" {config.holdout:.0%} and still fit windows of {window} + horizon {horizon}"
        )
    scale = float(np.std(train[:fit_end])) or 1.0
    arch = config.arch
    if arch.stateful:
        x_all, y_all = windows.consecutive(train, window, horizon)
        starts = np.arange(len(x_all)) * window
    elif arch.output == "sequence":
        x_all, y_all = windows.seq2seq_arrays(train, window, horizon)
        starts = np.arange(len(x_all))
    else:
        x_all, y_all = windows.seq2vec_arrays(train, window, horizon)
        starts = np.arange(len(x_all))
    ends = starts + window + horizon  # one past the last value a window's targets use
    fit = ends <= fit_end
    hold = (starts + window >= fit_end) if not arch.stateful else ~fit
    if not fit.any() or not hold.any():
        raise DataError(
            f"series too short for window {window} and horizon {horizon} with a"
            f" {config.holdout:.0%} hold-out"
        )

    def scaled(x: Array, y: Array) -> tuple[Array, Array]:
        origin = x[:, :1]
        if y.ndim == 3:
            return (x - origin) / scale, (y - origin[:, :, None]) / scale
        return (x - origin) / scale, (y - origin) / scale

    weights = None
    if y_all.ndim == 3:
        targets_at = starts[hold, None] + np.arange(1, window + 1)[None, :]  # (k, W)
        weights = (targets_at >= fit_end).astype(np.float64)
    return _Windows(
        fit=scaled(x_all[fit], y_all[fit]),
        hold=(*scaled(x_all[hold], y_all[hold]), weights),
        every=scaled(x_all, y_all),
        scale=scale,
    )


def _hold_dataset(
    hold: tuple[Array, Array, Array | None], batch: int, stateful: bool
) -> tf.data.Dataset:
    """The hold-out in order, every window kept (stateful layers need full batches)."""
    arrays = tuple(a.astype(np.float32) for a in hold if a is not None)
    ds = tf.data.Dataset.from_tensor_slices(arrays)
    return ds.batch(batch, drop_remainder=stateful).prefetch(tf.data.AUTOTUNE)


class _ResetStates(keras.callbacks.Callback):
    """Stateful layers start every epoch from zero state (the windows restart at the series' start)."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()


def _optimizer(arch: Architecture, lr: float) -> keras.optimizers.Optimizer:
    if arch.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    return keras.optimizers.Adam(learning_rate=lr)


def _build(arch: Architecture, window: int, horizon: int, batch: int) -> keras.Model:
    return arch.build(window, horizon, batch if arch.stateful else None)


def sweep_learning_rate(
    config: TrainConfig, fit: tuple[Array, Array], window: int, horizon: int, batch: int
) -> tuple[float, list[float], list[float]]:
    """The course's sweep: grow the learning rate each epoch, keep the loss; pick from the curve.

    Returns the chosen rate (a tenth of the rate with the lowest smoothed loss) and the curve.
    """
    arch = config.arch
    keras.utils.set_random_seed(config.seed)
    model = _build(arch, window, horizon, batch)
    model.compile(loss=keras.losses.Huber(), optimizer=_optimizer(arch, LR_SWEEP_START))
    schedule = keras.callbacks.LearningRateScheduler(
        lambda epoch: LR_SWEEP_START * LR_SWEEP_GROWTH**epoch
    )
    callbacks: list[keras.callbacks.Callback] = [schedule, keras.callbacks.TerminateOnNaN()]
    if arch.stateful:
        callbacks.append(_ResetStates())
    history = model.fit(
        windows.dataset(*fit, batch, shuffle=not arch.stateful, seed=config.seed),
        epochs=LR_SWEEP_EPOCHS,
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )
    losses = [float(v) for v in history.history["loss"]]
    rates = [LR_SWEEP_START * LR_SWEEP_GROWTH**i for i in range(len(losses))]
    finite = [(r, v) for r, v in zip(rates, losses, strict=True) if math.isfinite(v)]
    if not finite:
        raise RuntimeError("the learning-rate sweep diverged at every rate")
    values = np.array([v for _, v in finite])
    smooth = np.convolve(values, np.ones(3) / 3, mode="same") if len(values) >= 3 else values
    best_rate = finite[int(np.argmin(smooth))][0]
    return best_rate / 10, rates, losses


def train(config: TrainConfig) -> Trained:
    """Fit ``config.architecture`` on the training part, stopping early on its hold-out."""
    arch = config.arch
    series = config.series
    window = config.window_size or arch.window_size
    horizon = config.horizon
    check_length(len(series.values), window, horizon, series.split)
    batch = 1 if arch.stateful else (config.batch_size or arch.batch_size)
    epochs = config.epochs if config.epochs is not None else arch.epochs
    patience = config.patience if config.patience is not None else arch.patience
    data = _split_windows(config, window, horizon)
    fit, scale = data.fit, data.scale
    refit = config.refit if config.refit is not None else arch.refit

    started = time.perf_counter()
    lr = config.learning_rate or arch.learning_rate
    sweep = None
    if config.find_lr:
        lr, rates, losses = sweep_learning_rate(config, fit, window, horizon, batch)
        sweep = (rates, losses)

    keras.utils.set_random_seed(config.seed)
    model = _build(arch, window, horizon, batch)
    model.compile(loss=keras.losses.Huber(), optimizer=_optimizer(arch, lr), metrics=["mae"])
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        ),
        keras.callbacks.TerminateOnNaN(),
    ]
    if arch.stateful:
        callbacks.append(_ResetStates())
    history = model.fit(
        windows.dataset(*fit, batch, shuffle=not arch.stateful, seed=config.seed),
        validation_data=_hold_dataset(data.hold, batch, arch.stateful),
        epochs=epochs,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself; stateful windows must stay in order
        verbose=_verbosity(config),
    )
    losses = history.history.get("loss", [])
    if not losses or not all(math.isfinite(v) for v in losses):
        raise RuntimeError(
            f"{arch.name} diverged (loss became NaN); lower the learning rate (was {lr:g})"
        )
    searched = len(losses)
    trained_epochs = searched
    if refit:
        # The hold-out has chosen the epoch count; now the last part of the training data (the
        # most recent values, a whole season's jump among them) is learnt from too.
        trained_epochs = int(np.argmin(history.history["val_loss"])) + 1
        keras.utils.set_random_seed(config.seed)
        model = _build(arch, window, horizon, batch)
        model.compile(loss=keras.losses.Huber(), optimizer=_optimizer(arch, lr), metrics=["mae"])
        refit_history = model.fit(
            windows.dataset(*data.every, batch, shuffle=not arch.stateful, seed=config.seed),
            epochs=trained_epochs,
            callbacks=callbacks[1:],  # all but early stopping
            shuffle=False,
            verbose=_verbosity(config),
        )
        refit_losses = refit_history.history.get("loss", [])
        if not refit_losses or not all(math.isfinite(v) for v in refit_losses):
            raise RuntimeError(
                f"{arch.name} diverged when refitted (loss became NaN); lower the learning rate"
                f" (was {lr:g})"
            )
        history.history["refit_loss"] = refit_losses
    if arch.stateful:
        # Same weights, no state: the served model reads any window on its own.
        stateless = arch.build(window, horizon, None)
        stateless.set_weights(model.get_weights())
        model = stateless
    seconds = time.perf_counter() - started

    hyperparameters = {
        "window_size": window,
        "horizon": horizon,
        "batch_size": batch,
        "optimizer": arch.optimizer,
        "learning_rate": lr,
        "max_epochs": epochs,
        "patience": patience,
        "holdout": config.holdout,
        "refit": refit,
        "holdout_epochs": searched,
        "loss": "huber",
        "seed": config.seed,
        "scale": scale,
        "find_lr": config.find_lr,
        "stateful_training": arch.stateful,
    }
    servable = Servable(model, window, horizon, arch.output == "sequence", scale)
    return Trained(
        servable=servable,
        hyperparameters=hyperparameters,
        epochs=trained_epochs,
        seconds=seconds,
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
        lr_sweep=sweep,
    )


def windowed_forecast(servable: Servable, series: Array, start: int) -> Array:
    """One-step-ahead forecasts of ``series[start:]``, one batched call; shape ``(n - start,)``."""
    window = servable.window_size
    inputs = windows.sliding(series[start - window : -1], window).astype(np.float32)
    return servable.step(tf.constant(inputs)).numpy()[:, 0].astype(np.float64)


def validate(
    servable: Servable, series: Series
) -> tuple[store.Validation, store.ResidualQuantiles, Array]:
    """Score the model and every baseline one step ahead over ``series[split:]``.

    Also returns the quantiles of the model's residuals 1..30 steps ahead, and the one-step
    forecasts (shape ``(n - split,)``).
    """
    x, split, m = series.values, series.split, series.season_length
    actual = x[split:]
    forecast = windowed_forecast(servable, x, split)
    scale = metrics.naive_scale(series.train)
    scores = {"model": store.Scores(**metrics.score(actual, forecast, scale))}
    for name in baselines.available(split + 1, m):
        start, values = baselines.windowed(name, x, m)
        if start <= split:
            scores[name] = store.Scores(**metrics.score(actual, values[split - start :], scale))

    steps = min(QUANTILE_STEPS, len(actual))
    origins = np.arange(split, len(x) - steps + 1)
    inputs = np.stack([x[t - servable.window_size : t] for t in origins]).astype(np.float32)
    ahead = servable.forecast(tf.constant(inputs), tf.constant(steps, tf.int32))
    predicted = ahead[store.OUTPUT_KEY].numpy().astype(np.float64)
    truth = np.stack([x[t : t + steps] for t in origins])
    residuals = truth - predicted  # (origins, steps)
    levels = list(store.QUANTILE_LEVELS)
    by_step = np.quantile(residuals, levels, axis=0).T  # (steps, levels)
    quantiles = store.ResidualQuantiles(levels=levels, by_step=by_step.tolist(), count=len(origins))
    validation = store.Validation(start=split, end=len(x), scores=scores)
    return validation, quantiles, forecast


def _plot_validation(path: Path, series: Series, forecast: Array, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    t = np.arange(len(series.values))
    ax.plot(t, series.values, lw=0.8, color="0.6", label="series")
    ax.plot(t[series.split :], forecast, lw=1.0, color="C0", label="one-step forecast")
    ax.axvline(series.split, color="k", ls=":", lw=0.8)
    ax.set_title(title)
    ax.set_xlabel("time step")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_sweep(path: Path, rates: list[float], losses: list[float], chosen: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogx(rates, losses)
    ax.axvline(chosen, color="C1", ls="--", label=f"chosen {chosen:.2g}")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (Huber)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_and_publish(config: TrainConfig, store_path: Path) -> Published:
    """Train, score on the validation part, and publish the result as the next version."""
    name = store.validate_name(config.model_name)
    trained = train(config)
    validation, quantiles, forecast = validate(trained.servable, config.series)
    series = config.series

    def build(folder: Path) -> store.ModelMetadata:
        save(trained.servable, folder)
        assets = folder / "assets"
        assets.mkdir(exist_ok=True)
        _plot_validation(
            assets / "validation.png",
            series,
            forecast,
            f"{name}: validation MAE {validation.scores['model'].mae:.3f}",
        )
        if trained.lr_sweep is not None:
            _plot_sweep(
                assets / "lr_sweep.png", *trained.lr_sweep, trained.hyperparameters["learning_rate"]
            )
        return store.ModelMetadata(
            name=name,
            version=0,
            architecture=config.architecture,
            window_size=trained.servable.window_size,
            horizon=trained.servable.horizon,
            season_length=series.season_length,
            dataset=store.DatasetInfo(
                name=series.name,
                length=len(series.values),
                sha256=series.sha256(),
                split=series.split,
            ),
            hyperparameters=trained.hyperparameters,
            epochs=trained.epochs,
            training_seconds=round(trained.seconds, 3),
            tensorflow_version=tf.__version__,
            keras_version=keras.__version__,
            created_at=store.now_utc(),
            validation=validation,
            residual_quantiles=quantiles,
        )

    version, path = store.publish(store_path, name, build)
    return Published(name, version, path, store.read_metadata(path))
