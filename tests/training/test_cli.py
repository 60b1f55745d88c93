"""``forecast-train``: the listing, every refusal as one line with status 2, and real tiny runs."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest
import tensorflow as tf

from contract import baselines, host, statistical, store
from contract.metadata import Hyperparameters
from training import pipeline
from training.architectures import ARCHITECTURES
from training.cli import DEFAULT_ARCHITECTURES, dataset_name, main
from training.data import Series, load_csv, synthetic_values

CONSOLE_SCRIPT = Path(sys.executable).parent / "forecast-train"
PREFIX = "forecast-train: error: "
LENGTH = 160
SEASON = 20
TINY = ["--epochs", "1", "--window", "8", "--season-length", str(SEASON)]


def _write_csv(path: Path, length: int = LENGTH, missing: tuple[int, ...] = ()) -> Path:
    """Daily values with a period of 20, written newest first, so rows need sorting by date."""
    values = synthetic_values(length=length, period=SEASON)
    days = np.datetime64("2023-01-01") + np.arange(length)
    rows = [
        f"{day},{'' if i in missing else f'{v:.6f}'}"
        for i, (day, v) in enumerate(zip(days, values, strict=True))
    ]
    path.write_text("date,units\n" + "\n".join(reversed(rows)) + "\n", encoding="utf-8")
    return path


def _must_not_train(*args: object) -> NoReturn:
    raise AssertionError("the CLI started training instead of refusing")


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI in-process, check it refused with one line and status 2; return that line."""
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX)
    return lines[0][len(PREFIX) :]


def test_list_prints_one_line_per_architecture(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    *lines, ensemble = capsys.readouterr().out.splitlines()
    assert ensemble.split(maxsplit=4)[:4] == ["ensemble", "combined", "window", "widest"]
    lines, statistical_lines = lines[: len(ARCHITECTURES)], lines[len(ARCHITECTURES) :]
    assert [line.split()[:4] for line in statistical_lines] == [
        [name, "statistical", "window", "series"] for name in statistical.NAMES
    ]
    for line, arch in zip(lines, ARCHITECTURES.values(), strict=True):
        name, kind, word, window, description = line.split(maxsplit=4)
        assert (name, kind, word, window) == (
            arch.name,
            arch.output,
            "window",
            "season" if arch.season_window else str(arch.window_size),
        )
        assert description == arch.description


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "choose what to train: --arch NAME"),
        (["--arch", "nope"], "unknown architecture 'nope'; choose from: linear, dense"),
        (["--arch", "linear", "--all"], "--arch or --all, not both"),
        (["--arch", "linear", "--epochs", "0"], "argument --epochs: must be positive, got 0"),
        (["--arch", "linear", "--epochs", "2.5"], "argument --epochs: expected a whole number"),
        (["--arch", "linear", "--window", "-3"], "argument --window: must be positive, got -3"),
        (["--arch", "linear", "--horizon", "0"], "argument --horizon: must be positive"),
        (["--arch", "linear", "--batch-size", "0"], "argument --batch-size: must be positive"),
        (["--arch", "linear", "--split", "0"], "argument --split: must be positive"),
        (["--arch", "linear", "--season-length", "-1"], "argument --season-length: must be"),
        (["--arch", "linear", "--learning-rate", "0"], "argument --learning-rate: must be a"),
        (["--arch", "linear", "--learning-rate", "nan"], "argument --learning-rate: must be a"),
        (["--arch", "linear", "--holdout", "1"], "strictly between 0 and 1, got 1"),
        (["--arch", "linear", "--name", "../x"], "invalid model name '../x'"),
        (["--arch", "linear", "--name", "A"], "invalid model name 'A'"),
        (["--arch", "linear", "--name", ""], "invalid model name ''"),
        (["--arch", "linear", "--arch", "dense", "--name", "x"], "--name names one model, but 2"),
        (["--all", "--name", "x"], "--name names one model, but 16"),
        (
            ["--arch", "linear", "--split", "1461"],
            "split 1461 must lie inside the series (1..1460)",
        ),
        (
            ["--arch", "linear", "--window", "1000"],
            "training part (1000 values) cannot hold a hold-out of 20% and still fit windows of 1000",
        ),
        (["--all", "--window", "999"], "(a window of at most 798 fits)"),
        (["--arch", "wavenet", "--split", "6"], "leaves no window of at least 3 values"),
        (["--arch", "linear", "--column", "y"], "--column applies to --data FILE only"),
        (["--arch", "linear", "--fill", "interpolate"], "--fill applies to --data FILE only"),
        (["--arch", "linear", "--dataset", "other"], "argument --dataset: invalid choice"),
        (["--arch", "linear", "--find-lr", "--learning-rate", "0.1"], "drop --learning-rate"),
        (["--defaults-if-empty", "--arch", "linear"], "--defaults-if-empty trains its own set"),
        (["--arch", "linear", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_are_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argv: list[str],
    message: str,
) -> None:
    # Should a refusal regress, fail at once instead of training with production settings.
    monkeypatch.setattr(pipeline, "train_and_publish", _must_not_train)
    assert message in _refused(capsys, [*argv, "--store", str(tmp_path / "s")])
    assert not (tmp_path / "s").exists()


CSV_CASES: list[tuple[Callable[[Path], list[str]], str]] = [
    (lambda d: ["--data", str(d / "absent.csv"), "--column", "units"], "data file not found"),
    (
        lambda d: ["--data", str(_write_csv(d / "a.csv")), "--column", "v"],
        "column 'v' not in a.csv",
    ),
    (
        lambda d: [
            "--data",
            str(_write_csv(d / "a.csv")),
            "--column",
            "units",
            "--dataset",
            "synthetic",
        ],
        "--dataset or --data, not both",
    ),
    (lambda d: ["--data", str(_write_csv(d / "a.csv"))], "--data needs --column COL"),
    (
        lambda d: [
            "--data",
            str(_write_csv(d / "a.csv")),
            "--column",
            "units",
            "--time-column",
            "t",
        ],
        "column 't' not in a.csv",
    ),
    (
        lambda d: ["--data", str(_write_csv(d / "a.csv", missing=(5, 9))), "--column", "units"],
        "2 missing value(s) in column 'units'",
    ),
    (
        lambda d: ["--data", str(_write_text(d / "a.csv", "y\n1\nx\n")), "--column", "y"],
        "non-numeric value 'x'",
    ),
    (
        lambda d: ["--data", str(_write_csv(d / "a.csv", length=12)), "--column", "units"],
        "series too short",
    ),
    (
        lambda d: ["--data", str(_write_csv(d / "a.csv")), "--column", "units", "--split", "160"],
        "split 160 must lie inside the series (1..159)",
    ),
    (
        # Passes the length check, then the hold-out leaves too little to fit: found in training.
        lambda d: [
            "--data",
            str(_write_csv(d / "a.csv")),
            "--column",
            "units",
            "--holdout",
            "0.95",
        ],
        "series too short: the training part (128 values) cannot hold a hold-out of 95%",
    ),
    (lambda d: ["--store", str(_write_text(d / "file", "x"))], "is not a folder"),
]


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("make_argv", "message"), CSV_CASES)
def test_bad_data_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    make_argv: Callable[[Path], list[str]],
    message: str,
) -> None:
    argv = [
        "--arch",
        "linear",
        "--quiet",
        *TINY,
        "--store",
        str(tmp_path / "s"),
        *make_argv(tmp_path),
    ]
    assert message in _refused(capsys, argv)
    assert store.model_names(tmp_path / "s") == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--arch", "nope"], "unknown architecture 'nope'"),  # after TensorFlow is imported
        (["--arch", "linear", "--epochs", "0"], "argument --epochs: must be positive"),
    ],
)
def test_console_script_reports_one_line_and_status_2(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), *argv, "--store", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        # Unset, so that the script's own default quiets TensorFlow's start-up logs.
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(PREFIX + message)


@pytest.mark.slow
@pytest.mark.skipif(host.has_nvidia_driver(), reason="the host has NVIDIA's driver")
@pytest.mark.parametrize("log_level", ["2", "0"])
def test_console_script_on_a_host_without_nvidia_driver_shows_no_cuda_logs(
    tmp_path: Path, log_level: str
) -> None:
    csv = _write_csv(tmp_path / "d.csv")
    argv = ["--arch", "linear", "--data", str(csv), "--column", "units", "--no-references"]
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), *argv, *TINY, "--store", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env | {"TF_CPP_MIN_LOG_LEVEL": log_level},
    )
    assert done.returncode == 0, done.stderr
    assert "cuInit" not in done.stderr and "cuda drivers" not in done.stderr
    if log_level == "0":  # every log asked for: TensorFlow's others still show
        assert re.search(r"^I\d{4} .* port\.cc:\d+\] ", done.stderr, re.MULTILINE), done.stderr
    else:
        assert done.stderr == ""
    # One progress line per model in place of Keras' line per epoch.
    out = done.stdout.splitlines()
    assert not [line for line in out if line.startswith("Epoch")]
    started = out.index(next(line for line in out if line.startswith("[1/1] training d-linear")))
    assert re.fullmatch(
        r"  d-linear: 1 epoch, best hold-out loss \S+ at epoch 1(, refit 1 epoch)?, \d+\.\d s",
        out[started + 1],
    ), out
    assert out[started + 2].startswith("name ")


@pytest.mark.parametrize(
    ("file", "name"),
    [
        ("My Sales.csv", "my-sales"),
        ("données 2024!.CSV", "donn-es-2024"),
        ("__x__.csv", "x"),
        ("___.csv", "data"),
        ("a" * 80 + ".csv", "a" * 40),
    ],
)
def test_dataset_name_is_the_sanitised_file_stem(file: str, name: str) -> None:
    assert dataset_name(Path("/some/where") / file) == name
    longest = max(ARCHITECTURES, key=len)
    store.validate_name(f"{name}-{longest}".replace("_", "-"))


@pytest.mark.slow
def test_a_tiny_csv_run_publishes_and_prints_the_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv = _write_csv(tmp_path / "My Sales.csv", missing=(7,))
    root = tmp_path / "store"
    argv = ["--arch", "linear", "--data", str(csv), "--column", "units", "--time-column", "date"]
    argv += ["--fill", "interpolate", "--find-lr", "--store", str(root), *TINY]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "my-sales: 160 values, daily up to 2023-06-09 00:00; season 20 (given)"
    assert "[1/1] training my-sales-linear: linear, window 8 (given), horizon 1" in out[1]
    header, row, chosen = out[-3].split(), out[-2].split(), out[-1]
    assert header == ["name", "version", "val", "MAE", "naive", "MAE", "best", "baseline", "its", "MAE", "AutoETS", "AutoARIMA", "seconds"]  # fmt: skip
    assert row[:2] == ["my-sales-linear", "1"]

    meta = store.read_metadata(store.version_dir(root, "my-sales-linear", 1))
    scores = meta.validation.scores
    best = min((k for k in scores if k in baselines.NAMES), key=lambda k: scores[k].mae)
    assert float(row[2]) == pytest.approx(scores["model"].mae, abs=5e-4)
    assert float(row[3]) == pytest.approx(scores["naive"].mae, abs=5e-4)
    assert (row[4], float(row[5])) == (best, pytest.approx(scores[best].mae, abs=5e-4))
    assert float(row[6]) == pytest.approx(scores["auto_ets"].mae, abs=5e-4)
    assert float(row[7]) == pytest.approx(scores["auto_arima"].mae, abs=5e-4)
    assert chosen == (
        f"best on my-sales by validation MAE: my-sales-linear version 1"
        f" ({scores['model'].mae:.3f}, of 1 versions in {root})"
    )
    values = load_csv(csv, "units", "date", "interpolate")
    expected = Series("my-sales", values, round(0.8 * LENGTH), SEASON)
    assert meta.dataset.sha256 == expected.sha256()
    assert (meta.dataset.name, meta.dataset.split, meta.season_length) == ("my-sales", 128, SEASON)
    assert meta.network.hyperparameters.find_lr is True
    assert (root / "my-sales-linear" / "1" / "assets" / "lr_sweep.png").is_file()

    # Again, named and quiet: a new model; the first is untouched.
    argv = ["--arch", "linear", "--data", str(csv), "--column", "units", "--fill", "interpolate"]
    argv += ["--name", "mine", "--quiet", "--store", str(root), *TINY]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3  # --quiet: the table and the best version only
    assert out[1].split()[:2] == ["mine", "1"]
    assert out[2].startswith("best on my-sales by validation MAE: mine version 1 ")
    assert store.model_names(root) == ["mine", "my-sales-linear"]
    assert store.versions(root, "my-sales-linear") == [1]


def test_each_model_is_resolved_once_from_its_check_to_its_metadata(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    resolved: list[str] = []
    real = pipeline.resolve

    def counted(config: pipeline.TrainConfig) -> Hyperparameters:
        resolved.append(config.model_name)
        return real(config)

    monkeypatch.setattr(pipeline, "resolve", counted)
    csv = _write_csv(tmp_path / "d.csv")
    argv = ["--arch", "linear", "--arch", "dense", "--data", str(csv), "--column", "units"]
    assert main([*argv, "--no-references", "--store", str(tmp_path / "s"), *TINY]) == 0
    assert "[2/2] training d-dense: dense, window 8 (given)" in capsys.readouterr().out
    assert resolved == ["d-linear", "d-dense"]


def test_defaults_if_empty_leaves_a_store_with_models_alone(
    capsys: pytest.CaptureFixture[str], model_store: Path
) -> None:
    before = sorted(p.relative_to(model_store) for p in model_store.rglob("*"))
    assert main(["--defaults-if-empty", "--store", str(model_store)]) == 0
    count = len(store.model_names(model_store))
    assert capsys.readouterr().out == (
        f"{model_store} already has {count} models; not training the defaults\n"
    )
    assert sorted(p.relative_to(model_store) for p in model_store.rglob("*")) == before


@pytest.mark.slow
def test_defaults_if_empty_trains_the_default_set_with_progress(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv = _write_csv(tmp_path / "d.csv")
    root = tmp_path / "empty"
    argv = ["--defaults-if-empty", "--store", str(root), "--data", str(csv), "--column", "units"]
    assert main([*argv, *TINY]) == 0
    out = capsys.readouterr().out.splitlines()
    started = [line for line in out if line.startswith("[")]
    assert [line.split()[2].rstrip(":") for line in started] == [
        f"d-{a}".replace("_", "-") for a in DEFAULT_ARCHITECTURES
    ]
    n = len(DEFAULT_ARCHITECTURES)
    assert [line.split()[0] for line in started] == [f"[{i}/{n}]" for i in range(1, n + 1)]
    header = next(i for i, line in enumerate(out) if line.startswith("name "))
    assert [line.split()[0] for line in out[header + 1 : header + 1 + n]] == [
        line.split()[2].rstrip(":") for line in started
    ]
    assert out[header + 1 + n].startswith("best on d by validation MAE: ")
    assert all(
        store.versions(root, f"d-{a}".replace("_", "-")) == [1] for a in DEFAULT_ARCHITECTURES
    )
    kinds = {
        a: store.read_metadata(store.version_dir(root, f"d-{a}".replace("_", "-"), 1)).kind
        for a in DEFAULT_ARCHITECTURES
    }
    assert kinds["linear"] == "savedmodel" and kinds["auto_arima"] == "statsforecast"
    assert kinds["ensemble"] == "ensemble"  # its members span both families


def test_the_summary_says_when_a_statistical_model_beats_every_network(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv = _write_csv(tmp_path / "d.csv")
    root = tmp_path / "s"
    argv = ["--arch", "linear", "--arch", "auto_ets", "--data", str(csv), "--column", "units"]
    assert main([*argv, "--quiet", "--store", str(root), *TINY]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    mae = {
        a: store.read_metadata(store.version_dir(root, f"d-{a}", 1)).validation.scores["model"].mae
        for a in ("linear", "auto-ets")
    }
    if mae["auto-ets"] < mae["linear"]:
        assert last == (
            f"a statistical model beats every network here: d-auto-ets ({mae['auto-ets']:.3f}"
            f" validation MAE) against the best network, d-linear ({mae['linear']:.3f}), by"
            f" {1 - mae['auto-ets'] / mae['linear']:.0%}"
        )
    else:
        assert last.startswith("best on d by validation MAE: ")


def test_defaults_needs_no_architecture_and_refuses_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--defaults", "--arch", "linear"]) == 2
    assert "--defaults trains its own set; drop --arch" in capsys.readouterr().err


def _disk_full(kind: str) -> BaseException:
    if kind == "tensorflow":
        # What TensorFlow's own file system raises when a write fails with ENOSPC.
        return tf.errors.ResourceExhaustedError(
            None, None, "/s/saved_model.pb.tmp0123; No space left on device"
        )
    return OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tensorflow", "os"])
def test_disk_full_during_export_is_one_line_and_publishes_nothing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    kind: str,
) -> None:
    real_save = tf.saved_model.save
    calls: list[str] = []

    def save_then_fill_the_disk(obj: Any, export_dir: str, *args: Any, **kwargs: Any) -> None:
        calls.append(export_dir)
        real_save(obj, export_dir, *args, **kwargs)
        if len(calls) == 2:  # the second model: its files are written when the disk fills up
            raise _disk_full(kind)

    monkeypatch.setattr(tf.saved_model, "save", save_then_fill_the_disk)
    root = tmp_path / "store"
    csv = _write_csv(tmp_path / "d.csv")
    argv = ["--arch", "linear", "--arch", "dense", "--data", str(csv), "--column", "units"]
    assert main([*argv, "--quiet", "--store", str(root), *TINY]) == 2

    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("forecast-train")]
    assert errors == [
        f"{PREFIX}no space left on device while writing d-dense to {root}; nothing was"
        " published for it"
    ]
    assert "Traceback" not in captured.err
    # The first model is published and reported; the second left nothing behind.
    assert captured.out.splitlines()[-1].split()[:2] == ["d-linear", "1"]
    assert len(calls) == 2
    assert store.model_names(root) == ["d-linear"]
    assert list((root / store.STAGING_DIR).iterdir()) == []


@pytest.mark.slow
def test_a_diverging_model_is_one_line_a_row_and_status_3_when_nothing_is_published(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv = _write_csv(tmp_path / "d.csv")
    argv = ["--arch", "linear", "--data", str(csv), "--column", "units", "--quiet", *TINY]
    assert main([*argv, "--learning-rate", "1e38", "--store", str(tmp_path / "s")]) == 3
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith(PREFIX)]
    reason = "linear diverged (loss became NaN); lower the learning rate (was 1e+38)"
    assert errors == [f"{PREFIX}d-linear: {reason}"]
    assert out.splitlines()[-1].split()[:3] == ["d-linear", "-", "-"]
    assert out.splitlines()[-1].endswith(f"failed: {reason}")
    assert store.model_names(tmp_path / "s") == []
