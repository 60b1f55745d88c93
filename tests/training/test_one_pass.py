"""WaveNet's windowed forecasts in one causal pass over the series, equal to window by window.

Trained by the real pipeline (one epoch), saved, loaded back: the ``windowed`` signature, which
runs the convolution stack once over the whole series, must give what ``serving_default`` gives
for each window alone, for both positional inputs (a local level, first differences).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from contract import store
from tests.support import tiny_series
from training import defaults
from training.data import DataError, Series
from training.export import load
from training.pipeline import TrainConfig, resolve, train_and_publish

RNG = np.random.default_rng(11)
REACH = 64  # WaveNet's receptive field


@pytest.mark.parametrize(
    ("inputs", "given", "cap", "expected"),
    [
        ("difference", None, 400, (65, "difference", 0)),
        ("level", None, 400, (127, "local_level", 64)),  # a level becomes a local level
        ("level", None, 100, (100, "local_level", 37)),  # capped: the span is what is left
        ("difference", 80, 70, (80, "difference", 0)),  # a given window is not capped
        ("local_level", 70, 400, (70, "local_level", 7)),
        ("level", None, 64, None),  # no value beyond the receptive field: window by window
        ("difference", 64, 400, None),
    ],
)
def test_the_window_holds_the_receptive_field_and_what_the_first_input_needs(
    inputs: str, given: int | None, cap: int, expected: tuple[int, str, int] | None
) -> None:
    got = defaults.one_pass(REACH, inputs, given, cap)
    assert (got[:3] if got else None) == expected
    if got:
        assert str(REACH) in got[3]


def _noisy() -> Series:
    """Noise around a season: the rule reads levels, so WaveNet reads a local level."""
    return tiny_series()


def _trending() -> Series:
    t = np.arange(260.0)
    values = 0.5 * t + 5 * np.sin(t * 2 * np.pi / 12) + RNG.normal(0, 0.3, len(t))
    return Series("trending", values, 200, 12)


@pytest.mark.parametrize(
    ("series", "inputs", "horizon"),
    [(_noisy, "local_level", 1), (_trending, "difference", 1), (_trending, "difference", 3)],
    ids=["local-level", "difference", "difference-horizon-3"],
)
def test_one_pass_equals_window_by_window(
    series: type[Series], inputs: str, horizon: int, tmp_path: Path
) -> None:
    s = series()
    config = TrainConfig("wavenet", s, horizon=horizon, epochs=1, verbose=False, references=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        published = train_and_publish(config, tmp_path)
    hp = published.metadata.network.hyperparameters
    assert (hp.inputs, hp.one_pass) == (inputs, True)
    assert hp.inputs_rule is not None and "one pass" in hp.inputs_rule
    w = hp.window_size
    assert w > REACH
    signatures = load(published.path).signatures

    x = s.values.astype(np.float32)
    panel = np.stack([x, x[::-1] * 2 + 3])  # two series of one length in one call
    windowed = signatures[store.WINDOWED_SIGNATURE](**{store.SERIES_KEY: tf.constant(panel)})
    windowed = windowed[store.OUTPUT_KEY].numpy()
    assert windowed.shape == (2, len(x) - w)
    for row, values in zip(windowed, panel, strict=True):
        frames = np.stack([values[s : s + w] for s in range(len(values) - w)])
        served = signatures[store.SERVING_SIGNATURE](**{store.INPUT_KEY: tf.constant(frames)})
        np.testing.assert_allclose(
            row, served[store.OUTPUT_KEY].numpy()[:, 0], rtol=1e-5, atol=1e-4
        )
    for short in (w, w - 1, 2):  # no whole window and its next value: no forecasts
        none = signatures[store.WINDOWED_SIGNATURE](
            **{store.SERIES_KEY: tf.constant(panel[:, :short])}
        )
        assert none[store.OUTPUT_KEY].shape == (2, 0)
    ahead = signatures[store.FORECAST_SIGNATURE](
        **{store.INPUT_KEY: tf.constant(panel[:, -w - 1 : -1]), store.STEPS_KEY: tf.constant(5)}
    )[store.OUTPUT_KEY].numpy()
    assert ahead.shape == (2, 5) and np.isfinite(ahead).all()
    np.testing.assert_allclose(ahead[:, 0], windowed[:, -1], rtol=1e-5, atol=1e-4)


def test_a_short_series_keeps_window_by_window() -> None:
    """Half the fit part below 65 values: WaveNet keeps its capped window and per-window inputs."""
    s = Series("short", tiny_series().values[:120], 100, 12)
    hp = resolve(TrainConfig("wavenet", s, verbose=False, references=False))
    assert (hp.one_pass, hp.level_span, hp.window_size) == (False, None, 40)
    assert hp.inputs == defaults.inputs(s.train)[0]


def test_given_level_keeps_the_window_centred_on_its_first_value() -> None:
    hp = resolve(TrainConfig("wavenet", tiny_series(), inputs="level", references=False))
    assert (hp.one_pass, hp.inputs, hp.window_size) == (False, "level", 64)


@pytest.mark.parametrize(("arch", "window"), [("linear", None), ("wavenet", 60)])
def test_a_local_level_needs_a_convolution_stack_and_room(arch: str, window: int | None) -> None:
    config = TrainConfig(arch, tiny_series(), window_size=window, inputs="local_level")
    with pytest.raises(DataError, match="local_level needs a causal convolution stack"):
        resolve(config)


@pytest.mark.parametrize("inputs", ["level", "difference"])
def test_linear_windows_are_one_convolution(inputs: str, tmp_path: Path) -> None:
    """An affine map of the window: ``windowed`` convolves the series with its coefficients."""
    s = tiny_series()
    s = Series("offset", s.values + 10_000.0, s.split, s.season_length)  # digits at stake
    config = TrainConfig("linear", s, inputs=inputs, epochs=2, verbose=False, references=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        published = train_and_publish(config, tmp_path)
    signatures = load(published.path).signatures
    w = published.metadata.window_size
    x = s.values.astype(np.float32)
    windowed = signatures[store.WINDOWED_SIGNATURE](**{store.SERIES_KEY: tf.constant(x[None])})
    frames = np.stack([x[i : i + w] for i in range(len(x) - w)])
    served = signatures[store.SERVING_SIGNATURE](**{store.INPUT_KEY: tf.constant(frames)})
    np.testing.assert_allclose(
        windowed[store.OUTPUT_KEY].numpy()[0], served[store.OUTPUT_KEY].numpy()[:, 0], atol=0.02
    )
    short = signatures[store.WINDOWED_SIGNATURE](**{store.SERIES_KEY: tf.constant(x[None, :w])})
    assert short[store.OUTPUT_KEY].shape == (1, 0)
