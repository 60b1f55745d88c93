"""Statistical versions: fitted by statsforecast on the training part, published, scored honestly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contract import references, statistical, store
from contract.statistical import Shape
from training import statistical as fitting
from training.data import DataError, Series, fit_length
from training.pipeline import Published

SEASON = 12


def _monthly(length: int = 96, seed: int = 0) -> Series:
    """A positive monthly series with a trend and a yearly season, split at 80%."""
    t = np.arange(length)
    rng = np.random.default_rng(seed)
    values = 100 + 0.8 * t + 12 * np.sin(2 * np.pi * t / SEASON) + rng.normal(0, 2, length)
    return Series("monthly", values, int(length * 0.8), SEASON, "monthly")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Published]:
    root = tmp_path_factory.mktemp("stat") / "store"
    series = _monthly()
    return {
        name: fitting.fit_and_publish(fitting.StatisticalConfig(name, series), root)
        for name in statistical.NAMES
    }


def test_every_statistical_model_is_published_with_its_file_and_hash(
    published: dict[str, Published],
) -> None:
    for name, p in published.items():
        meta = store.read_metadata(p.path)
        info = meta.statsforecast
        assert meta.kind == "statsforecast" and meta.architecture == name
        assert info is not None and info.sha256 == statistical.sha256_of(p.path / "model.pkl")
        assert info.season_lengths == [SEASON], name
        assert info.holdout_mae is not None and info.holdout_mae > 0
        assert meta.residual_quantiles is not None and meta.residual_quantiles.count > 0
        assert (p.path / store.ASSETS_DIR / store.VALIDATION_PICTURE).is_file()
        # Scored beside the baselines and the references on the same positions.
        assert {"model", "naive", "seasonal_naive", "auto_ets", "auto_arima"} <= set(
            meta.validation.scores
        )
    arima = published["auto_arima"].metadata.statsforecast
    assert arima is not None and arima.time_cap_seconds == fitting.DEFAULT_ARIMA_TIME_CAP
    assert not arima.cut_short and arima.model.startswith("ARIMA(")


def test_auto_ets_and_auto_arima_score_as_the_references_do(
    published: dict[str, Published],
) -> None:
    """The version's one-step forecasts are the references' (statsforecast's ``forward``)."""
    for name in ("auto_ets", "auto_arima"):
        scores = published[name].metadata.validation.scores
        assert scores["model"].mae == pytest.approx(scores[name].mae, rel=1e-4)


@pytest.mark.parametrize("name", statistical.NAMES)
def test_one_step_forecasts_read_only_earlier_values(
    name: str, published: dict[str, Published]
) -> None:
    meta = published[name].metadata
    assert meta.statsforecast is not None
    model = statistical.load(published[name].path, meta.statsforecast.sha256)
    shape = Shape(name, tuple(meta.statsforecast.season_lengths))
    x = _monthly().values
    before = statistical.windowed(shape, model, x)
    t = 70  # change every value after position t: the forecasts up to t must not move
    changed = x.copy()
    changed[t + 1 :] += 500.0
    after = statistical.windowed(shape, model, changed)
    upto = t + 1 - shape.min_length
    np.testing.assert_array_equal(before[:upto], after[:upto])
    assert not np.allclose(before[upto:], after[upto:])


def test_the_horizon_comes_with_the_models_own_intervals(
    published: dict[str, Published],
) -> None:
    x = _monthly().values
    for name, p in published.items():
        meta = p.metadata
        assert meta.statsforecast is not None
        model = statistical.load(p.path, meta.statsforecast.sha256)
        shape = Shape(name, tuple(meta.statsforecast.season_lengths))
        out = statistical.ahead(shape, model, x, 12, (0.05, 0.25, 0.5, 0.75, 0.95))
        q = np.stack([out.quantiles[p] for p in (0.05, 0.25, 0.5, 0.75, 0.95)])
        assert np.all(np.diff(q, axis=0) > 0), name  # ordered, and they hold the mean
        np.testing.assert_array_equal(out.quantiles[0.5], out.mean)
        assert np.isfinite(q).all()


def test_a_changed_model_file_is_refused(published: dict[str, Published], tmp_path: Path) -> None:
    meta = published["auto_ets"].metadata
    assert meta.statsforecast is not None
    folder = tmp_path / "v"
    folder.mkdir()
    data = (published["auto_ets"].path / "model.pkl").read_bytes()
    (folder / "model.pkl").write_bytes(data + b"\0")
    with pytest.raises(statistical.HashMismatch, match="not the one training wrote"):
        statistical.load(folder, meta.statsforecast.sha256)


def test_the_hold_out_fit_never_sees_the_hold_out(published: dict[str, Published]) -> None:
    """Refitted on the fit part alone, the hold-out MAE is what the metadata records."""
    series = _monthly()
    config = fitting.StatisticalConfig("auto_ets", series)
    fit_end = fit_length(series.split, config.holdout)
    model, _, _ = fitting.search(config.shape, series.train[:fit_end], config.time_cap)
    shape = config.shape
    forecast = statistical.windowed(shape, model, series.train)[fit_end - shape.min_length :]
    expected = float(np.mean(np.abs(forecast - series.train[fit_end:])))
    info = published["auto_ets"].metadata.statsforecast
    assert info is not None and info.holdout_mae == pytest.approx(expected)


def test_auto_arima_past_its_time_cap_fits_a_quicker_model_and_says_so(tmp_path: Path) -> None:
    config = fitting.StatisticalConfig("auto_arima", _monthly(), time_cap=1e-4)
    meta = fitting.fit_and_publish(config, tmp_path / "store").metadata
    info = meta.statsforecast
    assert info is not None and info.cut_short
    assert "ran past the 0.0001 s cap" in info.search
    assert info.time_cap_seconds == 1e-4
    assert meta.validation.scores["model"].mae > 0


def test_seasons_follow_the_data() -> None:
    monthly = _monthly()
    assert fitting.shape_for("auto_ets", monthly, 76).seasons == (SEASON,)
    daily = Series("d", np.ones(1000), 800, 7, "daily")
    # MSTL adds a year to a week once the fit part holds two years; AutoETS stops at 24.
    assert fitting.shape_for("mstl", daily, 800).seasons == (7, 365)
    assert fitting.shape_for("mstl", daily, 600).seasons == (7,)
    long = Series("l", np.ones(1000), 800, 48)
    assert fitting.shape_for("auto_ets", long, 640).seasons == ()
    assert references.season_used("auto_arima", 48, 640) == 48
    with pytest.raises(DataError, match="mstl needs a season"):
        fitting.shape_for("mstl", Series("n", np.ones(100), 80, 1), 64)


def test_the_time_cap_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(fitting.ARIMA_TIME_CAP_ENV, "7.5")
    assert fitting.arima_time_cap() == 7.5
    monkeypatch.setenv(fitting.ARIMA_TIME_CAP_ENV, "soon")
    with pytest.raises(DataError, match="FORECAST_ARIMA_TIME_CAP must be a number"):
        fitting.arima_time_cap()


def test_metadata_round_trips_through_json(published: dict[str, Published]) -> None:
    path = published["auto_theta"].path / store.METADATA_FILE
    raw = json.loads(path.read_text())
    assert raw["kind"] == "statsforecast" and raw["statsforecast"]["model"].startswith("Theta(")
    assert raw["savedmodel"] is None


def test_mstl_with_rs_loess_jumps_decomposes_as_without_them() -> None:
    from statsforecast.mstl import mstl

    from training.data import synthetic_values

    x = synthetic_values()
    exact = mstl(x, period=[365])["seasonal"].to_numpy()
    jumped = mstl(x, period=[365], stl_kwargs=fitting.stl_jumps(365))["seasonal"].to_numpy()
    assert fitting.stl_jumps(365) == {"seasonal_jump": 2, "trend_jump": 64, "low_pass_jump": 37}
    np.testing.assert_allclose(jumped, exact, atol=0.02 * np.std(exact))


def test_a_reference_past_the_time_cap_is_not_scored_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from training import pipeline

    monkeypatch.setenv(fitting.ARIMA_TIME_CAP_ENV, "0.0001")
    series = _monthly(seed=9)  # not fitted before in this process (the fits are cached)
    scores, fits = pipeline.score_references(series)
    assert "auto_arima" not in scores and "auto_ets" not in scores
    assert fits["auto_arima"].error == (
        "not scored: auto_arima ran past the 0.0001 s cap (FORECAST_ARIMA_TIME_CAP)"
    )


def test_a_capped_call_returns_its_result_or_its_expected_error() -> None:
    from training.capped import CappedFailed, run_capped

    assert run_capped(divmod, (7, 2), 30.0) == (True, (3, 1))
    with pytest.raises(ZeroDivisionError):
        run_capped(divmod, (7, 0), 30.0, (ZeroDivisionError,))
    with pytest.raises(CappedFailed, match="ZeroDivisionError"):
        run_capped(divmod, (7, 0), 30.0)
