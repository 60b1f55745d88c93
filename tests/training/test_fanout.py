"""Many series from one long-format CSV, trained by the local engine and by Ray tasks."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from contract import store
from tests.support import LENGTH, SEASON, SPLIT, WINDOW
from training import cli, fanout
from training.data import synthetic_values
from training.units import Failed

SERIES = ["store 1/A", "store 1/B", "store-2/A", "store 2/b ", "S3", "s4"]
ARCHITECTURES = ["linear", "dense"]
NAMES = [
    f"{fanout.series_name('panel', key.strip())}-{arch}" for key in SERIES for arch in ARCHITECTURES
]


def write_panel(path: Path, keys: list[str]) -> Path:
    """A long CSV: ``ID, DATE, VALUE`` rows of :func:`synthetic_values` with a seed per series."""
    start = date(2020, 1, 1)
    lines = ["ID,DATE,VALUE"]
    for seed, key in enumerate(keys):
        values = synthetic_values(length=LENGTH, period=SEASON, seed=seed)
        lines += [f'"{key}",{start + timedelta(days=i)},{v:.4f}' for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def arguments(data: Path, root: Path, *extra: str) -> list[str]:
    tiny = f"--epochs 1 --window {WINDOW} --season-length {SEASON} --split {SPLIT}"
    archs = [a for arch in ARCHITECTURES for a in ("--arch", arch)]
    return [
        *f"--data {data} --id-column ID --time-column DATE --column VALUE".split(),
        *archs,
        *tiny.split(),
        *f"--no-references --quiet --store {root}".split(),
        *extra,
    ]


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_panel(tmp_path_factory.mktemp("panel") / "panel.csv", SERIES)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


# The local engine trains the first two series (same data: the seed is the series' position).
LOCAL = NAMES[: 2 * len(ARCHITECTURES)]


@pytest.fixture(scope="module")
def local_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("local")
    panel = write_panel(root.parent / "panel.csv", SERIES[:2])
    assert cli.main(arguments(panel, root)) == cli.ALL_PUBLISHED
    return root


def test_every_series_and_architecture_is_published_locally(local_store: Path) -> None:
    assert sorted(store.model_names(local_store)) == sorted(LOCAL)
    for name in LOCAL:
        assert store.versions(local_store, name) == [1]


def test_ray_publishes_what_the_local_engine_does(
    ray_cluster: None,
    panel: Path,
    local_store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(arguments(panel, tmp_path, "--engine", "ray")) == cli.ALL_PUBLISHED
    out = capsys.readouterr().out
    assert "total" in out.splitlines()[-2] and " 12 " in out.splitlines()[-2]
    assert sorted(store.model_names(tmp_path)) == sorted(NAMES)
    assert all(store.versions(tmp_path, name) == [1] for name in NAMES)
    for name in LOCAL:
        ours = store.read_metadata(store.version_dir(tmp_path, name, 1))
        local = store.read_metadata(store.version_dir(local_store, name, 1))
        assert ours.network.hyperparameters.seed == local.network.hyperparameters.seed
        assert ours.dataset == local.dataset
        assert ours.network.epochs == local.network.epochs
        for key, score in local.validation.scores.items():
            assert math.isclose(ours.validation.scores[key].mae, score.mae, rel_tol=1e-3)


def test_many_ray_tasks_publishing_one_name_get_unique_versions(
    ray_cluster: None, tmp_path: Path
) -> None:
    data = write_panel(tmp_path / "one.csv", ["only"])
    (config,) = cli.panel_configs(
        cli.build_parser().parse_args(arguments(data, tmp_path)), ["linear"]
    )
    results = list(fanout.RayEngine().run([config] * 4, tmp_path))
    versions = sorted(
        outcome.version for _, outcome, _ in results if not isinstance(outcome, Failed)
    )
    assert versions == [1, 2, 3, 4]
    assert store.versions(tmp_path, config.model_name) == [1, 2, 3, 4]


def test_a_task_killed_while_publishing_leaves_no_version_and_is_failed(
    ray_cluster: None, tmp_path: Path
) -> None:
    data = write_panel(tmp_path / "one.csv", ["only"])
    (config,) = cli.panel_configs(
        cli.build_parser().parse_args(arguments(data, tmp_path)), ["linear"]
    )
    staging = tmp_path / store.STAGING_DIR
    killed: list[int] = []

    def kill_the_writer() -> None:
        # The lease appears as publish begins building the version; it names the writer's pid.
        while not killed:
            for lease in staging.glob("*.lease") if staging.exists() else []:
                try:
                    pid = json.loads(lease.read_text(encoding="utf-8"))["pid"]
                except (OSError, ValueError):
                    continue
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    killer = threading.Thread(target=kill_the_writer, daemon=True)
    killer.start()
    ((_, outcome, _),) = fanout.RayEngine().run([config], tmp_path)
    killer.join(timeout=5)
    assert killed
    assert isinstance(outcome, Failed) and outcome.name == config.model_name
    assert store.versions(tmp_path, config.model_name) == []
    assert not (tmp_path / config.model_name).exists() or not any(
        (tmp_path / config.model_name).iterdir()
    )


def test_ids_that_sanitise_to_one_name_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_panel(tmp_path / "p.csv", ["Store A", "store-a"])
    assert cli.main(arguments(data, tmp_path / "s")) == cli.BAD_INPUT
    assert "'Store A' and 'store-a' would both be named 'p-store-a'" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_an_ensemble_per_series_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_panel(tmp_path / "p.csv", ["a"])
    argv = [*arguments(data, tmp_path / "s"), "--arch", "ensemble"]
    assert cli.main(argv) == cli.BAD_INPUT
    assert "leave out --arch ensemble" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_ray_missing_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    data = write_panel(tmp_path / "p.csv", ["a"])
    assert cli.main(arguments(data, tmp_path / "s", "--engine", "ray")) == cli.BAD_INPUT
    assert "pip install '.[ray]'" in capsys.readouterr().err
