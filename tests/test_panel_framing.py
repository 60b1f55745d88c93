"""contract.panel frames a whole panel as each series alone; the theta season is statsmodels'."""

from __future__ import annotations

import numpy as np
import pytest

from contract import panel as framing
from contract import statistical


@pytest.mark.parametrize("lookback", [1, 4, 13])
def test_windows_from_is_each_series_windows_ending_in_order(lookback: int) -> None:
    rng = np.random.default_rng(7)
    # Lengths around the lookback, a series of one value, and a start beyond a series' end.
    panel = [rng.normal(100, 30, n) for n in (1, 3, 13, 14, 40, 2)]
    starts = [0, 2, 5, 2, 9, 7]
    values, mask = framing.windows_from(panel, starts, lookback, np.float32)
    expected = [
        framing.windows_ending(s, np.arange(min(a, len(s)), len(s)), lookback)
        for s, a in zip(panel, starts, strict=True)
    ]
    assert values.dtype == np.float32 and mask.dtype == np.float32
    assert values.shape == (sum(len(v) for v, _ in expected), lookback)
    np.testing.assert_array_equal(
        values, np.concatenate([v for v, _ in expected]).astype(np.float32)
    )
    np.testing.assert_array_equal(mask, np.concatenate([m for _, m in expected]))
    # Series 2's first window (position 5) ends with its value 4 and never reads series 1.
    first = sum(len(v) for v, _ in expected[:2])
    assert values[first, -1] == np.float32(panel[2][4])
    assert mask[first].sum() == min(5, lookback)


def test_windows_from_a_start_at_the_series_end_has_no_windows() -> None:
    values, mask = framing.windows_from([np.arange(3.0)], [3], 5)
    assert values.shape == mask.shape == (0, 5)


@pytest.mark.parametrize("period", [2, 4, 7, 12])
@pytest.mark.parametrize("multiplicative", [False, True])
def test_classical_season_is_statsmodels_seasonal_decompose(
    period: int, multiplicative: bool
) -> None:
    # The theta models' windowed forecasts take the season out of every block with it, as
    # statsforecast's AutoTheta does with statsmodels' decomposition at fit time.
    from statsmodels.tsa.seasonal import seasonal_decompose

    rng = np.random.default_rng(period)
    for n in (2 * period, 2 * period + 1, 5 * period + 3, 40 * period):
        t = np.arange(n)
        x = 50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / period) + rng.normal(0, 1, n)
        kind = "multiplicative" if multiplicative else "additive"
        expected = seasonal_decompose(x, model=kind, period=period).seasonal
        got = statistical.classical_season(x, period, multiplicative)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="2 complete cycles"):
        statistical.classical_season(np.arange(1.0, 2 * period), period, multiplicative)
