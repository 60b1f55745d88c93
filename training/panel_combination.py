"""The combination of a panel's versions: the mean of the subset that did best on validation.

``forecast-train --defaults --global`` trains global networks and statistical models fitted
per series on one panel, then this: across families, combining forecasts is the most reliable
gain on competition data (the M3 and M4 winners were combinations), and it costs no fitting,
since every panel version keeps the validation forecasts it was scored with
(:data:`training.panel_scoring.FORECASTS_FILE`).

* **Choice**: every subset of at least two of the run's versions is scored on the panel's
  validation parts (each series' last ``H`` values), as the mean of its members' forecasts;
  the lowest mean sMAPE wins, and those members are combined with equal weights. The members
  and their weights come from validation only, as a global version's members do; the
  validation score of the chosen subset is therefore a little optimistic (it was chosen on
  those values), which ``ensemble.choice`` says.
* **Version**: kind ``ensemble`` (:mod:`app.ensemble`), holding a copy of each member's folder,
  named ``<dataset>-combination``. Its residuals are the chosen mean's validation errors in
  units of each series' scale, as its members' are, so every series gets bands of its size.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from contract import store
from contract.local_store import LocalStore
from contract.metadata import (
    ENSEMBLE,
    DatasetInfo,
    EnsembleInfo,
    EnsembleMember,
    ModelMetadata,
    Validation,
)
from contract.publishing import now_utc
from training import panel_scoring
from training.data import DataError, Panel
from training.pipeline import Published
from training.statistical_panel import SCALE_HORIZONS

Array = npt.NDArray[np.float64]

ARCHITECTURE = "combination"
MIN_MEMBERS = 2
MAX_CANDIDATES = 10  # 1,013 subsets: each a mean and an sMAPE over the panel, in numpy


def smape_by_series(actual: Array, forecast: Array) -> Array:
    """Each series' sMAPE in percent, ``(k,)``, of ``forecast`` ``(k, H)`` against ``actual``."""
    error = np.abs(actual - forecast)
    total = np.abs(actual) + np.abs(forecast)
    ratio = np.where(total > 0, 200.0 * error / np.where(total > 0, total, 1.0), 0.0)
    return ratio.mean(axis=1)


def choose(actual: Array, forecasts: Sequence[Array]) -> tuple[tuple[int, ...], float]:
    """The subset of ``forecasts`` (each ``(k, H)``) whose mean has the lowest panel sMAPE."""
    best: tuple[tuple[int, ...], float] | None = None
    for size in range(MIN_MEMBERS, len(forecasts) + 1):
        for subset in itertools.combinations(range(len(forecasts)), size):
            mean = np.mean([forecasts[i] for i in subset], axis=0)
            score = float(smape_by_series(actual, mean).mean())
            if best is None or score < best[1] - 1e-12:
                best = (subset, score)
    if best is None:
        raise DataError(f"a combination needs at least {MIN_MEMBERS} versions of the panel")
    return best


def combine_and_publish(
    panel: Panel,
    published: Sequence[Published],
    store_path: Path,
    name: str | None = None,
    verbose: bool = True,
) -> Published:
    """Choose the run's best subset on validation and publish its mean as one version."""
    model_name = store.validate_name(name or f"{panel.name}-{ARCHITECTURE}".replace("_", "-"))
    sha256 = panel.sha256()
    candidates = [
        p
        for p in published
        if p.metadata.validation.panel is not None
        and p.metadata.dataset.sha256 == sha256
        and (p.path / panel_scoring.FORECASTS_FILE).is_file()
    ]
    if len(candidates) < MIN_MEMBERS:
        raise DataError(
            f"a combination needs at least {MIN_MEMBERS} versions of this panel with their"
            f" validation forecasts; the run published {len(candidates)}"
        )
    if len(candidates) > MAX_CANDIDATES:
        candidates = sorted(
            candidates,
            key=lambda p: p.metadata.validation.panel.scores["model"].smape,  # type: ignore[union-attr]
        )[:MAX_CANDIDATES]
    started = time.perf_counter()
    actual = np.stack([panel.valid(i) for i in range(len(panel.values))])
    forecasts = [panel_scoring.load_forecasts(p.path) for p in candidates]
    for p, f in zip(candidates, forecasts, strict=True):
        if f.shape != actual.shape:
            raise DataError(
                f"{p.name} version {p.version}'s validation forecasts have shape {list(f.shape)},"
                f" the panel's validation parts {list(actual.shape)}"
            )
    subset, score = choose(actual, forecasts)
    members = [candidates[i] for i in subset]
    mean = np.mean([forecasts[i] for i in subset], axis=0)
    seconds = time.perf_counter() - started
    scale_window = SCALE_HORIZONS * panel.horizon
    subsets = sum(
        1 for size in range(MIN_MEMBERS, len(candidates) + 1)
        for _ in itertools.combinations(range(len(candidates)), size)
    )  # fmt: skip

    def build(folder: Path) -> ModelMetadata:
        for i, member in enumerate(members):
            shutil.copytree(member.path, folder / store.MEMBERS_DIR / str(i))
        panel_scoring.save_forecasts(mean, folder)
        scores, by_panel = panel_scoring.validation(panel, mean)
        if verbose:
            print(
                f"  {model_name}: mean of {', '.join(m.name for m in members)}: validation"
                f" sMAPE {by_panel.scores['model'].smape:.3f}",
                flush=True,
            )
        lengths = sorted(len(v) for v in panel.values)
        total = sum(lengths)
        split = total - len(lengths) * panel.horizon
        return ModelMetadata(
            kind=ENSEMBLE,
            name=model_name,
            version=0,
            architecture=ARCHITECTURE,
            window_size=max([scale_window, *(m.metadata.window_size for m in members)]),
            horizon=panel.horizon,
            season_length=panel.season_length,
            dataset=DatasetInfo(
                name=panel.name,
                length=total,
                sha256=sha256,
                split=split,
                frequency=panel.frequency,
                last_timestamp=panel.last_timestamp,
                season_length_source=None,
            ),
            training_seconds=round(seconds + sum(m.metadata.training_seconds for m in members), 3),
            created_at=now_utc(),
            validation=Validation(start=split, end=total, scores=scores, panel=by_panel),
            residual_quantiles=panel_scoring.residual_quantiles(panel, mean, scale_window),
            ensemble=EnsembleInfo(
                combination="mean_of_validation_choice",
                members=[
                    EnsembleMember(
                        name=m.name,
                        version=m.version,
                        kind=m.metadata.kind,
                        architecture=m.metadata.architecture,
                        window_size=m.metadata.window_size,
                        weight=1.0 / len(members),
                    )
                    for m in members
                ],
                choice=f"the lowest validation sMAPE ({score:.3f}) of the means of {subsets}"
                f" subsets of {', '.join(c.name for c in candidates)}: chosen on the same"
                " validation parts it is scored on, so that score is a little optimistic",
                scale_window=scale_window,
            ),
        )

    local = LocalStore(store_path)
    version = local.publish(model_name, build)
    return Published(
        model_name,
        version,
        local.local_folder(model_name, version),
        local.read_metadata(model_name, version),
    )
