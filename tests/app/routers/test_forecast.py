"""POST /forecast and /forecast/plot through the real app and real SavedModels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from contract import baselines, metrics, references
from contract import store as store_format
from contract.metadata import ModelMetadata
from contract.publishing import publish
from tests.app.support import TestClient, error_of, metric_value, running
from tests.support import WINDOW
from training.architectures import linear
from training.export import Servable, save


def _direct(store: Path, name: str, version: int) -> tf.Module:
    return tf.saved_model.load(str(store_format.version_dir(store, name, version)))


def _windows(x: np.ndarray, start: int, end: int) -> np.ndarray:
    return np.stack([x[t - WINDOW : t] for t in range(start, end)]).astype(np.float32)


@pytest.mark.parametrize(("name", "version"), [("linear", 2), ("gru", 1), ("dense", 1)])
def test_windowed_forecasts_equal_the_savedmodel_called_directly(
    shared_client: TestClient, trained_store: Path, series: np.ndarray, name: str, version: int
) -> None:
    r = shared_client.post("/forecast", json={"model": name, "series": series.tolist()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"]["name"] == name and body["model"]["version"] == version
    assert body["windowed"]["start"] == WINDOW
    loaded = _direct(trained_store, name, version)
    direct = loaded.signatures["serving_default"](window=_windows(series, WINDOW, len(series)))
    expected = direct["forecast"].numpy()[:, 0]
    np.testing.assert_allclose(body["windowed"]["values"], expected, rtol=1e-5, atol=1e-4)


def test_one_step_model_forecasts_the_horizon_recursively(
    shared_client: TestClient, trained_store: Path, series: np.ndarray
) -> None:
    x = series[:350]
    r = shared_client.post("/forecast", json={"model": "gru", "series": x.tolist(), "horizon": 7})
    assert r.status_code == 200, r.text
    values = np.array(r.json()["forecast"]["values"])
    serve = _direct(trained_store, "gru", 1).signatures["serving_default"]
    window = x[-WINDOW:].astype(np.float32)
    recursive = []
    for _ in range(7):
        y = float(serve(window=window[None])["forecast"].numpy()[0, 0])
        recursive.append(y)
        window = np.append(window[1:], np.float32(y))
    np.testing.assert_allclose(values, recursive, rtol=1e-4, atol=1e-3)


def test_multi_step_model_forecasts_the_horizon_directly(
    shared_client: TestClient, trained_store: Path, series: np.ndarray
) -> None:
    r = shared_client.post(
        "/forecast", json={"model": "dense", "series": series.tolist(), "horizon": 3}
    )
    assert r.status_code == 200, r.text
    assert r.json()["model"]["horizon"] == 3
    serve = _direct(trained_store, "dense", 1).signatures["serving_default"]
    one_call = serve(window=series[None, -WINDOW:].astype(np.float32))["forecast"].numpy()[0]
    np.testing.assert_allclose(r.json()["forecast"]["values"], one_call, rtol=1e-5, atol=1e-4)


def test_baselines_equal_the_training_functions(
    shared_client: TestClient, series: np.ndarray
) -> None:
    r = shared_client.post(
        "/forecast", json={"model": "linear", "series": series.tolist(), "horizon": 12}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (
        set(body["baselines"])
        == set(baselines.available(len(series), 50))
        == set(baselines.BASELINES)
    )
    for name, got in body["baselines"].items():
        start, values = baselines.windowed(name, series, 50)
        assert got["windowed"]["start"] == start
        assert got["windowed"]["values"] == values.tolist()
        assert got["forecast"] == baselines.forecast(name, series, 12, 50).tolist()


def test_every_method_is_scored_on_the_same_positions(
    shared_client: TestClient, series: np.ndarray
) -> None:
    r = shared_client.post("/forecast", json={"model": "linear", "series": series.tolist()})
    body = r.json()
    scored = body["metrics"]["windowed"]
    # seasonal_diff_ma starts latest: a season (50) plus its moving average (50).
    assert (scored["start"], scored["end"]) == (100, 400)
    scale = metrics.naive_scale(series[:100])
    model = np.array(body["windowed"]["values"])[100 - WINDOW :]
    assert scored["scores"]["model"] == pytest.approx(metrics.score(series[100:], model, scale))
    for name, b in body["baselines"].items():
        values = np.array(b["windowed"]["values"])[100 - b["windowed"]["start"] :]
        assert scored["scores"][name] == pytest.approx(metrics.score(series[100:], values, scale))
    maes = {name: s["mae"] for name, s in scored["scores"].items()}
    assert body["best"] == min(maes, key=lambda k: maes[k])


def test_actuals_score_the_horizon_forecasts(shared_client: TestClient, series: np.ndarray) -> None:
    x, actuals = series[:380], series[380:385]
    r = shared_client.post(
        "/forecast",
        json={
            "model": "dense",
            "series": x.tolist(),
            "horizon": 8,
            "baselines": ["naive", "seasonal_naive"],
            "actuals": actuals.tolist(),
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    horizon = body["metrics"]["horizon"]
    assert (horizon["start"], horizon["end"]) == (380, 385)
    assert set(horizon["scores"]) == {"model", "naive", "seasonal_naive"}
    model = np.array(body["forecast"]["values"][:5])
    expected = metrics.score(actuals, model, metrics.naive_scale(x))
    assert horizon["scores"]["model"] == pytest.approx(expected)
    naive = metrics.score(actuals, np.full(5, x[-1]), metrics.naive_scale(x))
    assert horizon["scores"]["naive"] == pytest.approx(naive)


@pytest.mark.parametrize("name", ["linear", "gru", "dense"])
def test_intervals_bracket_the_forecast(
    shared_client: TestClient, series: np.ndarray, name: str
) -> None:
    r = shared_client.post(
        "/forecast",
        json={"model": name, "series": series.tolist(), "horizon": 40, "level": [80, 95]},
    )
    assert r.status_code == 200, r.text
    forecast = r.json()["forecast"]
    values = np.array(forecast["values"])
    assert set(forecast["intervals"]) == {"80", "95"}
    i80, i95 = forecast["intervals"]["80"], forecast["intervals"]["95"]
    assert (np.array(i80["lower"]) < values).all() and (values < np.array(i80["upper"])).all()
    assert (np.array(i95["lower"]) < np.array(i80["lower"])).all()
    assert (np.array(i80["upper"]) < np.array(i95["upper"])).all()
    # Beyond the 30 stored steps the last row is widened by sqrt(h / 30).
    width = np.array(i80["upper"]) - np.array(i80["lower"])
    assert width[39] / width[29] == pytest.approx(np.sqrt(40 / 30))


def test_no_intervals_unless_asked(shared_client: TestClient, series: np.ndarray) -> None:
    r = shared_client.post("/forecast", json={"model": "linear", "series": series.tolist()})
    assert r.json()["forecast"]["intervals"] is None
    assert len(r.json()["forecast"]["values"]) == 1  # the default horizon


def test_series_of_exactly_the_window_has_no_windowed_positions(
    shared_client: TestClient, series: np.ndarray
) -> None:
    r = shared_client.post(
        "/forecast", json={"model": "linear", "series": series[:WINDOW].tolist(), "horizon": 4}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["windowed"] == {"start": WINDOW, "values": [], "timestamps": None}
    assert body["metrics"]["windowed"] is None and body["best"] is None
    assert len(body["forecast"]["values"]) == 4
    assert set(body["baselines"]) == {"naive"}  # the only one 16 values are enough for


def test_versions_and_labels_resolve(shared_client: TestClient, series: np.ndarray) -> None:
    def served(version: object) -> tuple[int, list[float]]:
        body: dict[str, object] = {"model": "linear", "series": series[:100].tolist()}
        if version is not None:
            body["version"] = version
        r = shared_client.post("/forecast", json=body)
        assert r.status_code == 200, r.text
        return r.json()["model"]["version"], r.json()["windowed"]["values"]

    default, v2 = served(None), served(2)
    assert default[0] == 2 and default == v2
    assert served("stable")[0] == 1 and served("canary")[0] == 2 and served("1")[0] == 1
    assert served(1)[1] != served(2)[1]  # two trainings, two sets of weights


def test_model_calls_do_not_grow_with_the_series(store: Path, series: np.ndarray) -> None:
    long = np.tile(series, 10)  # 4000 values
    with running(store) as client:

        def calls() -> float:
            text = client.get("/metrics").text
            return sum(
                metric_value(text, "forecast_model_calls_total", model="gru", signature=s)
                for s in ("serving_default", "forecast", "windowed")
            )

        for x in (series[:300], series, long[:1016], long):
            before = calls()
            response = client.post(
                "/forecast", json={"model": "gru", "series": x.tolist(), "horizon": 5}
            )
            assert response.status_code == 200
            assert len(response.json()["windowed"]["values"]) == len(x) - 16
            assert calls() - before == 2  # every window in one call, then the horizon


def test_plot_is_a_png(shared_client: TestClient, series: np.ndarray) -> None:
    r = shared_client.post(
        "/forecast/plot",
        json={"model": "gru", "series": series[:380].tolist(), "horizon": 20, "level": [80, 95],
              "actuals": series[380:].tolist()},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n") and len(r.content) > 10_000


def test_plot_errors_have_the_one_shape(shared_client: TestClient) -> None:
    r = shared_client.post("/forecast/plot", json={"model": "linear", "series": [1.0, 2.0]})
    assert r.status_code == 422 and error_of(r)["code"] == "series_too_short"


# ---- errors ----


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ({"model": "nope", "series": [1.0] * 20}, "model_not_found", 404),
        ({"model": "linear", "version": 9, "series": [1.0] * 20}, "version_not_found", 404),
        ({"model": "linear", "version": "nightly", "series": [1.0] * 20}, "label_not_found", 404),
    ],
)
def test_unknown_model_version_or_label_is_404(
    shared_client: TestClient, body: dict[str, object], code: str, status: int
) -> None:
    r = shared_client.post("/forecast", json=body)
    assert r.status_code == status
    assert error_of(r)["code"] == code


@pytest.mark.parametrize(
    "raw",
    [
        '{"model": "linear", "series": [1.0, NaN, 2.0]}',
        '{"model": "linear", "series": [1.0, Infinity]}',
        '{"model": "linear", "series": [-Infinity, 1.0]}',
        '{"model": "linear", "series": [1.0, 2.0], "actuals": [NaN]}',
        '{"model": "linear", "series": [1.0, 1e39]}',
    ],
)
def test_non_finite_numbers_are_422(shared_client: TestClient, raw: str) -> None:
    r = shared_client.post("/forecast", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "validation_error"
    # NaN and infinity are no finite numbers; 1e39 is beyond float32's largest, 3.4e38
    assert "finite number" in error["message"] or "at most 3.40282e+38" in error["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"model": "linear", "series": []}, "series"),
        ({"model": "linear", "series": "1,2,3"}, "series"),
        ({"model": "linear", "series": [1, "a"]}, "series"),
        ({"model": "linear"}, "series"),
        ({"series": [1.0] * 20}, "model"),
        ({"model": "linear", "series": [1.0] * 20, "horizon": 0}, "horizon"),
        ({"model": "linear", "series": [1.0] * 20, "horizon": "two"}, "horizon"),
        ({"model": "linear", "series": [1.0] * 20, "level": [100]}, "level"),
        ({"model": "linear", "series": [1.0] * 20, "level": [0]}, "level"),
        ({"model": "linear", "series": [1.0] * 20, "baselines": ["arima"]}, "baselines"),
        ({"model": "linear", "series": [1.0] * 20, "season_length": 0}, "season_length"),
        ({"model": "linear", "series": [1.0] * 20, "version": 0}, "version"),
        ({"model": "linear", "series": [1.0] * 20, "version": True}, "version"),
        ({"model": "linear", "series": [1.0] * 20, "version": "../1"}, "version"),
        ({"model": "../linear", "series": [1.0] * 20}, "model"),
        ({"model": "linear", "series": [1.0] * 20, "levels": [80]}, "levels"),
        ({"model": "linear", "series": [1.0] * 20, "horizon": 2, "actuals": [1, 2, 3]}, "actuals"),
    ],
)
def test_invalid_bodies_are_422(
    shared_client: TestClient, body: dict[str, object], where: str
) -> None:
    r = shared_client.post("/forecast", json=body)
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["code"] == "validation_error"
    assert where in error["message"]


def test_malformed_json_is_422(shared_client: TestClient) -> None:
    r = shared_client.post(
        "/forecast",
        content=b'{"model": "linear", "series": [1,',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and error_of(r)["code"] == "validation_error"


def test_series_shorter_than_the_window_names_the_window_size(shared_client: TestClient) -> None:
    r = shared_client.post("/forecast", json={"model": "linear", "series": [1.0] * 15})
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "series_too_short"
    assert "window_size is 16" in error["message"]
    assert error["details"] == {"length": 15, "window_size": 16}


def test_series_too_long_is_422(shared_client: TestClient) -> None:
    r = shared_client.post("/forecast", json={"model": "linear", "series": [0.5] * 100_001})
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "validation_error"
    assert error["message"] == (
        "series holds 100001 values, more than the 100000 this server allows"
        " (FORECAST_MAX_SERIES_LENGTH)"
    )
    assert error["details"]["errors"][0]["loc"] == ["body", "series"]


def test_horizon_beyond_the_maximum_is_422(shared_client: TestClient) -> None:
    r = shared_client.post(
        "/forecast", json={"model": "linear", "series": [1.0] * 20, "horizon": 1001}
    )
    assert r.status_code == 422 and "1000" in error_of(r)["message"]


def test_baseline_the_series_is_too_short_for_is_named(
    shared_client: TestClient, series: np.ndarray
) -> None:
    r = shared_client.post(
        "/forecast",
        json={
            "model": "linear",
            "series": series[:60].tolist(),
            "baselines": ["naive", "seasonal_diff_ma"],
        },
    )
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "series_too_short"
    assert "'seasonal_diff_ma' needs at least 101 values" in error["message"]
    assert error["details"]["needed"] == {"seasonal_diff_ma": 101}


def test_model_producing_infinity_is_an_error_not_a_number(store: Path, series: np.ndarray) -> None:
    # A real SavedModel whose weights overflow float32 on any window that is not flat.
    network = linear(WINDOW, 1)
    network.set_weights([np.full((WINDOW, 1), 1e38, np.float32), np.zeros(1, np.float32)])
    template = store_format.read_metadata(store_format.version_dir(store, "linear", 1))

    def build(folder: Path) -> ModelMetadata:
        save(Servable(network, WINDOW, 1, False, 1.0), folder)
        return template

    publish(store, "overflow", build)
    with running(store) as client:
        status = client.get("/models/overflow").json()["versions"][0]
        assert status["state"] == "AVAILABLE"  # its warm-up window is flat, so it passes
        r = client.post("/forecast", json={"model": "overflow", "series": series[:50].tolist()})
        assert r.status_code == 502
        error = error_of(r)
        assert error["code"] == "non_finite_model_output"
        assert "'overflow' version 1" in error["message"] and "non-finite" in error["message"]
        assert "NaN" not in r.text.replace("(NaN or infinity)", "")


def test_quantiles_come_from_the_same_residuals_as_the_intervals(
    shared_client: TestClient, series: np.ndarray
) -> None:
    r = shared_client.post(
        "/forecast",
        json={
            "model": "linear",
            "series": series[:200].tolist(),
            "horizon": 40,
            "level": [80],
            "quantiles": [0.9, 0.1, 0.5],
        },
    )
    assert r.status_code == 200, r.text
    forecast = r.json()["forecast"]
    q = {k: np.array(v) for k, v in forecast["quantiles"].items()}
    assert sorted(q) == ["0.1", "0.5", "0.9"] and all(len(v) == 40 for v in q.values())
    assert np.all(q["0.1"] <= q["0.5"]) and np.all(q["0.5"] <= q["0.9"])
    # The 80% interval is the 0.1 and 0.9 quantiles, from one table (beyond 30 steps too).
    np.testing.assert_allclose(q["0.1"], forecast["intervals"]["80"]["lower"], rtol=1e-12)
    np.testing.assert_allclose(q["0.9"], forecast["intervals"]["80"]["upper"], rtol=1e-12)
    plain = shared_client.post(
        "/forecast", json={"model": "linear", "series": series[:200].tolist()}
    )
    assert plain.json()["forecast"]["quantiles"] is None


@pytest.mark.parametrize("bad", [[0.0], [1.0], [1.5], []])
def test_quantiles_outside_0_1_are_refused(shared_client: TestClient, bad: list[float]) -> None:
    r = shared_client.post(
        "/forecast", json={"model": "linear", "series": [1.0] * 20, "quantiles": bad}
    )
    assert r.status_code == 422 and "quantiles" in error_of(r)["message"]


# ---- statistical references as opt-in baselines ----


def test_auto_ets_and_auto_arima_are_fitted_on_the_first_half_and_scored_after_it(
    shared_client: TestClient, series: np.ndarray
) -> None:
    x = series[:200]
    body = {"model": "linear", "series": x.tolist(), "horizon": 5}
    body["baselines"] = ["naive", "auto_ets", "auto_arima"]
    r = shared_client.post("/forecast", json={**body, "season_length": 10})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer["baselines"]) == ["naive", "auto_ets", "auto_arima"]
    scored = answer["metrics"]["windowed"]
    assert (scored["start"], scored["end"]) == (100, 200)  # half the series, then every method
    scale = metrics.naive_scale(x[:100])
    for name in ("auto_ets", "auto_arima"):
        # The same fit as contract.references makes on the values before the scored part.
        fitted = references.windowed(name, x, 100, 10, horizon=5, max_season=12)
        got = answer["baselines"][name]
        assert got["windowed"]["start"] == 100
        np.testing.assert_allclose(got["windowed"]["values"], fitted.values, rtol=1e-6)
        np.testing.assert_allclose(got["forecast"], fitted.forecast, rtol=1e-6)
        want = metrics.score(x[100:], fitted.values, scale)["mae"]
        assert scored["scores"][name]["mae"] == pytest.approx(want)
    model_mae = metrics.score(
        x[100:], np.asarray(answer["windowed"]["values"])[100 - WINDOW :], scale
    )["mae"]
    assert scored["scores"]["model"]["mae"] == pytest.approx(model_mae, rel=1e-5)
    # Never fitted unless named.
    default = shared_client.post("/forecast", json={"model": "linear", "series": x.tolist()})
    assert not {"auto_ets", "auto_arima"} & set(default.json()["baselines"])


def test_references_refuse_a_series_longer_than_the_setting(store: Path) -> None:
    with running(store, reference_max_length=100) as client:
        body = {"model": "linear", "series": [float(i % 7) for i in range(101)]}
        r = client.post("/forecast", json={**body, "baselines": ["auto_arima"]})
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "invalid_request"
    assert "at most 100 (setting FORECAST_REFERENCE_MAX_LENGTH)" in error["message"]
