"""POST /anomalies through the real app and real SavedModels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contract import store as store_format
from tests.app.support import TestClient, error_of
from tests.support import WINDOW


def _one_step_offsets(store: Path, name: str, level: float) -> tuple[float, float]:
    """The one-step residual quantiles at the level's bounds, read from metadata.json by hand."""
    q = store_format.read_metadata(store_format.version_dir(store, name, 1)).residual_quantiles
    lo, hi = (1 - level / 100) / 2, (1 + level / 100) / 2
    return (
        float(np.interp(lo, q.levels, q.by_step[0])),
        float(np.interp(hi, q.levels, q.by_step[0])),
    )


def _anomalies(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/anomalies", json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


@pytest.mark.parametrize("level", [99, 80])
def test_anomalies_are_exactly_the_values_outside_the_one_step_interval(
    shared_client: TestClient, trained_store: Path, series: np.ndarray, level: float
) -> None:
    body = _anomalies(shared_client, model="gru", series=series.tolist(), level=level)
    assert (body["level"], body["start"], body["end"]) == (level, WINDOW, len(series))
    windowed = np.array(
        shared_client.post("/forecast", json={"model": "gru", "series": series.tolist()}).json()[
            "windowed"
        ]["values"]
    )
    lo, hi = _one_step_offsets(trained_store, "gru", level)
    actual = series[WINDOW:]
    outside = np.flatnonzero((actual < windowed + lo) | (actual > windowed + hi)) + WINDOW
    assert [a["index"] for a in body["anomalies"]] == outside.tolist()
    assert body["count"] == len(outside)
    half = (hi - lo) / 2
    for a in body["anomalies"]:
        t = a["index"]
        f = windowed[t - WINDOW]
        assert a["value"] == series[t]
        assert a["forecast"] == pytest.approx(f, rel=1e-6)
        assert (a["lower"], a["upper"]) == pytest.approx((f + lo, f + hi), rel=1e-6)
        beyond = series[t] - (f + hi) if series[t] > f + hi else (f + lo) - series[t]
        assert a["score"] == pytest.approx(beyond / half, rel=1e-6)
        assert a["score"] > 0


def test_injected_spikes_are_found_and_score_highest(
    shared_client: TestClient, series: np.ndarray
) -> None:
    spiky = series.copy()
    spread = float(np.std(np.diff(series)))
    spiky[200] += 25 * spread
    spiky[333] -= 25 * spread
    body = _anomalies(shared_client, model="linear", series=spiky.tolist())
    assert body["level"] == 99  # the default
    found = {a["index"]: a for a in body["anomalies"]}
    assert {200, 333} <= set(found)
    assert found[200]["value"] > found[200]["upper"] and found[333]["value"] < found[333]["lower"]
    clean = _anomalies(shared_client, model="linear", series=series.tolist())
    assert {200, 333}.isdisjoint(a["index"] for a in clean["anomalies"])
    usual = max((a["score"] for a in clean["anomalies"]), default=0.0)
    assert min(found[200]["score"], found[333]["score"]) > usual


def test_a_lower_level_flags_at_least_as_many(
    shared_client: TestClient, series: np.ndarray
) -> None:
    counts = [
        _anomalies(shared_client, model="gru", series=series.tolist(), level=level)["count"]
        for level in (99, 95, 80, 50)
    ]
    assert counts == sorted(counts) and counts[-1] > counts[0]


# ---- errors ----


def test_series_of_only_the_window_is_too_short(
    shared_client: TestClient, series: np.ndarray
) -> None:
    r = shared_client.post("/anomalies", json={"model": "gru", "series": series[:WINDOW].tolist()})
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "series_too_short" and "send at least 17 values" in error["message"]
    assert error["details"] == {"length": WINDOW, "window_size": WINDOW}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"level": 0}, "level: expected more than 0, got 0"),
        ({"level": 100}, "level: expected less than 100, got 100"),
        ({"h": 3}, "h: unknown field"),
    ],
)
def test_invalid_bodies_name_the_field(
    shared_client: TestClient, series: np.ndarray, change: dict[str, Any], where: str
) -> None:
    r = shared_client.post("/anomalies", json={"model": "gru", "series": series.tolist(), **change})
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "validation_error" and error["message"] == where, error


def test_unknown_model_is_404(shared_client: TestClient) -> None:
    r = shared_client.post("/anomalies", json={"model": "nope", "series": [1.0] * 40})
    assert r.status_code == 404 and error_of(r)["code"] == "model_not_found"
