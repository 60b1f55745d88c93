"""A global version served by the real app: many series of any length, one call per member."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from contract import store as store_format
from contract.store import SERVING_SIGNATURE
from tests.app.support import TestClient, running
from tests.support import PANEL_HORIZON, panel_values

MODEL = "panel-nbeats"


@pytest.fixture(scope="module")
def global_client(global_store: Path) -> Iterator[TestClient]:
    with running(global_store) as client:
        yield client


def _calls(client: TestClient) -> float:
    """How many times /forecast has called a member of MODEL (its call counter)."""
    counter = client.app.state.metrics.model_calls.labels(
        MODEL, "1", SERVING_SIGNATURE, "/forecast"
    )
    return float(counter._value.get())


def test_it_answers_the_panel_a_short_series_and_one_it_never_saw(
    global_client: TestClient, global_store: Path
) -> None:
    known = panel_values()
    meta = store_format.read_metadata(store_format.version_dir(global_store, MODEL, 1))
    assert meta.global_ is not None
    unseen = 5000 + 300 * np.sin(np.arange(60) / 4)  # ten times the panel's largest scale
    series = [
        {"id": "s3", "values": known["s3"].tolist()},
        {"id": "short", "values": [4.0, 5.0, 6.5]},  # far shorter than every lookback
        {"id": "unseen", "values": unseen.tolist()},
    ]
    before = _calls(global_client)
    r = global_client.post(
        "/forecast", json={"model": MODEL, "horizon": PANEL_HORIZON, "series": series}
    )
    assert r.status_code == 200, r.text
    # The whole panel in one call per member for the windowed forecasts, one for the horizon.
    assert _calls(global_client) - before == 2 * sum(m.used for m in meta.global_.members)
    answers = {a["id"]: a for a in r.json()["series"]}
    assert list(answers) == ["s3", "short", "unseen"]
    for item in series:
        answer = answers[item["id"]]
        values = np.array(answer["forecast"]["values"])
        assert values.shape == (PANEL_HORIZON,) and np.isfinite(values).all()
        assert answer["windowed"]["start"] == 2
        assert len(answer["windowed"]["values"]) == len(item["values"]) - 2
        assert answer["model"]["name"] == MODEL
    # Per-window scaling: the unseen series is forecast at its own level, not the panel's.
    assert 4000 < np.mean(answers["unseen"]["forecast"]["values"]) < 6000
    assert len(series[1]["values"]) < min(m.lookback for m in meta.global_.members)


def test_intervals_hold_their_forecasts_also_beyond_the_horizon(global_client: TestClient) -> None:
    steps = 2 * PANEL_HORIZON + 1
    series = [{"id": k, "values": v.tolist()} for k, v in list(panel_values().items())[:5]]
    body = {
        "model": MODEL,
        "horizon": steps,
        "level": [50, 80, 95],
        "quantiles": [0.1, 0.5, 0.9],
        "series": series,
    }
    r = global_client.post("/forecast", json=body)
    assert r.status_code == 200, r.text
    for answer in r.json()["series"]:
        forecast = answer["forecast"]
        values = np.array(forecast["values"])
        assert values.shape == (steps,)
        widths = []
        for level in ("50", "80", "95"):
            band = forecast["intervals"][level]
            lower, upper = np.array(band["lower"]), np.array(band["upper"])
            assert (lower <= values).all() and (values <= upper).all()
            widths.append(upper - lower)
        assert (widths[0] <= widths[1]).all() and (widths[1] <= widths[2]).all()
        assert f"steps beyond {PANEL_HORIZON}" in forecast["intervals_note"]


def test_models_best_compares_the_panel_by_smape(global_client: TestClient) -> None:
    (best,) = global_client.get("/models").json()["best"]
    assert best["metric"] == "smape" and best["candidates"] == 2
    models = {m["name"]: m for m in global_client.get("/models").json()["models"]}
    smape = {
        name: m["versions"][0]["metadata"]["validation"]["panel"]["scores"]["model"]["smape"]
        for name, m in models.items()
    }
    assert best["score"] == min(smape.values()) and best["model"] == min(smape, key=smape.get)
    assert models[MODEL]["versions"][0]["metadata"]["kind"] == "global"


def test_too_short_and_tensor_protocols_are_refused_clearly(global_client: TestClient) -> None:
    r = global_client.post("/forecast", json={"model": MODEL, "series": [3.0]})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "the series has 1 values but this model needs at least 2: send at least 2 values"
    )
    p = global_client.post(f"/v1/models/{MODEL}:predict", json={"instances": [[1.0, 2.0]]})
    assert p.status_code == 400 and "kind 'global'" in p.json()["error"]


def test_a_tampered_or_half_written_version_fails_to_load(
    global_store: Path, tmp_path: Path
) -> None:
    root = Path(shutil.copytree(global_store, tmp_path / "store"))
    tampered = store_format.version_dir(root, MODEL, 1) / store_format.MEMBERS_DIR / "0"
    variables = next((tampered / "variables").glob("variables.data*"))
    data = bytearray(variables.read_bytes())
    data[-1] ^= 0xFF
    variables.write_bytes(bytes(data))
    half = store_format.version_dir(root, "panel-linear", 1) / store_format.MEMBERS_DIR / "2"
    shutil.rmtree(half)
    with running(root) as client:
        models = {m["name"]: m["versions"][0] for m in client.get("/models").json()["models"]}
    assert models[MODEL]["state"] == "FAILED"
    assert "member 0's files (members/0) do not match the sha256" in models[MODEL]["error"]
    assert models["panel-linear"]["state"] == "FAILED"
    assert "member 2 (members/2) has no saved_model.pb" in models["panel-linear"]["error"]
