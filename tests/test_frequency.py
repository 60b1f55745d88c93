"""contract.frequency: naming, aliases and stepping stamps on, without TensorFlow."""

from __future__ import annotations

from datetime import datetime

import pytest

from contract.frequency import (
    FrequencyError,
    IrregularStamps,
    canonical,
    infer_frequency,
    series_stamps,
    stamps_from,
)


def test_month_ends_stay_month_ends_and_fixed_steps_add_up() -> None:
    months = stamps_from(datetime(2024, 1, 31), "monthly", 4)
    assert [t.day for t in months] == [31, 29, 31, 30]
    assert infer_frequency(months).name == "monthly"
    assert stamps_from(datetime(2024, 1, 15), "quarterly", 3)[-1] == datetime(2024, 7, 15)
    assert stamps_from(datetime(2024, 1, 1), "30min", 3)[-1] == datetime(2024, 1, 1, 1)


def test_aliases_map_to_names_and_unknown_names_are_refused() -> None:
    assert (canonical("MS"), canonical("H"), canonical("daily")) == ("monthly", "hourly", "daily")
    with pytest.raises(FrequencyError, match="unknown frequency 'fortnightly'"):
        canonical("fortnightly")


def test_mixed_time_zones_are_refused() -> None:
    aware = datetime.fromisoformat("2024-01-02T00:00:00+00:00")
    with pytest.raises(FrequencyError, match="time zone"):
        infer_frequency([datetime(2024, 1, 1), aware])


def test_a_series_stamps_step_on_past_its_values_by_the_horizon() -> None:
    given = series_stamps(3, 2, timestamps=["2024-01-31", "2024-02-29", "2024-03-31"])
    assert given is not None and given.frequency == "monthly"
    assert [t.date().isoformat() for t in given.times[3:]] == ["2024-04-30", "2024-05-31"]
    started = series_stamps(2, 1, start="2024-01-01", freq="h")
    assert started is not None and started.frequency == "hourly"
    assert started.times == [datetime(2024, 1, 1, h) for h in range(3)]
    assert series_stamps(2, 1) is None


def test_a_gap_is_said_as_a_fact_each_side_adds_what_its_user_can_do() -> None:
    with pytest.raises(IrregularStamps) as raised:
        series_stamps(3, 1, timestamps=["2024-01-01", "2024-02-01", "2024-04-01"])
    assert str(raised.value) == (
        "irregular time stamps: 2024-04-01T00:00:00 follows 2024-02-01T00:00:00, but the usual"
        " step is 1 month(s)"
    )


def test_a_series_stamped_on_an_unnamed_step_is_refused() -> None:
    with pytest.raises(FrequencyError, match="timestamps step every 2 days"):
        series_stamps(2, 1, timestamps=["2024-01-01", "2024-01-03"])
