"""POST /backtest and /backtest/plot through the real app and real SavedModels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from statsforecast import StatsForecast
from statsforecast.models import Naive, SeasonalNaive

from contract import metrics
from tests.app.support import TestClient, error_of, metric_value, running
from tests.support import SEASON, WINDOW


def _backtest(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/backtest", json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_windows_and_baselines_equal_statsforecast_cross_validation(
    shared_client: TestClient, series: np.ndarray
) -> None:
    body = _backtest(
        shared_client,
        model="linear",
        series=series.tolist(),
        h=7,
        n_windows=3,
        step_size=5,
        baselines=["naive", "seasonal_naive"],
    )
    frame = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(series)), "y": series})
    reference = StatsForecast(
        models=[Naive(), SeasonalNaive(season_length=SEASON)], freq=1
    ).cross_validation(df=frame, h=7, n_windows=3, step_size=5)
    assert body["cutoffs"] == sorted(reference["cutoff"].unique().tolist()) == [382, 387, 392]
    by_window = reference.sort_values(["cutoff", "ds"])
    np.testing.assert_allclose(body["actuals"], by_window["y"].to_numpy().reshape(3, 7))
    np.testing.assert_allclose(
        body["forecasts"]["naive"], by_window["Naive"].to_numpy().reshape(3, 7)
    )
    np.testing.assert_allclose(
        body["forecasts"]["seasonal_naive"], by_window["SeasonalNaive"].to_numpy().reshape(3, 7)
    )


def test_defaults_are_statsforecasts_one_window_ending_with_the_series(
    shared_client: TestClient, series: np.ndarray
) -> None:
    body = _backtest(shared_client, model="linear", series=series.tolist(), h=5)
    assert (body["n_windows"], body["step_size"]) == (1, 1)
    assert body["cutoffs"] == [len(series) - 5 - 1]
    assert body["actuals"] == [series[-5:].tolist()]
    # Every baseline the first window (395 values) is long enough for.
    assert set(body["forecasts"]) == {
        "model",
        "naive",
        "moving_average",
        "seasonal_naive",
        "seasonal_diff_ma",
        "seasonal_diff_ma_smoothed",
    }
    assert body["intervals"] is None and body["metrics"]["coverage"] is None


@pytest.mark.parametrize("name", ["gru", "dense"])
def test_model_forecast_at_each_cutoff_equals_forecast_on_the_series_cut_there(
    shared_client: TestClient, series: np.ndarray, name: str
) -> None:
    body = _backtest(
        shared_client, model=name, series=series.tolist(), h=6, n_windows=4, step_size=9,
        level=[80],
    )  # fmt: skip
    for i, cutoff in enumerate(body["cutoffs"]):
        r = shared_client.post(
            "/forecast",
            json={"model": name, "series": series[: cutoff + 1].tolist(), "horizon": 6,
                  "level": [80]},
        )  # fmt: skip
        forecast = r.json()["forecast"]
        np.testing.assert_allclose(
            body["forecasts"]["model"][i], forecast["values"], rtol=1e-5, atol=1e-4
        )
        band = body["intervals"]["80"]
        for side in ("lower", "upper"):
            np.testing.assert_allclose(
                band[side][i], forecast["intervals"]["80"][side], rtol=1e-5, atol=1e-4
            )


def test_scores_per_step_and_overall_by_hand(shared_client: TestClient, series: np.ndarray) -> None:
    h, k, s = 4, 5, 3
    body = _backtest(
        shared_client, model="gru", series=series.tolist(), h=h, n_windows=k, step_size=s,
        baselines=["naive"], level=[80, 95],
    )  # fmt: skip
    first = len(series) - (h + s * (k - 1))
    ends = [first + i * s for i in range(k)]
    assert body["cutoffs"] == [e - 1 for e in ends]
    naive = np.array([[series[e - 1]] * h for e in ends])  # each window's last seen value
    actuals = np.array([series[e : e + h] for e in ends])
    np.testing.assert_allclose(body["forecasts"]["naive"], naive)
    scale = float(np.mean(np.abs(np.diff(series[:first]))))
    m = body["metrics"]
    assert m["mase_scale"] == pytest.approx(scale)
    errors = np.abs(actuals - naive)
    assert m["overall"]["naive"]["mae"] == pytest.approx(errors.mean())
    assert m["overall"]["naive"]["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
    assert m["overall"]["naive"]["mase"] == pytest.approx(errors.mean() / scale)
    assert [x["mae"] for x in m["by_step"]["naive"]] == pytest.approx(errors.mean(axis=0))
    model = np.array(body["forecasts"]["model"])
    assert m["overall"]["model"] == pytest.approx(metrics.score(actuals, model, scale))
    for j in range(h):
        expected = metrics.score(actuals[:, j], model[:, j], scale)
        assert m["by_step"]["model"][j] == pytest.approx(expected)
    for level in ("80", "95"):
        lower = np.array(body["intervals"][level]["lower"])
        upper = np.array(body["intervals"][level]["upper"])
        inside = (lower <= actuals) & (actuals <= upper)
        assert m["coverage"][level]["overall"] == pytest.approx(inside.mean())
        assert m["coverage"][level]["by_step"] == pytest.approx(inside.mean(axis=0))
    maes = {name: scores["mae"] for name, scores in m["overall"].items()}
    assert body["best"] == min(maes, key=lambda name: (maes[name], name != "model"))


def test_no_window_sees_the_values_after_its_cutoff(
    shared_client: TestClient, series: np.ndarray
) -> None:
    request = {"model": "dense", "h": 5, "n_windows": 3, "step_size": 10}
    body = _backtest(shared_client, series=series.tolist(), **request)
    for i, cutoff in enumerate(body["cutoffs"]):
        changed = series.copy()
        changed[cutoff + 1 :] = 1000.0 + 50 * np.sin(np.arange(len(series) - cutoff - 1))
        other = _backtest(shared_client, series=changed.tolist(), **request)
        assert other["cutoffs"] == body["cutoffs"]
        assert set(other["forecasts"]) == set(body["forecasts"])
        for name, forecasts in body["forecasts"].items():
            # This window's forecasts are unchanged; the next one's model and naive forecasts
            # read its last values, which changed (a seasonal one may read only older ones).
            np.testing.assert_allclose(other["forecasts"][name][i], forecasts[i], rtol=1e-6)
            if i + 1 < len(body["cutoffs"]) and name in ("model", "naive"):
                assert not np.allclose(other["forecasts"][name][i + 1], forecasts[i + 1])


def test_all_windows_are_one_model_call(store: Path, series: np.ndarray) -> None:
    with running(store) as client:

        def calls(signature: str) -> float:
            text = client.get("/metrics").text
            return metric_value(
                text, "forecast_model_calls_total", model="gru", signature=signature
            )

        signatures = ("serving_default", "forecast", "windowed")
        for n_windows in (1, 7, 40):
            before = {s: calls(s) for s in signatures}
            body = _backtest(
                client, model="gru", series=series.tolist(), h=8, n_windows=n_windows,
                step_size=2,
            )  # fmt: skip
            assert np.array(body["forecasts"]["model"]).shape == (n_windows, 8)
            after = {s: calls(s) - before[s] for s in signatures}
            assert after == {"serving_default": 0, "forecast": 1, "windowed": 0}


def test_plot_is_a_png(shared_client: TestClient, series: np.ndarray) -> None:
    r = shared_client.post(
        "/backtest/plot",
        json={"model": "gru", "series": series.tolist(), "h": 10, "n_windows": 5,
              "step_size": 10, "level": [80, 95]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n") and len(r.content) > 10_000


# ---- errors ----


def test_series_too_short_for_the_windows_says_how_many_are_needed(
    shared_client: TestClient, series: np.ndarray
) -> None:
    # 16 (window) + 10 + 3 * 5 held out = 41 values needed.
    body = {"model": "linear", "series": series[:40].tolist(), "h": 10, "n_windows": 4,
            "step_size": 5}  # fmt: skip
    r = shared_client.post("/backtest", json=body)
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "series_too_short"
    assert "send at least 41 values" in error["message"]
    assert error["details"] == {"length": 40, "window_size": WINDOW, "test_size": 25, "needed": 41}
    r = shared_client.post("/backtest", json={**body, "series": series[:41].tolist()})
    assert r.status_code == 200, r.text
    assert set(r.json()["forecasts"]) == {"model", "naive"}  # 16 values before the first cutoff


def test_the_statistical_references_are_refused_here_with_the_reason(
    shared_client: TestClient, series: np.ndarray
) -> None:
    body = {"model": "linear", "series": series[:120].tolist(), "h": 5, "baselines": ["auto_ets"]}
    r = shared_client.post("/backtest", json=body)
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("auto_ets are offered by POST /forecast only")
    assert error["details"] == {"baselines": ["auto_ets"]}


def test_baseline_too_long_for_the_first_window_is_named(
    shared_client: TestClient, series: np.ndarray
) -> None:
    r = shared_client.post(
        "/backtest",
        json={"model": "linear", "series": series[:120].tolist(), "h": 30,
              "baselines": ["naive", "seasonal_diff_ma"]},
    )  # fmt: skip
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "series_too_short"
    assert error["message"].startswith("the first backtest window (the series less the 30")
    assert "'seasonal_diff_ma' needs at least 101 values" in error["message"]


def test_more_forecasts_than_the_limit_is_422(store: Path, series: np.ndarray) -> None:
    with running(store, max_backtest_forecasts=50) as client:
        body = {"model": "linear", "series": series.tolist(), "h": 10, "n_windows": 6}
        r = client.post("/backtest", json=body)
        assert r.status_code == 422
        message = error_of(r)["message"]
        assert message == (
            "h * n_windows is 60 forecasts per method, more than the 50 this server allows"
            " (FORECAST_MAX_BACKTEST_FORECASTS)"
        )
        assert client.post("/backtest", json={**body, "n_windows": 5}).status_code == 200
        schema = client.get("/openapi.json").json()["components"]["schemas"]["BacktestRequest"]
        assert schema["properties"]["n_windows"]["maximum"] == 50


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"h": 0}, "h: expected at least 1, got 0"),
        ({"h": 1001}, "h 1001 is more than the 1000 this server allows (FORECAST_MAX_HORIZON)"),
        ({"n_windows": 0}, "n_windows: expected at least 1, got 0"),
        ({"step_size": 0}, "step_size: expected at least 1, got 0"),
        ({"h": None}, "h: required, but missing"),
        ({"level": [100]}, "level[0]: expected less than 100, got 100"),
        ({"horizon": 3}, "horizon: unknown field"),  # /forecast's name, not this route's
    ],
)
def test_invalid_bodies_name_the_field(
    shared_client: TestClient, series: np.ndarray, change: dict[str, Any], where: str
) -> None:
    body = {"model": "linear", "series": series.tolist(), "h": 3, **change}
    if change.get("h", 0) is None:
        del body["h"]
    r = shared_client.post("/backtest", json=body)
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "validation_error" and error["message"] == where, error


def test_unknown_model_is_404(shared_client: TestClient) -> None:
    r = shared_client.post("/backtest", json={"model": "nope", "series": [1.0] * 40, "h": 2})
    assert r.status_code == 404 and error_of(r)["code"] == "model_not_found"
