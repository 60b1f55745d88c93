"""Properties: whatever finite series comes in, the answer has the promised sizes and only finite
numbers; whatever malformed body comes in, the answer is a 4xx in the one error shape.

The baselines are checked as plain numpy functions; ``POST /forecast`` through the real app over
the session's real SavedModels.
"""

from __future__ import annotations

import json
import math
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contract import baselines, references
from tests.app.support import TestClient, error_of
from tests.support import WINDOW

FLOAT32_MAX = float(np.finfo(np.float32).max)
MODELS = ("linear", "gru", "dense")
API = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _numbers(value: Any) -> list[float]:
    """Every number anywhere in a decoded JSON value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, list):
        return [x for item in value for x in _numbers(item)]
    if isinstance(value, dict):
        return [x for item in value.values() for x in _numbers(item)]
    return []


# ---- the baselines, as numpy functions ----


@st.composite
def seasonal_series(draw: st.DrawFn, max_length: int = 400) -> tuple[np.ndarray, int]:
    """A finite series, realistic or large in magnitude, with a season length it may fit."""
    season = draw(st.integers(baselines.MIN_SEASON_LENGTH, 60))
    length = draw(st.integers(2, max_length))
    scale = draw(st.sampled_from([1.0, 1e3, 1e6, 1e9]))
    values = draw(
        hnp.arrays(np.float64, length, elements=st.floats(-1.0, 1.0, allow_subnormal=False))
    )
    return values * scale, season


@settings(max_examples=300, deadline=None, database=None)
@given(data=seasonal_series(), horizon=st.integers(1, 400))
def test_every_baseline_gives_finite_values_of_the_promised_sizes(
    data: tuple[np.ndarray, int], horizon: int
) -> None:
    x, season = data
    fitting = baselines.available(len(x), season)
    assert "naive" in fitting  # two values are enough for the naive forecast
    for name in fitting:
        start, values = baselines.windowed(name, x, season)
        assert values.shape == (len(x) - start,), name
        assert np.isfinite(values).all(), name
        ahead = baselines.forecast(name, x, horizon, season)
        assert ahead.shape == (horizon,) and np.isfinite(ahead).all(), name
    for name in set(baselines.BASELINES) - set(fitting):
        with pytest.raises(ValueError, match="needs at least"):
            baselines.windowed(name, x, season)


# ---- POST /forecast with valid series ----


# Realistic values: magnitudes from 1e-12 up, or exactly zero. (Percent errors against values
# like 1e-307 overflow; test_extreme_but_valid_values_... covers those.)
REALISTIC = st.floats(-1.0, 1.0).map(lambda v: v if abs(v) > 1e-12 else 0.0)


@st.composite
def forecast_bodies(draw: st.DrawFn, max_horizon: int = 60) -> dict[str, Any]:
    model = draw(st.sampled_from(MODELS))
    length = draw(st.integers(WINDOW, 300))
    scale = draw(st.sampled_from([1.0, 100.0, 1e6]))
    series = draw(st.lists(REALISTIC, min_size=length, max_size=length))
    body: dict[str, Any] = {
        "model": model,
        "series": [v * scale for v in series],
        "horizon": draw(st.integers(1, max_horizon)),
    }
    if draw(st.booleans()):
        body["level"] = draw(
            st.lists(st.sampled_from([50, 80, 95, 99.5]), min_size=1, max_size=3, unique=True)
        )
    if model == "linear":
        version = draw(st.sampled_from([None, 1, 2, "stable", "canary", "1"]))
        if version is not None:
            body["version"] = version
    return body


def _check_sizes(body: dict[str, Any], answer: dict[str, Any]) -> None:
    n, horizon = len(body["series"]), body["horizon"]
    assert len(answer["forecast"]["values"]) == horizon
    assert answer["windowed"]["start"] == WINDOW
    assert len(answer["windowed"]["values"]) == n - WINDOW
    for levels in (answer["forecast"]["intervals"] or {}).values():
        assert len(levels["lower"]) == len(levels["upper"]) == horizon
    assert set(answer["forecast"]["intervals"] or {}) == {f"{x:g}" for x in body.get("level", [])}
    assert set(answer["baselines"]) == set(baselines.available(n, 50))  # the models' season
    for name, b in answer["baselines"].items():
        assert len(b["forecast"]) == horizon, name
        assert len(b["windowed"]["values"]) == n - b["windowed"]["start"], name
    assert all(math.isfinite(x) for x in _numbers(answer))


@API
@given(body=forecast_bodies())
def test_any_finite_series_gets_finite_forecasts_of_the_promised_sizes(
    shared_client: TestClient, body: dict[str, Any]
) -> None:
    r = shared_client.post("/forecast", json=body)
    assert r.status_code == 200, r.text
    _check_sizes(body, r.json())


@API
@given(body=forecast_bodies(max_horizon=1000))
def test_long_horizons_are_finite_or_refused_with_a_horizon_that_works(
    shared_client: TestClient, body: dict[str, Any]
) -> None:
    r = shared_client.post("/forecast", json=body)
    if r.status_code == 200:
        _check_sizes(body, r.json())
        return
    # The tiny test models can diverge when fed their own forecasts for hundreds of steps.
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["code"] == "forecast_diverged" and "diverges" in error["message"]
    steps = error["details"]["finite_steps"]
    assert 0 < steps < body["horizon"]
    shorter = {**body, "horizon": steps}
    r = shared_client.post("/forecast", json=shorter)
    assert r.status_code == 200, r.text  # the advice in the message holds
    _check_sizes(shorter, r.json())


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # in MAPE, refused
@API
@given(
    model=st.sampled_from(MODELS),
    exponents=st.lists(st.floats(-320.0, 38.5), min_size=WINDOW, max_size=120),
    signs=st.randoms(use_true_random=False),
    horizon=st.integers(1, 50),
)
def test_extreme_but_valid_values_are_answered_or_refused_by_name(
    shared_client: TestClient, model: str, exponents: list[float], signs: Any, horizon: int
) -> None:
    series = [min(10.0**e, FLOAT32_MAX) * signs.choice([-1, 1]) for e in exponents]
    body = {"model": model, "series": series, "horizon": horizon}
    r = shared_client.post("/forecast", json=body)
    if r.status_code == 200:
        _check_sizes(body, r.json())
        return
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["code"] in {"values_too_large", "forecast_diverged", "non_finite_result"}
    assert any(w in error["message"] for w in ("too large", "diverges", "too close to zero"))


@settings(max_examples=12, deadline=None, database=None)
@given(
    body=forecast_bodies(max_horizon=200),
    levels=st.lists(st.floats(0.5, 99.5), min_size=1, max_size=20, unique=True),
)
@example(  # the most levels a request may ask for, each a band of its own shade
    body={"model": "gru", "series": [float(i % 9) for i in range(80)], "horizon": 12},
    levels=[5.0 * k for k in range(1, 20)] + [99.5],
)
def test_any_valid_forecast_can_be_drawn(
    shared_client: TestClient, body: dict[str, Any], levels: list[float]
) -> None:
    r = shared_client.post("/forecast/plot", json={**body, "level": levels})
    if r.status_code == 422:  # a long horizon the tiny model cannot reach (see above)
        assert error_of(r)["code"] == "forecast_diverged"
        return
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG")


# ---- POST /forecast with malformed bodies ----

BAD = "__bad__"
VALID: dict[str, Any] = {"model": "linear", "series": [float(i % 7) for i in range(40)]}

NOT_A_NUMBER = [
    "NaN", "Infinity", "-Infinity", "1e308", "-1e308", "1e39", '"1.5"', '"NaN"', "true",
    "null", "[1.0, 2.0]", "[]", "{}", '"x"',
]  # fmt: skip
FIELD_VALUES: dict[str, list[str]] = {
    "horizon": ['"5"', "5.5", "true", "0", "-1", "1001", "1e3", "null", "[1]", str(10**30)],
    "model": ["123", '""', '"UPPER"', '"../linear"', '"a/b"', "null", "[]", '"%2e%2e"'],
    "version": ["0", "-1", "true", "1.5", '""', '"../1"', "[]", "{}"],
    "level": ["[0]", "[100]", "[-5]", '["80"]', "80", "[]", "[NaN]"],
    "baselines": ['"naive"', '["nope"]', "[1]", json.dumps(["naive"] * (len(baselines.NAMES) + len(references.NAMES) + 1))],
    "season_length": ["0", '"7"', "7.5", "true", "-12"],
    "actuals": ["[]", "[NaN]", '["1"]', "[1e308]", "1.0"],
    "extra_field": ["1"],
}  # fmt: skip


def _raw_body(field: str, raw: str, position: int | None = None) -> str:
    """VALID as JSON text with one field (or one series value) replaced by ``raw`` verbatim."""
    body = json.loads(json.dumps(VALID))
    if position is None:
        body[field] = BAD
    else:
        body["series"][position] = BAD
    return json.dumps(body).replace(f'"{BAD}"', raw)


def _assert_refused(r: Any, where: str) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    error = error_of(r)
    assert error["code"] in {"validation_error", "bad_request"}, error
    assert where in error["message"], error["message"]
    assert "Traceback" not in r.text


@API
@given(raw=st.sampled_from(NOT_A_NUMBER), position=st.integers(0, len(VALID["series"]) - 1))
def test_a_bad_value_anywhere_in_the_series_is_a_4xx_naming_it(
    shared_client: TestClient, raw: str, position: int
) -> None:
    text = _raw_body("series", raw, position)
    r = shared_client.post("/forecast", content=text, headers={"content-type": "application/json"})
    _assert_refused(r, "series")
    assert r.status_code == 422


@API
@given(field_and_raw=st.sampled_from([(f, v) for f, vs in FIELD_VALUES.items() for v in vs]))
def test_a_bad_value_in_any_field_is_a_4xx_naming_it(
    shared_client: TestClient, field_and_raw: tuple[str, str]
) -> None:
    field, raw = field_and_raw
    text = _raw_body(field, raw)
    r = shared_client.post("/forecast", content=text, headers={"content-type": "application/json"})
    _assert_refused(r, field)


@API
@given(
    text=st.one_of(
        st.sampled_from(["", "[]", "null", "1", '"series"', "{", '{"model": "linear"', "NaN"]),
        st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.text(max_size=5),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
            max_leaves=8,
        ).map(lambda v: json.dumps(v)),
    )
)
def test_arbitrary_bodies_never_cause_a_server_error(shared_client: TestClient, text: str) -> None:
    r = shared_client.post(
        "/forecast", content=text.encode("latin-1", "replace"),
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert 400 <= r.status_code < 500, (text, r.status_code, r.text)
    error_of(r)


def test_whole_number_floats_and_too_long_series_are_refused(shared_client: TestClient) -> None:
    text = json.dumps({**VALID, "horizon": 5.0})
    r = shared_client.post("/forecast", content=text, headers={"content-type": "application/json"})
    _assert_refused(r, "horizon")
    r = shared_client.post("/forecast", json={**VALID, "series": [0.5] * 100_001})
    _assert_refused(r, "100000")
    assert error_of(r)["code"] == "validation_error"
    r = shared_client.post("/forecast", json={**VALID, "series": []})
    _assert_refused(r, "series")
