"""The ``ensemble`` kind: a weighted combination of versions of any kinds, stored inside it.

An ensemble version holds a copy of each member version's folder under ``members/<i>/``
(:data:`contract.store.MEMBERS_DIR`), so it is complete on its own and never changes when its
members' own versions are deleted or relabelled. Each member loads through its kind's loader
(:mod:`app.kinds`); the ensemble's forecasts are the members' weighted sums (weights from the
training part's hold-out, ``metadata.ensemble``), from the position every member forecasts;
its bands come from its own validation residuals. Like a statistical member it has no
window tensors, so TF Serving and the OIP refuse it with ``kind_unsupported``.
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
    one_step_bands,
    residual_horizon,
)
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
        windows = [m.context.window for m in members]
        self.context = Context(
            None if None in windows else max(w for w in windows if w is not None),
            max(m.context.min_length for m in members),
        )

    def windowed(
        self, panel: Sequence[Array], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        """The weighted one-step forecasts from the first position every member forecasts."""
        start = self.context.min_length
        each = [m.windowed(panel) for m in self._members]
        out = []
        for i, series in enumerate(panel):
            if len(series) <= start:
                out.append(Windowed(start, np.empty(0)))
                continue
            values = sum(
                (w * forecasts[i].values[start - forecasts[i].start :]
                 for w, forecasts in zip(self._weights, each, strict=True)),
                np.zeros(len(series) - start),
            )  # fmt: skip
            bands = one_step_bands(self.metadata.residual_quantiles, values, probabilities)
            out.append(Windowed(start, values, bands))
        return out

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        """The weighted horizon forecasts, with bands from the ensemble's validation residuals."""
        mean = sum(
            (
                w * m.ahead(panel, steps).mean
                for w, m in zip(self._weights, self._members, strict=True)
            ),
            np.zeros((len(panel), steps)),
        )
        return residual_horizon(self.metadata.residual_quantiles, mean, probabilities)


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
