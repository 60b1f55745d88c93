"""Choosing a version per dataset by validation MAE only."""

from __future__ import annotations

from pathlib import Path

from contract import store
from contract.metadata import ModelMetadata
from contract.selection import Choice, best_by_dataset


def _scored(meta: ModelMetadata, mae: float, **dataset: object) -> ModelMetadata:
    scores = dict(meta.validation.scores)
    scores["model"] = scores["model"].model_copy(update={"mae": mae})
    return meta.model_copy(
        update={
            "dataset": meta.dataset.model_copy(update=dataset),
            "validation": meta.validation.model_copy(update={"scores": scores}),
        }
    )


def test_versions_compare_only_within_the_same_values_and_split(tiny_store: Path) -> None:
    meta = store.read_metadata(store.version_dir(tiny_store, "tiny-linear", 1))
    other = "0" * 64
    versions = [
        ("a", 1, _scored(meta, 3.0)),
        ("b", 1, _scored(meta, 2.0)),
        ("b", 2, _scored(meta, 2.0)),  # a tie: the first by (name, version) wins
        ("c", 1, _scored(meta, 1.0, split=250)),  # split elsewhere: other positions
        ("d", 1, _scored(meta, 0.5, sha256=other)),  # other values under the same name
    ]
    sha = meta.dataset.sha256
    assert best_by_dataset(versions) == [
        Choice("tiny", other, 300, "d", 1, 0.5, 1),
        Choice("tiny", sha, 250, "c", 1, 1.0, 1),
        Choice("tiny", sha, 300, "b", 1, 2.0, 3),
    ]
    assert best_by_dataset([]) == []
