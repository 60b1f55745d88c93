"""Every architecture, trained and published by the real pipeline, reloaded with plain TensorFlow.

Nothing of ``training`` is used to read the SavedModels back: only ``tf.saved_model.load`` and
the signature names the store's contract fixes.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from contract import baselines, metrics, store
from contract.metadata import QUANTILE_LEVELS, DatasetInfo, ModelMetadata
from tests.support import MULTI_STEP, WINDOW
from training import windows
from training.architectures import ARCHITECTURES
from training.data import Series

pytestmark = pytest.mark.slow

# (model name, architecture, horizon) of every version in the session's store.
MODELS = [(f"tiny-{a}".replace("_", "-"), a, 1) for a in ARCHITECTURES] + [
    (f"tiny-{a}-h{h}", a, h) for a, h in MULTI_STEP.items()
]
IDS = [name for name, _, _ in MODELS]


@cache
def _load(folder: Path) -> Any:
    return tf.saved_model.load(str(folder))


def _signatures(model_store: Path, name: str) -> tuple[Any, Any]:
    loaded = _load(store.version_dir(model_store, name, 1))
    return loaded.signatures[store.SERVING_SIGNATURE], loaded.signatures[store.FORECAST_SIGNATURE]


def _raw_windows(series: Series, starts: list[int]) -> tf.Tensor:
    return tf.constant(np.stack([series.values[s : s + WINDOW] for s in starts]), tf.float32)


def test_the_store_holds_one_version_of_each_model(model_store: Path) -> None:
    assert store.model_names(model_store) == sorted(IDS)
    assert all(store.versions(model_store, name) == [1] for name in IDS)
    assert not any((model_store / store.STAGING_DIR).iterdir())


@pytest.mark.parametrize(("name", "arch", "horizon"), MODELS, ids=IDS)
def test_both_signatures_forecast_raw_values(
    model_store: Path, short_series: Series, name: str, arch: str, horizon: int
) -> None:
    serve, forecast = _signatures(model_store, name)
    window = _raw_windows(short_series, [0, 100, 250])

    one = serve(**{store.INPUT_KEY: window})[store.OUTPUT_KEY].numpy()
    assert one.shape == (3, horizon)
    assert np.isfinite(one).all()
    # Raw in, raw out: forecasts lie on the series' scale, not the network's.
    low, high = short_series.values.min(), short_series.values.max()
    spread = high - low
    assert ((one > low - spread) & (one < high + spread)).all()

    ahead = forecast(**{store.INPUT_KEY: window, store.STEPS_KEY: tf.constant(7)})
    ahead = ahead[store.OUTPUT_KEY].numpy()
    assert ahead.shape == (3, 7)
    assert np.isfinite(ahead).all()
    np.testing.assert_allclose(ahead[:, :horizon], one, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", [f"tiny-{a}-h{h}" for a, h in MULTI_STEP.items()])
def test_forecast_signature_feeds_its_forecasts_back(
    model_store: Path, short_series: Series, name: str
) -> None:
    serve, forecast = _signatures(model_store, name)
    w = _raw_windows(short_series, [40, 200])
    ahead = forecast(**{store.INPUT_KEY: w, store.STEPS_KEY: tf.constant(8)})[store.OUTPUT_KEY]
    expected = []
    for _ in range(3):  # ceil(8 / 3) calls of the model
        y = serve(**{store.INPUT_KEY: w})[store.OUTPUT_KEY]
        expected.append(y.numpy())
        w = tf.concat([w, y], axis=1)[:, -WINDOW:]
    np.testing.assert_allclose(ahead.numpy(), np.concatenate(expected, axis=1)[:, :8], atol=1e-4)


@pytest.mark.parametrize(("name", "arch", "horizon"), MODELS, ids=IDS)
def test_metadata_is_complete_and_describes_the_run(
    model_store: Path, short_series: Series, name: str, arch: str, horizon: int
) -> None:
    folder = store.version_dir(model_store, name, 1)
    raw = json.loads((folder / store.METADATA_FILE).read_text())
    assert set(raw) == {f.alias or k for k, f in ModelMetadata.model_fields.items()}
    meta = ModelMetadata.model_validate(raw)
    assert (meta.name, meta.version, meta.architecture) == (name, 1, arch)
    assert (meta.window_size, meta.horizon, meta.season_length) == (WINDOW, horizon, 50)
    assert meta.dataset == DatasetInfo(
        name="tiny",
        length=400,
        sha256=short_series.sha256(),
        split=300,
        training_tail=short_series.values[292:300].tolist(),
    )
    assert meta.network.epochs == 1
    assert meta.network.tensorflow_version == tf.__version__
    assert meta.created_at.tzinfo is not None
    assert (meta.validation.start, meta.validation.end) == (300, 400)
    assert set(meta.validation.scores) == {"model", *baselines.BASELINES}
    quantiles = meta.residual_quantiles
    assert quantiles.levels == list(QUANTILE_LEVELS)
    assert len(quantiles.by_step) == 30
    assert all(len(row) == len(quantiles.levels) for row in quantiles.by_step)
    assert all(row == sorted(row) for row in quantiles.by_step)
    # Every validation origin has a one-step residual; step h has one fewer per step.
    assert quantiles.count == 100
    assert quantiles.counts == [100 - h for h in range(30)]
    assert (folder / "saved_model.pb").is_file()
    assert (folder / "variables" / "variables.index").is_file()
    assert (folder / "assets" / "validation.png").stat().st_size > 0


@pytest.mark.parametrize("name", ["tiny-linear", "tiny-gru", "tiny-wavenet"])
def test_recorded_validation_scores_are_those_of_the_saved_model(
    model_store: Path, short_series: Series, name: str
) -> None:
    serve, _ = _signatures(model_store, name)
    meta = store.read_metadata(store.version_dir(model_store, name, 1))
    x, split = short_series.values, short_series.split
    inputs = windows.sliding(x[split - WINDOW : -1], WINDOW).astype(np.float32)
    one_step = serve(**{store.INPUT_KEY: tf.constant(inputs)})[store.OUTPUT_KEY].numpy()[:, 0]
    assert meta.validation.scores["model"].mae == pytest.approx(
        metrics.mae(x[split:], one_step), rel=1e-4
    )
    start, naive = baselines.windowed("naive", x, 50)
    assert meta.validation.scores["naive"].mae == pytest.approx(
        metrics.mae(x[split:], naive[split - start :])
    )
    assert meta.validation.scores["naive"].mase == pytest.approx(
        metrics.mae(x[split:], naive[split - start :]) / metrics.naive_scale(x[:split])
    )
