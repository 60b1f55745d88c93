"""The numeric core of /forecast, on numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from app import forecasting
from app.errors import InvalidRequest, NonFiniteResult, SeriesTooShort
from app.forecaster import (
    Context,
    Horizon,
    Windowed,
    one_step_bands,
    residual_bands,
    residual_offsets,
)
from contract import baselines, metrics
from contract.metadata import ResidualQuantiles

QUANTILES = ResidualQuantiles(
    levels=[0.05, 0.1, 0.5, 0.9, 0.95],
    by_step=[[-4.0, -2.0, 0.0, 2.0, 4.0], [-8.0, -4.0, 0.0, 4.0, 8.0]],
    count=100,
)


class MeanOfWindow:
    """A Forecaster in numpy: the next values all equal the window's mean; residual intervals."""

    def __init__(self, window_size: int) -> None:
        self.context = Context(window_size, window_size)
        self.window_size = window_size
        self.calls: list[int] = []

    def windowed(
        self, panel: Sequence[npt.NDArray[np.float64]], probabilities: Sequence[float] = ()
    ) -> list[Windowed]:
        out = []
        for x in panel:
            if len(x) <= self.window_size:
                out.append(Windowed(self.window_size, np.empty(0)))
                continue
            windows = np.lib.stride_tricks.sliding_window_view(x[:-1], self.window_size)
            self.calls.append(len(windows))
            values = windows.mean(axis=1)
            out.append(
                Windowed(self.window_size, values, one_step_bands(QUANTILES, values, probabilities))
            )
        return out

    def ahead(
        self,
        panel: Sequence[npt.NDArray[np.float64]],
        steps: int,
        probabilities: Sequence[float] = (),
    ) -> Horizon:
        self.calls.append(len(panel))
        w = np.stack([x[-self.window_size :] for x in panel])
        out = []
        for _ in range(steps):
            y = w.mean(axis=1, keepdims=True)
            out.append(y)
            w = np.concatenate([w[:, 1:], y], axis=1)
        mean = np.concatenate(out, axis=1)
        return Horizon(mean, residual_bands(QUANTILES, mean, probabilities))


def test_windowed_forecast_is_one_call_over_every_window() -> None:
    x = np.arange(30, dtype=np.float64)
    model = MeanOfWindow(4)
    w = forecasting.windowed_forecast(model, x)
    assert model.calls == [26]  # 26 windows, one call
    assert w.start == 4
    expected = [x[t - 4 : t].mean() for t in range(4, 30)]
    np.testing.assert_allclose(w.values, expected)


def test_windowed_forecast_of_a_series_no_longer_than_the_window_is_empty() -> None:
    model = MeanOfWindow(5)
    w = forecasting.windowed_forecast(model, np.ones(5))
    assert w.start == 5 and w.values.shape == (0,) and model.calls == []


def _intervals(
    values: npt.NDArray[np.float64], quantiles: ResidualQuantiles, levels: list[float]
) -> dict[str, forecasting.Interval]:
    """Intervals the way a residual-quantile family gives them: bands, then the levels' pairs."""
    probabilities = forecasting.interval_probabilities(levels)
    bands = residual_bands(quantiles, values[None, :], probabilities)
    return forecasting.prediction_intervals({p: b[0] for p, b in bands.items()}, levels)


def test_intervals_interpolate_between_stored_levels() -> None:
    values = np.array([10.0, 20.0])
    intervals = _intervals(values, QUANTILES, [80, 85])
    np.testing.assert_allclose(intervals["80"].lower, [8.0, 16.0])
    np.testing.assert_allclose(intervals["80"].upper, [12.0, 24.0])
    # 85% runs from the 7.5% to the 92.5% quantile: halfway between the 5% and 10% rows.
    np.testing.assert_allclose(intervals["85"].lower, [7.0, 14.0])
    np.testing.assert_allclose(intervals["85"].upper, [13.0, 26.0])


def test_intervals_beyond_the_stored_steps_widen_by_the_square_root() -> None:
    q = residual_offsets(QUANTILES, [0.9], horizon=8)
    np.testing.assert_allclose(q[0], [2.0, 4.0] + [4.0 * np.sqrt(h / 2) for h in range(3, 9)])


def test_levels_beyond_the_stored_probabilities_are_clamped() -> None:
    intervals = _intervals(np.zeros(1), QUANTILES, [99.9])
    assert (intervals["99.9"].lower[0], intervals["99.9"].upper[0]) == (-4.0, 4.0)
    assert forecasting.level_key(97.5) == "97.5" and forecasting.level_key(80.0) == "80"


def test_unusable_quantiles_refuse_intervals() -> None:
    broken = ResidualQuantiles(levels=[0.1, 0.9], by_step=[], count=0)
    with pytest.raises(InvalidRequest, match="residual quantiles"):
        _intervals(np.zeros(3), broken, [80])


def test_scores_use_the_positions_every_method_covers() -> None:
    x = np.sin(np.arange(200) / 5.0) * 10 + np.arange(200) * 0.1
    windowed = {
        "model": forecasting.Windowed(20, x[19:-1]),
        "seasonal_naive": forecasting.Windowed(*baselines.windowed("seasonal_naive", x, 40)),
    }
    scored = forecasting.score_windowed(x, windowed)
    assert scored is not None and (scored.start, scored.end) == (40, 200)
    scale = metrics.naive_scale(x[:40])
    assert scored.scores["model"] == metrics.score(x[40:], x[39:-1], scale)
    assert forecasting.best_method(scored) == "model"  # yesterday beats last season here


def test_best_prefers_the_model_on_a_tie() -> None:
    same = {"mae": 1.0, "mse": 1.0, "rmse": 1.0, "mape": None, "mase": None}
    scored = forecasting.Scored(0, 1, {"naive": same, "model": same})
    assert forecasting.best_method(scored) == "model"
    assert forecasting.best_method(None) is None


def test_forecast_refuses_a_series_shorter_than_the_window() -> None:
    with pytest.raises(SeriesTooShort, match="window_size is 8"):
        forecasting.forecast(MeanOfWindow(8), np.ones(7), horizon=1, season_length=12)


def test_forecast_refuses_an_impossible_season_length() -> None:
    with pytest.raises(InvalidRequest, match="season_length"):
        forecasting.forecast(MeanOfWindow(4), np.ones(20), horizon=1, season_length=0)


@pytest.mark.filterwarnings("ignore:overflow encountered in divide:RuntimeWarning")
def test_forecast_refuses_results_that_overflow() -> None:
    big = np.tile([1e38, -1e38], 20)  # large but representable: every number stays finite
    result = forecasting.forecast(MeanOfWindow(4), big, horizon=2, season_length=12)
    assert np.isfinite(result.model.forecast).all()
    assert result.windowed_scores is not None and result.windowed_scores.scores["model"][
        "mse"
    ] == pytest.approx(1e76)
    tiny = np.tile([1e-320, 1e38], 20)  # percent errors against a subnormal actual overflow
    with pytest.raises(NonFiniteResult, match="mape"):
        forecasting.forecast(MeanOfWindow(4), tiny, horizon=2, season_length=12)


def test_forecast_puts_the_pieces_together() -> None:
    x = np.arange(120, dtype=np.float64)
    model = MeanOfWindow(10)
    result = forecasting.forecast(
        model, x, horizon=3, season_length=12, baselines=["naive", "naive"],
        levels=[80], actuals=np.array([120.0, 121.0]),
    )  # fmt: skip
    assert model.calls == [1, 110]  # one horizon call, then one batch of windows
    assert list(result.baselines) == ["naive"]
    np.testing.assert_allclose(result.model.forecast[0], x[-10:].mean())
    assert result.horizon_scores is not None and (
        result.horizon_scores.start,
        result.horizon_scores.end,
    ) == (120, 122)
    assert result.best == "naive"  # on a straight line, yesterday is closer than a 10-value mean
