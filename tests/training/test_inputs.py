"""What a network reads: levels or first differences, chosen from the training part.

The rule (``training.defaults.inputs``) is checked on series whose answer is known; the
difference servables are trained by the real pipeline, saved and reloaded, and their three
signatures checked against each other and against the naive forecast they fall back on.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from contract import store
from tests.support import tiny_series
from training import defaults
from training.data import Series
from training.export import Servable, load, save
from training.pipeline import TrainConfig, train, train_and_publish

RNG = np.random.default_rng(7)
WINDOW = 12


def test_noise_around_a_level_is_read_as_levels() -> None:
    noisy_season = 10 * np.sin(np.arange(600) * 2 * np.pi / 50) + RNG.normal(0, 3, 600)
    assert defaults.inputs(noisy_season)[0] == "level"
    assert defaults.inputs(tiny_series().train)[0] == "level"


@pytest.mark.parametrize(
    "values",
    [
        np.cumsum(RNG.normal(0, 1, 300)),  # a random walk
        np.arange(80.0) ** 1.5 + RNG.normal(0, 0.1, 80),  # a smooth trend
        np.full(100, 3.0),  # nothing changes: nothing to tell
        np.array([1.0, 2.0, 4.0]),  # too short to tell
    ],
    ids=["random-walk", "trend", "constant", "three-values"],
)
def test_persistent_changes_are_read_as_differences(values: np.ndarray) -> None:
    inputs, why = defaults.inputs(values)
    assert inputs == "difference"
    assert why


def _zero(model: keras.Model) -> keras.Model:
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    return model


def test_a_network_with_nothing_to_say_forecasts_naive_from_differences() -> None:
    """Zero weights: differences give the last value, levels the window's first value."""
    from training.architectures import ARCHITECTURES

    x = tf.constant(RNG.normal(100, 5, (3, WINDOW)), tf.float32)
    for arch in ("linear", "wavenet"):
        a = ARCHITECTURES[arch]
        for differenced, expected in ((True, x[:, -1:]), (False, x[:, :1])):
            model = _zero(a.build(WINDOW, 1, None))
            inputs = "difference" if differenced else "level"
            servable = Servable(model, WINDOW, 1, a.output == "sequence", 5.0, inputs)
            np.testing.assert_allclose(servable.step(x).numpy(), expected.numpy(), rtol=1e-6)


@pytest.fixture(scope="module")
def trending() -> Series:
    """A trend with a season and little noise: the rule reads differences."""
    t = np.arange(240.0)
    values = 0.5 * t + 5 * np.sin(t * 2 * np.pi / 12) + RNG.normal(0, 0.3, len(t))
    return Series("trending", values, 180, 12)


@pytest.mark.parametrize("arch", ["linear", "wavenet", "lstm", "stateful_rnn"])
def test_difference_versions_agree_across_their_three_signatures(
    arch: str, trending: Series, tmp_path: Path
) -> None:
    config = TrainConfig(
        arch, trending, window_size=WINDOW, epochs=1, verbose=False, references=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        published = train_and_publish(config, tmp_path)
    hp = published.metadata.network.hyperparameters
    assert hp.inputs == "difference"
    assert hp.inputs_rule is not None and "changes persist" in hp.inputs_rule
    signatures = load(published.path).signatures

    x = trending.values.astype(np.float32)
    windowed = signatures[store.WINDOWED_SIGNATURE](**{store.SERIES_KEY: tf.constant(x[None])})
    windowed = windowed[store.OUTPUT_KEY].numpy()[0]
    frames = np.stack([x[s : s + WINDOW] for s in range(len(x) - WINDOW)])
    served = signatures[store.SERVING_SIGNATURE](**{store.INPUT_KEY: tf.constant(frames)})
    np.testing.assert_allclose(windowed, served[store.OUTPUT_KEY].numpy()[:, 0], rtol=1e-5)

    ahead = signatures[store.FORECAST_SIGNATURE](
        **{store.INPUT_KEY: tf.constant(frames[-2:]), store.STEPS_KEY: tf.constant(5)}
    )[store.OUTPUT_KEY].numpy()
    assert np.isfinite(ahead).all()
    np.testing.assert_allclose(ahead[:, 0], windowed[-2:], rtol=1e-5)


def test_given_inputs_win_over_the_rule(trending: Series) -> None:
    config = TrainConfig(
        "linear", trending, window_size=WINDOW, epochs=1, inputs="level", verbose=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = train(config)
    assert (trained.hyperparameters.inputs, trained.hyperparameters.inputs_rule) == (
        "level",
        "given",
    )


def test_a_saved_difference_servable_reads_the_same_as_in_memory(tmp_path: Path) -> None:
    from training.architectures import ARCHITECTURES

    a = ARCHITECTURES["wavenet"]
    model = a.build(WINDOW, 1, None)
    servable = Servable(model, WINDOW, 1, True, 2.0, "difference")
    save(servable, tmp_path / "v")
    x = tf.constant(RNG.normal(50, 4, (2, WINDOW)), tf.float32)
    saved = load(tmp_path / "v").signatures[store.SERVING_SIGNATURE]
    np.testing.assert_allclose(
        saved(**{store.INPUT_KEY: x})[store.OUTPUT_KEY].numpy(), servable.step(x).numpy(), rtol=1e-5
    )


@pytest.mark.parametrize("differenced", [False, True])
def test_windowed_over_several_uneven_chunks_equals_window_by_window(differenced: bool) -> None:
    from training.architectures import ARCHITECTURES
    from training.export import WINDOW_CHUNK

    keras.utils.set_random_seed(3)
    model = ARCHITECTURES["wavenet"].build(WINDOW, 1, None)
    servable = Servable(model, WINDOW, 1, True, 4.0, "difference" if differenced else "level")
    n = 2 * WINDOW_CHUNK + 77 + WINDOW  # three chunks, the last padded
    x = RNG.normal(20, 4, (2, n)).astype(np.float32)
    windowed = servable.windowed(tf.constant(x))[store.OUTPUT_KEY].numpy()
    assert windowed.shape == (2, n - WINDOW)
    frames = np.stack([x[:, s : s + WINDOW] for s in range(n - WINDOW)], axis=1)
    one_by_one = servable.step(tf.constant(frames.reshape(-1, WINDOW))).numpy()
    np.testing.assert_allclose(windowed, one_by_one.reshape(2, -1), rtol=1e-5, atol=1e-4)
