"""Global training: N-BEATS's shapes, the windows' honesty, and the CLI's --global runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contract import store
from contract.metadata import GLOBAL
from contract.panel import MIN_INPUTS
from contract.selection import best_by_dataset
from tests.support import (
    GLOBAL_ARCHITECTURES,
    PANEL_HORIZON,
    PANEL_SERIES,
    panel_values,
    write_panel,
)
from training import nbeats
from training.cli import main
from training.data import Panel
from training.global_networks import (
    LOOKBACK_MULTIPLES,
    cut_points,
    history_multiple,
    training_samples,
    validation_samples,
)

PREFIX = "forecast-train: error: "


@pytest.mark.parametrize("name", sorted(nbeats.BUILDERS))
def test_nbeats_forecasts_the_whole_horizon_in_one_call(name: str) -> None:
    lookback, horizon = 12, 5
    model = nbeats.BUILDERS[name](lookback, horizon)
    window = np.random.default_rng(0).normal(size=(3, lookback)).astype(np.float32)
    mask = np.ones_like(window)
    mask[0, :9] = 0  # a short series: three values, padded
    out = model({"window": window * mask, "mask": mask}).numpy()
    assert out.shape == (3, horizon) and np.isfinite(out).all()
    # Padding is no signal: what sits under the mask does not change the forecast.
    noisy = window.copy()
    noisy[0, :9] = 1e3
    again = model({"window": noisy * mask, "mask": mask}).numpy()
    np.testing.assert_allclose(again[0], out[0], rtol=1e-5)


def _panel(horizon: int = PANEL_HORIZON) -> Panel:
    series = panel_values()
    return Panel("panel", tuple(series), tuple(series.values()), horizon)


def test_training_windows_never_reach_the_validation_part() -> None:
    panel = _panel()
    multiple, _ = history_multiple(panel)
    lookback = LOOKBACK_MULTIPLES[-1] * panel.horizon
    before = training_samples(panel, lookback, multiple)
    changed = Panel(
        panel.name,
        panel.ids,
        tuple(
            np.concatenate([v[: -panel.horizon], v[-panel.horizon :] * 50]) for v in panel.values
        ),
        panel.horizon,
    )
    after = training_samples(changed, lookback, multiple)
    for a, b in zip(
        (before.x, before.y, before.mask, before.mase_weight),
        (after.x, after.y, after.mask, after.mase_weight),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    # The validation sample reads the training part and scores the last H values.
    held = validation_samples(changed, lookback)
    assert not np.array_equal(held.y, validation_samples(panel, lookback).y)
    np.testing.assert_array_equal(held.x, validation_samples(panel, lookback).x)


def test_cut_points_lie_in_the_recent_past_and_leave_inputs() -> None:
    cuts = cut_points(40, 4, 2.5)  # the last 10 values
    assert cuts.tolist() == [30, 31, 32, 33, 34, 35, 36]
    assert cut_points(MIN_INPUTS + 4, 4, 10.0).tolist() == [MIN_INPUTS]  # the shortest trainable
    assert cut_points(MIN_INPUTS + 3, 4, 10.0).tolist() == []  # only scored: no whole target


def test_cli_global_publishes_one_version_per_architecture(global_store: Path) -> None:
    assert store.model_names(global_store) == [f"panel-{a}" for a in sorted(GLOBAL_ARCHITECTURES)]
    for arch in GLOBAL_ARCHITECTURES:
        folder = store.version_dir(global_store, f"panel-{arch}", 1)
        meta = store.read_metadata(folder)
        info = meta.global_
        assert meta.kind == GLOBAL and meta.architecture == arch and info is not None
        assert meta.horizon == PANEL_HORIZON
        assert [m.lookback for m in info.members] == [k * PANEL_HORIZON for k in LOOKBACK_MULTIPLES]
        assert meta.window_size == max(m.lookback for m in info.members)
        assert set(info.losses) == {"smape", "mase"} and info.combination == "median"
        assert info.series == PANEL_SERIES and info.min_length == MIN_INPUTS
        for i, member in enumerate(info.members):
            inside = folder / store.MEMBERS_DIR / str(i)
            assert store.files_sha256(inside) == member.sha256
        panel = meta.validation.panel
        assert panel is not None and panel.series == PANEL_SERIES
        assert set(panel.scores) == {"model", "naive"}
        assert meta.residual_quantiles is not None
        assert len(meta.residual_quantiles.by_step) == PANEL_HORIZON
    # GET /models' best for the panel compares its versions by the panel's sMAPE.
    versions = [
        (name, 1, store.read_metadata(store.version_dir(global_store, name, 1)))
        for name in store.model_names(global_store)
    ]
    (choice,) = best_by_dataset(versions)
    smape = {
        n: m.validation.panel.scores["model"].smape for n, _, m in versions if m.validation.panel
    }
    assert choice.metric == "smape" and choice.score == min(smape.values())


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(PREFIX) and err.count("\n") == 1
    return err


def test_a_series_below_the_minimum_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    series = {**panel_values(5), "tiny": np.arange(5.0)}
    csv = write_panel(tmp_path / "p.csv", series)
    argv = ["--global", "--data", str(csv), "--id-column", "unique_id", "--column", "y"]
    err = _refused(capsys, [*argv, "--horizon", "4", "--store", str(tmp_path / "s")])
    assert "'tiny' (5)" in err and "at least 6 values (2 inputs and a validation part of 4)" in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--id-column", "store_id"], "column 'store_id' not in p.csv"),
        ([], "--global trains across the series of a long CSV"),
        (["--id-column", "unique_id", "--window", "8"], "--window does not apply to --global"),
        (
            ["--id-column", "unique_id", "--arch", "bilstm"],
            "unknown architecture 'bilstm' for --global",
        ),
    ],
)
def test_bad_global_arguments_get_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    csv = write_panel(tmp_path / "p.csv", panel_values(3))
    argv = ["--global", "--data", str(csv), "--column", "y", *extra, "--store", str(tmp_path / "s")]
    assert message in _refused(capsys, argv)
