"""A model family added in a few lines is served by every route, without a route knowing it.

``mean``: a test-only family in numpy. Its versions are a ``metadata.json`` alone (no
SavedModel); it forecasts the mean of at most the last ``window_size`` values, reads any series
of at least two values (a variable context), and gives its own normal quantiles from the spread
of the values it reads. It is registered in the loader table, the one place a family is named.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from app import kinds
from app.forecaster import Array, Context, Horizon, Windowed
from app.kinds import CallHook
from contract import store as store_format
from contract.metadata import ModelMetadata
from contract.publishing import publish
from tests.app.support import TestClient, running
from tests.support import copy_of

KIND = "mean"
WINDOW = 8


class MeanOfLast:
    """The next values all equal the mean of the last ``window_size`` values (fewer if short)."""

    def __init__(self, name: str, version: int, metadata: ModelMetadata) -> None:
        self.name, self.version, self.metadata = name, version, metadata
        self.context = Context(window=metadata.window_size, min_length=2)
        self.tensors = None  # no fixed-size window tensors: TF Serving and the OIP refuse it

    def _read(self, x: Array, end: int) -> Array:
        return x[max(0, end - self.metadata.window_size) : end]

    def _bands(self, mean: float, spread: float, probabilities: Sequence[float]) -> dict:
        return {p: mean + spread * NormalDist().inv_cdf(p) for p in probabilities}

    def windowed(self, panel: Sequence[Array], probabilities: Sequence[float] = ()) -> list:
        out = []
        for x in panel:
            reads = [self._read(x, t) for t in range(2, len(x))]
            values = np.array([r.mean() for r in reads])
            bands = [self._bands(r.mean(), r.std(), probabilities) for r in reads]
            quantiles = {p: np.array([b[p] for b in bands]) for p in probabilities}
            out.append(Windowed(2, values, quantiles))
        return out

    def ahead(
        self, panel: Sequence[Array], steps: int, probabilities: Sequence[float] = ()
    ) -> Horizon:
        reads = [self._read(x, len(x)) for x in panel]
        mean = np.array([[r.mean()] * steps for r in reads])
        quantiles = {
            p: np.array([[self._bands(r.mean(), r.std(), [p])[p]] * steps for r in reads])
            for p in probabilities
        }
        return Horizon(mean, quantiles)


def load(
    folder: Path, name: str, version: int, metadata: ModelMetadata, on_call: CallHook | None
) -> MeanOfLast:
    return MeanOfLast(name, version, metadata)


@pytest.fixture(scope="module")
def family_client(
    trained_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app over a linear version and one ``mean`` version, its loader registered."""
    root = tmp_path_factory.mktemp("family") / "store"
    linear = store_format.version_dir(trained_store, "linear", 1)
    publish(root, "linear", copy_of(linear))
    base = store_format.read_metadata(linear)
    publish(
        root,
        "mean",
        lambda _f: base.model_copy(
            update={"kind": KIND, "architecture": "mean", "window_size": WINDOW}
        ),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(kinds.LOADERS, KIND, load)
        with running(root) as client:
            yield client


SERIES = [float(v) for v in 10 + np.sin(np.arange(40) / 3.0)]


def test_models_lists_the_family_with_its_kind(family_client: TestClient) -> None:
    models = {m["name"]: m for m in family_client.get("/models").json()["models"]}
    (version,) = models["mean"]["versions"]
    assert version["state"] == "AVAILABLE" and version["metadata"]["kind"] == KIND


def test_forecast_serves_the_family_with_its_own_intervals(family_client: TestClient) -> None:
    r = family_client.post(
        "/forecast", json={"model": "mean", "series": SERIES, "horizon": 3, "level": [80]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    last = np.array(SERIES[-WINDOW:])
    np.testing.assert_allclose(body["forecast"]["values"], [last.mean()] * 3)
    band = body["forecast"]["intervals"]["80"]
    half = last.std() * NormalDist().inv_cdf(0.9)
    np.testing.assert_allclose(band["lower"], [last.mean() - half] * 3)
    np.testing.assert_allclose(band["upper"], [last.mean() + half] * 3)
    assert body["windowed"]["start"] == 2
    assert body["windowed"]["values"][0] == pytest.approx(np.mean(SERIES[:2]))


def test_many_series_shorter_than_the_window_are_answered(family_client: TestClient) -> None:
    series = [{"id": "short", "values": [1.0, 3.0, 5.0]}, {"id": "long", "values": SERIES}]
    r = family_client.post("/forecast", json={"model": "mean", "series": series, "horizon": 2})
    assert r.status_code == 200, r.text
    short, long = r.json()["series"]
    assert short["forecast"]["values"] == [3.0, 3.0]
    assert long["forecast"]["values"] == pytest.approx([np.mean(SERIES[-WINDOW:])] * 2)
    too_short = family_client.post("/forecast", json={"model": "mean", "series": [1.0]})
    assert too_short.status_code == 422
    assert "needs at least 2" in too_short.json()["error"]["message"]


def test_backtest_and_anomalies_serve_the_family(family_client: TestClient) -> None:
    r = family_client.post(
        "/backtest", json={"model": "mean", "series": SERIES, "h": 2, "n_windows": 3}
    )
    assert r.status_code == 200, r.text
    forecasts = r.json()["forecasts"]["model"]
    cut = len(SERIES) - 4
    assert forecasts[0] == pytest.approx([np.mean(SERIES[cut - WINDOW : cut])] * 2)

    spiked = [*SERIES[:30], 50.0, *SERIES[31:]]
    a = family_client.post("/anomalies", json={"model": "mean", "series": spiked, "level": 99})
    assert a.status_code == 200, a.text
    assert 30 in [anomaly["index"] for anomaly in a.json()["anomalies"]]


def test_kserve_time_series_serves_the_family(family_client: TestClient) -> None:
    body = {
        "model": "mean",
        "inputs": [
            {
                "name": "a",
                "series": SERIES,
                "type": "univariate_time_series",
                "frequency": "D",
                "start_timestamp": "2024-01-01T00:00:00Z",
            }
        ],
        "options": {"horizon": 2, "quantiles": [0.1, 0.9]},
    }
    r = family_client.post("/v1/timeseries/forecast", json=body)
    assert r.status_code == 200, r.text
    (content,) = r.json()["outputs"][0]["content"]
    assert content["mean_forecast"] == pytest.approx([np.mean(SERIES[-WINDOW:])] * 2)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/models/mean:predict", {"instances": [[1.0] * WINDOW]}),
        ("GET", "/v1/models/mean/metadata", None),
        (
            "POST",
            "/v2/models/mean/infer",
            {"inputs": [{"name": "window", "datatype": "FP32", "shape": [1, 8], "data": [0] * 8}]},
        ),
    ],
)
def test_window_tensor_protocols_refuse_the_family_naming_why(
    family_client: TestClient, method: str, path: str, body: dict | None
) -> None:
    r = family_client.request(method, path, json=body)
    assert r.status_code == 400, r.text
    message = r.json()["error"]
    assert "kind 'mean'" in message and "window tensors" in message
    ok = family_client.post("/v1/models/linear:predict", json={"instances": [[1.0] * 16]})
    assert ok.status_code == 200
