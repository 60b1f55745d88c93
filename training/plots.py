"""The pictures a training run leaves in a version's ``assets/``: validation and LR sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from training.data import Series

Array = npt.NDArray[np.float64]


def validation_png(path: Path, series: Series, forecast: Array, title: str) -> None:
    """The series with the model's one-step forecasts of the validation part ``(n - split,)``."""
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    t = np.arange(len(series.values))
    ax.plot(t, series.values, lw=0.8, color="0.6", label="series")
    ax.plot(t[series.split :], forecast, lw=1.0, color="C0", label="one-step forecast")
    ax.axvline(series.split, color="k", ls=":", lw=0.8)
    ax.set_title(title)
    ax.set_xlabel("time step")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def sweep_png(path: Path, rates: list[float], losses: list[float], chosen: float) -> None:
    """The learning-rate sweep's loss curve with the chosen rate marked."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.semilogx(rates, losses)
    ax.axvline(chosen, color="C1", ls="--", label=f"chosen {chosen:.2g}")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (Huber)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
