"""Frequencies of time stamps, seasons from autocorrelation, and the window rule."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from training import defaults
from training.data import DataError, infer_frequency, parse_stamp, synthetic_values
from training.seasons import season_from_autocorrelation


def _stamps(texts: list[str]) -> list[datetime]:
    return [parse_stamp(t) for t in texts]


def _every(start: str, step: timedelta, n: int = 5) -> list[datetime]:
    first = parse_stamp(start)
    return [first + i * step for i in range(n)]


@pytest.mark.parametrize(
    ("stamps", "name", "season"),
    [
        (_every("2024-03-30T22:00", timedelta(minutes=30)), "half-hourly", 48),
        (_every("2024-03-30 22:00:00", timedelta(hours=1)), "hourly", 24),
        (_every("2024-02-27", timedelta(days=1)), "daily", 7),
        (_every("2023-12-25", timedelta(weeks=1)), "weekly", 52),
        (
            _stamps(["2023-11-30", "2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31"]),
            "monthly",
            12,
        ),
        (_stamps(["1949-01", "1949-02", "1949-03"]), "monthly", 12),
        (_stamps(["2023-10-01", "2024-01-01", "2024-04-01"]), "quarterly", 4),
        (_stamps(["1949", "1950", "1951"]), "yearly", None),
        (_every("2024-01-01", timedelta(days=2)), "every 2 days", None),
    ],
)
def test_frequency_is_named_with_its_usual_season(
    stamps: list[datetime], name: str, season: int | None
) -> None:
    found = infer_frequency(stamps)
    assert (found.name, found.season_length) == (name, season)


def test_a_missing_month_is_refused_naming_the_gap() -> None:
    stamps = _stamps(["2024-01-01", "2024-02-01", "2024-04-01", "2024-05-01"])
    with pytest.raises(DataError, match="2024-04-01T00:00:00 follows 2024-02-01T00:00:00"):
        infer_frequency(stamps)


def test_a_missing_hour_is_refused_naming_the_gap() -> None:
    stamps = _every("2024-01-01", timedelta(hours=1))
    del stamps[2]
    with pytest.raises(
        DataError,
        match=r"irregular time stamps: .*usual step is 1 hour; fill in the missing rows \(or drop"
        r" the time column to train on the values as they are\)$",
    ):
        infer_frequency(stamps)


def test_a_duplicate_stamp_is_refused_naming_it() -> None:
    with pytest.raises(DataError, match="duplicate time stamp 2024-01-02T00:00:00"):
        infer_frequency(_stamps(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03"]))


def test_an_unreadable_stamp_is_refused() -> None:
    with pytest.raises(DataError, match="cannot read 'Jan 5' as a date"):
        parse_stamp("Jan 5")


@pytest.mark.parametrize(("length", "season"), [(60, 12), (200, 4), (1461, 365), (1000, 48)])
def test_a_seasonal_series_finds_its_season(length: int, season: int) -> None:
    assert season_from_autocorrelation(synthetic_values(length=length, period=season)) == season


@pytest.mark.parametrize("seed", range(5))
def test_noise_and_a_random_walk_have_no_season(seed: int) -> None:
    noise = np.random.default_rng(seed).normal(size=200)
    assert season_from_autocorrelation(noise) == 1
    assert season_from_autocorrelation(np.cumsum(noise) + 0.1 * np.arange(200)) == 1


# (season, training part) -> windows of linear/dense, WaveNet (own 64), the others (own 30)
@pytest.mark.parametrize(
    ("season", "train", "expected"),
    [
        (365, 1000, (400, 64, 30)),  # the course's synthetic series: today's windows
        (12, 48, (13, 19, 19)),  # 60 monthly values: capped at half the fit part (38)
        (4, 160, (5, 64, 30)),
        (48, 3225, (53, 64, 30)),
        (1, 91, (30, 36, 30)),  # no season: the architecture's own window, capped
    ],
)
def test_window_rule(season: int, train: int, expected: tuple[int, int, int]) -> None:
    windows = tuple(
        defaults.window_size(own, sees, season, train)[0]
        for own, sees in ((30, True), (64, False), (30, False))
    )
    assert windows == expected


def test_the_rule_says_why_and_refuses_a_training_part_with_no_window() -> None:
    assert defaults.window_size(30, True, 365, 1000) == (400, "season 365 + 10%, two figures: 400")
    window, why = defaults.window_size(64, False, 12, 48)
    assert (window, why.split(", ")[1]) == (19, "capped at half the fit part (38 values): 19")
    with pytest.raises(DataError, match="leaves no window of at least 3"):
        defaults.window_size(30, False, 1, 6)


@pytest.mark.parametrize(
    ("train", "expected"),
    [
        (1000, 500),  # the course's fit part (800): its own epochs
        (48, 500),  # shorter: its own epochs too; early stopping decides
        (2580, 194),  # half-hourly taylor's training part: the course's gradient steps
        (100_000, 5),
    ],
)
def test_most_epochs_keep_the_course_s_gradient_steps(train: int, expected: int) -> None:
    epochs, why = defaults.max_epochs(500, train)
    assert epochs == expected
    assert why.endswith(f": {expected}")
