"""The ensemble: its signatures are the weighted sum of its members', it is published and served as any
version, its weights never read the validation part, and the CLI trains it last."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from contract import store
from tests.app.support import running
from tests.support import tiny_series
from training.cli import DEFAULT_ARCHITECTURES, main
from training.data import DataError, Series, fit_length
from training.ensemble import EnsembleServable, publish_ensemble, weights
from training.export import Servable, load, save
from training.pipeline import Published, TrainConfig, train, train_and_publish

PREFIX = "forecast-train: error: "
# Members of different windows and kinds: a vector output and a sequence output.
MEMBERS = {"linear": 8, "simple_rnn": 16}


def _train(architecture: str, window: int) -> TrainConfig:
    return TrainConfig(
        architecture,
        tiny_series(),
        window_size=window,
        epochs=1,
        verbose=False,
        references=False,
    )


@pytest.fixture(scope="module")
def members() -> list[Servable]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [train(_train(a, w)).servable for a, w in MEMBERS.items()]


def _out(result: dict[str, tf.Tensor]) -> np.ndarray:
    return result[store.OUTPUT_KEY].numpy()


def test_the_saved_signatures_are_the_weighted_mean_of_the_members(
    members: list[Servable], tmp_path: Path
) -> None:
    weights = [0.25, 0.75]
    save(EnsembleServable(members, weights), tmp_path / "e")
    saved = load(tmp_path / "e").signatures
    x = tiny_series().values.astype(np.float32)
    assert max(MEMBERS.values()) == 16

    windows = np.stack([x[100:116], x[200:216]])
    one, ahead = [], []
    for m in members:
        mine = tf.constant(windows[:, -m.window_size :])
        one.append(_out(m.serve(mine)))
        ahead.append(_out(m.forecast(mine, tf.constant(7))))
    got = _out(saved[store.SERVING_SIGNATURE](**{store.INPUT_KEY: tf.constant(windows)}))
    np.testing.assert_allclose(got, weights[0] * one[0] + weights[1] * one[1], rtol=1e-5)
    got = _out(
        saved[store.FORECAST_SIGNATURE](
            **{store.INPUT_KEY: tf.constant(windows), store.STEPS_KEY: tf.constant(7)}
        )
    )
    assert got.shape == (2, 7)
    np.testing.assert_allclose(got, weights[0] * ahead[0] + weights[1] * ahead[1], rtol=1e-5)

    # windowed: member i forecasts x[W_i:], the ensemble x[16:], each aligned to that start.
    series = tf.constant(x[None])
    by_member = [_out(m.windowed(series))[0] for m in members]
    assert [len(f) for f in by_member] == [len(x) - 8, len(x) - 16]
    expected = weights[0] * by_member[0][8:] + weights[1] * by_member[1]
    got = _out(saved[store.WINDOWED_SIGNATURE](**{store.SERIES_KEY: series}))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Published]]:
    root = tmp_path_factory.mktemp("ensemble") / "store"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return root, [train_and_publish(_train(a, w), root) for a, w in MEMBERS.items()]


def test_published_with_its_members_in_metadata_and_served_by_the_app(
    published: tuple[Path, list[Published]],
) -> None:
    root, members = published
    ensemble = publish_ensemble(members, tiny_series(), root, with_references=False)
    meta = ensemble.metadata
    assert (ensemble.name, meta.architecture, meta.window_size) == ("tiny-ensemble", "ensemble", 16)
    assert meta.ensemble is not None and meta.ensemble.combination == "inverse_holdout_mse"
    errors = [m.metadata.network.hyperparameters.holdout_mae for m in members]
    assert all(e is not None and e > 0 for e in errors)
    inverse = [1 / e**2 for e in errors if e is not None]
    expected = [v / sum(inverse) for v in inverse]
    assert [(m.name, m.version, m.window_size) for m in meta.ensemble.members] == [
        ("tiny-linear", 1, 8),
        ("tiny-simple-rnn", 1, 16),
    ]
    assert [m.weight for m in meta.ensemble.members] == pytest.approx(expected)
    # Scored through its own export like any version: its forecasts are the weighted mean.
    series = tiny_series()
    x = series.values
    loaded = [load(m.path).signatures[store.WINDOWED_SIGNATURE] for m in members]
    outputs = [_out(w(**{store.SERIES_KEY: tf.constant(x[None], tf.float32)}))[0] for w in loaded]
    mean = expected[0] * outputs[0][8:] + expected[1] * outputs[1]
    actual = x[series.split :]
    forecast = mean[series.split - 16 :]
    mae = float(np.mean(np.abs(actual - forecast)))
    assert meta.validation.scores["model"].mae == pytest.approx(mae, rel=1e-4)

    with running(root) as client:
        r = client.post("/forecast", json={"model": "tiny-ensemble", "series": x.tolist()})
        assert r.status_code == 200, r.text
        body = r.json()
    assert body["model"]["architecture"] == "ensemble"
    assert body["windowed"]["start"] == 16
    np.testing.assert_allclose(body["windowed"]["values"], mean, rtol=1e-4)


def test_the_weights_do_not_read_the_validation_part(
    published: tuple[Path, list[Published]],
) -> None:
    root, members = published
    series = tiny_series()
    changed = series.values.copy()
    changed[series.split :] = changed[series.split :][::-1] * 3 + 100
    other = Series(series.name, changed, series.split, series.season_length)
    infos = [
        publish_ensemble(members, s, root, "weights", with_references=False).metadata.ensemble
        for s in (series, other)
    ]
    assert infos[0] is not None and infos[1] is not None
    assert infos[0].members == infos[1].members


def test_fewer_than_two_members_is_a_data_error(
    published: tuple[Path, list[Published]],
) -> None:
    root, members = published
    with pytest.raises(DataError, match="at least 2 models published in the same run; this run"):
        publish_ensemble(members[:1], tiny_series(), root, "one")


def test_the_cli_trains_it_last_and_reports_a_failed_row_with_one_member(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert DEFAULT_ARCHITECTURES[-1] == "ensemble"
    csv = tmp_path / "d.csv"
    values = tiny_series().values[:120]
    csv.write_text("y\n" + "".join(f"{float(v)!r}\n" for v in values), encoding="utf-8")
    argv = ["--data", str(csv), "--column", "y", "--epochs", "1", "--window", "8"]
    argv += ["--season-length", "12", "--no-references", "--store", str(tmp_path / "s")]
    assert main([*argv, "--arch", "ensemble", "--arch", "linear"]) == 1
    out, err = capsys.readouterr()
    reason = (
        "an ensemble needs at least 2 models published in the same run; this run published 1"
        " (d-linear)"
    )
    assert err.splitlines() == [f"{PREFIX}d-ensemble: {reason}"]
    rows = out.splitlines()
    assert "[2/2] combining d-ensemble: d-linear, weighted on the hold-out" in rows
    assert rows[-2].split()[:3] == ["d-ensemble", "-", "-"]
    assert rows[-2].endswith(f"failed: {reason}")
    assert store.model_names(tmp_path / "s") == ["d-linear"]

    assert main([*argv, "--arch", "linear", "--arch", "dense", "--arch", "ensemble"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[-2].split()[:2] == ["d-ensemble", "1"]
    meta = store.read_metadata(store.version_dir(tmp_path / "s", "d-ensemble", 1))
    assert [(m.name, m.version) for m in meta.ensemble.members] == [("d-linear", 2), ("d-dense", 1)]


def test_weights_follow_the_hold_out_errors_and_fall_back_on_the_mean() -> None:
    assert weights([1.0, 2.0]) == ("inverse_holdout_mse", pytest.approx([0.8, 0.2]))
    assert weights([3.0, 3.0, 3.0]) == ("inverse_holdout_mse", pytest.approx([1 / 3] * 3))
    assert weights([1.0, None]) == ("mean", [0.5, 0.5])  # a version from before the score


def test_the_hold_out_score_is_the_served_forecasts_error_on_the_hold_out(
    published: tuple[Path, list[Published]],
) -> None:
    """simple_rnn does not refit, so its SavedModel reproduces the recorded hold-out score."""
    _, members = published
    rnn = members[1]
    hp = rnn.metadata.network.hyperparameters
    assert not hp.refit and hp.holdout_mae is not None
    series = tiny_series()
    x, w = series.values, hp.window_size
    fit_end = fit_length(series.split, hp.holdout)
    frames = np.stack([x[p - w : p] for p in range(fit_end, series.split)]).astype(np.float32)
    serve = load(rnn.path).signatures[store.SERVING_SIGNATURE]
    served = _out(serve(**{store.INPUT_KEY: tf.constant(frames)}))[:, 0]
    expected = float(np.mean(np.abs(served - x[fit_end : series.split])))
    assert hp.holdout_mae == pytest.approx(expected, rel=1e-4)
