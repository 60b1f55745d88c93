"""GET /metrics: requests and latency per route and model, model calls, versions by state."""

from __future__ import annotations

import numpy as np

from tests.app.support import TestClient, metric_value


def test_metrics_count_requests_per_route_and_model(client: TestClient, series: np.ndarray) -> None:
    for _ in range(2):
        assert (
            client.post(
                "/forecast", json={"model": "dense", "series": series[:100].tolist()}
            ).status_code
            == 200
        )
    assert client.post("/forecast", json={"model": "dense", "series": [1.0]}).status_code == 422
    assert (
        client.post("/v1/models/linear:predict", json={"instances": [[1.0] * 16]}).status_code
        == 200
    )
    assert client.get("/no/such/route").status_code == 404

    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert (
        metric_value(
            text, "forecast_http_requests_total", route="/forecast", model="dense", status="200"
        )
        == 2
    )
    # The short series was refused after its model was resolved, so it counts for "dense" too.
    assert (
        metric_value(
            text, "forecast_http_requests_total", route="/forecast", model="dense", status="422"
        )
        == 1
    )
    assert (
        metric_value(
            text,
            "forecast_http_requests_total",
            route="/v1/models/{name}:predict",
            model="linear",
            status="200",
        )
        == 1
    )
    assert metric_value(text, "forecast_http_requests_total", route="unmatched", status="404") == 1
    assert (
        metric_value(
            text, "forecast_http_request_duration_seconds_count", route="/forecast", model="dense"
        )
        == 3
    )
    assert (
        metric_value(
            text,
            "forecast_model_calls_total",
            model="dense",
            version="1",
            signature="windowed",
        )
        >= 2
    )
    assert metric_value(text, "forecast_model_versions", model="linear", state="AVAILABLE") == 2
    assert metric_value(text, "forecast_model_versions", model="gru", state="FAILED") == 0
    assert metric_value(text, "forecast_store_readable") == 1
    assert "/no/such/route" not in text  # unmatched paths never become label values
