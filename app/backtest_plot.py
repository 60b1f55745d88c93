"""The picture of a backtest: does the model hold up from every cutoff, and at which step.

The main panel shows the series around the held-out part, each window's model forecast from its
cutoff (with the widest interval asked for, shaded) and the best baseline's, dashed. Below, the
MAE of every method by step ahead, and a text box with the overall scores and coverage.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from app.backtesting import BacktestResult
from app.forecaster import Array
from app.forecasting import MODEL
from app.plotting import BEST_BASELINE_COLOR, MODEL_COLOR, SERIES_COLOR, SHOWN_SCORES

MAX_DRAWN_WINDOWS = 60  # beyond this, evenly spaced windows are drawn (every one is scored)


def best_baseline(result: BacktestResult) -> str | None:
    """The baseline with the lowest overall MAE, if any was backtested."""
    maes = {name: m.overall["mae"] for name, m in result.methods.items() if name != MODEL}
    ranked = [name for name, mae in maes.items() if mae is not None]
    return min(ranked, key=lambda k: maes[k] or 0.0) if ranked else None


def drawn_windows(k: int) -> list[int]:
    """Which of ``k`` windows the main panel draws: all, or at most MAX_DRAWN_WINDOWS spread out."""
    if k <= MAX_DRAWN_WINDOWS:
        return list(range(k))
    return sorted({round(i) for i in np.linspace(0, k - 1, MAX_DRAWN_WINDOWS)})


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def scores_text(result: BacktestResult) -> str:
    """The text box: overall scores of every method, best first, and the model's coverage."""
    ranked = sorted(
        result.methods,
        key=lambda name: (result.methods[name].overall["mae"] or np.inf, name != MODEL),
    )
    k, h = result.actuals.shape
    header = f"{'':<26}" + "".join(f"{m.upper():>9}" for m in SHOWN_SCORES)
    lines = [
        f"Overall, {k} window{'s' if k != 1 else ''} x {h} step{'s' if h != 1 else ''}",
        header,
    ]
    for name in ranked:
        cells = "".join(f"{_number(result.methods[name].overall[m]):>9}" for m in SHOWN_SCORES)
        lines.append(f"{name[:26]:<26}{cells}")
    if result.coverage:
        lines += ["", "Interval coverage (model)"]
        lines += [
            f"  {level}%: {100 * c.overall:.1f}% of actuals inside"
            for level, c in sorted(result.coverage.items(), key=lambda kv: float(kv[0]))
        ]
    return "\n".join(lines)


def _draw_windows(ax: Axes, series: Array, result: BacktestResult, start: int) -> None:
    n, h = len(series), result.windows.h
    ends = result.windows.ends
    ax.axvspan(ends[0] - 0.5, n - 0.5, color="0.95", lw=0, zorder=0)
    ax.plot(np.arange(start, n), series[start:], lw=1.1, color=SERIES_COLOR, label="series")
    widest = max(result.intervals, key=float, default=None)
    baseline = best_baseline(result)
    shown = drawn_windows(len(ends))
    alpha = max(0.25, 1.0 - len(shown) / 80)
    for rank, i in enumerate(shown):
        steps = np.arange(ends[i], ends[i] + h)
        first = rank == 0
        if widest is not None:
            band = result.intervals[widest]
            ax.fill_between(
                steps, band.lower[i], band.upper[i], color=MODEL_COLOR, alpha=0.08, lw=0,
                label=f"model {widest}% interval" if first else None,
            )  # fmt: skip
        if baseline is not None:
            ax.plot(
                steps, result.methods[baseline].forecasts[i], ls="--", lw=0.9,
                color=BEST_BASELINE_COLOR, alpha=alpha,
                label=f"best baseline: {baseline}" if first else None,
            )  # fmt: skip
        ax.plot(
            steps, result.methods[MODEL].forecasts[i], lw=1.5, color=MODEL_COLOR, alpha=alpha,
            marker="o" if h <= 30 and len(shown) <= 10 else None, ms=3,
            label="model, from each cutoff" if first else None,
        )  # fmt: skip
    ax.axvline(ends[0] - 0.5, color="k", ls=":", lw=0.8)
    ax.set_xlim(start - 0.5, n - 0.5)
    ax.set_xlabel("time step (shaded: held out; dotted: first cutoff)")
    ax.grid(alpha=0.25)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize="small", ncol=4, frameon=False)


def _draw_mae_by_step(ax: Axes, result: BacktestResult) -> None:
    h = result.windows.h
    steps = np.arange(1, h + 1)
    baseline = best_baseline(result)
    for name, method in result.methods.items():
        maes = np.array([s["mae"] for s in method.by_step], dtype=np.float64)
        style: dict[str, Any]
        if name == MODEL:
            style = {"color": MODEL_COLOR, "lw": 2.0, "zorder": 3}
        elif name == baseline:
            style = {"color": BEST_BASELINE_COLOR, "lw": 1.3, "ls": "--"}
        else:
            style = {"color": "0.7", "lw": 0.8}
        ax.plot(steps, maes, marker="o" if h <= 30 else None, ms=3, label=name, **style)
    ax.set_ylabel("MAE", fontsize="small")
    ax.set_xlabel("steps ahead (MAE over the windows)", fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.grid(alpha=0.25)
    ax.legend(fontsize="x-small", frameon=False, ncol=3, loc="lower left", bbox_to_anchor=(0, 1))


def backtest_figure(series: Array, result: BacktestResult, title: str) -> Figure:
    """The figure of ``result``, a backtest of ``series`` ``(n,)``."""
    n = len(series)
    first = int(result.windows.ends[0])
    start = max(0, first - max(3 * result.windows.h, (n - first) // 2))
    fig = Figure(figsize=(11, 6.8), dpi=100)  # no pyplot: figures stay private to their thread
    grid = fig.add_gridspec(2, 2, height_ratios=(3.0, 1.6), width_ratios=(1.2, 1))
    _draw_windows(fig.add_subplot(grid[0, :]), series, result, start)
    k = len(result.windows.ends)
    fig.suptitle(
        f"{title}: backtest, {k} cutoff{'s' if k != 1 else ''}, {result.windows.h} steps each",
        x=0.01, ha="left",
    )  # fmt: skip
    _draw_mae_by_step(fig.add_subplot(grid[1, 0]), result)
    text = fig.add_subplot(grid[1, 1])
    text.axis("off")
    text.text(
        0.0, 1.0, scores_text(result), family="monospace", fontsize=8.2, va="top", ha="left",
        transform=text.transAxes,
    )  # fmt: skip
    fig.tight_layout()
    return fig


def backtest_png(series: Array, result: BacktestResult, title: str) -> bytes:
    """:func:`backtest_figure` as PNG bytes."""
    buffer = io.BytesIO()
    backtest_figure(series, result, title).savefig(buffer, format="png")
    return buffer.getvalue()
