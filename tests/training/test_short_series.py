"""Short real-shaped series through the CLI: every default architecture, partial failure."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from contract import store
from training.architectures import ARCHITECTURES
from training.cli import DEFAULT_ARCHITECTURES, main
from training.data import synthetic_values

PREFIX = "forecast-train: error: "


def _monthly_csv(path: Path, length: int = 60) -> Path:
    """``length`` monthly values from January 1950 with a yearly season, rows newest first."""
    values = synthetic_values(length=length, period=12)
    rows = [f"{1950 + i // 12}-{i % 12 + 1:02d},{v:.6f}" for i, v in enumerate(values)]
    path.write_text("month,sales\n" + "\n".join(reversed(rows)) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_sixty_monthly_values_train_every_default_architecture(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv, root = _monthly_csv(tmp_path / "sales.csv"), tmp_path / "store"
    argv = ["--data", str(csv), "--column", "sales", "--time-column", "month", "--epochs", "1"]
    for arch in DEFAULT_ARCHITECTURES:
        argv += ["--arch", arch]
    assert main([*argv, "--store", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "sales: 60 values, monthly up to 1954-12-01 00:00; season 12 (frequency)"
    windows, refs = {}, []
    for arch in DEFAULT_ARCHITECTURES:
        name = f"sales-{arch}".replace("_", "-")
        assert store.versions(root, name) == [1]
        meta = store.read_metadata(store.version_dir(root, name, 1))
        assert (meta.season_length, meta.dataset.split) == (12, 48)
        assert meta.dataset.frequency == "monthly"
        assert meta.dataset.last_timestamp == datetime(1954, 12, 1)
        assert meta.dataset.season_length_source == "frequency"
        if meta.kind == "savedmodel":
            assert meta.network.hyperparameters.window_rule is not None
        windows[arch] = meta.window_size
        assert "seasonal_naive" in meta.validation.scores
        # The statistical references, fitted once on the same training part, beside each model.
        references = meta.validation.references
        assert set(references) == {"auto_ets", "auto_arima"}
        assert all(r.error is None and r.season_length == 12 for r in references.values())
        assert references["auto_arima"].model.endswith("[12]")
        assert set(references) <= set(meta.validation.scores)
        refs.append({k: meta.validation.scores[k].mae for k in references})
    # Every model's row shows the same reference scores as its metadata.
    assert all(r == refs[0] for r in refs)
    at = next(i for i, line in enumerate(out) if line.startswith("name "))
    header, *rows = out[at : at + 1 + len(DEFAULT_ARCHITECTURES)]
    assert out[at + 1 + len(DEFAULT_ARCHITECTURES)].startswith(
        "best on sales by validation MAE: sales-"
    )
    assert header.split()[-3:] == ["AutoETS", "AutoARIMA", "seconds"]
    assert [float(row.split()[6]) for row in rows] == [round(refs[0]["auto_ets"], 3)] * len(rows)
    # linear sees a season and a margin; the other networks their own window, capped at 38 / 2;
    # AutoETS and AutoARIMA a season and two values, Theta two seasons and one; the ensemble
    # the largest of its members'.
    assert windows == {
        "wavenet": 19,
        "conv_lstm": 19,
        "lstm": 19,
        "linear": 13,
        "auto_ets": 14,
        "auto_arima": 14,
        "auto_theta": 25,
        "ensemble": 25,
    }


@pytest.mark.slow
def test_without_a_time_column_the_season_comes_from_autocorrelation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv, root = _monthly_csv(tmp_path / "s.csv"), tmp_path / "store"
    argv = ["--arch", "linear", "--data", str(csv), "--column", "sales", "--epochs", "1"]
    # Rows are newest first and unsorted without a time column: still a season of 12.
    assert main([*argv, "--quiet", "--store", str(root)]) == 0
    meta = store.read_metadata(store.version_dir(root, "s-linear", 1))
    assert (meta.season_length, meta.dataset.season_length_source) == (12, "autocorrelation")
    assert (meta.dataset.frequency, meta.dataset.last_timestamp) == (None, None)


@pytest.mark.slow
def test_one_failed_architecture_leaves_the_others_published_and_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # An architecture whose default learning rate makes it diverge on any data.
    broken = dataclasses.replace(ARCHITECTURES["linear"], learning_rate=1e38)
    monkeypatch.setitem(ARCHITECTURES, "linear", broken)
    csv, root = _monthly_csv(tmp_path / "sales.csv"), tmp_path / "store"
    argv = ["--arch", "linear", "--arch", "dense", "--data", str(csv), "--column", "sales"]
    assert main([*argv, "--time-column", "month", "--epochs", "1", "--store", str(root)]) == 1
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f"{PREFIX}sales-linear: linear")
    reason = line.split(": ", 3)[3]
    assert "diverged (loss became NaN); lower the learning rate (was 1e+38)" in reason
    rows = {line.split()[0]: line for line in out.splitlines()[-3:-1]}
    assert rows["sales-linear"].split()[1:3] == ["-", "-"]
    assert rows["sales-linear"].endswith(f"failed: {reason}")
    assert rows["sales-dense"].split()[1] == "1"
    assert store.model_names(root) == ["sales-dense"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["1950-01,1", "1950-02,2", "1950-04,3"], "1950-04-01T00:00:00 follows 1950-02-01"),
        (["1950-01,1", "1950-02,2", "1950-02,3"], "duplicate time stamp 1950-02-01"),
    ],
)
def test_irregular_or_duplicate_stamps_are_bad_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, rows: list[str], message: str
) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("month,sales\n" + "\n".join(rows) + "\n", encoding="utf-8")
    argv = ["--arch", "linear", "--data", str(csv), "--column", "sales", "--time-column", "month"]
    assert main([*argv, "--store", str(tmp_path / "s")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(PREFIX) and message in line
