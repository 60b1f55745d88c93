"""Fuzzing the contract: Schemathesis generates requests from the app's own OpenAPI document.

Every operation gets valid (positive) and invalid (negative) cases, sent through the real app
with its real lifespan (schemathesis's ASGI transport starts it once) over real SavedModels. Each
response must not be a 5xx, must carry a documented status code and content type, must match the
schema declared for that status, and invalid requests must be refused. ``bench/fuzz.py`` runs the
same through this module, with more cases (``FUZZ_EXAMPLES``), unseeded (``FUZZ_SEED=random``),
and the report written as JSON to ``FUZZ_REPORT``.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.app.support import settings_for
from tests.support import WINDOW, tiny_series

KEY = "fuzz-key"
MODELS = ("linear", "gru", "dense")
LABELS = ("stable", "canary")
EXAMPLES_PER_MODE = int(os.environ.get("FUZZ_EXAMPLES", "25"))
MIN_CASES = 500

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


@dataclass
class FuzzReport:
    """What a fuzzing run sent and saw."""

    cases: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operation, mode)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (operation, status)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.cases.values())


@st.composite
def _steering(draw: st.DrawFn) -> dict[str, Any]:
    """How to nudge a generated case towards the store's real contents (or leave it alone)."""
    return {
        "key": draw(st.sampled_from([KEY, KEY, KEY, None])),
        "model": draw(st.sampled_from([*MODELS, None])),
        "label": draw(st.sampled_from([*LABELS, None])),
        "series": draw(st.sampled_from([None, 16, 60, 120, 400])),
        "default_version": draw(st.booleans()),
    }


def _steer(case: schemathesis.Case, how: dict[str, Any], series: list[float]) -> None:
    """Put the real key, model names, labels and a real series into a generated case.

    The containers are replaced, not edited in place, so schemathesis re-validates what
    changed: a negative case made valid by the steering is then judged as a valid one.
    """
    if how["key"] is not None:
        case.headers = {**(case.headers or {}), "X-API-Key": how["key"]}
    if case.path_parameters:
        params = dict(case.path_parameters)
        if how["model"] and "name" in params:
            params["name"] = how["model"]
        if how["label"] and "label" in params:
            params["label"] = how["label"]
        case.path_parameters = params
    if case.media_type == "text/csv" and how["series"]:
        # A column of the real series, the generated query kept but for its column names.
        case.body = "y\n" + "\n".join(map(str, series[: how["series"]])) + "\n"
        query = {k: v for k, v in (case.query or {}).items() if not k.endswith("_column")}
        if how["model"]:
            query["model"] = how["model"]
        case.query = query
    if isinstance(case.body, dict) and how["series"] and case.query:
        case.query = {}  # a JSON body refuses the query parameters of a CSV one
    if isinstance(case.body, dict):
        body = dict(case.body)
        if how["model"] and "model" in body:
            body["model"] = how["model"]
            if how["default_version"]:
                body.pop("version", None)
        if how["series"] and isinstance(body.get("series"), list):
            body["series"] = series[: how["series"]]
        if how["series"] and case.operation.path.endswith(":predict"):
            windows = [series[i : i + WINDOW] for i in range(how["series"] // WINDOW)]
            if body.get("signature_name") == "forecast":
                body.pop("instances", None)
                body["inputs"] = {"window": windows, "steps": how["series"] // 4}
            else:
                body.pop("inputs", None)
                body["instances"] = windows
        if how["series"] and case.operation.path == "/v1/timeseries/forecast":
            start = {"frequency": "D", "start_timestamp": "2024-01-01T00:00:00Z"}
            body["inputs"] = [
                {"type": "univariate_time_series", "name": "s", "series": series[: how["series"]]}
                | start
            ]
        if how["series"] and case.operation.path.endswith("/infer"):
            windows = [series[i : i + WINDOW] for i in range(how["series"] // WINDOW)]
            window = {"name": "window", "shape": [len(windows), WINDOW], "datatype": "FP32"}
            body["inputs"] = [{**window, "data": [v for w in windows for v in w]}]
        case.body = body


def _fuzz_one(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    examples: int,
    derandomize: bool,
    report: FuzzReport,
    series: list[float],
) -> None:
    key = (operation.label, mode.value)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), how=_steering())
    def run(case: schemathesis.Case, how: dict[str, Any]) -> None:
        report.cases[key] += 1
        _steer(case, how, series)
        response = case.call()
        report.statuses[(operation.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    run()


def _modes(operation: schemathesis.APIOperation) -> list[GenerationMode]:
    """Positive cases always; negative ones where there is something to make invalid."""
    raw = operation.definition.raw
    if any(raw.get(k) for k in ("parameters", "requestBody", "security")):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def fuzz(schema: schemathesis.BaseSchema, examples: int, *, derandomize: bool = True) -> FuzzReport:
    """Run ``examples`` positive and negative cases per operation; collect the failures."""
    report = FuzzReport()
    series = [float(v) for v in tiny_series().values]
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in _modes(operation):
            try:
                _fuzz_one(operation, mode, examples, derandomize, report, series)
            except (Exception, FailureGroup) as e:  # FailureGroup is a BaseExceptionGroup
                report.failures.append(f"{operation.label} ({mode.value}):\n{e}")
    report.seconds = time.perf_counter() - started
    return report


def wait_until_loaded(app: FastAPI, versions: int, seconds: float = 120.0) -> None:
    """Start the app's lifespan through schemathesis's ASGI client and wait for the loads."""
    deadline = time.monotonic() + seconds
    with asgi.get_client(app) as client:
        while client.get("/health").json()["versions_available"] < versions:
            assert time.monotonic() < deadline, "the models were not loaded in time"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def schema(trained_store: Path) -> Iterator[schemathesis.BaseSchema]:
    app = create_app(settings_for(trained_store, api_keys=KEY))
    try:
        loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
        wait_until_loaded(app, versions=4)
        yield loaded
    finally:
        asgi.shutdown_lifespans()  # the lifespan schemathesis started for this app


def _write_report(report: FuzzReport, path: str) -> None:
    """The report as JSON, for ``bench/fuzz.py``'s table."""
    data = {
        "examples": EXAMPLES_PER_MODE,
        "seconds": report.seconds,
        "checks": [c.__name__ for c in CHECKS],
        "cases": [[op, mode, n] for (op, mode), n in report.cases.items()],
        "statuses": [[op, status, n] for (op, status), n in report.statuses.items()],
        "failures": report.failures,
    }
    Path(path).write_text(json.dumps(data, indent=1))


@pytest.mark.slow
def test_every_operation_keeps_its_contract_under_fuzzing(schema: schemathesis.BaseSchema) -> None:
    report = fuzz(schema, EXAMPLES_PER_MODE, derandomize=os.environ.get("FUZZ_SEED") != "random")
    if "FUZZ_REPORT" in os.environ:
        _write_report(report, os.environ["FUZZ_REPORT"])

    assert not report.failures, "\n\n".join(report.failures)
    assert report.total >= MIN_CASES, report.cases
    documented = {
        f"{method.upper()} {path}"
        for path, methods in schema.raw_schema["paths"].items()
        for method in methods
    }
    assert {op for op, _ in report.statuses} == documented  # every operation was called
    # The steering reached the models: real forecasts and predictions, not only refusals.
    for label in (
        "POST /forecast",
        "POST /forecast/plot",
        "POST /v1/models/{name}:predict",
        "POST /v2/models/{name}/infer",
        "POST /v1/timeseries/forecast",
    ):
        assert report.statuses[(label, 200)] > 0, (label, report.statuses)
    assert report.statuses[("POST /forecast", 422)] > 0
    assert report.statuses[("GET /models", 401)] > 0
