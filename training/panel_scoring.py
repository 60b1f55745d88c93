"""A panel version's scores and residuals on every series' validation part (its last ``H``).

Shared by every kind trained across a panel (global networks, statistical fits per series,
their combination), so their ``validation.panel`` scores compare: each series' sMAPE and MASE
(in-sample seasonal naive scale of its training part, naive when it has no season) averaged
over the series, beside the naive and seasonal naive forecasts of the same values. Pure numpy.

Each panel version also keeps the validation forecasts it was scored with,
``validation_forecasts.npy`` ``(k, H)`` in the panel's series order: a combination of
versions of the same panel is chosen and scored from them (:mod:`training.panel_combination`)
without refitting its members.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from contract import metrics
from contract.metadata import (
    QUANTILE_LEVELS,
    PanelScore,
    PanelValidation,
    ResidualQuantiles,
    Scores,
)
from contract.panel import last_windows, window_scale
from training.data import Panel

Array = npt.NDArray[np.float64]


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def panel_scores(panel: Panel, forecasts: Array) -> tuple[Scores, PanelScore]:
    """Each series' scores of ``forecasts`` ``(k, H)`` on its validation part, averaged."""
    each = []
    for i in range(len(panel.values)):
        train = panel.train(i)
        scale = metrics.seasonal_naive_scale(train, panel.season_length) or metrics.naive_scale(
            train
        )
        each.append(
            (
                metrics.score(panel.valid(i), forecasts[i], scale),
                metrics.smape(panel.valid(i), forecasts[i]),
            )
        )
    mean = {key: _mean([scores[key] for scores, _ in each]) for key in metrics.METRIC_NAMES}
    scores = Scores(
        mae=mean["mae"] or 0.0,
        mse=mean["mse"] or 0.0,
        rmse=mean["rmse"] or 0.0,
        mape=mean["mape"],
        mase=mean["mase"],
    )
    return scores, PanelScore(smape=float(np.mean([s for _, s in each])), mase=mean["mase"])


def baseline_forecasts(panel: Panel) -> dict[str, Array]:
    """Naive and (with a season every training part holds) seasonal naive, ``(k, H)`` each."""
    h, m = panel.horizon, panel.season_length
    trains = [panel.train(i) for i in range(len(panel.values))]
    out = {"naive": np.stack([np.repeat(t[-1], h) for t in trains])}
    if m > 1 and all(len(t) >= m for t in trains):
        out["seasonal_naive"] = np.stack([np.resize(t[-m:], h) for t in trains])
    return out


def residual_quantiles(panel: Panel, forecasts: Array, lookback: int) -> ResidualQuantiles:
    """Quantiles by step of the validation errors over each series' window scale (the scale
    of its last ``lookback`` training values, as the service scales the series it forecasts)."""
    trains = [panel.train(i) for i in range(len(panel.values))]
    scale = window_scale(*last_windows(trains, lookback))
    actual = np.stack([panel.valid(i) for i in range(len(panel.values))])
    residuals = (actual - forecasts) / scale[:, None]  # (k, H)
    k = len(residuals)
    levels = list(QUANTILE_LEVELS)
    by_step = np.quantile(residuals, levels, axis=0).T if k >= 2 else np.empty((0, 0))
    return ResidualQuantiles(
        levels=levels,
        by_step=by_step.tolist(),
        count=k,
        counts=[k] * len(by_step),
    )


def validation(panel: Panel, forecasts: Array) -> tuple[dict[str, Scores], PanelValidation]:
    """``validation.scores`` and ``validation.panel`` of ``forecasts`` ``(k, H)``, beside the
    baselines' on the same values."""
    model_scores, model_panel = panel_scores(panel, forecasts)
    scores, panel_by = {"model": model_scores}, {"model": model_panel}
    for baseline, values in baseline_forecasts(panel).items():
        scores[baseline], panel_by[baseline] = panel_scores(panel, values)
    return scores, PanelValidation(
        series=len(panel.values),
        horizon=panel.horizon,
        season_length=panel.season_length,
        scores=panel_by,
    )


FORECASTS_FILE = "validation_forecasts.npy"


def save_forecasts(forecasts: Array, folder: Path) -> None:
    """Keep a version's validation forecasts ``(k, H)`` in its folder."""
    np.save(folder / FORECASTS_FILE, np.asarray(forecasts, dtype=np.float64), allow_pickle=False)


def load_forecasts(folder: Path) -> Array:
    """A published version's validation forecasts ``(k, H)``."""
    return np.load(folder / FORECASTS_FILE, allow_pickle=False)
