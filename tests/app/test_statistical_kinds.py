"""Statistical and cross-family ensemble versions through the real app: every route serves them.

The store is made by the real CLI on a monthly series: a linear network for one epoch, AutoETS,
AutoARIMA and AutoTheta fitted by statsforecast, and their ensemble (kind ``ensemble``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from contract import statistical, store
from contract.statistical import Shape
from tests.app.support import TestClient, error_of, running
from training.cli import main

SEASON = 12
LENGTH = 96


def _values() -> np.ndarray:
    """A growing monthly series whose season grows with its level (what AutoETS multiplies)."""
    t = np.arange(LENGTH)
    rng = np.random.default_rng(3)
    level = 100 * 1.01**t
    return level * (1 + 0.2 * np.sin(2 * np.pi * t / SEASON)) * (1 + rng.normal(0, 0.01, LENGTH))


SERIES = [float(v) for v in _values()]


@pytest.fixture(scope="module")
def stat_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("stat")
    csv = work / "m.csv"
    rows = [f"{1990 + i // 12}-{i % 12 + 1:02d},{v!r}" for i, v in enumerate(SERIES)]
    csv.write_text("month,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    root = work / "store"
    argv = ["--data", str(csv), "--column", "y", "--time-column", "month", "--epochs", "1"]
    for arch in ("linear", "auto_ets", "auto_arima", "auto_theta", "ensemble"):
        argv += ["--arch", arch]
    assert main([*argv, "--quiet", "--store", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def client(stat_store: Path) -> Iterator[TestClient]:
    with running(stat_store) as c:
        yield c


def _meta(root: Path, name: str) -> dict:
    return json.loads((store.version_dir(root, name, 1) / store.METADATA_FILE).read_text())


def test_models_lists_every_family_and_best_chooses_across_them(
    client: TestClient, stat_store: Path
) -> None:
    body = client.get("/models").json()
    kinds = {m["name"]: m["versions"][0]["metadata"]["kind"] for m in body["models"]}
    assert kinds == {
        "m-linear": "savedmodel",
        "m-auto-ets": "statsforecast",
        "m-auto-arima": "statsforecast",
        "m-auto-theta": "statsforecast",
        "m-ensemble": "ensemble",
    }
    maes = {n: _meta(stat_store, n)["validation"]["scores"]["model"]["mae"] for n in kinds}
    (best,) = body["best"]
    assert best["model"] == min(maes, key=maes.__getitem__)


@pytest.mark.parametrize("name", ["m-auto-ets", "m-auto-arima", "m-auto-theta"])
def test_forecast_is_the_models_own_and_scores_as_validation_did(
    client: TestClient, stat_store: Path, name: str
) -> None:
    body = {"model": name, "series": SERIES, "horizon": 6, "quantiles": [0.05, 0.5, 0.95]}
    r = client.post("/forecast", json={**body, "level": [80]})
    assert r.status_code == 200, r.text
    answer = r.json()
    meta = store.read_metadata(store.version_dir(stat_store, name, 1))
    info = meta.statsforecast
    assert info is not None
    shape = Shape(meta.architecture, tuple(info.season_lengths))
    model = statistical.load(store.version_dir(stat_store, name, 1), info.sha256)
    own = statistical.ahead(shape, model, np.asarray(SERIES), 6, (0.05, 0.1, 0.5, 0.9, 0.95))
    np.testing.assert_allclose(answer["forecast"]["values"], own.mean)
    quantiles = answer["forecast"]["quantiles"]
    np.testing.assert_allclose(quantiles["0.05"], own.quantiles[0.05])
    np.testing.assert_allclose(answer["forecast"]["intervals"]["80"]["lower"], own.quantiles[0.1])
    assert all(
        lo < mid < hi
        for lo, mid, hi in zip(quantiles["0.05"], quantiles["0.5"], quantiles["0.95"], strict=True)
    )
    # The windowed forecasts of the validation part are the ones the stored score came from.
    windowed = answer["windowed"]
    assert windowed["start"] == shape.min_length
    split = meta.dataset.split
    scored = np.asarray(windowed["values"])[split - windowed["start"] :]
    mae = float(np.mean(np.abs(scored - np.asarray(SERIES[split:]))))
    assert mae == pytest.approx(meta.validation.scores["model"].mae, rel=1e-9)


def test_many_series_with_timestamps(client: TestClient) -> None:
    items = [
        {"id": "a", "values": SERIES[:60], "start": "2000-01-01", "freq": "monthly"},
        {"id": "b", "values": SERIES[20:], "start": "2001-01-01", "freq": "monthly"},
    ]
    r = client.post("/forecast", json={"model": "m-auto-ets", "series": items, "horizon": 3})
    assert r.status_code == 200, r.text
    a, b = r.json()["series"]
    assert a["forecast"]["timestamps"][0].startswith("2005-01-01")
    single = client.post(
        "/forecast", json={"model": "m-auto-ets", "series": SERIES[20:], "horizon": 3}
    )
    assert b["forecast"]["values"] == single.json()["forecast"]["values"]


def test_backtest_anomalies_and_pictures_serve_them(client: TestClient) -> None:
    for name in ("m-auto-arima", "m-ensemble"):
        r = client.post("/backtest", json={"model": name, "series": SERIES, "h": 3, "n_windows": 4})
        assert r.status_code == 200, r.text
        assert len(r.json()["forecasts"]["model"]) == 4
        r = client.post("/anomalies", json={"model": name, "series": SERIES, "level": 99})
        assert r.status_code == 200, r.text
        r = client.post("/forecast/plot", json={"model": name, "series": SERIES, "horizon": 6})
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")


def test_kserve_timeseries_serves_a_statistical_version(client: TestClient) -> None:
    body = {
        "model": "m-auto-theta",
        "inputs": [{"type": "univariate_time_series", "name": "s", "series": SERIES,
                    "frequency": "month", "start_timestamp": "1990-01-31"}],
        "options": {"horizon": 2},
    }  # fmt: skip
    r = client.post("/v1/timeseries/forecast", json=body)
    assert r.status_code == 200, r.text
    (content,) = r.json()["outputs"][0]["content"]
    same = client.post("/forecast", json={"model": "m-auto-theta", "series": SERIES, "horizon": 2})
    assert content["mean_forecast"] == same.json()["forecast"]["values"]


@pytest.mark.parametrize("name", ["m-auto-ets", "m-ensemble"])
def test_tf_serving_and_oip_refuse_a_kind_without_window_tensors(
    client: TestClient, name: str
) -> None:
    r = client.post(f"/v1/models/{name}:predict", json={"instances": [SERIES[:13]]})
    assert r.status_code == 400
    assert "which TensorFlow Serving's :predict cannot serve" in r.json()["error"]
    window = {"name": "window", "shape": [1, 13], "datatype": "FP32", "data": SERIES[:13]}
    r = client.post(f"/v2/models/{name}/infer", json={"inputs": [window]})
    assert r.status_code == 400
    assert "no fixed-size window tensors" in r.json()["error"]


def test_the_ensemble_is_its_members_weighted_sum(client: TestClient, stat_store: Path) -> None:
    meta = store.read_metadata(store.version_dir(stat_store, "m-ensemble", 1))
    assert meta.ensemble is not None and meta.ensemble.combination == "inverse_holdout_mse"
    weights = {m.name: m.weight for m in meta.ensemble.members}
    assert set(weights) == {"m-linear", "m-auto-ets", "m-auto-arima", "m-auto-theta"}
    assert sum(weights.values()) == pytest.approx(1.0)

    def answer(name: str) -> dict:
        r = client.post("/forecast", json={"model": name, "series": SERIES, "horizon": 4})
        assert r.status_code == 200, r.text
        return r.json()

    combined = answer("m-ensemble")
    start = combined["windowed"]["start"]
    mean, windowed = np.zeros(4), np.zeros(LENGTH - start)
    for name, w in weights.items():
        one = answer(name)
        mean += w * np.asarray(one["forecast"]["values"])
        windowed += w * np.asarray(one["windowed"]["values"])[start - one["windowed"]["start"] :]
    np.testing.assert_allclose(combined["forecast"]["values"], mean, rtol=1e-6)
    np.testing.assert_allclose(combined["windowed"]["values"], windowed, rtol=1e-6)


def _copy(stat_store: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(stat_store, tmp_path / "store"))


def test_a_model_file_that_changed_is_refused_at_load(stat_store: Path, tmp_path: Path) -> None:
    root = _copy(stat_store, tmp_path)
    pkl = store.version_dir(root, "m-auto-ets", 1) / statistical.MODEL_FILE
    pkl.write_bytes(pkl.read_bytes() + b"\0")
    with running(root) as c:
        (version,) = c.get("/models/m-auto-ets").json()["versions"]
        assert version["state"] == "FAILED"
        assert "the file is not the one training wrote" in version["error"]
        r = c.post("/forecast", json={"model": "m-auto-arima", "series": SERIES})
        assert r.status_code == 200  # the others are served


def test_a_model_of_another_statsforecast_release_is_refused(
    stat_store: Path, tmp_path: Path
) -> None:
    root = _copy(stat_store, tmp_path)
    path = store.version_dir(root, "m-auto-arima", 1) / store.METADATA_FILE
    raw = json.loads(path.read_text())
    raw["statsforecast"]["statsforecast_version"] = "1.7.0"
    path.write_text(json.dumps(raw))
    with running(root) as c:
        (version,) = c.get("/models/m-auto-arima").json()["versions"]
        assert version["state"] == "FAILED"
        assert "trained with statsforecast 1.7.0" in version["error"]


def test_a_series_the_model_cannot_forecast_is_a_clear_422(
    client: TestClient, stat_store: Path
) -> None:
    meta = store.read_metadata(store.version_dir(stat_store, "m-auto-ets", 1))
    assert meta.statsforecast is not None and meta.statsforecast.model.startswith("ETS(M")
    negative = [-v for v in SERIES]
    r = client.post("/forecast", json={"model": "m-auto-ets", "series": negative, "horizon": 2})
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["code"] == "model_cannot_forecast"
    assert "cannot forecast this series" in error["message"]
