"""The ``global`` kind: one network trained across a panel, served for any series.

A global version (``training.global_networks``) holds a few member SavedModels under
``members/<i>/`` (:data:`contract.store.MEMBERS_DIR`), each taking raw ``window`` and ``mask``
``[batch, lookback]`` to raw ``forecast`` ``[batch, H]``: every series is framed by
:mod:`contract.panel` (its last ``lookback`` values, left-padded and masked when shorter), all
series go in one call per member, and the answer is the median of the members it uses
(``used``: those close to the best member on validation). So it reads a series
of any length from :data:`contract.panel.MIN_INPUTS` values, a series it never saw as well as
the panel's.

* ``ahead``: up to ``H`` steps directly; beyond ``H`` the forecast is fed back as input, ``H``
  steps at a time, and :attr:`Horizon.note` says so (a production caller asking for 24 months
  of a model trained for 18 wants an answer, told how it was made, rather than a refusal);
* ``windowed``: every position from ``min_length`` on, the first step of the window ending just
  before it, every window of every series in one call per member (in chunks);
* intervals: the stored residual quantiles are in units of each series' window scale, so each
  series' bands are its forecast plus those offsets times its own scale (the offsets hold 0
  between their lower and upper sides, so every interval holds its forecast).

Loading checks each member's files against the sha256 ``metadata.json`` records before
TensorFlow reads them: a half-written or changed version is FAILED with that reason. It has
no fixed-size window tensors, so TF Serving and the OIP answer ``kind_unsupported``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from app.errors import NonFiniteOutput
from app.forecaster import Array, Context, Horizon, TensorModel, Windowed, residual_offsets
from contract import panel as framing
from contract import store
from contract.metadata import GLOBAL, ModelMetadata
from contract.store import StoreError

KIND = GLOBAL
CallHook = Callable[[str, int, str], None]
WINDOW_KEY, MASK_KEY = "window", "mask"
# Rows per member call: bounds the activations' memory for panels of many long series.
CHUNK = 16384


@dataclass(frozen=True)
class _Member:
    lookback: int
    signature: Any
    module: Any  # the signature's variables live as long as this reference


class GlobalNetwork:
    """A global version's members; never changed after it is loaded."""

    tensors: TensorModel | None = None

    def __init__(
        self,
        name: str,
        version: int,
        metadata: ModelMetadata,
        members: Sequence[_Member],
        on_call: CallHook | None = None,
    ) -> None:
        info = metadata.global_
        if info is None:
            raise StoreError("metadata.json has no global fields")
        self.name = name
        self.version = version
        self.metadata = metadata
        self._members = list(members)
        self._on_call = on_call
        self.horizon = metadata.horizon
        self.context = Context(metadata.window_size, info.min_length)

    def _call(
        self, member: _Member, values: npt.NDArray[np.floating], mask: npt.NDArray[np.floating]
    ) -> Array:
        """One member over framed windows ``(k, L)`` -> ``(k, H)``, in chunks of CHUNK rows."""
        if self._on_call is not None:
            self._on_call(self.name, self.version, store.SERVING_SIGNATURE)
        chunks = []
        for lo in range(0, len(values), CHUNK):
            out = member.signature(
                **{
                    WINDOW_KEY: tf.constant(values[lo : lo + CHUNK], tf.float32),
                    MASK_KEY: tf.constant(mask[lo : lo + CHUNK], tf.float32),
                }
            )
            chunks.append(out[store.OUTPUT_KEY].numpy())
        result = np.concatenate(chunks).astype(np.float64) if chunks else np.empty((0, 0))
        if not np.isfinite(result).all():
            raise NonFiniteOutput(
                f"model {self.name!r} version {self.version} produced non-finite values (NaN"
                " or infinity); no forecast is returned",
                {"model": self.name, "version": self.version},
            )
        return result

    def _direct(self, panel: Sequence[Array]) -> Array:
        """The members' median of the next ``H`` values after each series, ``(k, H)``."""
        each = [self._call(m, *framing.last_windows(panel, m.lookback)) for m in self._members]
        return np.median(np.stack(each), axis=0)

    def _scales(self, panel: Sequence[Array]) -> Array:
        """Each series' window scale, ``(k,)``: what its residual quantiles are multiplied by."""
        return framing.window_scale(*framing.last_windows(panel, self.metadata.window_size))

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        """The next ``steps`` values of every series; recursive past ``H``, said in the note."""
        series = [np.asarray(s, dtype=np.float64) for s in panel]
        made = self._direct(series)
        while made.shape[1] < steps:
            fed = [np.concatenate([s, row]) for s, row in zip(series, made, strict=True)]
            made = np.concatenate([made, self._direct(fed)], axis=1)
        mean = made[:, :steps]
        notes = []
        if steps > self.horizon:
            notes.append(
                f"steps beyond {self.horizon} (the horizon this version forecasts in one call)"
                f" are forecast from its own forecasts fed back, {self.horizon} at a time, and"
                f" their intervals widened by the square root of the steps"
            )
        bands: dict[float, Array] = {}
        unique = sorted({float(p) for p in probabilities})
        if unique:
            quantiles = self.metadata.residual_quantiles
            offsets = residual_offsets(quantiles, unique, steps)  # (p, steps), scale-free
            scale = self._scales(series)[:, None]
            bands = {p: mean + offsets[i][None, :] * scale for i, p in enumerate(unique)}
            if quantiles is not None and (why := quantiles.note()):
                notes.insert(0, why)
        return Horizon(mean, bands, "; ".join(notes) or None)

    def windowed(
        self, panel: Sequence[Array], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        """One-step forecasts of each series' positions from ``min_length`` on, all at once."""
        start = self.context.min_length
        series = [np.asarray(s, dtype=np.float64) for s in panel]
        ends = [np.arange(start, len(s)) for s in series]
        counts = [len(e) for e in ends]
        if sum(counts) == 0:
            return [Windowed(start, np.empty(0)) for _ in series]
        starts = [start] * len(series)
        each = [
            self._call(m, *framing.windows_from(series, starts, m.lookback, np.float32))[:, 0]
            for m in self._members
        ]
        first = np.median(np.stack(each), axis=0)
        unique = sorted({float(p) for p in probabilities})
        offsets = (
            residual_offsets(self.metadata.residual_quantiles, unique, 1)[:, 0] if unique else None
        )
        out, lo = [], 0
        for s, e, n in zip(series, ends, counts, strict=True):
            values = first[lo : lo + n]
            lo += n
            bands: dict[float, Array] = {}
            if offsets is not None and n:
                scale = framing.window_scale(
                    *framing.windows_ending(s, e, self.metadata.window_size)
                )
                bands = {p: values + offsets[i] * scale for i, p in enumerate(unique)}
            out.append(Windowed(start, values, bands))
        return out


def _checked(folder: Path, index: int, sha256: str) -> bool:
    """True when member ``index``'s files are whole and match their recorded hash; else raises."""
    inside = folder / store.MEMBERS_DIR / str(index)
    where = f"{store.MEMBERS_DIR}/{index}"
    if not (inside / "saved_model.pb").is_file():
        raise StoreError(
            f"member {index} ({where}) has no saved_model.pb: the version is incomplete"
        )
    if store.files_sha256(inside) != sha256:
        raise StoreError(
            f"member {index}'s files ({where}) do not match the sha256 metadata.json records:"
            " the version was changed or half-written; publish it again"
        )
    return True


def _member(folder: Path, index: int, lookback: int) -> _Member:
    """One member's SavedModel (its files already :func:`_checked`)."""
    inside = folder / store.MEMBERS_DIR / str(index)
    where = f"{store.MEMBERS_DIR}/{index}"
    module = tf.saved_model.load(str(inside))
    signature = module.signatures.get(store.SERVING_SIGNATURE)
    if signature is None:
        raise StoreError(f"member {index} ({where}) lacks the {store.SERVING_SIGNATURE} signature")
    _, inputs = signature.structured_input_signature
    for key in (WINDOW_KEY, MASK_KEY):
        if key not in inputs or inputs[key].shape.as_list() != [None, lookback]:
            raise StoreError(
                f"member {index} ({where}) does not take {key} [batch, {lookback}] (its lookback)"
            )
    return _Member(lookback, signature, module)


def load(
    folder: Path, name: str, version: int, metadata: ModelMetadata, on_call: CallHook | None = None
) -> GlobalNetwork:
    """Check and load every member, then warm the version; raises on any failure."""
    info = metadata.global_
    if info is None:
        raise StoreError("metadata.json has no global fields")
    # Every member's files are checked; only the members the median uses are loaded.
    members = [
        _member(folder, i, m.lookback)
        for i, m in enumerate(info.members)
        if _checked(folder, i, m.sha256) and m.used
    ]
    if not members:
        raise StoreError("metadata.json's global block marks no member as used")
    model = GlobalNetwork(name, version, metadata, members, on_call)
    warm = 10 + np.sin(np.arange(info.min_length + 2, dtype=np.float64))
    ahead = model.ahead([warm], metadata.horizon).mean
    if ahead.shape != (1, metadata.horizon):
        raise StoreError(
            f"the members forecast shape {list(ahead.shape)} for one series, but metadata's"
            f" horizon is {metadata.horizon}"
        )
    model.windowed([warm])
    return model
