"""N-BEATS (Oreshkin et al. 2020, "N-BEATS: Neural basis expansion analysis for interpretable
time series forecasting"), in Keras 3, for windows that may be left-padded.

Both builders map ``(window [batch, L], mask [batch, L])`` to ``[batch, H]``: the whole horizon
in one call. A block is a stack of fully connected ReLU layers ending in ``theta``, which a
basis turns into a *backcast* of the window and a *forecast* of the horizon; blocks are
*doubly residual*: each reads what the blocks before it left unexplained of the window (the
backcasts subtracted) and adds its forecast to theirs. As in ServiceNow's reference
implementation (github.com/ServiceNow/N-BEATS, ``models/nbeats.py``), the forecast starts from
the window's last value and the residual is multiplied by the mask after every block, so
padding never becomes signal.

* generic: ``theta`` has ``L + H`` values, the backcast and the forecast themselves;
* interpretable: a trend stack (``theta`` the coefficients of a polynomial of degree
  :data:`TREND_DEGREE` in time) then a seasonality stack (``theta`` the coefficients of a
  Fourier series of the horizon's harmonics), the blocks of a stack sharing their weights, as
  the paper's interpretable configuration does.

The sizes are smaller than the paper's (512 units, 30 blocks): a global version here is trained
and served on two CPU cores, and its ``windowed`` forecasts frame every position of a series.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import layers, ops

TREND_DEGREE = 2
GENERIC = {"blocks": 3, "layers": 4, "width": 128}
INTERPRETABLE = {"blocks": 3, "layers": 4, "width": 128}


class Basis(layers.Layer):
    """``theta`` ``[batch, p_b + p_f]`` -> ``(backcast [batch, L], forecast [batch, H])``
    through two fixed matrices, ``backcast`` ``(p_b, L)`` and ``forecast`` ``(p_f, H)``."""

    def __init__(self, backcast: np.ndarray, forecast: np.ndarray, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._backcast = np.asarray(backcast, np.float32)
        self._forecast = np.asarray(forecast, np.float32)

    def call(self, theta: keras.KerasTensor) -> tuple[keras.KerasTensor, keras.KerasTensor]:
        p = self._backcast.shape[0]
        backcast = ops.matmul(theta[:, :p], ops.convert_to_tensor(self._backcast))
        forecast = ops.matmul(theta[:, p:], ops.convert_to_tensor(self._forecast))
        return backcast, forecast


def generic_basis(lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Identity bases: ``theta`` is the backcast ``(L, L)`` and the forecast ``(H, H)``."""
    return np.eye(lookback), np.eye(horizon)


def trend_basis(lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Polynomials ``t^i``, ``i <= TREND_DEGREE``: ``(d + 1, L)`` and ``(d + 1, H)``.

    Time runs over ``[0, 1)`` in each part, as in the reference implementation."""
    powers = np.arange(TREND_DEGREE + 1)[:, None]
    return (np.arange(lookback) / lookback) ** powers, (np.arange(horizon) / horizon) ** powers


def seasonality_basis(lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosines and sines of the harmonics 0 .. ceil(H/2) - 1 of the horizon: ``(2F, L)`` and
    ``(2F, H)``; time is measured in horizons in both, so one period fits both parts."""
    frequencies = np.arange(int(np.ceil(horizon / 2)))[:, None]

    def waves(n: int) -> np.ndarray:
        grid = 2 * np.pi * frequencies * (np.arange(n) / horizon)[None, :]
        return np.concatenate([np.cos(grid), np.sin(grid)])

    return waves(lookback), waves(horizon)


def _stack(
    residual: keras.KerasTensor,
    forecast: keras.KerasTensor,
    mask: keras.KerasTensor,
    basis: tuple[np.ndarray, np.ndarray],
    blocks: int,
    depth: int,
    width: int,
    shared: bool,
    name: str,
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """``blocks`` doubly residual blocks over ``residual``; returns (residual, forecast)."""
    theta_size = basis[0].shape[0] + basis[1].shape[0]

    def block_layers(b: int) -> list[layers.Layer]:
        return [
            *(
                layers.Dense(width, activation="relu", name=f"{name}_{b}_fc{i}")
                for i in range(depth)
            ),
            layers.Dense(theta_size, name=f"{name}_{b}_theta"),
            Basis(*basis, name=f"{name}_{b}_basis"),
        ]

    one = block_layers(0) if shared else None
    for b in range(blocks):
        x = residual
        *stack, to_theta, expand = one if one is not None else block_layers(b)
        for layer in stack:
            x = layer(x)
        backcast, block_forecast = expand(to_theta(x))
        residual = layers.Multiply()([layers.Subtract()([residual, backcast]), mask])
        forecast = layers.Add()([forecast, block_forecast])
    return residual, forecast


def _inputs(lookback: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    return keras.Input((lookback,), name="window"), keras.Input((lookback,), name="mask")


def _start(window: keras.KerasTensor, horizon: int) -> keras.KerasTensor:
    # The forecast starts from the last value (naive), which the blocks correct.
    return layers.Lambda(lambda w: ops.repeat(w[:, -1:], horizon, axis=1))(window)


def generic(lookback: int, horizon: int) -> keras.Model:
    """N-BEATS-G: :data:`GENERIC` blocks with identity bases; ``[b, L] x 2 -> [b, H]``."""
    window, mask = _inputs(lookback)
    residual = layers.Multiply()([window, mask])
    _, forecast = _stack(
        residual,
        _start(window, horizon),
        mask,
        generic_basis(lookback, horizon),
        GENERIC["blocks"],
        GENERIC["layers"],
        GENERIC["width"],
        shared=False,
        name="generic",
    )
    return keras.Model([window, mask], forecast, name="nbeats")


def interpretable(lookback: int, horizon: int) -> keras.Model:
    """N-BEATS-I: a trend stack then a seasonality stack, weights shared within each."""
    window, mask = _inputs(lookback)
    residual = layers.Multiply()([window, mask])
    forecast = _start(window, horizon)
    size = (INTERPRETABLE["blocks"], INTERPRETABLE["layers"], INTERPRETABLE["width"])
    for name, basis in (("trend", trend_basis), ("seasonality", seasonality_basis)):
        residual, forecast = _stack(
            residual, forecast, mask, basis(lookback, horizon), *size, shared=True, name=name
        )
    return keras.Model([window, mask], forecast, name="nbeats_interpretable")


BUILDERS: dict[str, Callable[[int, int], keras.Model]] = {
    "nbeats": generic,
    "nbeats_interpretable": interpretable,
}
