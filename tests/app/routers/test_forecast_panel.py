"""POST /forecast with many series, ids and time stamps, through the real app and SavedModels."""

from __future__ import annotations

import calendar
from pathlib import Path
from typing import Any

import numpy as np

from contract import store as store_format
from tests.app.support import TestClient, error_of, metric_value, running
from tests.support import WINDOW


def _calls(client: TestClient, signature: str) -> float:
    text = client.get("/metrics").text
    return metric_value(text, "forecast_model_calls_total", model="gru", signature=signature)


def test_many_series_equal_their_single_answers_in_fewer_model_calls(
    store: Path, series: np.ndarray
) -> None:
    parts = {"a": series[:300], "b": series[50:350], "c": series[:250]}
    options: dict[str, Any] = {"model": "gru", "horizon": 5, "level": [80], "quantiles": [0.9]}
    with running(store) as client:
        singles = {
            k: client.post("/forecast", json={**options, "series": v.tolist()}).json()
            for k, v in parts.items()
        }
        before = {s: _calls(client, s) for s in ("windowed", "forecast")}
        items = [{"id": k, "values": v.tolist()} for k, v in parts.items()]
        r = client.post("/forecast", json={**options, "series": items})
        after = {s: _calls(client, s) for s in ("windowed", "forecast")}
    assert r.status_code == 200, r.text
    answers = r.json()["series"]
    assert [a["id"] for a in answers] == ["a", "b", "c"]
    for answer in answers:
        assert answer.pop("frequency") is None
        assert answer == singles[answer.pop("id")]
    # two lengths: two windowed calls; every series' horizon in one forecast call
    assert (after["windowed"] - before["windowed"], after["forecast"] - before["forecast"]) == (
        2,
        1,
    )


def test_start_and_freq_stamp_every_forecast(shared_client: TestClient, series: np.ndarray) -> None:
    values = series[:200].tolist()
    item = {"id": "x", "values": values, "start": "2000-01-31", "freq": "monthly"}
    body = {
        "model": "linear",
        "horizon": 3,
        "level": [90],
        "baselines": ["naive", "seasonal_naive"],
    }
    r = shared_client.post("/forecast", json={**body, "series": [item]})
    assert r.status_code == 200, r.text
    answer = r.json()["series"][0]
    assert answer["frequency"] == "monthly"
    # month ends stay month ends: 200 months after January 2000 is September 2016
    assert answer["forecast"]["timestamps"] == [
        "2016-09-30T00:00:00",
        "2016-10-31T00:00:00",
        "2016-11-30T00:00:00",
    ]
    windowed = answer["windowed"]
    assert len(windowed["timestamps"]) == len(windowed["values"])
    assert windowed["timestamps"][0] == _month_ends(200)[WINDOW] + "T00:00:00"
    for baseline in answer["baselines"].values():
        assert baseline["timestamps"] == answer["forecast"]["timestamps"]
        assert len(baseline["windowed"]["timestamps"]) == len(baseline["windowed"]["values"])

    # the same stamps given one per value, and through a pandas alias, answer the same
    given = {**item, "start": None, "freq": None, "timestamps": _month_ends(200)}
    alias = {**item, "freq": "ME"}
    for other in (given, alias):
        again = shared_client.post("/forecast", json={**body, "series": [other]}).json()
        assert again["series"][0] == answer


def _month_ends(count: int) -> list[str]:
    """``count`` month ends from January 2000, by the calendar."""
    months = [(2000 + m // 12, m % 12 + 1) for m in range(count)]
    return [f"{y}-{m:02d}-{calendar.monthrange(y, m)[1]:02d}" for y, m in months]


def test_a_frequency_not_the_models_is_a_422_naming_both(store: Path, series: np.ndarray) -> None:
    folder = store_format.version_dir(store, "linear", 2)
    meta = store_format.read_metadata(folder)
    dataset = meta.dataset.model_copy(update={"frequency": "monthly"})
    (folder / "metadata.json").write_text(
        meta.model_copy(update={"dataset": dataset}).model_dump_json()
    )
    item = {"id": "x", "values": series[:100].tolist(), "start": "2024-01-01", "freq": "daily"}
    with running(store) as client:
        r = client.post("/forecast", json={"model": "linear", "version": 2, "series": [item]})
        fine = client.post(
            "/forecast",
            json={"model": "linear", "version": 2, "series": [{**item, "freq": "monthly"}]},
        )
    assert r.status_code == 422
    error = error_of(r)
    assert "daily" in error["message"] and "monthly" in error["message"]
    assert error["details"] == {"id": "x", "frequency": "daily", "model_frequency": "monthly"}
    assert fine.status_code == 200, fine.text


def test_bad_stamps_are_422s_naming_the_problem(
    shared_client: TestClient, series: np.ndarray
) -> None:
    values = series[:20].tolist()
    cases = [
        ({"start": "2024-01-01"}, "start and freq go together"),
        ({"start": "2024-01-01", "freq": "fortnightly"}, "unknown frequency 'fortnightly'"),
        ({"start": "yesterday", "freq": "daily"}, "cannot read 'yesterday'"),
        ({"timestamps": ["2024-01-01"] * 20}, "duplicate time stamp 2024-01-01"),
        ({"timestamps": ["2024-01-01"]}, "timestamps has 1 stamps for 20 values"),
        ({"start": "9999-12-25", "freq": "daily"}, "beyond the year 9999"),
    ]
    for fields, words in cases:
        item = {"id": "x", "values": values, **fields}
        r = shared_client.post("/forecast", json={"model": "linear", "series": [item]})
        assert r.status_code == 422, (fields, r.text)
        assert words in r.text, (words, r.text)


def test_series_count_and_total_values_are_limited(store: Path, series: np.ndarray) -> None:
    item = {"id": "x", "values": series[:100].tolist()}
    with running(store, max_series=2, max_total_points=250) as client:
        three = client.post("/forecast", json={"model": "linear", "series": [item] * 3})
        total = client.post("/forecast", json={"model": "linear", "series": [item, item, item][:2]})
        big = {"id": "y", "values": series[:200].tolist()}
        over = client.post("/forecast", json={"model": "linear", "series": [item, big]})
        doc = client.get("/openapi.json").json()
    assert three.status_code == 422
    assert error_of(three)["message"] == (
        "series holds 3 series, more than the 2 this server allows (FORECAST_MAX_SERIES)"
    )
    assert total.status_code == 200, total.text
    assert over.status_code == 422 and "300 values in all, more than the 250" in over.text
    request = doc["components"]["schemas"]["ForecastRequest"]["properties"]["series"]
    assert {"maxItems": 2} in [{"maxItems": b.get("maxItems")} for b in request["anyOf"]]


def test_a_picture_draws_one_series_of_many(shared_client: TestClient, series: np.ndarray) -> None:
    item = {"id": "x", "values": series[:100].tolist()}
    one = shared_client.post("/forecast/plot", json={"model": "linear", "series": [item]})
    two = shared_client.post("/forecast/plot", json={"model": "linear", "series": [item, item]})
    assert one.status_code == 200 and one.content.startswith(b"\x89PNG")
    assert two.status_code == 422 and "draws one series" in error_of(two)["message"]


def test_many_series_refuse_top_level_actuals(
    shared_client: TestClient, series: np.ndarray
) -> None:
    item = {"id": "x", "values": series[:100].tolist(), "actuals": [1.0]}
    fine = shared_client.post("/forecast", json={"model": "linear", "series": [item]})
    body = {"model": "linear", "series": [item], "actuals": [1.0]}
    r = shared_client.post("/forecast", json=body)
    assert fine.status_code == 200 and fine.json()["series"][0]["metrics"]["horizon"] is not None
    assert r.status_code == 422 and "send actuals in each series" in r.text
