"""The loader table: how a version of each ``kind`` (``metadata.json``'s) becomes a Forecaster.

A new model family is one module with a loader plus one entry here; no route learns its name.
A loader reads the version's files from a local folder, checks and warms the model, and raises
on any failure (the registry records the version as FAILED with the message).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app import ensemble, global_network, servable, statistical, statistical_panel
from app.forecaster import Forecaster
from contract.metadata import ModelMetadata
from contract.store import StoreError

CallHook = servable.CallHook
Loader = Callable[[Path, str, int, ModelMetadata, CallHook | None], Forecaster]


def _ensemble(
    folder: Path, name: str, version: int, metadata: ModelMetadata, on_call: CallHook | None
) -> Forecaster:
    # An ensemble's members are versions of any kind: each loads through this same table.
    return ensemble.load(folder, name, version, metadata, on_call, load)


LOADERS: dict[str, Loader] = {
    servable.KIND: servable.load,
    statistical.KIND: statistical.load,
    ensemble.KIND: _ensemble,
    global_network.KIND: global_network.load,
    statistical_panel.KIND: statistical_panel.load,
}


def load(
    folder: Path, name: str, version: int, metadata: ModelMetadata, on_call: CallHook | None
) -> Forecaster:
    """Load one version through its kind's loader; :class:`StoreError` for an unknown kind."""
    loader = LOADERS.get(metadata.kind)
    if loader is None:
        raise StoreError(
            f"metadata.json's kind {metadata.kind!r} is not one this server loads"
            f" ({', '.join(sorted(LOADERS))})"
        )
    return loader(folder, name, version, metadata, on_call)
