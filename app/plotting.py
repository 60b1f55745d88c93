"""The picture of a forecast, drawn to answer two questions: what happens next, and does the
model beat the baselines.

The main panel shows the recent past and the horizon (how far back comes from the data: see
:func:`focus_start`), the model's horizon forecast bold inside its interval bands, the actuals as
points, the model's one-step forecasts over the same past, and the baselines thin and grey. A
small panel below shows the whole history with the focus span marked, and a text box beside it
the scores of the model against the best baseline on the same positions. With the request's
stamps the x axis is in their times, labelled with their step ("month"); without, in time steps.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import numpy.typing as npt
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from app.forecaster import Array
from app.forecasting import MODEL, ForecastResult, Scored
from contract.frequency import UNITS, Stamps

MODEL_COLOR = "C0"
SERIES_COLOR = "0.15"
BEST_BASELINE_COLOR = "0.35"
OTHER_BASELINE_COLORS = ("0.55", "0.65", "0.45", "0.75", "0.5")
OTHER_BASELINE_STYLES = ((0, (1, 1.5)), "-.", (0, (4, 2)), (0, (6, 1.5, 1, 1.5)), ":")
SHOWN_SCORES = ("mae", "rmse", "mase")
STEPS_LABEL = "time step"


@dataclass(frozen=True)
class TimeAxis:
    """Where position ``i`` of a series (or of its horizon, after it) sits on a picture's x axis.

    Without stamps at ``i`` itself, labelled "time step"; with stamps at value ``i``'s time
    (matplotlib's date numbers), labelled with their step's unit ("month"). A half position, the
    edge between two values, lies halfway between their times; before the first stamp and after
    the last the first and last steps go on.
    """

    dates: npt.NDArray[np.float64] | None = None  # (n + horizon,)
    label: str = STEPS_LABEL
    tz: tzinfo | None = None

    @classmethod
    def of(cls, stamps: Stamps | None) -> TimeAxis:
        """The axis of a series with ``stamps`` (of its values and horizon), or of steps."""
        if stamps is None or len(stamps.times) < 2:
            return cls()
        dates = np.asarray(mdates.date2num(stamps.times), dtype=np.float64)
        unit = UNITS.get(stamps.frequency, stamps.frequency)
        return cls(dates, unit, stamps.times[0].tzinfo)

    def at(self, positions: npt.ArrayLike) -> Array:
        """The x coordinates of ``positions`` (any shape, fractions allowed)."""
        where = np.asarray(positions, dtype=np.float64)
        dates = self.dates
        if dates is None:
            return where
        last = len(dates) - 1
        x = np.interp(where, np.arange(len(dates)), dates)
        x = np.where(where < 0, dates[0] + where * (dates[1] - dates[0]), x)
        return np.where(where > last, dates[-1] + (where - last) * (dates[-1] - dates[-2]), x)

    def x(self, position: float) -> float:
        """The x coordinate of one position."""
        return float(self.at(position))

    def draw(self, ax: Axes, *, labelled: bool = True) -> None:
        """Dates as ``ax``'s ticks when the axis has them, and its label under them."""
        if self.dates is not None:
            locator = mdates.AutoDateLocator(tz=self.tz)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=self.tz))
        if labelled:
            ax.set_xlabel(self.label)


def focus_start(n: int, horizon: int, season_length: int | None) -> int:
    """First position of the main panel for a series of ``n`` values and ``horizon`` steps.

    Three seasons back (the pattern the forecast must continue), but no fewer than four
    horizons and no more than twelve, so the horizon fills between a thirteenth and a fifth of
    the panel and stays readable; never before the series starts. Without a season: eight
    horizons.
    """
    wanted = 3 * season_length if season_length else 8 * horizon
    past = min(max(wanted, 4 * horizon), 12 * horizon)
    return max(0, n - past)


def best_baseline(scored: Scored | None) -> str | None:
    """The baseline with the lowest MAE on ``scored``'s positions, if any was scored."""
    if scored is None:
        return None
    maes = {
        name: s["mae"]
        for name, s in scored.scores.items()
        if name != MODEL and s["mae"] is not None
    }
    return min(maes, key=lambda k: maes[k]) if maes else None


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _score_rows(scored: Scored, names: Iterable[str]) -> list[str]:
    rows = []
    for name in names:
        scores = scored.scores.get(name)
        if scores is not None:
            cells = "".join(f"{_number(scores.get(k)):>9}" for k in SHOWN_SCORES)
            rows.append(f"{name[:26]:<26}{cells}")
    return rows


def _verdict(scored: Scored, baseline: str) -> str:
    model, other = scored.scores[MODEL]["mae"], scored.scores[baseline]["mae"]
    if model is None or other is None:
        return ""
    if model < other:
        gain = f" by {100 * (other - model) / other:.1f}%" if other > 0 else ""
        return f"the model beats {baseline} on MAE{gain}"
    if model == other:
        return f"the model ties with {baseline} on MAE"
    loss = f" by {100 * (model - other) / model:.1f}%" if model > 0 else ""
    return f"{baseline} beats the model on MAE{loss}"


def scores_text(result: ForecastResult) -> str:
    """The text box: one-step scores of the model and the best baseline (out of sample when the
    series holds the version's training part), horizon ones if any."""
    trained = result.trained_until
    if trained is not None and result.out_of_sample_scores is None:
        return (
            f"No out-of-sample scores: every position\nup to {trained - 1} is in the version's"
            " training part."
        )
    windowed = result.out_of_sample_scores if trained is not None else result.windowed_scores
    baseline = best_baseline(windowed)
    if windowed is None or baseline is None:
        return "No one-step scores: the series is no\nlonger than the model's window."
    header = f"{'':<26}" + "".join(f"{k.upper():>9}" for k in SHOWN_SCORES)
    shown = [MODEL, baseline]
    where = (
        "out of sample: after the version's training part"
        if trained is not None
        else "the version's training part is not found in the series"
    )
    lines = [
        f"One step ahead, positions {windowed.start} to {windowed.end - 1}"
        f" ({windowed.end - windowed.start} values)",
        where,
        "every method scored on the same positions",
        header,
        *_score_rows(windowed, shown),
        _verdict(windowed, baseline),
    ]
    horizon = result.horizon_scores
    if horizon is not None:
        lines += [
            "",
            f"Horizon against the actuals, {horizon.start} to {horizon.end - 1}"
            f" ({horizon.end - horizon.start} values)",
            header,
            *_score_rows(horizon, shown),
        ]
        if MODEL in horizon.scores and baseline in horizon.scores:
            lines.append(_verdict(horizon, baseline))
    return "\n".join(lines)


def _draw_focus(
    ax: Axes,
    series: Array,
    result: ForecastResult,
    start: int,
    baselines: Mapping[str, int],
    actuals: Array | None,
    axis: TimeAxis,
) -> None:
    n = len(series)
    values = result.model.forecast
    future = axis.at(np.arange(n, n + len(values)))
    ax.axvspan(axis.x(n - 0.5), axis.x(n + len(values) - 0.5), color="0.94", lw=0, zorder=0)
    ax.plot(
        axis.at(np.arange(start, n)), series[start:], lw=1.1, color=SERIES_COLOR, label="series"
    )

    windowed = result.model.windowed
    first = max(start, windowed.start)
    if first < n:
        ax.plot(
            axis.at(np.arange(first, n)),
            windowed.values[first - windowed.start :],
            lw=1.0,
            color=MODEL_COLOR,
            alpha=0.75,
            label="model, one step ahead",
        )
    levels = sorted(result.intervals.items(), key=lambda kv: -float(kv[0]))
    for i, (level, interval) in enumerate(levels):
        ax.fill_between(
            future, interval.lower, interval.upper, color=MODEL_COLOR,
            alpha=0.12 + 0.3 * i / max(1, len(levels) - 1), lw=0, label=f"{level}% interval",
        )  # fmt: skip
    for name, rank in baselines.items():
        best = rank == 0
        ax.plot(
            future, result.baselines[name].forecast,
            lw=1.3 if best else 0.9,
            ls="--" if best else OTHER_BASELINE_STYLES[(rank - 1) % len(OTHER_BASELINE_STYLES)],
            color=BEST_BASELINE_COLOR if best else OTHER_BASELINE_COLORS[(rank - 1) % 5],
            label=f"best baseline: {name}" if best else name,
        )  # fmt: skip
    ax.plot(
        future,
        values,
        lw=2.4,
        color=MODEL_COLOR,
        marker="o" if len(values) <= 60 else None,
        ms=3.5,
        label="model forecast",
        zorder=4,
    )
    if actuals is not None and len(actuals):
        ax.plot(
            future[: len(actuals)], actuals, "o", color="k", mfc="white", mew=1.0,
            ms=5 if len(actuals) <= 60 else 3,
            label="actuals", zorder=5,
        )  # fmt: skip
    ax.axvline(axis.x(n - 0.5), color="k", ls=":", lw=0.8)
    end = n + len(values) - 0.5 + max(1.0, 0.01 * (n - start))
    ax.set_xlim(axis.x(start - 0.5), axis.x(end))
    axis.draw(ax)
    ax.grid(alpha=0.25)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize="small", ncol=4, frameon=False)


def _draw_overview(
    ax: Axes, series: Array, result: ForecastResult, start: int, axis: TimeAxis
) -> None:
    n = len(series)
    values = result.model.forecast
    ax.plot(axis.at(np.arange(n)), series, lw=0.6, color=SERIES_COLOR)
    ax.plot(axis.at(np.arange(n, n + len(values))), values, lw=1.2, color=MODEL_COLOR)
    ax.axvspan(
        axis.x(start - 0.5), axis.x(n + len(values) - 0.5), color=MODEL_COLOR, alpha=0.15, lw=0
    )
    axis.draw(ax, labelled=False)
    ax.set_title(f"whole history, {n} values (shaded: the panel above)", fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.set_yticks([])


def forecast_figure(
    series: Array,
    result: ForecastResult,
    title: str,
    actuals: Array | None = None,
    *,
    season_length: int | None = None,
    baselines: Iterable[str] | None = None,
    stamps: Stamps | None = None,
) -> Figure:
    """The figure of ``series`` ``(n,)``, focused on its end and ``result``'s horizon forecast.

    ``baselines``: those whose horizon forecasts are drawn (thin, grey) besides the best one;
    by default only the best one. ``stamps``: the times of the values and the horizon, which
    the x axis is then in.
    """
    n = len(series)
    horizon = len(result.model.forecast)
    start = focus_start(n, horizon, season_length)
    best = best_baseline(
        result.out_of_sample_scores if result.trained_until is not None else result.windowed_scores
    )
    drawn = [best] if best is not None else []
    drawn += [b for b in (baselines or ()) if b in result.baselines and b not in drawn]
    ranks = {name: i if best is not None else i + 1 for i, name in enumerate(drawn)}

    fig = Figure(figsize=(11, 6.4), dpi=100)  # no pyplot: figures stay private to their thread
    grid = fig.add_gridspec(2, 2, height_ratios=(3.2, 1.25), width_ratios=(1.45, 1))
    main = fig.add_subplot(grid[0, :])
    axis = TimeAxis.of(stamps)
    _draw_focus(main, series, result, start, ranks, actuals, axis)
    fig.suptitle(
        f"{title}: {horizon} step{'s' if horizon != 1 else ''} ahead, last {n - start} values",
        x=0.01, ha="left",
    )  # fmt: skip
    if start > 0:
        _draw_overview(fig.add_subplot(grid[1, 0]), series, result, start, axis)
        text_axes = fig.add_subplot(grid[1, 1])
    else:
        text_axes = fig.add_subplot(grid[1, :])
    text_axes.axis("off")
    text_axes.text(
        0.0, 1.0, scores_text(result), family="monospace", fontsize=8.2, va="top", ha="left",
        transform=text_axes.transAxes,
    )  # fmt: skip
    fig.tight_layout()
    return fig


def forecast_png(
    series: Array,
    result: ForecastResult,
    title: str,
    actuals: Array | None = None,
    *,
    season_length: int | None = None,
    baselines: Iterable[str] | None = None,
    stamps: Stamps | None = None,
) -> bytes:
    """:func:`forecast_figure` as PNG bytes."""
    return png(
        forecast_figure(
            series,
            result,
            title,
            actuals,
            season_length=season_length,
            baselines=baselines,
            stamps=stamps,
        )
    )


def png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
