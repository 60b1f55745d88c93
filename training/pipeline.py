"""Train one architecture on one series and publish it into the store as a new version.

Nothing here reads the validation part (``series[split:]``) before the model is final: early
stopping and the learning-rate sweep use a hold-out carved from the end of the training part.
Architectures that ``refit`` are then trained afresh on the whole training part for the epoch
count early stopping found, so the most recent training values are learnt from too.
The validation part is read only to score the finished model and the baselines, and the model
is scored through the SavedModel's own signatures, the path the service answers from.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

from contract import baselines, metrics, references
from contract.local_store import LocalStore
from contract.metadata import (
    QUANTILE_LEVELS,
    DatasetInfo,
    EnsembleInfo,
    Hyperparameters,
    ModelMetadata,
    ReferenceFit,
    ResidualQuantiles,
    SavedModelInfo,
    Scores,
    Validation,
)
from contract.publishing import now_utc
from contract.store import (
    ASSETS_DIR,
    FORECAST_SIGNATURE,
    INPUT_KEY,
    OUTPUT_KEY,
    SERIES_KEY,
    STEPS_KEY,
    VALIDATION_PICTURE,
    WINDOWED_SIGNATURE,
    validate_name,
)
from training import defaults, plots, windows
from training.architectures import ARCHITECTURES, Architecture
from training.capped import ARIMA_TIME_CAP_ENV, CappedFailed, arima_time_cap, run_capped
from training.data import DataError, Series, check_length, fit_length
from training.export import Servable, load, save
from training.progress import FitProgress

Array = npt.NDArray[np.float64]
Origins = npt.NDArray[np.signedinteger[Any]]  # positions a forecast starts from
T = TypeVar("T")

QUANTILE_STEPS = 30  # residual quantiles are kept for up to this many steps ahead
MIN_RESIDUALS = 10  # a step's quantiles rest on at least this many residuals
TRAINING_TAIL = 8  # training values recorded to find the training part in a request
LR_SWEEP_EPOCHS = 40
LR_SWEEP_START = 1e-6
LR_SWEEP_GROWTH = 10 ** (1 / 8)  # one decade every 8 epochs: 1e-6 .. 1e-1


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; nothing is published for the model."""


@dataclass(frozen=True)
class TrainConfig:
    """What to train; ``None`` takes the architecture's default (see :func:`resolve`).

    Frozen, so that :attr:`hyperparameters`, worked out once, always describe it.
    """

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
    # "level", "difference" or "local_level"; None: training.defaults.inputs decides
    inputs: str | None = None
    verbose: bool = True
    name: str | None = None
    references: bool = True  # fit AutoETS and AutoARIMA beside it (contract.references)

    @property
    def arch(self) -> Architecture:
        return ARCHITECTURES[self.architecture]

    @property
    def model_name(self) -> str:
        return self.name or f"{self.series.name}-{self.architecture}".replace("_", "-")

    @cached_property
    def hyperparameters(self) -> Hyperparameters:
        """:func:`resolve` of this config, worked out on first use and kept."""
        return resolve(self)

    def quiet(self) -> TrainConfig:
        """This config without progress output, keeping the hyper-parameters worked out."""
        quiet = dataclasses.replace(self, verbose=False)
        # verbose does not feed resolve; a cached_property keeps its value in the __dict__.
        quiet.__dict__["hyperparameters"] = self.hyperparameters
        return quiet


def given(value: T | None, default: T) -> T:
    """``value``, or ``default`` when it was not given."""
    return default if value is None else value


def resolve(config: TrainConfig) -> Hyperparameters:
    """The run's hyper-parameters: each option ``config`` leaves unset takes the architecture's.

    The window, unless given, is sized from the series by :func:`training.defaults.window_size`;
    DataError when no window fits the series (:func:`training.data.check_length`, the one place
    that rule is decided). Use :attr:`TrainConfig.hyperparameters`, which resolves a config once.
    """
    arch, series = config.arch, config.series
    if config.window_size is None:
        window, rule = defaults.window_size(
            arch.window_size,
            arch.season_window,
            series.season_length,
            series.split,
            config.horizon,
            config.holdout,
        )
    else:
        window, rule = config.window_size, "given"
    if config.inputs is None:
        inputs, inputs_rule = defaults.inputs(series.train, config.holdout)
    else:
        inputs, inputs_rule = config.inputs, "given"
    # A causal convolution stack reads positional inputs where its window allows: one pass.
    span, positional = 0, None
    if arch.receptive_field is not None and config.inputs != "level":
        cap = defaults.max_window(series.split, config.horizon, config.holdout)
        positional = defaults.one_pass(arch.receptive_field, inputs, config.window_size, cap)
    if positional is not None:
        window, inputs, span, why = positional
        rule = why if config.window_size is None else rule
        inputs_rule += "; positional, for one pass over the series"
    elif inputs == "local_level":
        raise DataError(
            f"inputs local_level needs a causal convolution stack (wavenet) and a window longer"
            f" than its receptive field; {arch.name} has window {window}"
        )
    check_length(len(series.values), window, config.horizon, series.split, config.holdout)
    if config.epochs is None:
        epochs, epochs_rule = defaults.max_epochs(arch.epochs, series.split, config.holdout)
    else:
        epochs, epochs_rule = config.epochs, "given"
    return Hyperparameters(
        window_size=window,
        window_rule=rule,
        horizon=config.horizon,
        batch_size=1 if arch.stateful else given(config.batch_size, arch.batch_size),
        optimizer=arch.optimizer,
        learning_rate=given(config.learning_rate, arch.learning_rate),
        max_epochs=epochs,
        epochs_rule=epochs_rule,
        patience=given(config.patience, arch.patience),
        holdout=config.holdout,
        refit=given(config.refit, arch.refit),
        seed=config.seed,
        find_lr=config.find_lr,
        stateful_training=arch.stateful,
        inputs=inputs,
        inputs_rule=inputs_rule,
        level_span=span or None,
        one_pass=positional is not None,
    )


@dataclass
class Trained:
    """A finished model with what the metadata records about its training."""

    servable: tf.Module  # a Servable, or an ensemble of them
    hyperparameters: Hyperparameters
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
    metadata: ModelMetadata
    servable: tf.Module | None = (
        None  # in memory after training in this process (an ensemble's member)
    )


@dataclass
class _Windows:
    """Scaled windows of the training part: ``fit`` and ``hold`` split it, ``every`` is both."""

    fit: tuple[Array, Array]
    hold: tuple[Array, Array, Array | None]  # with per-step loss weights for sequence outputs
    every: tuple[Array, Array]
    scale: float


def _positional(x: Array, hp: Hyperparameters) -> tuple[Array, Array]:
    """``training.export.Servable.positional`` in numpy: rows of raw values -> inputs, levels."""
    if hp.inputs == "difference":
        return np.diff(x, axis=1), x[:, 1:]
    span = hp.level_span
    if span is None:
        raise ValueError(f"inputs {hp.inputs!r} are not positional")
    level = np.lib.stride_tricks.sliding_window_view(x, span, axis=1).mean(axis=-1)
    return x[:, span - 1 :] - level, level


def _split_windows(train: Array, arch: Architecture, hp: Hyperparameters) -> _Windows:
    """Training and hold-out windows from the training part only, and the scale.

    A sequence-to-sequence hold-out window also forecasts values of the fit part at its earlier
    steps; those steps get weight 0 so that the hold-out loss scores only values after the fit part.
    """
    window, horizon = hp.window_size, hp.horizon
    # That the fit part and the hold-out hold windows at all, resolve has checked (check_length).
    fit_end = fit_length(len(train), hp.holdout)
    differenced = hp.inputs == "difference"
    # Differences are divided by their spread; levels, local or not, by the values' spread.
    scale = float(np.std(np.diff(train[:fit_end]) if differenced else train[:fit_end])) or 1.0
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
            f" {hp.holdout:.0%} hold-out"
        )

    def scaled(x: Array, y: Array) -> tuple[Array, Array]:
        if hp.one_pass:  # step t of the sequence output forecasts from its level at t
            inputs, level = _positional(x, hp)
            return inputs / scale, (y[:, -inputs.shape[1] :] - level[:, :, None]) / scale
        if differenced:
            # Step t of a sequence output forecasts from x[t]; a vector output from the last.
            inputs = np.diff(x, axis=1, prepend=x[:, :1])
            last = x[:, :, None] if y.ndim == 3 else x[:, -1:]
            return inputs / scale, (y - last) / scale
        origin = x[:, :1]
        if y.ndim == 3:
            return (x - origin) / scale, (y - origin[:, :, None]) / scale
        return (x - origin) / scale, (y - origin) / scale

    weights = None
    if y_all.ndim == 3:
        targets_at = starts[hold, None] + np.arange(1, window + 1)[None, :]  # (k, W)
        weights = (targets_at >= fit_end).astype(np.float64)
        if hp.one_pass:  # the steps that have inputs: the last ones
            weights = weights[:, -_positional(x_all[:1], hp)[0].shape[1] :]
    return _Windows(
        fit=scaled(x_all[fit], y_all[fit]),
        hold=(*scaled(x_all[hold], y_all[hold]), weights),
        every=scaled(x_all, y_all),
        scale=scale,
    )


def _holdout_mae(model: keras.Model, arch: Architecture, data: _Windows) -> float:
    """The served one-step forecast's MAE on the hold-out windows, in the series' units."""
    x, y, _ = data.hold
    batch = model.inputs[0].shape[0]  # a stateful model's fixed batch, else None
    if batch is None:
        predicted = model.predict(x.astype(np.float32), verbose=0)
    else:
        stateless = arch.build(x.shape[1], y.shape[-1], None)
        stateless.set_weights(model.get_weights())
        predicted = stateless.predict(x.astype(np.float32), verbose=0)
    if predicted.ndim == 3:
        predicted, y = predicted[:, -1, :], y[:, -1, :]
    return float(np.mean(np.abs(predicted[:, 0] - y[:, 0])) * data.scale)


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


def _compiled(arch: Architecture, hp: Hyperparameters, learning_rate: float) -> keras.Model:
    """A freshly initialised model (seeded), compiled with the Huber loss."""
    keras.utils.set_random_seed(hp.seed)
    model = arch.build(hp.window_size, hp.horizon, hp.batch_size if arch.stateful else None)
    optimizer: keras.optimizers.Optimizer = (
        keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
        if hp.optimizer == "sgd"
        else keras.optimizers.Adam(learning_rate=learning_rate)
    )
    model.compile(loss=keras.losses.Huber(), optimizer=optimizer, metrics=["mae"])
    return model


def _fit(
    model: keras.Model,
    arch: Architecture,
    hp: Hyperparameters,
    data: tuple[Array, Array],
    epochs: int,
    *,
    hold: tuple[Array, Array, Array | None] | None = None,
    schedule: keras.callbacks.Callback | None = None,
    progress: FitProgress | None = None,
) -> dict[str, list[float]]:
    """Fit ``model`` on ``data`` (early stopping on ``hold`` when given); returns the history.

    Training stops at the first NaN loss; the caller decides whether that is a failure.
    """
    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
    if hold is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=hp.patience, restore_best_weights=True
            )
        )
    if schedule is not None:
        callbacks.append(schedule)
    if arch.stateful:
        callbacks.append(_ResetStates())
    if progress is not None:
        callbacks.append(progress)
    history = model.fit(
        windows.dataset(*data, hp.batch_size, shuffle=not arch.stateful, seed=hp.seed),
        validation_data=(
            _hold_dataset(hold, hp.batch_size, arch.stateful) if hold is not None else None
        ),
        epochs=epochs,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself; stateful windows must stay in order
        verbose=0,  # not Keras' line per epoch: progress, when given, is one line a model
    )
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}


def _check_finite(history: dict[str, list[float]], what: str, learning_rate: float) -> None:
    losses = history.get("loss", [])
    if not losses or not all(math.isfinite(v) for v in losses):
        raise TrainingDiverged(
            f"{what} diverged (loss became NaN); lower the learning rate (was {learning_rate:g})"
        )


def sweep_learning_rate(
    arch: Architecture, hp: Hyperparameters, fit: tuple[Array, Array]
) -> tuple[float, list[float], list[float]]:
    """The course's sweep: grow the learning rate each epoch, keep the loss; pick from the curve.

    Returns the chosen rate (a tenth of the rate with the lowest smoothed loss) and the curve.
    """
    model = _compiled(arch, hp, LR_SWEEP_START)
    schedule = keras.callbacks.LearningRateScheduler(
        lambda epoch: LR_SWEEP_START * LR_SWEEP_GROWTH**epoch
    )
    history = _fit(model, arch, hp, fit, LR_SWEEP_EPOCHS, schedule=schedule)
    losses = history["loss"]
    rates = [LR_SWEEP_START * LR_SWEEP_GROWTH**i for i in range(len(losses))]
    finite = [(r, v) for r, v in zip(rates, losses, strict=True) if math.isfinite(v)]
    if not finite:
        raise TrainingDiverged(f"{arch.name}: the learning-rate sweep diverged at every rate")
    values = np.array([v for _, v in finite])
    smooth = np.convolve(values, np.ones(3) / 3, mode="same") if len(values) >= 3 else values
    best_rate = finite[int(np.argmin(smooth))][0]
    return best_rate / 10, rates, losses


def train(config: TrainConfig) -> Trained:
    """Fit ``config.architecture`` on the training part, stopping early on its hold-out."""
    arch, series = config.arch, config.series
    hp = config.hyperparameters
    data = _split_windows(series.train, arch, hp)
    progress = FitProgress(config.model_name, refit=hp.refit) if config.verbose else None

    started = time.perf_counter()
    sweep = None
    if hp.find_lr:
        rate, rates, losses = sweep_learning_rate(arch, hp, data.fit)
        hp = hp.model_copy(update={"learning_rate": rate})
        sweep = (rates, losses)

    model = _compiled(arch, hp, hp.learning_rate)
    history = _fit(model, arch, hp, data.fit, hp.max_epochs, hold=data.hold, progress=progress)
    _check_finite(history, arch.name, hp.learning_rate)
    searched = len(history["loss"])
    epochs = searched
    # Measured before a refit learns the hold-out too: an honest score for the ensemble's weights.
    holdout_mae = _holdout_mae(model, arch, data)
    if hp.refit:
        # The hold-out has chosen the epoch count; now the last part of the training data (the
        # most recent values, a whole season's jump among them) is learnt from too.
        epochs = int(np.argmin(history["val_loss"])) + 1
        model = _compiled(arch, hp, hp.learning_rate)
        refit = _fit(model, arch, hp, data.every, epochs, progress=progress)
        _check_finite(refit, f"{arch.name} refitted", hp.learning_rate)
        history["refit_loss"] = refit["loss"]
    if arch.stateful:
        # Same weights, no state: the served model reads any window on its own.
        stateless = arch.build(hp.window_size, hp.horizon, None)
        stateless.set_weights(model.get_weights())
        model = stateless
    seconds = time.perf_counter() - started

    hp = hp.model_copy(
        update={"holdout_epochs": searched, "scale": data.scale, "holdout_mae": holdout_mae}
    )
    servable = Servable(
        model,
        hp.window_size,
        hp.horizon,
        arch.output == "sequence",
        data.scale,
        inputs=hp.inputs,
        one_pass=hp.one_pass,
        span=hp.level_span or 0,
        affine=arch.affine,
    )
    return Trained(servable, hp, epochs, seconds, history, sweep)


_FITTED_REFERENCES: dict[
    tuple[str, int, int], tuple[dict[str, Scores], dict[str, ReferenceFit]]
] = {}


def score_references(series: Series) -> tuple[dict[str, Scores], dict[str, ReferenceFit]]:
    """AutoETS and AutoARIMA fitted on the training part, scored one step ahead on the rest.

    Fitted once per series, split and season in a process, however many architectures are
    trained on it, each under the AutoARIMA time cap (``FORECAST_ARIMA_TIME_CAP``). A reference
    that cannot be fitted, or runs past the cap, has no score and says why.
    """
    key = (series.sha256(), series.split, series.season_length)
    if key not in _FITTED_REFERENCES:
        x, split, m = series.values, series.split, series.season_length
        scale = metrics.naive_scale(series.train)
        scores, fits = {}, {}
        cap = arima_time_cap()
        for name in references.NAMES:
            season = references.season_used(name, m, split)
            try:
                # AutoARIMA's seasonal search can take many minutes (a season of 48): capped as
                # the auto_arima versions are (training.statistical).
                done, fitted = run_capped(
                    references.windowed, (name, x, split, m), cap, (references.ReferenceError,)
                )
            except (references.ReferenceError, CappedFailed) as e:
                fits[name] = ReferenceFit(
                    model=None, season_length=season, fit_values=0, seconds=0.0, error=str(e)
                )
                continue
            if not done:
                fits[name] = ReferenceFit(
                    model=None,
                    season_length=season,
                    fit_values=0,
                    seconds=cap,
                    error=f"not scored: {name} ran past the {cap:g} s cap ({ARIMA_TIME_CAP_ENV})",
                )
                continue
            scores[name] = Scores(**metrics.score(x[split:], fitted.values, scale))
            fits[name] = ReferenceFit(
                model=fitted.description,
                season_length=fitted.season_length,
                fit_values=fitted.fit_values,
                seconds=fitted.seconds,
            )
        _FITTED_REFERENCES[key] = (scores, fits)
    return _FITTED_REFERENCES[key]


def score(series: Series, forecast: Array, with_references: bool = True) -> Validation:
    """One-step scores over ``series[split:]`` of ``forecast`` ``(n - split,)`` and every baseline.

    ``with_references`` adds AutoETS's and AutoARIMA's scores on the same positions.
    """
    x, split, m = series.values, series.split, series.season_length
    actual = x[split:]
    scale = metrics.naive_scale(series.train)
    scores = {"model": Scores(**metrics.score(actual, forecast, scale))}
    for name in baselines.available(split + 1, m):
        start, values = baselines.windowed(name, x, m)
        if start <= split:
            scores[name] = Scores(**metrics.score(actual, values[split - start :], scale))
    fits: dict[str, ReferenceFit] = {}
    if with_references:
        reference_scores, fits = score_references(series)
        scores.update(reference_scores)
    return Validation(start=split, end=len(x), scores=scores, references=fits)


def quantile_origins(series: Series, most: int | None = None) -> tuple[Origins, int]:
    """The validation origins whose multi-step residuals give the intervals, and the steps.

    Every origin from the split on with at least one value after it, each forecast
    ``steps = min(30, validation length)`` ahead; a step that runs past the series' end has no
    residual (:func:`residual_quantiles`). ``most`` thins them evenly (a model whose every
    forecast refits a decomposition cannot afford hundreds).
    """
    steps = min(QUANTILE_STEPS, len(series.values) - series.split)
    origins = np.arange(series.split, len(series.values))
    if most is not None and len(origins) > most:
        origins = origins[np.unique(np.linspace(0, len(origins) - 1, most).round().astype(int))]
    return origins, steps


def residual_quantiles(series: Series, origins: Origins, predicted: Array) -> ResidualQuantiles:
    """Quantiles by step of ``actual - predicted`` ``(origins, steps)`` over the residuals there are.

    Step ``h`` has one residual per origin with a value ``h`` steps after it. The rows kept are
    those of the steps with at least :data:`MIN_RESIDUALS` residuals (and step 1 whenever it
    has two: fewer give no spread at all); the service widens the last row kept by the square
    root of the steps beyond it. ``counts`` records how many residuals each row rests on.
    """
    n = len(series.values)
    steps = predicted.shape[1]
    at = origins[:, None] + np.arange(steps)[None, :]  # (origins, steps) positions forecast
    truth = np.where(at < n, series.values[np.minimum(at, n - 1)], np.nan)
    residuals = truth - predicted
    counts = np.count_nonzero(~np.isnan(residuals), axis=0)
    kept = int(np.count_nonzero(counts >= MIN_RESIDUALS))  # counts fall as steps grow
    if kept == 0 and steps and counts[0] >= 2:
        kept = 1
    levels = list(QUANTILE_LEVELS)
    by_step = (
        np.nanquantile(residuals[:, :kept], levels, axis=0).T if kept else np.empty((0, 0))
    )  # (kept, levels)
    return ResidualQuantiles(
        levels=levels,
        by_step=by_step.tolist(),
        count=int(counts[0]) if steps else 0,
        counts=[int(c) for c in counts[:kept]],
    )


def network_forecasts(
    saved: tf.Module, x: Array, origins: Origins, steps: int
) -> tuple[int, Array, Array]:
    """A SavedModel's one-step forecasts of ``x[start:]`` and its ``steps``-step forecasts from
    each origin, through its ``windowed`` and ``forecast`` signatures: ``(start, (n - start,),
    (origins, steps))``."""
    whole = saved.signatures[WINDOWED_SIGNATURE](**{SERIES_KEY: tf.constant(x[None], tf.float32)})
    every = whole[OUTPUT_KEY].numpy()[0].astype(np.float64)  # forecasts of x[window:]
    window = len(x) - len(every)
    inputs = np.stack([x[t - window : t] for t in origins]).astype(np.float32)
    ahead = saved.signatures[FORECAST_SIGNATURE](
        **{INPUT_KEY: tf.constant(inputs), STEPS_KEY: tf.constant(steps, tf.int32)}
    )
    return window, every, ahead[OUTPUT_KEY].numpy().astype(np.float64)


def validate(
    saved: tf.Module, series: Series, with_references: bool = True
) -> tuple[Validation, ResidualQuantiles, Array]:
    """Score a saved model and every baseline one step ahead over ``series[split:]``.

    The model's one-step forecasts come from one call of the SavedModel's ``windowed``
    signature over the whole series, as ``POST /forecast`` makes it; its multi-step residuals
    (quantiles 1..30 steps ahead, behind the prediction intervals) from the ``forecast``
    signature. Also returns the one-step forecasts of ``series[split:]``, shape ``(n - split,)``.
    """
    origins, steps = quantile_origins(series)
    window, every, predicted = network_forecasts(saved, series.values, origins, steps)
    forecast = every[series.split - window :]
    validation = score(series, forecast, with_references)
    return validation, residual_quantiles(series, origins, predicted), forecast


def dataset_info(series: Series) -> DatasetInfo:
    """What ``metadata.json`` records of the series a version was trained on."""
    return DatasetInfo(
        name=series.name,
        length=len(series.values),
        sha256=series.sha256(),
        split=series.split,
        frequency=series.frequency,
        last_timestamp=series.last_timestamp,
        season_length_source=series.season_length_source,
        training_tail=[float(v) for v in series.train[-TRAINING_TAIL:]],
    )


def train_and_publish(config: TrainConfig, store_path: Path) -> Published:
    """Train, export, score the export on the validation part, and publish it as the next version."""
    name = validate_name(config.model_name)
    trained = train(config)
    published = publish_servable(
        store_path,
        name,
        config.architecture,
        trained,
        config.series,
        config.references,
    )
    published.servable = trained.servable
    return published


def publish_servable(
    store_path: Path,
    name: str,
    architecture: str,
    trained: Trained,
    series: Series,
    with_references: bool = True,
    ensemble: EnsembleInfo | None = None,
) -> Published:
    """Export ``trained``, score the export on the validation part, publish the next version."""
    hp = trained.hyperparameters

    def build(folder: Path) -> ModelMetadata:
        save(trained.servable, folder)
        validation, quantiles, forecast = validate(load(folder), series, with_references)
        assets = folder / ASSETS_DIR
        assets.mkdir(exist_ok=True)
        plots.validation_png(
            assets / VALIDATION_PICTURE,
            series,
            forecast,
            f"{name}: validation MAE {validation.scores['model'].mae:.3f}",
        )
        if trained.lr_sweep is not None:
            plots.sweep_png(assets / "lr_sweep.png", *trained.lr_sweep, hp.learning_rate)
        return ModelMetadata(
            name=name,
            version=0,
            architecture=architecture,
            window_size=hp.window_size,
            horizon=hp.horizon,
            season_length=series.season_length,
            dataset=dataset_info(series),
            training_seconds=round(trained.seconds, 3),
            created_at=now_utc(),
            savedmodel=SavedModelInfo(
                tensorflow_version=tf.__version__,
                keras_version=keras.__version__,
                hyperparameters=hp,
                epochs=trained.epochs,
            ),
            validation=validation,
            residual_quantiles=quantiles,
            ensemble=ensemble,
        )

    local = LocalStore(store_path)
    version = local.publish(name, build)
    return Published(
        name, version, local.local_folder(name, version), local.read_metadata(name, version)
    )
