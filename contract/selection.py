"""Which version to use for a dataset, chosen by validation only.

Versions trained on the same values with the same split were scored on the same validation
positions, so their validation MAEs compare fairly; versions of other data, or split elsewhere,
do not. :func:`best_by_dataset` groups versions by (dataset name, sha256, split) and picks the
lowest validation MAE in each group. Versions trained across a panel (``validation.panel``)
compare by their scale-free score instead, the sMAPE averaged over the panel's series: an MAE
averaged over series of different scales is dominated by the largest ones. Nothing here reads
the values after the split beyond the scores training already wrote.
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
    metric: str = "mae"  # what chose it: "mae", or "smape" among panel versions
    score: float | None = None  # its value of that metric; None for "mae", validation_mae


def _score(meta: ModelMetadata, panel: bool) -> float:
    if panel and meta.validation.panel is not None:
        return meta.validation.panel.scores["model"].smape
    return meta.validation.scores["model"].mae


def best_by_dataset(versions: Iterable[tuple[str, int, ModelMetadata]]) -> list[Choice]:
    """The lowest validation MAE per dataset among ``(name, version, metadata)``.

    When every version of a dataset was trained across a panel, the lowest panel sMAPE instead.
    Ties go to the first by (name, version). Datasets come in order of name, then split.
    """
    groups: dict[tuple[str, str, int], list[tuple[str, int, ModelMetadata]]] = {}
    for name, version, meta in versions:
        key = (meta.dataset.name, meta.dataset.sha256, meta.dataset.split)
        groups.setdefault(key, []).append((name, version, meta))
    choices = []
    for (dataset, sha256, split), members in sorted(groups.items()):
        panel = all(meta.validation.panel is not None for _, _, meta in members)
        score, name, version, meta = min(
            (_score(meta, panel), name, version, meta) for name, version, meta in members
        )
        mae = meta.validation.scores["model"].mae
        choices.append(
            Choice(
                dataset,
                sha256,
                split,
                name,
                version,
                mae,
                len(members),
                "smape" if panel else "mae",
                score if panel else None,
            )
        )
    return choices
