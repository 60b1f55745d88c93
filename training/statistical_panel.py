"""A statistical model fitted to every series of a panel, published as one version.

``forecast-train --global`` with ``auto_ets``, ``auto_arima`` or ``auto_theta`` (and
``--defaults --global``, which trains all three beside the global networks): one version per
model and panel, named ``<dataset>-<model>``, of kind ``statsforecast_panel``
(:mod:`contract.panel_fits`), instead of a version per series.

1. **Validation**: each series is fitted on its training part (all but its last ``H``
   values) and forecast ``H`` steps; those forecasts are the version's ``validation.panel``
   scores, beside the naive and seasonal naive ones, the same as a global network's, and the
   residuals behind its windowed bands (in units of each series' scale, as a global network's).
2. **Refit**: each series is fitted again on all its values, and those fits, keyed by series
   id, are the version. The service forecasts a series the version holds from its fit's
   parameters filtered through the request's values (statsforecast's ``forward``), so the
   values the refit saw are never refitted per request; a series it does not hold is fitted
   when it is first asked for (:mod:`app.statistical_panel`).

The series are fitted in worker processes (``workers``, default the cores this process may
use), so a panel's fits take the machine's cores, not one. Nothing of a series' validation
part reaches its validation fit.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import statsforecast

from contract import panel_fits, statistical
from contract.local_store import LocalStore
from contract.metadata import (
    STATSFORECAST_PANEL,
    DatasetInfo,
    ModelMetadata,
    PanelFitsInfo,
    Validation,
)
from contract.panel import MIN_INPUTS
from contract.publishing import now_utc
from contract.store import validate_name
from training import panel_scoring
from training.data import Panel
from training.pipeline import Published

Array = npt.NDArray[np.float64]

NAMES = panel_fits.NAMES
DESCRIPTIONS = {name: statistical.DESCRIPTIONS[name] + ", fitted per series" for name in NAMES}
# The scale the residual quantiles are in: each series' mean absolute value over its last
# SCALE_HORIZONS x H values, as a global network's longest lookback (7H).
SCALE_HORIZONS = 7
CHUNK = 64  # series per task sent to a worker


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class PanelFitConfig:
    """One statistical model to fit to every series of one panel."""

    architecture: str
    panel: Panel
    workers: int | None = None
    name: str | None = None
    verbose: bool = True

    @property
    def model_name(self) -> str:
        return self.name or f"{self.panel.name}-{self.architecture}".replace("_", "-")


def fit_all(
    name: str, season: int, horizon: int, serieses: Sequence[Array], workers: int
) -> list[tuple[panel_fits.Fit, Array]]:
    """:func:`contract.panel_fits.fit_and_forecast` over every series, in ``workers`` processes
    (in order). The workers import only :mod:`contract` (never TensorFlow): each is a small
    process that starts in a second, and prints nothing of TensorFlow's."""
    chunks = [serieses[i : i + CHUNK] for i in range(0, len(serieses), CHUNK)]
    if workers <= 1 or len(chunks) <= 1:
        return [
            out
            for chunk in chunks
            for out in panel_fits.fit_and_forecast(name, season, horizon, chunk)
        ]
    # Spawned, not forked: the parent may hold TensorFlow's threads (global networks train in
    # the same run), and a forked copy of a threaded process can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        done = pool.map(
            panel_fits.fit_and_forecast,
            [name] * len(chunks),
            [season] * len(chunks),
            [horizon] * len(chunks),
            chunks,
        )
        return [out for chunk in done for out in chunk]


def _progress(config: PanelFitConfig, text: str) -> None:
    if config.verbose:
        print(f"  {config.model_name}: {text}", flush=True)


def fit_and_publish(config: PanelFitConfig, store_path: Path) -> Published:
    """Fit every series twice (validation, then refit), score, and publish one version."""
    name = validate_name(config.model_name)
    panel = config.panel
    panel.check()
    workers = config.workers or cores()
    started = time.perf_counter()
    trains = [panel.train(i) for i in range(len(panel.values))]
    scored = fit_all(config.architecture, panel.season_length, panel.horizon, trains, workers)
    forecasts = np.stack([ahead for _, ahead in scored])
    if not np.isfinite(forecasts).all():
        bad = [panel.ids[i] for i in np.flatnonzero(~np.isfinite(forecasts).all(axis=1))]
        raise statistical.StatisticalError(
            f"{config.architecture} gave non-finite validation forecasts for {len(bad)} series"
            f" (first {bad[0]!r})"
        )
    _progress(
        config, f"validation fits of {len(trains)} series: {time.perf_counter() - started:.1f} s"
    )
    refitted = fit_all(
        config.architecture, panel.season_length, panel.horizon, list(panel.values), workers
    )
    fits = {key: fit for key, (fit, _) in zip(panel.ids, refitted, strict=True)}
    seconds = time.perf_counter() - started
    chosen = collections.Counter(fit.chosen for fit in fits.values())
    failed = sum(fit.fallback is not None for fit in fits.values())
    scale_window = SCALE_HORIZONS * panel.horizon

    def build(folder: Path) -> ModelMetadata:
        sha256 = panel_fits.save(fits, folder)
        panel_scoring.save_forecasts(forecasts, folder)
        scores, by_panel = panel_scoring.validation(panel, forecasts)
        model, naive = by_panel.scores["model"], by_panel.scores["naive"]
        _progress(
            config,
            f"validation sMAPE {model.smape:.3f} (naive {naive.smape:.3f}), {seconds:.1f} s",
        )
        lengths = sorted(len(v) for v in panel.values)
        total = sum(lengths)
        split = total - len(lengths) * panel.horizon
        return ModelMetadata(
            kind=STATSFORECAST_PANEL,
            name=name,
            version=0,
            architecture=config.architecture,
            window_size=scale_window,
            horizon=panel.horizon,
            season_length=panel.season_length,
            dataset=DatasetInfo(
                name=panel.name,
                length=total,
                sha256=panel.sha256(),
                split=split,
                frequency=panel.frequency,
                last_timestamp=panel.last_timestamp,
                season_length_source=None,
            ),
            training_seconds=round(seconds, 3),
            created_at=now_utc(),
            validation=Validation(start=split, end=total, scores=scores, panel=by_panel),
            residual_quantiles=panel_scoring.residual_quantiles(panel, forecasts, scale_window),
            panel_fits=PanelFitsInfo(
                statsforecast_version=statsforecast.__version__,
                series=len(fits),
                models=dict(chosen.most_common()),
                fit=f"validation: each series' training part (all but its last {panel.horizon}"
                " values); the version: each series refitted on all its values",
                unseen="fitted on the values of its first request, kept by id while the"
                " version is loaded",
                failed=failed,
                scale_window=scale_window,
                min_length=MIN_INPUTS,
                sha256=sha256,
            ),
        )

    local = LocalStore(store_path)
    version = local.publish(name, build)
    return Published(
        name, version, local.local_folder(name, version), local.read_metadata(name, version)
    )
