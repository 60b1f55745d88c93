"""Each builder's output shape, causality of the trained sequence models, and the stateful RNN.

The trained models come from ``trained_model`` in conftest.py: one epoch of the real pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support import WINDOW
from training.architectures import ARCHITECTURES, stateful_rnn

pytestmark = pytest.mark.slow

CAUSAL = ["wavenet", "conv_lstm", "lstm", "gru", "simple_rnn_seq2seq", "stateful_rnn"]


def _windows(batch: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (batch, WINDOW)).astype(np.float32)


def _stateful_layers(model: keras.Model) -> list[Any]:
    return [layer for layer in model.layers if getattr(layer, "stateful", False)]


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_builder_output_matches_its_declared_kind(name: str) -> None:
    arch = ARCHITECTURES[name]
    model = arch.build(WINDOW, 3, None)
    assert model.name == name
    if arch.output == "vector":
        assert tuple(model.output_shape) == (None, 3)
    elif arch.receptive_field is None:
        assert tuple(model.output_shape) == (None, WINDOW, 3)
    else:  # a convolution stack reads any length and forecasts after every step
        assert tuple(model.output_shape) == (None, None, 3)
        for n in (WINDOW, 2 * WINDOW):
            assert tuple(model(np.zeros((2, n), np.float32)).shape) == (2, n, 3)


def test_every_sequence_architecture_is_checked_for_causality() -> None:
    sequence = {n for n, a in ARCHITECTURES.items() if a.output == "sequence"}
    assert sequence == set(CAUSAL)


def test_only_the_stateful_rnn_trains_statefully_one_window_at_a_time() -> None:
    assert [n for n, a in ARCHITECTURES.items() if a.stateful] == ["stateful_rnn"]
    assert ARCHITECTURES["stateful_rnn"].batch_size == 1


@pytest.mark.parametrize("name", CAUSAL)
@pytest.mark.parametrize("step", [WINDOW - 1, WINDOW // 2, 1])
def test_a_step_forecast_never_reads_later_inputs(
    trained_model: Callable[..., Any], name: str, step: int
) -> None:
    model = trained_model(name).servable.model
    x = _windows()
    changed = x.copy()
    changed[:, step] += 3.0
    before = model(x, training=False).numpy()
    after = model(changed, training=False).numpy()
    assert before.shape == (len(x), WINDOW, 1)
    np.testing.assert_allclose(after[:, :step], before[:, :step], rtol=0, atol=1e-6)
    # ... while the change does reach the steps from `step` on, so the check above could fail.
    assert np.abs(after[:, step:] - before[:, step:]).max() > 1e-4


def test_bilstm_outputs_one_vector_per_window(trained_model: Callable[..., Any]) -> None:
    # Its backward pass reads the whole window, so it must not emit per-step forecasts.
    assert ARCHITECTURES["bilstm"].output == "vector"
    model = trained_model("bilstm").servable.model
    y = model(_windows(batch=5), training=False).numpy()
    assert y.shape == (5, 1)


def test_stateless_export_of_the_stateful_rnn_matches_the_stateful_model(
    trained_model: Callable[..., Any],
) -> None:
    stateless = trained_model("stateful_rnn").servable.model
    stateful = stateful_rnn(WINDOW, 1, batch=1)
    stateful.set_weights(stateless.get_weights())
    assert len(_stateful_layers(stateful)) == 2
    assert _stateful_layers(stateless) == []
    first, second = _windows(batch=2, seed=1)[:1], _windows(batch=2, seed=1)[1:]

    expected = stateless(first, training=False).numpy()
    np.testing.assert_allclose(stateful(first, training=False).numpy(), expected, atol=1e-5)
    # The stateful model carries its state into the next window; the served one starts afresh.
    carried = stateful(second, training=False).numpy()
    fresh = stateless(second, training=False).numpy()
    assert np.abs(carried - fresh).max() > 1e-4
    for layer in _stateful_layers(stateful):
        layer.reset_state()
    np.testing.assert_allclose(stateful(second, training=False).numpy(), fresh, atol=1e-5)


@pytest.mark.parametrize("name", [n for n, a in ARCHITECTURES.items() if a.receptive_field])
def test_a_declared_receptive_field_is_what_the_network_reads(name: str) -> None:
    """One-pass forecasts rely on it: step t reads steps t - R + 1 .. t, and nothing earlier."""
    reach = ARCHITECTURES[name].receptive_field
    assert reach is not None
    keras.utils.set_random_seed(3)
    model = ARCHITECTURES[name].build(WINDOW, 1, None)
    x = tf.Variable(np.random.default_rng(3).normal(size=(1, 3 * reach)).astype(np.float32))
    t = 3 * reach - 1
    with tf.GradientTape() as tape:
        y = model(x)[0, t, 0]
    read = np.flatnonzero(tape.gradient(y, x).numpy()[0])
    assert (read.min(), read.max()) == (t - reach + 1, t)
