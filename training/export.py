"""Wrap a trained Keras model so that it takes and returns raw values, and save it as a SavedModel.

What the network reads (``inputs``, chosen by :func:`training.defaults.inputs`), divided by the
training part's standard deviation (of its differences for ``difference``), the output mapped
back the same way:

* ``level``: the window centred on its first value (every step of the window already knows it,
  so sequence-to-sequence training stays causal);
* ``difference``: first differences, the output a change from the last value;
* ``local_level``: each value less the mean of the ``span`` values up to it, the output a
  change from the last such mean.

A network whose forecast is an affine map of its window (``affine``: the linear one, under any of
these inputs) forecasts every window of a series with one convolution, by the coefficients the
map gives each value of the window.

The last two are *positional*: what step ``t`` reads depends on the values up to ``t`` only, not
on where a window starts. A causal convolution stack over positional inputs (``one_pass``)
therefore forecasts every window of a series in one pass over the whole series, exactly as it
forecasts each window alone, once a window holds the stack's receptive field after the values
the first input needs (:func:`training.defaults.one_pass`). Other networks run window by window.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from contract import store

# Most windows per step of the ``windowed`` signature. Measured on 2 cores (WaveNet, window 64):
# 512 took 10.5 s for 100 series of 1,461 values and 6.9 s for one of 100,000, against 22 s and
# 14 s with 4,096, whose activations (4,096 x 64 x 32 floats a layer) no longer fit the caches.
WINDOW_CHUNK = 512


class Servable(tf.Module):
    """A trained network with its scaling, exposing the store's three signatures."""

    def __init__(
        self,
        model: keras.Model,
        window_size: int,
        horizon: int,
        sequence_output: bool,
        scale: float,
        inputs: str = "level",
        one_pass: bool = False,
        span: int = 0,
        affine: bool = False,
    ) -> None:
        super().__init__()
        if one_pass and (inputs == "level" or not sequence_output):
            raise ValueError("one pass needs positional inputs and a sequence output")
        if (inputs == "local_level") != (span > 1) or (inputs == "local_level" and not one_pass):
            raise ValueError("a local level runs in one pass and spans at least two values")
        self.inputs = inputs
        self.one_pass = one_pass
        self.span = span
        self.affine = affine
        self.model = model
        self.window_size = window_size
        self.horizon = horizon
        self.sequence_output = sequence_output
        self.scale = tf.constant(scale, tf.float32)
        spec = tf.TensorSpec([None, window_size], tf.float32, name=store.INPUT_KEY)
        steps = tf.TensorSpec([], tf.int32, name=store.STEPS_KEY)
        series = tf.TensorSpec([None, None], tf.float32, name=store.SERIES_KEY)
        self.serve = tf.function(self._serve, input_signature=[spec])
        # XLA fuses the recursive loop: ~20x faster than graph mode for a 30-step forecast.
        self.forecast = tf.function(self._forecast, input_signature=[spec, steps], jit_compile=True)
        self.windowed = tf.function(self._windowed, input_signature=[series])

    def positional(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Raw values ``[b, n]`` -> the network's inputs at every position that has them, and the
        level each output is relative to: ``[b, n - lead]`` each, ``lead`` being 1 for a
        difference and ``span - 1`` for a local level."""
        if self.inputs == "difference":
            return x[:, 1:] - x[:, :-1], x[:, 1:]
        # A mean of ``span`` floats per position, not a difference of running sums, which
        # lose digits in float32 over a long series.
        level = tf.nn.avg_pool1d(x[:, :, None], self.span, 1, "VALID")[:, :, 0]
        return x[:, self.span - 1 :] - level, level

    def step(self, window: tf.Tensor) -> tf.Tensor:
        """Raw windows ``[batch, W]`` -> the next ``horizon`` raw values ``[batch, H]``."""
        if self.one_pass:
            inputs, level = self.positional(window)
            y = self.model(inputs / self.scale, training=False)[:, -1, :]
            return y * self.scale + level[:, -1:]
        if self.inputs == "difference":
            inputs = tf.concat([tf.zeros_like(window[:, :1]), window[:, 1:] - window[:, :-1]], 1)
            origin = window[:, -1:]
        else:
            origin = window[:, :1]
            inputs = window - origin
        y = self.model(inputs / self.scale, training=False)
        if self.sequence_output:
            y = y[:, -1, :]
        return y * self.scale + origin

    def _serve(self, window: tf.Tensor) -> dict[str, tf.Tensor]:
        return {store.OUTPUT_KEY: self.step(window)}

    def _forecast(self, window: tf.Tensor, steps: tf.Tensor) -> dict[str, tf.Tensor]:
        calls = (tf.maximum(steps, 1) + self.horizon - 1) // self.horizon
        outputs = tf.TensorArray(tf.float32, size=calls)

        def body(
            i: tf.Tensor, w: tf.Tensor, out: tf.TensorArray
        ) -> tuple[tf.Tensor, tf.Tensor, tf.TensorArray]:
            y = self.step(w)
            w = tf.concat([w, y], axis=1)[:, -self.window_size :]
            return i + 1, w, out.write(i, y)

        _, _, outputs = tf.while_loop(lambda i, w, out: i < calls, body, (0, window, outputs))
        flat = tf.reshape(tf.transpose(outputs.stack(), [1, 0, 2]), [tf.shape(window)[0], -1])
        return {store.OUTPUT_KEY: flat[:, :steps]}

    def _windowed(self, series: tf.Tensor) -> dict[str, tf.Tensor]:
        if not (self.one_pass or self.affine):
            return {store.OUTPUT_KEY: self._window_by_window(series)}
        shared = self._one_pass if self.one_pass else self._convolved
        # A series holding no whole window and its next value has no forecasts, as framing
        # it would give; the shared paths need at least a window to run over.
        out = tf.cond(
            tf.shape(series)[1] > self.window_size,
            lambda: shared(series),
            lambda: tf.zeros([tf.shape(series)[0], 0]),
        )
        return {store.OUTPUT_KEY: out}

    def _one_pass(self, series: tf.Tensor) -> tf.Tensor:
        # Position t's output reads the inputs at t - reach + 1 .. t only, all inside the window
        # that ends at t, so it is that window's forecast; the first W - 1 positions are no
        # whole window's and are dropped.
        inputs, level = self.positional(series[:, :-1])
        y = self.model(inputs / self.scale, training=False)[:, :, 0]
        first = self.window_size - 1 - (tf.shape(series)[1] - 1 - tf.shape(inputs)[1])
        return y[:, first:] * self.scale + level[:, first:]

    def _convolved(self, series: tf.Tensor) -> tf.Tensor:
        # The map's coefficients, read off the unit windows, and its constant, off a zero one;
        # each row's mean is taken out first so the sums keep their digits in float32.
        w = self.window_size
        constant = self.step(tf.zeros([1, w]))[0, 0]
        coefficients = self.step(tf.eye(w))[:, 0] - constant
        mean = tf.reduce_mean(series, axis=1, keepdims=True)
        y = tf.nn.conv1d(
            (series[:, :-1] - mean)[:, :, None], coefficients[:, None, None], 1, "VALID"
        )
        return y[:, :, 0] + constant + mean * tf.reduce_sum(coefficients)

    def _window_by_window(self, series: tf.Tensor) -> tf.Tensor:
        # Framing inside the graph: the client sends the series once, not n overlapping windows.
        w = self.window_size
        frames = tf.signal.frame(series[:, :-1], w, 1, axis=1)  # [b, n - W, W]
        flat = tf.reshape(frames, [-1, w])
        k = tf.shape(flat)[0]
        # Chunks of equal size, one after another, bound the activations' memory whatever n
        # is; at most one padded window per chunk.
        chunks = tf.maximum((k + WINDOW_CHUNK - 1) // WINDOW_CHUNK, 1)
        size = tf.maximum((k + chunks - 1) // chunks, 1)
        padded = tf.pad(flat, [[0, chunks * size - k], [0, 0]])
        first = tf.map_fn(
            lambda chunk: self.step(chunk)[:, 0],
            tf.reshape(padded, [chunks, size, w]),
            parallel_iterations=1,
            fn_output_signature=tf.float32,
        )
        return tf.reshape(tf.reshape(first, [-1])[:k], tf.shape(frames)[:2])


def load(folder: Path) -> tf.Module:
    """A SavedModel as the service loads it, its signatures in ``.signatures``."""
    return tf.saved_model.load(str(folder))


def save(servable: tf.Module, folder: Path) -> None:
    """Write ``servable`` (a Servable or an ensemble of them) as a SavedModel into ``folder``."""
    tf.saved_model.save(
        servable,
        str(folder),
        signatures={
            store.SERVING_SIGNATURE: servable.serve,
            store.FORECAST_SIGNATURE: servable.forecast,
            store.WINDOWED_SIGNATURE: servable.windowed,
        },
    )
