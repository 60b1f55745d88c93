"""The ``ensemble`` kind: a weighted combination of versions of any kinds, stored inside it.

An ensemble version holds a copy of each member version's folder under ``members/<i>/``
(:data:`contract.store.MEMBERS_DIR`), so it is complete on its own and never changes when its
members' own versions are deleted or relabelled. Each member loads through its kind's loader
(:mod:`app.kinds`); the ensemble's forecasts are the members' weighted sums (weights from the
training part's hold-out, ``metadata.ensemble``), from the position every member forecasts;
its bands come from its own validation residuals. Like a statistical member it has no
window tensors, so TF Serving and the OIP refuse it with ``kind_unsupported``.

A combination of a panel's versions (``ensemble.scale_window`` set) passes a request's series
ids on to its members (:func:`app.forecaster.keyed`), and its residuals are in units of each
series' scale, as its members' are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.forecaster import (
    Array,
    Context,
    Forecaster,
    Horizon,
    TensorModel,
    Windowed,
    keyed,
    one_step_bands,
    residual_horizon,
    residual_offsets,
    scaled_bands,
)
from contract import panel as framing
from contract import store
from contract.metadata import ENSEMBLE, ModelMetadata
from contract.store import StoreError

KIND = ENSEMBLE


class EnsembleModel:
    """Members and their weights; never changed after it is loaded."""

    tensors: TensorModel | None = None

    def __init__(
        self,
        name: str,
        version: int,
        metadata: ModelMetadata,
        members: Sequence[Forecaster],
        weights: Sequence[float],
    ) -> None:
        self.name = name
        self.version = version
        self.metadata = metadata
        self._members = list(members)
        self._weights = [float(w) for w in weights]
        self._scale_window = metadata.ensemble.scale_window if metadata.ensemble else None
        windows = [m.context.window for m in members]
        self.context = Context(
            None if None in windows else max(w for w in windows if w is not None),
            max(m.context.min_length for m in members),
        )

    def keyed(self, ids: Sequence[str | None]) -> Forecaster:
        """The ensemble whose members forecast series with these ids."""
        return EnsembleModel(
            self.name,
            self.version,
            self.metadata,
            [keyed(m, ids) for m in self._members],
            self._weights,
        )

    def windowed(
        self, panel: Sequence[Array], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        """The weighted one-step forecasts from the first position every member forecasts."""
        each = [m.windowed(panel) for m in self._members]
        unique = sorted({float(p) for p in probabilities})
        out = []
        for i, series in enumerate(panel):
            # Each member's own start for this series (a statistical fit's depends on it).
            start = max([self.context.min_length, *(f[i].start for f in each)])
            if len(series) <= start:
                out.append(Windowed(start, np.empty(0)))
                continue
            values = sum(
                (w * forecasts[i].values[start - forecasts[i].start :]
                 for w, forecasts in zip(self._weights, each, strict=True)),
                np.zeros(len(series) - start),
            )  # fmt: skip
            quantiles = self.metadata.residual_quantiles
            if self._scale_window is None or not unique:
                bands = one_step_bands(quantiles, values, probabilities)
            else:
                one_step = residual_offsets(quantiles, unique, 1)[:, 0]
                x = np.asarray(series, dtype=np.float64)
                ends = np.arange(start, len(x))
                scale = framing.window_scale(*framing.windows_ending(x, ends, self._scale_window))
                bands = {p: values + one_step[j] * scale for j, p in enumerate(unique)}
            out.append(Windowed(start, values, bands))
        return out

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        """The weighted horizon forecasts, with bands from the ensemble's validation residuals."""
        made = [m.ahead(panel, steps) for m in self._members]
        mean = sum(
            (w * h.mean for w, h in zip(self._weights, made, strict=True)),
            np.zeros((len(panel), steps)),
        )
        # A member's note on how steps past its horizon were made holds for the combination.
        notes = [h.note for h in made if h.note and "fed back" in h.note][:1]
        quantiles = self.metadata.residual_quantiles
        if self._scale_window is None:
            bands = residual_horizon(quantiles, mean, probabilities).quantiles
        else:
            series = [np.asarray(s, dtype=np.float64) for s in panel]
            scale = framing.window_scale(*framing.last_windows(series, self._scale_window))
            bands = scaled_bands(quantiles, mean, probabilities, scale)
        if bands and quantiles is not None and (why := quantiles.note()):
            notes.insert(0, why)
        horizon = Horizon(mean, bands, "; ".join(notes) or None)
        return horizon


CallHook = Callable[[str, int, str], None]
MemberLoader = Callable[[Path, str, int, ModelMetadata, CallHook | None], Forecaster]


def load(
    folder: Path,
    name: str,
    version: int,
    metadata: ModelMetadata,
    on_call: CallHook | None,
    load_member: MemberLoader,
) -> EnsembleModel:
    """Load every member from the ensemble's own folder through ``load_member`` (the loader
    table's :func:`app.kinds.load`); raises on any member's failure."""
    info = metadata.ensemble
    if info is None or not info.members:
        raise StoreError("an ensemble's metadata.json lists no members")
    members = []
    for i, member in enumerate(info.members):
        inside = folder / store.MEMBERS_DIR / str(i)
        try:
            members.append(
                load_member(
                    inside, member.name, member.version, store.read_metadata(inside), on_call
                )
            )
        except Exception as e:
            raise StoreError(f"member {i} ({member.name} version {member.version}): {e}") from None
    return EnsembleModel(name, version, metadata, members, [m.weight for m in info.members])
