"""Series to train on: the course's synthetic series, or a column of a user's CSV file. Pure numpy.

Parsing time stamps and inferring their frequency live in :mod:`contract.frequency` (the service
steps request stamps with it too); :func:`parse_stamp` and :func:`infer_frequency` report them
as this module's DataError.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from contract import frequency
from contract.frequency import Frequency, FrequencyError, IrregularStamps
from contract.panel import MIN_INPUTS

Array = npt.NDArray[np.float64]
SeasonSource = Literal["given", "frequency", "autocorrelation", "default"]


class DataError(ValueError):
    """The data cannot be used; the message names the problem."""


def parse_stamp(text: str) -> datetime:
    """:func:`contract.frequency.parse_stamp`, reporting a DataError."""
    try:
        return frequency.parse_stamp(text)
    except FrequencyError as e:
        raise DataError(str(e)) from None


def infer_frequency(stamps: list[datetime]) -> Frequency:
    """:func:`contract.frequency.infer_frequency`, reporting a DataError."""
    try:
        return frequency.infer_frequency(stamps)
    except IrregularStamps as e:
        raise DataError(
            f"{e}; fill in the missing rows (or drop the time column to train on the values"
            " as they are)"
        ) from None
    except FrequencyError as e:
        raise DataError(str(e)) from None


@dataclass(frozen=True)
class Series:
    """A named univariate series and the index where its validation part begins."""

    name: str
    values: Array  # (n,)
    split: int
    season_length: int
    frequency: str | None = None  # e.g. "monthly", from the time column
    last_timestamp: datetime | None = None
    season_length_source: SeasonSource | None = None

    @property
    def train(self) -> Array:
        """Values before the split, shape ``(split,)``."""
        return self.values[: self.split]

    @property
    def valid(self) -> Array:
        """Values from the split on, shape ``(n - split,)``."""
        return self.values[self.split :]

    def sha256(self) -> str:
        """Hash of the float64 values, recorded in metadata so a version names its exact data."""
        return hashlib.sha256(np.ascontiguousarray(self.values, dtype="<f8").tobytes()).hexdigest()


@dataclass(frozen=True)
class Panel:
    """Many named series to train one network on; the last ``horizon`` of each is validation."""

    name: str
    ids: tuple[str, ...]
    values: tuple[Array, ...]  # each (n_i,)
    horizon: int
    season_length: int = 1
    frequency: str | None = None
    last_timestamp: datetime | None = None

    @property
    def min_length(self) -> int:
        """The fewest values a series needs: a couple of inputs and its validation part.

        A series that also holds a target of ``H`` after those inputs in its training part
        (``MIN_INPUTS + 2H`` values) gives training windows; a shorter one is only scored.
        """
        return MIN_INPUTS + self.horizon

    def check(self) -> None:
        """DataError naming the series shorter than :attr:`min_length`."""
        if not self.values:
            raise DataError("the panel has no series")
        short = [
            (i, len(v))
            for i, v in zip(self.ids, self.values, strict=True)
            if len(v) < self.min_length
        ]
        if short:
            named = ", ".join(f"{i!r} ({n})" for i, n in short[:5])
            more = f" and {len(short) - 5} more" if len(short) > 5 else ""
            raise DataError(
                f"{len(short)} series too short for --global with horizon {self.horizon}: {named}"
                f"{more}; each needs at least {self.min_length} values ({MIN_INPUTS} inputs and a"
                f" validation part of {self.horizon})"
            )
        if all(len(v) < self.min_length + self.horizon for v in self.values):
            raise DataError(
                f"no series holds {self.min_length + self.horizon} values, the fewest that give"
                f" a training window ({MIN_INPUTS} inputs and a target of {self.horizon}) before"
                f" a validation part of {self.horizon}"
            )

    def train(self, i: int) -> Array:
        """Series ``i`` without its validation part, ``(n_i - H,)``."""
        return self.values[i][: -self.horizon]

    def valid(self, i: int) -> Array:
        """Series ``i``'s validation part, its last ``H`` values."""
        return self.values[i][-self.horizon :]

    def sha256(self) -> str:
        """Hash of every id and its float64 values, in order."""
        digest = hashlib.sha256()
        for key, values in zip(self.ids, self.values, strict=True):
            digest.update(key.encode() + b"\0")
            digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes() + b"\0")
        return digest.hexdigest()


def seasonal_pattern(season_time: Array) -> Array:
    """The course's seasonal shape over one period, ``season_time`` in [0, 1)."""
    return np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi), 1 / np.exp(3 * season_time))


def synthetic_values(
    length: int = 4 * 365 + 1,
    baseline: float = 10.0,
    slope: float = 0.05,
    period: int = 365,
    amplitude: float = 40.0,
    noise_level: float = 5.0,
    seed: int = 42,
) -> Array:
    """The course's series: trend + seasonality + Gaussian noise; shape ``(length,)``."""
    time = np.arange(length, dtype=np.float64)
    season_time = (time % period) / period
    noise = np.random.RandomState(seed).randn(length) * noise_level
    return baseline + slope * time + amplitude * seasonal_pattern(season_time) + noise


def synthetic_noise(length: int = 4 * 365 + 1, noise_level: float = 5.0, seed: int = 42) -> Array:
    """The noise term of :func:`synthetic_values` alone: the errors of a perfect model."""
    return np.random.RandomState(seed).randn(length) * noise_level


def synthetic(split: int = 1000, season_length: int = 365) -> Series:
    """The course's running example: 1461 daily points, trained on ``[:1000]``."""
    return Series("synthetic", synthetic_values(period=season_length), split, season_length)


@dataclass(frozen=True)
class Table:
    """A CSV column in time order, with its parsed time stamps when they are dates."""

    values: Array  # (n,)
    stamps: list[datetime] | None = None


def load_csv(
    path: str | Path,
    column: str,
    time_column: str | None = None,
    fill: Literal["refuse", "interpolate"] = "refuse",
) -> Array:
    """Read one numeric column of a CSV file with a header row; shape ``(n,)`` (see :func:`read_csv`)."""
    return read_csv(path, column, time_column, fill).values


@dataclass(frozen=True)
class Row:
    """One data row of a CSV file: its cells by header name, and the file line it ends on.

    Lines count as the service counts a ``text/csv`` body's (the header is line 1), so an
    error names the same place in the same file whichever side reads it.
    """

    line: int
    cells: dict[str, str]


def _ordered(rows: list[Row], time_column: str) -> tuple[list[int], list[datetime] | None]:
    """Row order by ``time_column``, and the stamps in that order when they are dates.

    Plain numbers (other than four-digit years) sort as numbers and carry no calendar.
    """
    keys = [(r.cells.get(time_column) or "").strip() for r in rows]
    if not all(len(k) == 4 and k.isdigit() for k in keys):
        try:
            numeric = [float(k) for k in keys]
            return sorted(range(len(rows)), key=numeric.__getitem__), None
        except ValueError:
            pass
    stamps = []
    for row, key in zip(rows, keys, strict=True):
        try:
            stamps.append(parse_stamp(key))
        except DataError as e:
            raise DataError(f"line {row.line}: {e} in column {time_column!r}") from None
    try:
        order = sorted(range(len(rows)), key=stamps.__getitem__)
    except TypeError:
        raise DataError(
            f"column {time_column!r} mixes times with and without a time zone"
        ) from None
    return order, [stamps[i] for i in order]


def read_csv(
    path: str | Path,
    column: str,
    time_column: str | None = None,
    fill: Literal["refuse", "interpolate"] = "refuse",
) -> Table:
    """Read one numeric column of a CSV file with a header row, in time order.

    Rows are ordered by ``time_column`` when given: dates and date-times (ISO 8601, also ``1949``
    and ``1949-01``) by time, plain numbers as numbers. Missing values are refused unless
    ``fill="interpolate"``.
    """
    rows = _rows(Path(path), (column, time_column))
    return table_from_rows(rows, column, time_column, fill)


def _rows(path: Path, wanted: Sequence[str | None]) -> list[Row]:
    """The data rows of a CSV file with a header row that holds every ``wanted`` column."""
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            # csv.reader, not DictReader: DictReader drops blank lines, and in a one-column
            # file a blank line is a missing value that must be reported, not a shifted series.
            reader = csv.reader(f)
            header = next(reader, [])
            for column in wanted:
                if column is not None and column not in header:
                    raise DataError(
                        f"column {column!r} not in {path.name}; columns are: {', '.join(header)}"
                    )
            rows = [
                Row(reader.line_num, dict(zip(header, record, strict=False))) for record in reader
            ]
    except UnicodeDecodeError as e:
        raise DataError(f"{path.name} is not UTF-8 text: {e}") from None
    except csv.Error as e:
        raise DataError(f"{path.name} is not valid CSV: {e}") from None
    if not rows:
        raise DataError(f"{path.name} has no data rows")
    return rows


def read_panel(
    path: str | Path,
    id_column: str,
    column: str,
    time_column: str | None = None,
    fill: Literal["refuse", "interpolate"] = "refuse",
) -> dict[str, Table]:
    """Read a long-format CSV (one row per series id and time, like ``unique_id, ds, y``).

    Returns each id's :class:`Table` (see :func:`read_csv`), ids in order of first appearance.
    """
    rows = _rows(Path(path), (id_column, column, time_column))
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault((row.cells.get(id_column) or "").strip(), []).append(row)
    if "" in groups:
        raise DataError(
            f"{len(groups[''])} row(s) have no value in the id column {id_column!r}:"
            f" {_lines(groups[''])}"
        )
    tables = {}
    for key, group in groups.items():
        try:
            tables[key] = table_from_rows(group, column, time_column, fill)
        except DataError as e:
            raise DataError(f"series {key!r}: {e}") from None
    return tables


def _lines(rows: list[Row]) -> str:
    """The first few rows' lines, in file order: "line 3", "lines 3, 7, ... and 2 more"."""
    lines = sorted(r.line for r in rows)
    shown = ", ".join(map(str, lines[:5]))
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"line{'s' if len(rows) > 1 else ''} {shown}{more}"


def table_from_rows(
    rows: list[Row],
    column: str,
    time_column: str | None = None,
    fill: Literal["refuse", "interpolate"] = "refuse",
) -> Table:
    """One series from CSV rows, in time order (see :func:`read_csv`); errors name file lines."""
    stamps = None
    if time_column is not None:
        order, stamps = _ordered(rows, time_column)
        rows = [rows[i] for i in order]

    values = np.empty(len(rows))
    missing: list[Row] = []
    for i, row in enumerate(rows):
        text = (row.cells.get(column) or "").strip()
        if text == "" or text.lower() in {"nan", "na", "null", "none"}:
            missing.append(row)
            values[i] = np.nan
            continue
        try:
            v = float(text)
        except ValueError:
            raise DataError(
                f"line {row.line}: non-numeric value {text!r} in column {column!r}"
            ) from None
        if not math.isfinite(v):
            raise DataError(f"line {row.line}: non-finite value {text!r} in column {column!r}")
        values[i] = v

    if missing:
        if fill == "refuse":
            raise DataError(
                f"{len(missing)} missing value(s) in column {column!r} at {_lines(missing)};"
                " pass --fill interpolate to fill them"
            )
        known = np.flatnonzero(~np.isnan(values))
        if known.size < 2:
            raise DataError(f"column {column!r} has fewer than 2 values to interpolate from")
        holes = np.isnan(values)
        values[holes] = np.interp(np.flatnonzero(holes), known, values[known])
    return Table(values, stamps)


def fit_length(train_length: int, holdout: float) -> int:
    """Values of the training part left for fitting once the hold-out is carved off its end."""
    return round(train_length * (1 - holdout))


def longest_window(train_length: int, horizon: int, holdout: float) -> int:
    """The longest window that leaves ``horizon`` targets and one value before the hold-out."""
    return fit_length(train_length, holdout) - horizon - 1


def check_length(n: int, window_size: int, horizon: int, split: int, holdout: float = 0.2) -> None:
    """Raise DataError unless a series of ``n`` values leaves training and validation windows.

    The one place this rule is decided (:func:`training.pipeline.resolve` calls it for every
    model): the training part must hold windows of ``window_size`` + ``horizon`` before its
    hold-out (the last ``holdout`` of it, :func:`longest_window`) and a hold-out window after;
    the validation part a horizon.
    """
    if not 0 < split < n:
        raise DataError(f"split {split} must lie inside the series (1..{n - 1})")
    longest = longest_window(split, horizon, holdout)
    if window_size > longest or split - fit_length(split, holdout) < horizon + 1:
        raise DataError(
            f"series too short: the training part ({split} values) cannot hold a hold-out of"
            f" {holdout:.0%} and still fit windows of {window_size} + horizon {horizon}"
            f" (a window of at most {max(0, longest)} fits)"
        )
    if n - split < horizon:
        raise DataError(
            f"series too short: the validation part has {n - split} values, fewer than the"
            f" horizon {horizon}"
        )
