"""Windowing: numpy index arithmetic for the windows, ``tf.data`` to batch and shuffle them.

For a series ``x`` of shape ``(n,)``, window size ``W`` and horizon ``H``, the window ending just
before position ``t`` is ``x[t - W : t]``; its targets are

* sequence-to-vector: ``x[t : t + H]``, shape ``(H,)``;
* sequence-to-sequence: for every step ``s`` of the window, ``x[t - W + s + 1 : t - W + s + 1 + H]``,
  shape ``(W, H)`` (the last step's targets are the seq2vec targets).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import tensorflow as tf

Array = npt.NDArray[np.float64]


def sliding(x: Array, size: int) -> Array:
    """All windows of ``size`` consecutive values: shape ``(n - size + 1, size)`` (a view)."""
    return np.lib.stride_tricks.sliding_window_view(x, size)


def seq2vec_arrays(x: Array, window_size: int, horizon: int) -> tuple[Array, Array]:
    """Every window of ``x`` with its next ``horizon`` values: ``(k, W)`` and ``(k, H)``."""
    span = sliding(x, window_size + horizon)
    return span[:, :window_size], span[:, window_size:]


def seq2seq_arrays(x: Array, window_size: int, horizon: int) -> tuple[Array, Array]:
    """Every window of ``x`` with the next ``horizon`` values after each step: ``(k, W)``, ``(k, W, H)``."""
    span = sliding(x, window_size + horizon)
    inputs = span[:, :window_size]
    # targets[i, s] = x[i + s + 1 : i + s + 1 + H]
    steps = sliding(x[1:], horizon)
    idx = np.arange(len(span))[:, None] + np.arange(window_size)[None, :]
    return inputs, steps[idx]


def consecutive(x: Array, window_size: int, horizon: int) -> tuple[Array, Array]:
    """Non-overlapping consecutive seq2seq windows, for stateful training: each starts where the last ended."""
    inputs, targets = seq2seq_arrays(x, window_size, horizon)
    return inputs[::window_size], targets[::window_size]


def dataset(
    inputs: Array,
    targets: Array,
    batch_size: int,
    shuffle: bool,
    seed: int,
) -> tf.data.Dataset:
    """A batched ``tf.data`` pipeline over float32 copies of the arrays."""
    ds = tf.data.Dataset.from_tensor_slices((inputs.astype(np.float32), targets.astype(np.float32)))
    if shuffle:
        ds = ds.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    # Stateful layers need every batch the same size; others keep a short last batch.
    return ds.batch(batch_size, drop_remainder=not shuffle).prefetch(tf.data.AUTOTUNE)
