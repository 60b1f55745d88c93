"""Prometheus metrics of one app: requests and latency per route and model, versions loaded.

HTTP requests are labelled by their route's template, gRPC calls by their full method name;
each model call carries the route or method that asked for it (:func:`serving_route`), so
the protocols' traffic never mixes with the native routes'.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.dependencies import MODEL_STATE_KEY
from app.registry import ModelRegistry
from app.version_state import VersionState

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"  # requests no route took: their paths would be unbounded label values

# The route (or gRPC method) being answered, read when the model is called. A worker thread
# sees it too: asyncio's and anyio's threads run in a copy of the caller's context.
_ROUTE: ContextVar[Callable[[], str]] = ContextVar("forecast_route", default=lambda: "")


@contextlib.contextmanager
def serving_route(route: str | Callable[[], str]) -> Iterator[None]:
    """Label the model calls made inside with ``route`` (or what it returns when they happen)."""
    token = _ROUTE.set(route if callable(route) else lambda: route)
    try:
        yield
    finally:
        _ROUTE.reset(token)


class _RegistryCollector(Collector):
    """Reads the model registry at scrape time, so the figures are never stale."""

    def __init__(self, registry: Callable[[], ModelRegistry | None]) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        versions = GaugeMetricFamily(
            "forecast_model_versions",
            "Model versions in the store by state",
            labels=["model", "state"],
        )
        store_up = GaugeMetricFamily(
            "forecast_store_readable", "1 when the last scan could read the model store"
        )
        registry = self._registry()
        if registry is not None:
            for model in registry.models():
                counts = Tally(v.state for v in model.versions.values())
                for state in VersionState:
                    versions.add_metric([model.name, state.value], counts.get(state, 0))
            store_up.add_metric([], 0 if registry.store_error else 1)
        yield versions
        yield store_up


class Metrics:
    """The app's own collector registry (not the global one, so apps in one process are apart)."""

    def __init__(self, registry: Callable[[], ModelRegistry | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "forecast_http_requests",
            "HTTP requests by method, route template, model and status",
            ["method", "route", "model", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "forecast_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and model",
            ["method", "route", "model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.grpc_calls = Counter(
            "forecast_grpc_requests",
            "gRPC calls by full method name, model and status code",
            ["method", "model", "code"],
            registry=self.registry,
        )
        self.grpc_latency = Histogram(
            "forecast_grpc_request_duration_seconds",
            "Time to answer a gRPC call, by full method name and model",
            ["method", "model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_calls = Counter(
            "forecast_model_calls",
            "Calls of a model version's signatures (each a batch of windows), by the route or"
            " gRPC method that made them (empty: warming a version as it loads)",
            ["model", "version", "signature", "route"],
            registry=self.registry,
        )
        self.registry.register(_RegistryCollector(registry))

    def count_call(self, model: str, version: int, signature: str) -> None:
        """Count one signature call (the registry's call hook)."""
        self.model_calls.labels(model, str(version), signature, _ROUTE.get()()).inc()

    def count_grpc(self, method: str, model: str, code: str, seconds: float) -> None:
        """Count one gRPC call and its time."""
        self.grpc_calls.labels(method, model, code).inc()
        self.grpc_latency.labels(method, model).observe(seconds)


def _route_template(scope: Scope) -> str:
    """The path template of the route that took the request, or UNMATCHED."""
    route = scope.get("route")
    endpoint = scope.get("endpoint")
    if route is None and endpoint is not None and "app" in scope:
        # FastAPI leaves "route" unset for the plain Starlette routes it adds itself
        # (/openapi.json); their endpoint names them.
        routes = getattr(getattr(scope["app"], "router", None), "routes", ())
        route = next((r for r in routes if getattr(r, "endpoint", None) is endpoint), None)
    return getattr(route, "path", None) or UNMATCHED


class MetricsMiddleware:
    """Times every HTTP request and counts it by route template, model and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with serving_route(lambda: _route_template(scope)):
                await self.app(scope, receive, send_status)
        finally:
            route = _route_template(scope)
            model = str(scope.get("state", {}).get(MODEL_STATE_KEY, ""))
            method = scope["method"]
            self.metrics.requests.labels(method, route, model, str(status)).inc()
            self.metrics.latency.labels(method, route, model).observe(time.perf_counter() - started)
