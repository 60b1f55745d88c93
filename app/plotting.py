"""The picture of a forecast: the series, the windowed and horizon forecasts, the baselines."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from app.forecasting import Array, ForecastResult


def forecast_png(
    series: Array, result: ForecastResult, title: str, actuals: Array | None = None
) -> bytes:
    """A PNG of ``series`` ``(n,)`` with ``result``'s forecasts, intervals and baselines."""
    n = len(series)
    values = result.model.forecast
    future = np.arange(n, n + len(values))
    fig = Figure(figsize=(11, 4.5), dpi=100)  # no pyplot: figures stay private to their thread
    ax = fig.subplots()
    ax.plot(np.arange(n), series, lw=0.8, color="0.35", label="series", zorder=3)
    windowed = result.model.windowed
    if len(windowed.values):
        start = windowed.start
        ax.plot(
            np.arange(start, n), windowed.values, lw=1.0, color="C0", label="model, one step ahead"
        )
    for i, (level, interval) in enumerate(
        sorted(result.intervals.items(), key=lambda kv: -float(kv[0]))
    ):
        ax.fill_between(
            future, interval.lower, interval.upper, color="C0", alpha=min(0.15 + 0.1 * i, 0.9), lw=0,
            label=f"{level}% interval",
        )  # fmt: skip
    ax.plot(
        future,
        values,
        lw=1.8,
        color="C0",
        marker="." if len(values) < 50 else None,
        label="model forecast",
    )
    for i, (name, baseline) in enumerate(result.baselines.items(), start=1):
        color = f"C{i}"
        b = baseline.windowed
        ax.plot(
            np.arange(b.start, b.start + len(b.values)), b.values, lw=0.5, color=color, alpha=0.5
        )
        ax.plot(future, baseline.forecast, lw=1.0, ls="--", color=color, label=name)
    if actuals is not None and len(actuals):
        ax.plot(future[: len(actuals)], actuals, "k.", ms=4, label="actuals")
    ax.axvline(n - 0.5, color="k", ls=":", lw=0.8)
    ax.set_title(title)
    ax.set_xlabel("time step")
    ax.legend(loc="upper left", fontsize="small", ncol=2)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
