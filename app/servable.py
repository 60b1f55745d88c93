"""The ``savedmodel`` kind: a version's SavedModel and its three signatures, checked and warmed.

A :class:`LoadedModel` is built once per version by :func:`load` and never changed after; the
registry (``app.registry``) decides which versions are loaded and which one a request gets. It
is a :class:`app.forecaster.Forecaster` of fixed window ``W``: the windowed forecasts of a panel
take one ``windowed`` call per distinct series length (the signature frames the windows inside
the graph, so series of one length stack into one batch; different lengths are grouped, not
padded, since padding would change the first windows), the horizon forecasts one ``forecast``
call for the whole panel, and the intervals come from the validation residuals' quantiles
stored with the version (:func:`app.forecaster.residual_bands`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from app.errors import ForecastDiverged, NonFiniteOutput, ValuesTooLarge
from app.forecaster import (
    Array,
    Context,
    Float32Array,
    Horizon,
    SignatureInfo,
    TensorInfo,
    Windowed,
    one_step_bands,
    residual_horizon,
)
from contract import store
from contract.metadata import ModelMetadata
from contract.store import StoreError

CallHook = Callable[[str, int, str], None]  # (model, version, signature)
KIND = "savedmodel"

# Beyond this magnitude a value's square overflows float32: a model that overflows on such a
# series is refused the series (422); one that overflows on smaller values is broken (502).
LARGE_VALUE = float(np.sqrt(np.finfo(np.float32).max))


def _tensor_info(spec: Any) -> TensorInfo:
    name = spec.name if ":" in spec.name else f"{spec.name}:0"
    dtype = types_pb2.DataType.Name(spec.dtype.as_datatype_enum)
    return TensorInfo(name, dtype, tuple(spec.shape.as_list()))


def _signature_info(signature: Any) -> SignatureInfo:
    _, inputs = signature.structured_input_signature
    outputs = signature.structured_outputs
    return SignatureInfo(
        inputs={key: _tensor_info(inputs[key]) for key in sorted(inputs)},
        outputs={key: _tensor_info(outputs[key]) for key in sorted(outputs)},
    )


class LoadedModel:
    """One version's SavedModel, warmed up; never changed after it is built.

    ``one_step``, ``forecast_windows`` and ``windowed_series`` call the store's three
    signatures and refuse non-finite output; ``signatures`` describes their inputs and outputs.
    """

    def __init__(
        self,
        name: str,
        version: int,
        metadata: ModelMetadata,
        module: tf.Module,
        on_call: CallHook | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.metadata = metadata
        self._module = module  # the signatures' variables live as long as this reference
        self._serve = module.signatures[store.SERVING_SIGNATURE]
        self._ahead = module.signatures[store.FORECAST_SIGNATURE]
        self._windowed = module.signatures[store.WINDOWED_SIGNATURE]
        self._on_call = on_call
        self.signatures: Mapping[str, SignatureInfo] = {
            key: _signature_info(module.signatures[key]) for key in store.SIGNATURES
        }
        self.context = Context(metadata.window_size, metadata.window_size)
        self.tensors = self  # TF Serving and the OIP call the signatures on windows

    @property
    def window_size(self) -> int:
        """Values in one input window."""
        return self.metadata.window_size

    @property
    def horizon(self) -> int:
        """Values one call of ``serving_default`` forecasts."""
        return self.metadata.horizon

    def _record(self, signature: str) -> None:
        if self._on_call is not None:
            self._on_call(self.name, self.version, signature)

    def _finite(
        self, values: Float32Array, inputs: Float32Array, what: str, recursive: bool = False
    ) -> Float32Array:
        """``values`` if all finite; else the error that says whose fault the overflow is."""
        finite = np.isfinite(values)
        if finite.all():
            return values
        who = {"model": self.name, "version": self.version}
        largest = float(np.max(np.abs(inputs))) if inputs.size else 0.0
        if largest > LARGE_VALUE:
            raise ValuesTooLarge(
                f"the series' values are too large for model {self.name!r} version"
                f" {self.version}: it overflows float32 on values as large as {largest:.3g};"
                f" scale the series down (below {LARGE_VALUE:.1e})",
                {**who, "largest": largest},
            )
        steps = int(np.argmin(finite.all(axis=0)))  # the first step that is not finite
        if recursive and steps > 0:
            raise ForecastDiverged(
                f"the forecast of model {self.name!r} version {self.version} diverges: it"
                f" overflows float32 after {steps} steps; ask for a horizon of at most {steps}",
                {**who, "finite_steps": steps},
            )
        bad = int(np.size(values) - np.count_nonzero(finite))
        raise NonFiniteOutput(
            f"model {self.name!r} version {self.version} produced {bad} non-finite value(s)"
            f" (NaN or infinity) in {what}; no forecast is returned",
            who,
        )

    def one_step(self, windows: Float32Array) -> Float32Array:
        """``serving_default``: windows ``(k, window_size)`` -> forecasts ``(k, horizon)``."""
        self._record(store.SERVING_SIGNATURE)
        out = self._serve(**{store.INPUT_KEY: tf.convert_to_tensor(windows, tf.float32)})
        return self._finite(out[store.OUTPUT_KEY].numpy(), windows, "its forecast")

    def forecast_windows(self, windows: Float32Array, steps: int) -> Float32Array:
        """``forecast``: windows ``(k, window_size)`` -> the next ``steps`` values ``(k, steps)``."""
        self._record(store.FORECAST_SIGNATURE)
        # The signature is XLA-compiled once per input shape: rounding steps and the batch up to
        # powers of two (the batch padded with copies of its last window) keeps the compiled
        # shapes (and their memory) to a handful whatever clients ask.
        rounded = _power_of_two(steps)
        k = len(windows)
        padded = np.concatenate([windows, np.repeat(windows[-1:], _power_of_two(k) - k, axis=0)])
        out = self._ahead(
            **{
                store.INPUT_KEY: tf.convert_to_tensor(padded if k else windows, tf.float32),
                store.STEPS_KEY: tf.constant(rounded, tf.int32),
            }
        )
        return self._finite(
            out[store.OUTPUT_KEY].numpy()[:k, :steps], windows, "its multi-step forecast", True
        )

    def windowed_series(self, series: Float32Array) -> Float32Array:
        """``windowed``: series ``(k, n)`` of one length -> one-step forecasts ``(k, n - W)``."""
        self._record(store.WINDOWED_SIGNATURE)
        out = self._windowed(**{store.SERIES_KEY: tf.convert_to_tensor(series, tf.float32)})
        return self._finite(out[store.OUTPUT_KEY].numpy(), series, "its windowed forecasts")

    def windowed(
        self, panel: Sequence[Array], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        """One-step forecasts of each series' positions after its first window."""
        w = self.window_size
        out = [Windowed(w, np.empty(0)) for _ in panel]
        by_length: dict[int, list[int]] = {}
        for i, series in enumerate(panel):
            if len(series) > w:
                by_length.setdefault(len(series), []).append(i)
        for indices in by_length.values():
            batch = np.stack([panel[i] for i in indices]).astype(np.float32)
            values = self.windowed_series(batch).astype(np.float64)
            for row, i in enumerate(indices):
                bands = one_step_bands(self.metadata.residual_quantiles, values[row], probabilities)
                out[i] = Windowed(w, values[row], bands)
        return out

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        """The next ``steps`` values of every series from its last window, in one call."""
        windows = np.stack([s[-self.window_size :] for s in panel]).astype(np.float32)
        mean = self.forecast_windows(windows, steps).astype(np.float64)
        return residual_horizon(self.metadata.residual_quantiles, mean, probabilities)


def _power_of_two(n: int) -> int:
    """The smallest power of two at least ``n`` (1 for ``n <= 1``)."""
    return 1 << max(n - 1, 0).bit_length()


def load(
    folder: Path, name: str, version: int, metadata: ModelMetadata, on_call: CallHook | None = None
) -> LoadedModel:
    """Load one version's SavedModel, check its signatures and warm it; raises on any failure."""
    module = tf.saved_model.load(str(folder))
    missing = [s for s in store.SIGNATURES if s not in module.signatures]
    if missing:
        raise StoreError(f"the SavedModel lacks the signature(s) {', '.join(missing)}")
    _check_forecast_signature(module.signatures[store.FORECAST_SIGNATURE], metadata.window_size)
    model = LoadedModel(name, version, metadata, module, on_call)
    _warm(model)
    return model


def _check_forecast_signature(signature: Any, window_size: int) -> None:
    """The ``forecast`` signature's inputs and output, read from its spec without calling it.

    Calling it would XLA-compile one ``[batch, steps]`` shape (0.2 to 1.4 s a version, see
    bench/results/startup.md) that few requests use: each shape compiles on its first call.
    """
    _, inputs = signature.structured_input_signature
    window, steps = inputs.get(store.INPUT_KEY), inputs.get(store.STEPS_KEY)
    output = signature.structured_outputs.get(store.OUTPUT_KEY)
    if (
        window is None
        or steps is None
        or output is None
        or window.shape.as_list() != [None, window_size]
        or steps.shape.rank != 0
        or output.shape.rank != 2
    ):
        raise StoreError(
            f"the forecast signature does not take {store.INPUT_KEY} [batch,"
            f" {window_size}] and {store.STEPS_KEY} to give {store.OUTPUT_KEY}"
            " [batch, steps]"
        )


def _warm(model: LoadedModel) -> None:
    """Call the two signatures every request runs, checking them against the metadata."""
    window = np.zeros((1, model.window_size), np.float32)
    try:
        step = model.one_step(window)
        windowed = model.windowed_series(np.zeros((1, model.window_size + 2), np.float32))[0]
    except (NonFiniteOutput, ForecastDiverged) as e:
        raise StoreError(f"warm-up failed: {e.message}") from None
    except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
        raise StoreError(
            f"warm-up with a window of {model.window_size} values (metadata's window_size)"
            f" failed: {_first_line(e)}"
        ) from None
    if step.shape != (1, model.horizon):
        raise StoreError(
            f"serving_default returns shape {list(step.shape)} for one window, but metadata's"
            f" horizon is {model.horizon}"
        )
    if windowed.shape != (2,):
        raise StoreError(
            f"windowed returns shape {list(windowed.shape)} for a series of window_size + 2"
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
