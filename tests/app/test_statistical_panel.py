"""Statistical models fitted per series, published as one version per panel, and their combination.

Trained once for the module by the real CLI (``--global --arch auto_ets --arch auto_theta
--arch auto_arima --arch combination``) on the tiny panel, with real statsforecast fits, and
served by the real app.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.statistical_panel import PanelFits
from contract import panel_fits
from contract import store as store_format
from tests.app.support import TestClient, registry_of, running
from tests.support import PANEL_HORIZON, panel_values, write_panel
from training import panel_scoring
from training.cli import main

ETS = "panel-auto-ets"
COMBINATION = "panel-combination"
STATISTICAL = (ETS, "panel-auto-theta", "panel-auto-arima")


@pytest.fixture(scope="module")
def panel_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("panel-stat")
    csv = write_panel(folder / "panel.csv", panel_values())
    argv = ["--global", "--data", str(csv), "--id-column", "unique_id", "--column", "y"]
    argv += ["--time-column", "ds", "--horizon", str(PANEL_HORIZON), "--quiet"]
    for arch in ("auto_ets", "auto_theta", "auto_arima", "combination"):
        argv += ["--arch", arch]
    assert main([*argv, "--store", str(folder / "store")]) == 0
    return folder / "store"


@pytest.fixture(scope="module")
def panel_client(panel_store: Path) -> Iterator[TestClient]:
    with running(panel_store) as client:
        yield client


def _loaded(client: TestClient, name: str) -> PanelFits:
    model = registry_of(client).resolve(name)
    assert isinstance(model, PanelFits)
    return model


def test_one_version_per_model_holds_a_fit_per_series(panel_store: Path) -> None:
    values = panel_values()
    for name in STATISTICAL:
        folder = store_format.version_dir(panel_store, name, 1)
        meta = store_format.read_metadata(folder)
        info = meta.panel_fits
        assert meta.kind == "statsforecast_panel" and info is not None
        assert info.series == len(values) == sum(info.models.values())
        fits = panel_fits.load(folder, info.sha256)
        assert sorted(fits) == sorted(values)
        assert meta.validation.panel is not None
        # One residual per series and step, in units of its scale.
        assert meta.residual_quantiles is not None
        assert meta.residual_quantiles.counts == [len(values)] * PANEL_HORIZON
    # Nothing but the panel's versions: no version per series.
    assert sorted(p.name for p in panel_store.iterdir() if not p.name.startswith(".")) == sorted(
        [*STATISTICAL, COMBINATION]
    )


def test_validation_forecasts_come_from_the_training_parts_alone(panel_store: Path) -> None:
    from statsforecast.models import AutoETS

    folder = store_format.version_dir(panel_store, ETS, 1)
    meta = store_format.read_metadata(folder)
    forecasts = panel_scoring.load_forecasts(folder)
    values = panel_values()
    assert meta.panel_fits is not None
    # The validation forecasts' rows are in the panel's order, the fits file's.
    for row, key in enumerate(panel_fits.load(folder, meta.panel_fits.sha256)):
        train = values[key][:-PANEL_HORIZON]
        fit = panel_fits.fit("auto_ets", meta.season_length, train)
        if fit.fallback is not None:
            continue
        season = fit.shape.seasons[0] if fit.shape.seasons else 1
        direct = AutoETS(season_length=season).fit(train).predict(PANEL_HORIZON)["mean"]
        np.testing.assert_allclose(forecasts[row], direct, rtol=1e-6)


def test_the_combination_is_the_best_subset_on_validation(panel_store: Path) -> None:
    folder = store_format.version_dir(panel_store, COMBINATION, 1)
    meta = store_format.read_metadata(folder)
    assert meta.kind == "ensemble" and meta.ensemble is not None
    assert meta.ensemble.combination == "mean_of_validation_choice"
    members = [m.name for m in meta.ensemble.members]
    assert 2 <= len(members) <= 3 and set(members) <= set(STATISTICAL)
    ets = store_format.version_dir(panel_store, ETS, 1)
    info = store_format.read_metadata(ets).panel_fits
    assert info is not None
    values = panel_values()
    actual = np.stack([values[key][-PANEL_HORIZON:] for key in panel_fits.load(ets, info.sha256)])
    each = {
        n: panel_scoring.load_forecasts(store_format.version_dir(panel_store, n, 1))
        for n in STATISTICAL
    }

    def smape(forecast: np.ndarray) -> float:
        return float(np.mean(200 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast))))

    scores = {
        subset: smape(np.mean([each[n] for n in subset], axis=0))
        for size in (2, 3)
        for subset in itertools.combinations(STATISTICAL, size)
    }
    assert set(members) == set(min(scores, key=scores.__getitem__))
    assert meta.validation.panel is not None
    assert meta.validation.panel.scores["model"].smape == pytest.approx(
        min(scores.values()), abs=1e-3
    )


def test_many_series_known_unseen_and_short_each_get_a_forecast_inside_its_interval(
    panel_client: TestClient,
) -> None:
    known = panel_values()
    unseen = 5000 + 300 * np.sin(np.arange(30) / 4)
    series = [
        {"id": "s3", "values": known["s3"].tolist()},
        {"id": "new", "values": unseen.tolist()},
        {"id": "tiny", "values": [4.0, 5.0, 6.5, 6.0]},  # below AutoETS' minimum: the naive method
    ]
    fits = _loaded(panel_client, ETS)
    fits.forget()
    for model in (ETS, COMBINATION):
        body = {"model": model, "horizon": PANEL_HORIZON, "level": [80, 95], "series": series}
        r = panel_client.post("/forecast", json=body)
        assert r.status_code == 200, r.text
        answers = {a["id"]: a for a in r.json()["series"]}
        assert list(answers) == ["s3", "new", "tiny"]
        for answer in answers.values():
            forecast = answer["forecast"]
            values = np.array(forecast["values"])
            assert values.shape == (PANEL_HORIZON,) and np.isfinite(values).all()
            assert sorted(forecast["intervals"]) == ["80", "95"]
            for interval in forecast["intervals"].values():
                lower, upper = np.array(interval["lower"]), np.array(interval["upper"])
                assert (lower <= values).all() and (values <= upper).all()
                assert (upper - lower > 0).all()
        # Each series' bands are of its own size: the unseen one is 50 times the smallest.
        widths = {
            k: np.mean(np.subtract(a["forecast"]["intervals"]["80"]["upper"],
                                   a["forecast"]["intervals"]["80"]["lower"]))
            for k, a in answers.items()
        }  # fmt: skip
        assert widths["new"] > 10 * widths["s3"]
        assert 4000 < np.mean(answers["new"]["forecast"]["values"]) < 6000
    # s3 came from the version's fit; "new" and "tiny" were fitted once and kept across both
    # requests (the combination's members are their own copies).
    assert fits.made == 2
    assert fits.fit_for("s3", known["s3"]).chosen.startswith("ETS(")
    assert fits.fit_for("tiny", np.array([4.0, 5.0, 6.5, 6.0])).chosen == "naive"
    assert fits.made == 2


@pytest.mark.parametrize("name", [ETS, "panel-auto-arima"])
def test_a_known_id_is_forecast_from_its_stored_fit_in_one_pass(
    panel_client: TestClient, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = panel_values()["s5"]
    fits = _loaded(panel_client, name)
    stored = fits.fit_for("s5", values)
    expected = stored.model.forward(y=values, h=3, fitted=True)
    passes = []
    forward = stored.model.forward
    monkeypatch.setattr(stored.model, "forward", lambda **kw: passes.append(kw) or forward(**kw))
    r = panel_client.post(
        "/forecast",
        json={"model": name, "horizon": 3, "series": [{"id": "s5", "values": values.tolist()}]},
    )
    assert r.status_code == 200, r.text
    (answer,) = r.json()["series"]
    np.testing.assert_allclose(answer["forecast"]["values"], expected["mean"], rtol=1e-6)
    start = answer["windowed"]["start"]
    np.testing.assert_allclose(answer["windowed"]["values"], expected["fitted"][start:], rtol=1e-6)
    # The horizon and every one-step forecast come from one filtering pass over the series.
    assert len(passes) == 1 and passes[0]["fitted"] is True


def test_models_best_names_one_panel_version(panel_client: TestClient) -> None:
    listing = panel_client.get("/models").json()
    (best,) = listing["best"]
    assert best["metric"] == "smape" and best["candidates"] == 4
    smape = {
        m["name"]: m["versions"][0]["metadata"]["validation"]["panel"]["scores"]["model"]["smape"]
        for m in listing["models"]
    }
    assert best["model"] == min(smape, key=smape.__getitem__)


def test_a_tampered_fits_file_is_refused_and_the_rest_serve(
    panel_store: Path, tmp_path: Path
) -> None:
    root = Path(shutil.copytree(panel_store, tmp_path / "store"))
    path = store_format.version_dir(root, ETS, 1) / panel_fits.FITS_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with running(root) as client:
        models = {m["name"]: m["versions"][0] for m in client.get("/models").json()["models"]}
        assert models[ETS]["state"] == "FAILED"
        assert "fits.pkl has sha256" in models[ETS]["error"]
        assert "not the one training wrote" in models[ETS]["error"]
        r = client.post("/forecast", json={"model": "panel-auto-theta", "series": [1.0] * 20})
        assert r.status_code == 200, r.text


def test_a_combination_needs_two_other_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = write_panel(tmp_path / "panel.csv", panel_values())
    argv = ["--global", "--data", str(csv), "--id-column", "unique_id", "--column", "y"]
    argv += ["--horizon", "2", "--store", str(tmp_path / "store")]
    assert main([*argv, "--arch", "auto_ets", "--arch", "combination"]) != 0
    assert "--arch combination combines the run's other versions" in capsys.readouterr().err
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())
