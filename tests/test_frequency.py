"""contract.frequency: naming, aliases and stepping stamps on, without TensorFlow."""

from __future__ import annotations

from datetime import datetime

import pytest

from contract.frequency import FrequencyError, canonical, infer_frequency, stamps_from


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
