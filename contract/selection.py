"""Which version to use for a dataset, chosen by validation only.

Versions trained on the same values with the same split were scored on the same validation
positions, so their validation MAEs compare fairly; versions of other data, or split elsewhere,
do not. :func:`best_by_dataset` groups versions by (dataset name, sha256, split) and picks the
lowest validation MAE in each group. Nothing here reads the values after the split beyond the
scores training already wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contract.metadata import ModelMetadata


@dataclass(frozen=True)
class Choice:
    """The best version for one dataset, and how many versions it was chosen among."""

    dataset: str
    sha256: str
    split: int
    model: str
    version: int
    validation_mae: float
    candidates: int


def best_by_dataset(versions: Iterable[tuple[str, int, ModelMetadata]]) -> list[Choice]:
    """The lowest validation MAE per dataset among ``(name, version, metadata)``.

    Ties go to the first by (name, version). Datasets come in order of name, then split.
    """
    groups: dict[tuple[str, str, int], list[tuple[float, str, int]]] = {}
    for name, version, meta in versions:
        key = (meta.dataset.name, meta.dataset.sha256, meta.dataset.split)
        groups.setdefault(key, []).append((meta.validation.scores["model"].mae, name, version))
    choices = []
    for (dataset, sha256, split), scored in sorted(groups.items()):
        mae, name, version = min(scored)
        choices.append(Choice(dataset, sha256, split, name, version, mae, len(scored)))
    return choices
