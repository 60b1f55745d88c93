"""Time stamps, their frequency, and the season length: from the frequency or from the data.

Pure python and numpy. The frequency of a time column is its one step between rows: a whole
number of months (monthly 1, quarterly 3, yearly 12, found by calendar arithmetic, since months
differ in days) or a fixed duration (half-hourly, hourly, daily, weekly, ...). A gap (a missing
stamp) or a repeated stamp is refused with the stamp named: nothing is filled in.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from training.data import DataError

Array = npt.NDArray[np.float64]
T = TypeVar("T", int, timedelta)

# name, step, the season length that frequency usually has
FIXED_STEPS: tuple[tuple[str, timedelta, int], ...] = (
    ("minutely", timedelta(minutes=1), 60),
    ("quarter-hourly", timedelta(minutes=15), 96),
    ("half-hourly", timedelta(minutes=30), 48),
    ("hourly", timedelta(hours=1), 24),
    ("daily", timedelta(days=1), 7),
    ("weekly", timedelta(weeks=1), 52),
)
MONTH_STEPS: dict[int, tuple[str, int | None]] = {
    1: ("monthly", 12),
    3: ("quarterly", 4),
    # A year has no calendar season; a cycle in yearly values (lynx's ~10 years) is the
    # autocorrelation's to find.
    12: ("yearly", None),
}
_YEAR = re.compile(r"\d{4}")
_YEAR_MONTH = re.compile(r"\d{4}-\d{2}")


@dataclass(frozen=True)
class Frequency:
    """The step between consecutive stamps, and the season that step usually has.

    ``season_length`` None: the step names no usual season (yearly values, "every 2 days").
    """

    name: str
    season_length: int | None


def parse_stamp(text: str) -> datetime:
    """An ISO date or date-time, a year (``1949``) or a month (``1949-01``); DataError otherwise."""
    text = text.strip()
    if _YEAR.fullmatch(text):
        text += "-01-01"
    elif _YEAR_MONTH.fullmatch(text):
        text += "-01"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(
            f"cannot read {text!r} as a date or time (ISO 8601, e.g. 2024-01-31)"
        ) from None


def _month_index(t: datetime) -> int:
    return t.year * 12 + t.month - 1


def _months_between(a: datetime, b: datetime) -> int | None:
    """Whole calendar months from ``a`` to ``b``, or None if the days or times do not line up."""
    if a.time() != b.time():
        return None
    months = _month_index(b) - _month_index(a)
    last = calendar.monthrange(b.year, b.month)[1]
    a_last = a.day == calendar.monthrange(a.year, a.month)[1]
    if b.day == a.day or (a_last and b.day == last) or (a.day > last and b.day == last):
        return months
    return None


def _describe(step: timedelta) -> str:
    seconds = int(step.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"every {count} {unit}{'s' if count != 1 else ''}"
    return f"every {step}"


def infer_frequency(stamps: list[datetime]) -> Frequency:
    """The frequency of sorted ``stamps``; DataError naming a duplicate or the first gap."""
    if len(stamps) < 2:
        raise DataError("at least two time stamps are needed to tell the frequency")
    for a, b in itertools.pairwise(stamps):
        if a == b:
            raise DataError(f"duplicate time stamp {a.isoformat()}: each row needs its own time")
    pairs = list(itertools.pairwise(stamps))
    months = [_months_between(a, b) for a, b in pairs]
    usual = _most_common([b - a for a, b in pairs])
    if all(m is not None and m > 0 for m in months) and usual >= timedelta(days=28):
        step = _most_common([m for m in months if m is not None])
        for (a, b), m in zip(pairs, months, strict=True):
            if m != step:
                raise DataError(_gap(a, b, f"{step} month(s)"))
        name, season = MONTH_STEPS.get(step, (f"every {step} months", None))
        return Frequency(name, season)
    for a, b in pairs:
        if b - a != usual:
            raise DataError(_gap(a, b, _describe(usual).removeprefix("every ")))
    for name, size, season in FIXED_STEPS:
        if usual == size:
            return Frequency(name, season)
    return Frequency(_describe(usual), None)


def _most_common(steps: list[T]) -> T:
    """The step seen most often between rows (the shortest of equally common ones)."""
    counts = Counter(steps)
    return min(counts, key=lambda step: (-counts[step], step))


def _gap(a: datetime, b: datetime, step: str) -> str:
    return (
        f"irregular time stamps: {b.isoformat()} follows {a.isoformat()}, but the usual step is"
        f" {step}; fill in the missing rows (or drop the time column to train on the values"
        " as they are)"
    )


def autocorrelation(values: Array, max_lag: int) -> Array:
    """Sample autocorrelation of ``values`` after removing a straight-line trend; ``(max_lag + 1,)``."""
    x = np.asarray(values, dtype=np.float64)
    t = np.arange(len(x), dtype=np.float64)
    residual = x - np.polyval(np.polyfit(t, x, 1), t)
    denominator = float(residual @ residual)
    if denominator == 0:
        return np.zeros(max_lag + 1)
    return np.array(
        [1.0] + [float(residual[k:] @ residual[:-k]) / denominator for k in range(1, max_lag + 1)]
    )


SEASON_MIN_ACF = 0.3


def season_from_autocorrelation(values: Array) -> int:
    """The lag (2 .. n/3) of the highest clear autocorrelation peak, or 1 when there is none.

    A peak counts when it is a local maximum, above both 0.3 and 2/sqrt(n) (the 95% band of
    white noise), and higher than the lowest value before it by the same margin: a season
    shows as a dip and a rise again, while a trend's or random walk's correlation only decays.
    """
    n = len(values)
    max_lag = n // 3
    if max_lag < 3:
        return 1
    acf = autocorrelation(values, max_lag + 1)
    bar = max(SEASON_MIN_ACF, 2 / np.sqrt(n))
    best, best_value = 1, -1.0
    for k in range(2, max_lag + 1):
        peak = acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1]
        if peak and acf[k] > bar and acf[k] - acf[1:k].min() > bar and acf[k] > best_value:
            best, best_value = k, float(acf[k])
    return best
