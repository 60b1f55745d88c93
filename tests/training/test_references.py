"""AutoETS and AutoARIMA as references: fitted on the past only, scored beside each model."""

from __future__ import annotations

import numpy as np
import pytest

from contract import metrics, references
from training.data import Series, synthetic_values
from training.pipeline import score_references

SEASON = 12


def _monthly(length: int = 72) -> np.ndarray:
    return np.asarray(synthetic_values(length=length, period=SEASON), dtype=np.float64)


@pytest.mark.parametrize("name", references.NAMES)
def test_each_forecast_reads_only_the_values_before_it(name: str) -> None:
    x = _monthly()
    start = 48
    fitted = references.windowed(name, x, start, SEASON)
    assert fitted.values.shape == (len(x) - start,)
    assert np.isfinite(fitted.values).all()
    # Changing a value changes no forecast up to and including its own position.
    changed = x.copy()
    changed[54] += 1000.0
    again = references.windowed(name, changed, start, SEASON)
    np.testing.assert_array_equal(again.values[: 54 - start + 1], fitted.values[: 54 - start + 1])
    assert (again.values[54 - start + 1 :] != fitted.values[54 - start + 1 :]).any()
    # The fit never sees the scored part: wiping it leaves the first forecast as it was.
    wiped = x.copy()
    wiped[start:] = 0.0
    assert references.windowed(name, wiped, start, SEASON).values[0] == fitted.values[0]


def test_the_season_used_follows_the_stated_rule() -> None:
    assert references.season_used("auto_ets", 12, 36) == 12
    assert references.season_used("auto_ets", 12, 35) == 1  # fewer than three seasons
    assert references.season_used("auto_ets", 48, 1000) == 1  # ETS has no season above 24
    assert references.season_used("auto_arima", 48, 1000) == 48
    assert references.season_used("auto_arima", 365, 1100) == 1
    assert references.season_used("auto_arima", 1, 100) == 1


def test_a_fit_part_too_short_is_a_clear_error() -> None:
    with pytest.raises(references.ReferenceError, match="at least 8 values to fit on, and got 5"):
        references.windowed("auto_ets", _monthly(), 5, SEASON)


def test_scores_in_metadata_are_the_references_scored_on_the_validation_part() -> None:
    x = _monthly()
    series = Series("m", x, 48, SEASON)
    scores, fits = score_references(series)
    scale = metrics.naive_scale(x[:48])
    for name in references.NAMES:
        fitted = references.windowed(name, x, 48, SEASON)
        assert scores[name].mae == pytest.approx(metrics.score(x[48:], fitted.values, scale)["mae"])
        assert fits[name].model == fitted.description
        assert (fits[name].season_length, fits[name].fit_values) == (SEASON, 48)
    assert fits["auto_ets"].model.startswith("ETS(")
    # Fitted once per series: a second architecture on the same series reuses the fit.
    assert score_references(series)[1] is fits
