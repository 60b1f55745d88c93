"""GET /metrics: requests and latency per route and model, model calls, versions by state."""

from __future__ import annotations

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

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


def test_every_operation_is_counted_under_its_own_route_template(client: TestClient) -> None:
    # The OIP's routes sit in a router inside a router: a prefix added by an enclosing
    # include_router is not in a route's own path, and /v2/models/{name}/infer was once
    # counted as route="/models/{name}/infer", beside the REST API's /models/{name}; and FastAPI
    # leaves no route in the scope of its own /openapi.json, which was counted as "unmatched".
    values = {"name": "linear", "version": "1", "label": "stable"}
    called = set()
    for template, operations in client.get("/openapi.json").json()["paths"].items():
        path = template.format(**values)
        for method in operations:
            r = client.request(method.upper(), path, json={} if method == "post" else None)
            assert r.status_code != 404 or "error" in r.json(), (method, path)
            called.add((method.upper(), template))
    assert {("POST", "/v2/models/{name}/infer"), ("GET", "/v2/health/ready")} <= called
    counted = {
        (sample.labels["method"], sample.labels["route"])
        for family in text_string_to_metric_families(client.get("/metrics").text)
        if family.name == "forecast_http_requests"
        for sample in family.samples
        if sample.name == "forecast_http_requests_total"
    }
    assert counted == called | {("GET", "/openapi.json")}  # the document itself, read above
