"""A store written before metadata had a kind still loads and serves the same numbers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contract import store as store_format
from contract.metadata import FORMAT_VERSION
from tests.app.support import TestClient, running
from tests.support import tiny_series

FIXTURES = Path(__file__).parents[1] / "fixtures"
NAME = "format1-linear"


@pytest.fixture(scope="module")
def answers() -> dict[str, Any]:
    return json.loads((FIXTURES / "format1_answers.json").read_text())


@pytest.fixture(scope="module")
def old_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("old") / "store"
    shutil.copytree(FIXTURES / "format1_store", root)
    with running(root) as client:
        yield client


# Answer fields added since the fixture's answers were recorded (an old version's are null).
ADDED = {"intervals_note", "trained_until", "out_of_sample"}


def _close(got: Any, expected: Any) -> None:
    """Equal structure (but for the fields added since), numbers equal to float64 round-off."""
    if isinstance(expected, dict):
        assert sorted(set(got) - ADDED) == sorted(expected)
        assert all(got[k] is None for k in set(got) & ADDED - set(expected))
        for key in expected:
            _close(got[key], expected[key])
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _close(g, e)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    else:
        assert got == expected


def test_the_fixture_is_format_1_and_reads_as_a_savedmodel() -> None:
    folder = FIXTURES / "format1_store" / NAME / "1"
    raw = json.loads((folder / store_format.METADATA_FILE).read_text())
    assert raw["format_version"] == 1 and "kind" not in raw and "tensorflow_version" in raw
    meta = store_format.read_metadata(folder)
    assert (meta.format_version, meta.kind) == (FORMAT_VERSION, "savedmodel")
    assert meta.network.tensorflow_version == raw["tensorflow_version"]
    assert meta.network.hyperparameters.window_size == raw["hyperparameters"]["window_size"]
    assert meta.network.epochs == raw["epochs"]


def test_an_old_store_serves_the_numbers_it_served(
    old_client: TestClient, answers: dict[str, Any]
) -> None:
    series = [float(v) for v in tiny_series().values]
    asked = answers["request"]
    forecast = old_client.post("/forecast", json={"model": NAME, "series": series, **asked})
    assert forecast.status_code == 200, forecast.text
    _close({k: forecast.json()[k] for k in answers["forecast"]}, answers["forecast"])

    backtest = old_client.post(
        "/backtest", json={"model": NAME, "series": series, "h": 4, "n_windows": 3, "level": [80]}
    )
    assert backtest.status_code == 200, backtest.text
    _close({k: backtest.json()[k] for k in answers["backtest"]}, answers["backtest"])

    anomalies = old_client.post("/anomalies", json={"model": NAME, "series": series, "level": 90})
    _close(anomalies.json()["anomalies"], answers["anomalies"])

    predict = old_client.post(
        f"/v1/models/{NAME}:predict", json={"instances": [series[:16], series[16:32]]}
    )
    np.testing.assert_array_equal(predict.json()["predictions"], answers["predict"]["predictions"])


def test_an_old_version_is_listed_with_its_kind(old_client: TestClient) -> None:
    (model,) = old_client.get("/models").json()["models"]
    (version,) = model["versions"]
    assert version["state"] == "AVAILABLE"
    assert version["metadata"]["kind"] == "savedmodel"
    assert version["metadata"]["savedmodel"]["hyperparameters"]["window_size"] == 16
