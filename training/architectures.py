"""The course's forecasting architectures, one builder each, registered by name.

Every builder maps scaled windows ``[batch, window_size]`` to ``[batch, horizon]`` (sequence to
vector) or ``[batch, window_size, horizon]`` (sequence to sequence: a forecast after every step,
of which serving uses the last). Convolutions are causal, and recurrent layers read the window
forwards, except ``bilstm`` which reads only the input window and outputs one vector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import keras
from keras import layers, regularizers


@dataclass(frozen=True)
class Architecture:
    """How to build and train one architecture, with the defaults the project ships."""

    name: str
    description: str
    build: Callable[[int, int, int | None], keras.Model]  # (window, horizon, stateful batch)
    output: Literal["vector", "sequence"]
    window_size: int = 30  # its own window; see training.defaults for the one a run takes
    season_window: bool = False  # the window must hold a whole season (and a margin)
    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 100
    patience: int = 10
    stateful: bool = False
    refit: bool = False  # after early stopping, retrain on fit + hold-out for the epochs it chose
    # A causal convolution stack reads this many steps back and no further, over inputs of any
    # length: its windowed forecasts can be one pass over the series (training.export).
    receptive_field: int | None = None
    # Its forecast is an affine map of the window: windowed forecasts are one convolution.
    affine: bool = False


def _input(window: int, batch: int | None) -> keras.KerasTensor:
    return keras.Input(shape=(window,), batch_size=batch, name="window")


def _sequence(x: keras.KerasTensor, window: int) -> keras.KerasTensor:
    return layers.Reshape((window, 1))(x)


# A window longer than a season gives ~400 weights to learn from ~600 windows: the L2 penalty
# keeps them small, so the model averages neighbouring values instead of fitting their noise.
SEASON_L2 = 0.1
WAVENET_L2 = 1e-3


def linear(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    inputs = _input(window, batch)
    output = layers.Dense(horizon, kernel_regularizer=regularizers.l2(SEASON_L2))(inputs)
    return keras.Model(inputs, output, name="linear")


def dense(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    inputs = _input(window, batch)
    x = layers.Dense(10, activation="relu", kernel_regularizer=regularizers.l2(SEASON_L2))(inputs)
    x = layers.Dense(10, activation="relu", kernel_regularizer=regularizers.l2(SEASON_L2))(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="dense")


def simple_rnn(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    inputs = _input(window, batch)
    x = layers.SimpleRNN(100, return_sequences=True)(_sequence(inputs, window))
    x = layers.SimpleRNN(100)(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="simple_rnn")


def simple_rnn_seq2seq(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    inputs = _input(window, batch)
    x = layers.SimpleRNN(100, return_sequences=True)(_sequence(inputs, window))
    x = layers.SimpleRNN(100, return_sequences=True)(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="simple_rnn_seq2seq")


def stateful_rnn(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    """Stateful when given a fixed ``batch``; the same layers stateless (to serve) without one."""
    stateful = batch is not None
    inputs = _input(window, batch)
    x = layers.SimpleRNN(100, return_sequences=True, stateful=stateful)(_sequence(inputs, window))
    x = layers.SimpleRNN(100, return_sequences=True, stateful=stateful)(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="stateful_rnn")


def lstm(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    inputs = _input(window, batch)
    x = layers.LSTM(64, return_sequences=True)(_sequence(inputs, window))
    x = layers.LSTM(64, return_sequences=True)(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="lstm")


def bilstm(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    # Sequence to vector on purpose: a bidirectional layer emitting a forecast per step would
    # read later values of the window, its own targets, through the backward pass.
    inputs = _input(window, batch)
    x = layers.Bidirectional(layers.LSTM(32, return_sequences=True))(_sequence(inputs, window))
    x = layers.Bidirectional(layers.LSTM(32))(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="bilstm")


def gru(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    inputs = _input(window, batch)
    x = layers.GRU(32, return_sequences=True)(_sequence(inputs, window))
    x = layers.GRU(32, return_sequences=True)(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="gru")


def conv_gru(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    # The strided convolution halves the sequence; GRUs then read the shorter, smoother one.
    inputs = _input(window, batch)
    x = layers.Conv1D(20, 4, strides=2, padding="causal", activation="relu")(
        _sequence(inputs, window)
    )
    x = layers.GRU(32, return_sequences=True)(x)
    x = layers.GRU(32)(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="conv_gru")


def conv_lstm(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    inputs = _input(window, batch)
    x = layers.Conv1D(32, 5, padding="causal", activation="relu")(_sequence(inputs, window))
    x = layers.LSTM(32, return_sequences=True)(x)
    x = layers.LSTM(32, return_sequences=True)(x)
    return keras.Model(inputs, layers.Dense(horizon)(x), name="conv_lstm")


def wavenet(window: int, horizon: int, batch: int | None = None) -> keras.Model:
    # Without the penalty the 6 x 32 filters fit the hold-out's noise within ten epochs.
    # Any length: a window, or a whole series in one pass (training.export.Servable).
    inputs = keras.Input(shape=(None,), batch_size=batch, name="window")
    x = layers.Reshape((-1, 1))(inputs)
    for rate in (1, 2, 4, 8, 16, 32):
        x = layers.Conv1D(
            32,
            2,
            padding="causal",
            dilation_rate=rate,
            activation="relu",
            kernel_regularizer=regularizers.l2(WAVENET_L2),
        )(x)
    return keras.Model(inputs, layers.Conv1D(horizon, 1)(x), name="wavenet")


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture(
            "linear",
            "one L2-penalised Dense layer over a window longer than a season",
            linear,
            "vector",
            season_window=True,
            affine=True,
            epochs=500,
            patience=20,
            refit=True,
        ),
        Architecture(
            "dense",
            "two hidden L2-penalised Dense(10, relu) layers over a window longer than a season",
            dense,
            "vector",
            season_window=True,
            epochs=300,
            patience=20,
            refit=True,
        ),
        Architecture("simple_rnn", "two SimpleRNN(100), sequence to vector", simple_rnn, "vector"),
        Architecture(
            "simple_rnn_seq2seq",
            "two SimpleRNN(100), a forecast after every step",
            simple_rnn_seq2seq,
            "sequence",
            learning_rate=1e-4,
            epochs=200,
            patience=20,
        ),
        Architecture(
            "stateful_rnn",
            "two stateful SimpleRNN(100) over consecutive windows, served stateless",
            stateful_rnn,
            "sequence",
            batch_size=1,
            stateful=True,
        ),
        Architecture("lstm", "two LSTM(64), sequence to sequence", lstm, "sequence"),
        Architecture(
            "bilstm", "two bidirectional LSTM(32) over the input window", bilstm, "vector"
        ),
        Architecture("gru", "two GRU(32), sequence to sequence", gru, "sequence"),
        Architecture(
            "conv_gru", "strided causal Conv1D(20) feeding two GRU(32)", conv_gru, "vector"
        ),
        Architecture("conv_lstm", "causal Conv1D(32) feeding two LSTM(32)", conv_lstm, "sequence"),
        Architecture(
            "wavenet",
            "six L2-penalised causal Conv1D(32), kernel 2, dilations 1 to 32",
            wavenet,
            "sequence",
            window_size=64,  # its receptive field: kernel 2, dilations 1 to 32
            receptive_field=64,
            learning_rate=3e-3,
            batch_size=32,
            epochs=500,
            patience=30,
        ),
    )
}
