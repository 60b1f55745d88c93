"""The synthetic series by its formula, and every way a CSV file can be refused or repaired."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from training.data import (
    DataError,
    Series,
    check_length,
    load_csv,
    read_panel,
    synthetic,
    synthetic_noise,
)


def _course_value(t: int, noise: float) -> float:
    """The course's formula for one time step, written out with math."""
    s = (t % 365) / 365
    season = math.cos(2 * math.pi * s) if s < 0.4 else 1 / math.exp(3 * s)
    return 10 + 0.05 * t + 40 * season + noise


def test_synthetic_has_1461_points_split_at_1000() -> None:
    series = synthetic()
    assert series.values.shape == (1461,)
    assert (series.split, series.season_length) == (1000, 365)
    assert series.train.shape == (1000,)
    assert series.valid.shape == (461,)


@pytest.mark.parametrize("t", [0, 1, 145, 146, 200, 364, 365, 1000, 1460])
def test_synthetic_values_follow_the_formula(t: int) -> None:
    noise = np.random.RandomState(42).randn(1461) * 5
    assert synthetic().values[t] == pytest.approx(_course_value(t, noise[t]), abs=1e-9)
    assert synthetic_noise()[t] == noise[t]


def test_sha256_names_the_exact_values() -> None:
    a = synthetic()
    b = Series("x", a.values.copy(), 10, 7)
    assert a.sha256() == b.sha256()
    b.values[5] += 1e-9
    assert a.sha256() != b.sha256()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_reads_one_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "t,y,z\n1,1.5,a\n2,-2,b\n3,1e2,c\n")
    np.testing.assert_array_equal(load_csv(path, "y"), [1.5, -2.0, 100.0])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data file not found"):
        load_csv(tmp_path / "nope.csv", "y")


def test_missing_column_names_the_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "t,y\n1,2\n")
    with pytest.raises(DataError, match=r"column 'v' not in d.csv; columns are: t, y"):
        load_csv(path, "v")
    with pytest.raises(DataError, match="column 'when' not in"):
        load_csv(path, "y", time_column="when")


def test_non_numeric_value_names_its_line(tmp_path: Path) -> None:
    # The file's line, the header being line 1, as the service numbers a text/csv body's.
    path = _write(tmp_path / "d.csv", "y\n1\n2\nabc\n")
    with pytest.raises(DataError, match=r"^line 4: non-numeric value 'abc' in column 'y'$"):
        load_csv(path, "y")


def test_a_line_is_the_files_even_after_sorting_by_time_or_grouping_by_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "day,y\n2024-01-03,x\n2024-01-01,1\n2024-01-02,2\n")
    with pytest.raises(DataError, match=r"^line 2: non-numeric value 'x'"):
        load_csv(path, "y", time_column="day")
    path = _write(tmp_path / "d.csv", "day,y\n2024-01-03,3\nsoon,1\n")
    with pytest.raises(DataError, match=r"^line 3: cannot read 'soon' .* in column 'day'$"):
        load_csv(path, "y", time_column="day")
    path = _write(tmp_path / "p.csv", "unique_id,y\na,1\nb,2\n,3\nb,x\n")
    with pytest.raises(
        DataError, match=r"^1 row\(s\) have no value in the id column 'unique_id': line 4$"
    ):
        read_panel(path, "unique_id", "y")
    path = _write(tmp_path / "p.csv", "unique_id,y\na,1\nb,2\na,3\nb,x\n")
    with pytest.raises(DataError, match=r"^series 'b': line 5: non-numeric value 'x'"):
        read_panel(path, "unique_id", "y")


def test_infinite_value_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "y\n1\ninf\n")
    with pytest.raises(DataError, match="non-finite value 'inf'"):
        load_csv(path, "y")


def test_missing_values_are_refused_by_default(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "t,y\n1,1\n2,\n3,NA\n4,4\n")
    with pytest.raises(
        DataError, match=r"2 missing value\(s\) in column 'y' at lines 3, 4; pass --fill"
    ):
        load_csv(path, "y")


def test_missing_values_are_interpolated_on_request(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "t,y\n0,\n1,1\n2, \n3,NA\n4,4\n5,null\n")
    # Inner holes on the line between neighbours; edges take the nearest known value.
    np.testing.assert_array_equal(load_csv(path, "y", fill="interpolate"), [1, 1, 2, 3, 4, 4])


def test_blank_line_in_a_one_column_file_is_a_missing_value(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "y\n1\n2\n\n4\n")
    with pytest.raises(DataError, match=r"1 missing value\(s\) in column 'y' at line 4;"):
        load_csv(path, "y")
    np.testing.assert_allclose(load_csv(path, "y", fill="interpolate"), [1, 2, 3, 4])


def test_interpolation_needs_two_known_values(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "t,y\n0,\n1,1\n2,\n")
    with pytest.raises(DataError, match="fewer than 2 values"):
        load_csv(path, "y", fill="interpolate")


def test_rows_are_ordered_by_an_iso_date_time_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "day,y\n2024-01-03,3\n2024-01-01,1\n2024-01-02,2\n")
    np.testing.assert_array_equal(load_csv(path, "y", time_column="day"), [1, 2, 3])


def test_numeric_time_column_sorts_as_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "t,y\n10,10\n9,9\n100,100\n")
    np.testing.assert_array_equal(load_csv(path, "y", time_column="t"), [9, 10, 100])


def test_header_only_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data rows"):
        load_csv(_write(tmp_path / "d.csv", "y\n"), "y")


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"y\n\xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_csv(path, "y")


def test_check_length_accepts_the_shortest_series_that_fits() -> None:
    # A training part of 14 leaves 11 to fit (window 8 + horizon 2 + 1) and 3 for the hold-out.
    check_length(n=16, window_size=8, horizon=2, split=14)
    with pytest.raises(
        DataError, match="training part \\(13 values\\) cannot hold a hold-out of 20%"
    ):
        check_length(n=16, window_size=8, horizon=2, split=13)
    with pytest.raises(DataError, match="validation part has 1 values, fewer than the horizon 2"):
        check_length(n=15, window_size=8, horizon=2, split=14)


@pytest.mark.parametrize("split", [0, 100, 101, -1])
def test_split_must_lie_inside_the_series(split: int) -> None:
    with pytest.raises(DataError, match=f"split {split} must lie inside the series"):
        check_length(n=100, window_size=4, horizon=1, split=split)
