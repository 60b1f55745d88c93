"""What training may read: the fit part for scaling, never the validation part for anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from contract import store
from tests.support import WINDOW
from training import pipeline
from training.data import DataError, Series
from training.pipeline import TrainConfig, train

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["tiny-linear", "tiny-stateful-rnn", "tiny-wavenet"])
def test_scale_is_the_std_of_the_fit_part(
    model_store: Path, short_series: Series, name: str
) -> None:
    hyper = store.read_metadata(store.version_dir(model_store, name, 1)).network.hyperparameters
    fit_end = round(short_series.split * (1 - hyper.holdout))
    assert fit_end < short_series.split
    assert hyper.scale == pytest.approx(np.std(short_series.values[:fit_end]), rel=1e-12)
    assert hyper.scale != pytest.approx(np.std(short_series.values), rel=1e-3)


def test_servable_scales_each_window_by_its_first_value_and_the_fit_std(
    trained_model: Callable[..., Any], short_series: Series
) -> None:
    trained = trained_model("linear")
    servable, scale = trained.servable, trained.hyperparameters.scale
    assert float(servable.scale) == pytest.approx(scale, rel=1e-6)
    w = np.stack([short_series.values[s : s + WINDOW] for s in (0, 123)]).astype(np.float32)
    scaled = (w - w[:, :1]) / scale
    expected = servable.model(scaled, training=False).numpy() * scale + w[:, :1]
    np.testing.assert_allclose(servable.step(tf.constant(w)).numpy(), expected, rtol=1e-5)


def test_training_never_reads_the_validation_part(short_series: Series) -> None:
    other = short_series.values.copy()
    other[short_series.split :] = np.random.default_rng(0).normal(1e3, 1e2, len(other) - 300)
    weights = []
    for series in (short_series, replace(short_series, values=other)):
        config = TrainConfig("dense", series, window_size=WINDOW, epochs=2, verbose=False)
        trained = train(config)
        weights.append(trained.servable.model.get_weights())
        fit_end = round(series.split * (1 - config.holdout))
        assert trained.hyperparameters.scale == pytest.approx(np.std(series.values[:fit_end]))
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_hold_out_too_large_for_the_window_is_refused_before_training(
    short_series: Series,
) -> None:
    config = TrainConfig("linear", short_series, window_size=WINDOW, holdout=0.95, verbose=False)
    with pytest.raises(DataError, match="series too short"):
        train(config)


def test_a_window_longer_than_the_training_part_is_refused(short_series: Series) -> None:
    config = TrainConfig("linear", short_series, window_size=300, verbose=False)
    with pytest.raises(DataError, match="training part \\(300 values\\) cannot hold"):
        train(config)


def test_a_config_is_resolved_once_and_a_quiet_copy_keeps_what_was_resolved(
    short_series: Series, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[TrainConfig] = []
    real = pipeline.resolve
    monkeypatch.setattr(pipeline, "resolve", lambda config: calls.append(config) or real(config))
    config = TrainConfig("linear", short_series, window_size=WINDOW)
    hp = config.hyperparameters
    quiet = config.quiet()
    assert config.hyperparameters is hp and quiet.hyperparameters is hp
    assert (config.verbose, quiet.verbose) == (True, False)
    assert calls == [config]
    # A changed copy is another config: resolved afresh, never the original's numbers.
    assert replace(config, window_size=WINDOW + 1).hyperparameters.window_size == WINDOW + 1
    assert len(calls) == 2
