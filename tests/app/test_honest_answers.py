"""A short series a new user trains: intervals that mean something, scores that say what they are.

A 120-value monthly CSV, trained by the CLI (linear, one epoch) and served by the real app: its
validation part is 24 values.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app import plotting
from app.forecasting import forecast, trained_until
from tests.app.support import TestClient, registry_of, running
from training.cli import main

LENGTH = 120


def _values(length: int = LENGTH) -> list[float]:
    t = np.arange(length)
    rng = np.random.default_rng(5)
    return [float(v) for v in 100 + t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, length)]


SERIES = _values()


def _train(work: Path, values: list[float], name: str) -> Path:
    csv = work / f"{name}.csv"
    rows = [f"{2000 + i // 12}-{i % 12 + 1:02d},{v!r}" for i, v in enumerate(values)]
    csv.write_text("month,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    root = work / "store"
    argv = ["--arch", "linear", "--data", str(csv), "--column", "y", "--time-column", "month"]
    assert main([*argv, "--epochs", "1", "--no-references", "--quiet", "--store", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    work = tmp_path_factory.mktemp("honest")
    root = _train(work, SERIES, "monthly")
    _train(work, _values(60), "short")  # a validation part of 12 values
    with running(root) as c:
        yield c


def test_intervals_rest_on_every_validation_origin_and_hold_the_forecast(
    client: TestClient,
) -> None:
    meta = client.get("/models/monthly-linear").json()["versions"][0]["metadata"]
    quantiles = meta["residual_quantiles"]
    # Every one of the 24 validation positions has a one-step residual (it was 1 before).
    assert quantiles["count"] == 24
    assert quantiles["counts"] == [24 - h for h in range(15)]  # steps with at least 10
    r = client.post("/forecast", json={"model": "monthly-linear", "series": SERIES,
                                       "horizon": 18, "level": [80, 95]})  # fmt: skip
    assert r.status_code == 200, r.text
    forecast = r.json()["forecast"]
    values = np.asarray(forecast["values"])
    for level in ("80", "95"):
        lower = np.asarray(forecast["intervals"][level]["lower"])
        upper = np.asarray(forecast["intervals"][level]["upper"])
        assert np.all(upper > lower)  # never zero width
        assert np.all((lower <= values) & (values <= upper))  # always holds its forecast
    assert forecast["intervals_note"] == (
        "rough: the intervals rest on 24 one-step validation residuals (fewer than 30)"
    )
    plain = client.post("/forecast", json={"model": "monthly-linear", "series": SERIES})
    assert plain.json()["forecast"]["intervals_note"] is None  # none asked for


def test_scores_after_the_training_part_are_apart_and_choose_best(client: TestClient) -> None:
    r = client.post("/forecast", json={"model": "monthly-linear", "series": SERIES})
    assert r.status_code == 200, r.text
    metrics = r.json()["metrics"]
    split = 96  # the CLI trained on the first 80%
    assert metrics["trained_until"] == split
    out = metrics["out_of_sample"]
    assert (out["start"], out["end"]) == (split, LENGTH)
    assert metrics["windowed"]["start"] < split  # the whole answer still covers them all
    maes = {k: v["mae"] for k, v in out["scores"].items()}
    assert r.json()["best"] == min(maes, key=maes.__getitem__)


def test_a_series_without_the_training_part_has_no_in_sample_positions(
    client: TestClient,
) -> None:
    other = [v + 1000.0 for v in SERIES]
    metrics = client.post("/forecast", json={"model": "monthly-linear", "series": other}).json()[
        "metrics"
    ]
    assert metrics["trained_until"] is None and metrics["out_of_sample"] is None


def test_the_picture_says_its_scores_are_out_of_sample(client: TestClient) -> None:
    r = client.post("/forecast/plot", json={"model": "monthly-linear", "series": SERIES})
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    model = registry_of(client).resolve("monthly-linear")
    result = forecast(
        model,
        np.asarray(SERIES),
        horizon=1,
        season_length=12,
        training_tail=model.metadata.dataset.training_tail,
    )
    text = plotting.scores_text(result)
    assert "One step ahead, positions 96 to 119 (24 values)" in text
    assert "out of sample: after the version's training part" in text


def test_a_short_validation_part_says_its_intervals_are_rough(client: TestClient) -> None:
    meta = client.get("/models/short-linear").json()["versions"][0]["metadata"]
    assert meta["residual_quantiles"]["count"] == 12
    assert meta["residual_quantiles"]["counts"] == [12, 11, 10]
    series = _values(60)
    r = client.post("/forecast", json={"model": "short-linear", "series": series,
                                       "horizon": 6, "quantiles": [0.1, 0.9]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert "rest on 12 one-step validation residuals" in r.json()["forecast"]["intervals_note"]


def test_the_training_part_is_found_by_its_last_values() -> None:
    x = np.arange(20, dtype=np.float64)
    assert trained_until(x, [7.0, 8.0, 9.0]) == 10
    assert trained_until(x, [70.0, 8.0]) is None
    assert trained_until(x, None) is None
    repeated = np.array([0.0, 0, 0, 5, 0, 0, 0, 6])
    assert trained_until(repeated, [0.0, 0.0]) == 7  # the last run: never too early
