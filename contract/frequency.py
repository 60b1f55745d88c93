"""Time stamps and their frequency: parsing, inferring the step between rows, stepping on.

Pure python, shared by training (a time column's frequency goes into metadata.json) and the
service (a request's timestamps, or start + freq, give every forecast its stamps). The frequency
of stamps is their one step: a whole number of months (monthly 1, quarterly 3, yearly 12, found
by calendar arithmetic, since months differ in days) or a fixed duration (half-hourly, hourly,
daily, weekly, ...). A gap (a missing stamp) or a repeated stamp is refused with the stamp
named: nothing is filled in.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar


class FrequencyError(ValueError):
    """Stamps that cannot be read, or have no single step, or a frequency with no name known."""


class IrregularStamps(FrequencyError):
    """A stamp missing (or out of step) between two others: the fact alone.

    What to do about it is each side's to say: the trainer's user fills in rows or trains
    without the time column, the service's user sends the missing values or no stamps.
    """


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
    """An ISO date or date-time, a year (``1949``) or a month (``1949-01``); FrequencyError otherwise."""
    text = text.strip()
    if _YEAR.fullmatch(text):
        text += "-01-01"
    elif _YEAR_MONTH.fullmatch(text):
        text += "-01"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FrequencyError(
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
    """The frequency of sorted ``stamps``; FrequencyError naming a duplicate or the first gap."""
    if len(stamps) < 2:
        raise FrequencyError("at least two time stamps are needed to tell the frequency")
    if len({t.tzinfo is None for t in stamps}) > 1:
        raise FrequencyError("some time stamps have a time zone and some do not: give all or none")
    for a, b in itertools.pairwise(stamps):
        if a == b:
            raise FrequencyError(
                f"duplicate time stamp {a.isoformat()}: each row needs its own time"
            )
    pairs = list(itertools.pairwise(stamps))
    months = [_months_between(a, b) for a, b in pairs]
    usual = _most_common([b - a for a, b in pairs])
    if all(m is not None and m > 0 for m in months) and usual >= timedelta(days=28):
        step = _most_common([m for m in months if m is not None])
        for (a, b), m in zip(pairs, months, strict=True):
            if m != step:
                raise IrregularStamps(_gap(a, b, f"{step} month(s)"))
        name, season = MONTH_STEPS.get(step, (f"every {step} months", None))
        return Frequency(name, season)
    for a, b in pairs:
        if b - a != usual:
            raise IrregularStamps(_gap(a, b, _describe(usual).removeprefix("every ")))
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
        f" {step}"
    )


# pandas-style aliases of the names above, for clients used to them
ALIASES: dict[str, str] = {
    "min": "minutely",
    "T": "minutely",
    "15min": "quarter-hourly",
    "30min": "half-hourly",
    "h": "hourly",
    "H": "hourly",
    "D": "daily",
    "W": "weekly",
    "MS": "monthly",
    "M": "monthly",
    "ME": "monthly",
    "QS": "quarterly",
    "Q": "quarterly",
    "QE": "quarterly",
    "YS": "yearly",
    "Y": "yearly",
    "YE": "yearly",
    "AS": "yearly",
    "A": "yearly",
}
NAMES: tuple[str, ...] = tuple(n for n, _, _ in FIXED_STEPS) + tuple(
    n for n, _ in MONTH_STEPS.values()
)
# what one step of each named frequency is, in a word (a picture's time axis says it)
UNITS: dict[str, str] = {
    "minutely": "minute",
    "quarter-hourly": "quarter hour",
    "half-hourly": "half hour",
    "hourly": "hour",
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
}


def canonical(freq: str) -> str:
    """The frequency name of ``freq`` (a name such as "monthly" or a pandas alias such as "MS")."""
    name = ALIASES.get(freq, freq)
    if name not in NAMES:
        raise FrequencyError(
            f"unknown frequency {freq!r}: use one of {', '.join(NAMES)}"
            f" (or a pandas alias: {', '.join(ALIASES)})"
        )
    return name


def _add_months(t: datetime, months: int) -> datetime:
    """``t`` moved by whole months; the last day of a month stays the last day."""
    index = _month_index(t) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    on_last = t.day == calendar.monthrange(t.year, t.month)[1]
    return t.replace(year=year, month=month + 1, day=last if on_last else min(t.day, last))


def stamps_from(start: datetime, freq: str, count: int) -> list[datetime]:
    """``count`` stamps ``freq`` apart, the first ``start``; ``freq`` a name or alias."""
    name = canonical(freq)
    try:
        for step_name, size, _ in FIXED_STEPS:
            if step_name == name:
                return [start + size * i for i in range(count)]
        months = next(m for m, (n, _) in MONTH_STEPS.items() if n == name)
        return [_add_months(start, months * i) for i in range(count)]
    except (OverflowError, ValueError):
        raise FrequencyError(
            f"{count} {name} steps from {start.isoformat()} go beyond the year 9999"
        ) from None


@dataclass(frozen=True)
class Stamps:
    """The time of every value of a series and of its horizon, and their frequency's name."""

    frequency: str
    times: list[datetime]


def series_stamps(
    count: int,
    horizon: int,
    *,
    timestamps: list[str] | None = None,
    start: str | None = None,
    freq: str | None = None,
) -> Stamps | None:
    """The stamps of ``count`` values and the ``horizon`` after them; None without stamps.

    From one stamp per value (their step one of :data:`NAMES`), or from ``start`` and ``freq``;
    FrequencyError when the stamps cannot be read or stepped on.
    """
    if timestamps is not None:
        times = [parse_stamp(t) for t in timestamps]
        found = infer_frequency(times).name
        if found not in NAMES:
            raise FrequencyError(f"timestamps step {found}: stamps need one of the named steps")
        return Stamps(found, times + stamps_from(times[0], found, count + horizon)[count:])
    if start is not None and freq is not None:
        name = canonical(freq)
        return Stamps(name, stamps_from(parse_stamp(start), name, count + horizon))
    return None
