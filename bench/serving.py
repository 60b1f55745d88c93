"""Serving speed and cost of POST /forecast, beside its floors and the do-it-yourself path.

Starts the real server (uvicorn on 127.0.0.1 with its production settings), drives it with
concurrent HTTP clients, and in the same run times:

* ``/health`` through the same server: the HTTP floor;
* the in-process TensorFlow calls that produce the same forecasts: the compute floor;
* the course's do-it-yourself path: ``model.predict`` over a ``tf.data`` window dataset.

Writes bench/results/serving.md. Usage: ``python bench/serving.py [--store DIR] [--quick]``;
``--panel`` runs only the many-series rows (100 series in one request beside 100 single
requests) and writes them as their own section of that file, with the machine's load;
``--statistical`` runs only the statistical versions' rows (AutoETS and AutoARIMA fitted on the
synthetic series by ``python -m training.cli`` into a scratch store, then POST /forecast with the
whole 1,461 values) and writes them as another section.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

MODEL = "synthetic-wavenet"
HORIZON = 30
BATCH = 8  # concurrent requests a server-side batcher would stack
RESULTS = harness.ROOT / "bench" / "results" / "serving.md"


def _load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes, as ``/proc/loadavg`` gives them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: tracing and first allocation are not what a steady server pays
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _store_with_model(requested: Path | None, scratch: Path) -> Path:
    """A store holding MODEL: the one given, the repo's, or a fresh one trained here."""
    from contract import store as store_format

    for candidate in (requested, harness.ROOT / "model_store"):
        if candidate is not None and store_format.versions(candidate, MODEL):
            return candidate
    if requested is not None:
        raise SystemExit(f"{requested} holds no {MODEL}")
    from training.data import synthetic
    from training.pipeline import TrainConfig, train_and_publish

    print(f"training {MODEL} with the production defaults into {scratch} ...", flush=True)
    train_and_publish(TrainConfig("wavenet", synthetic(), verbose=False), scratch)
    return scratch


def _signatures(store: Path) -> tuple[Any, Any, int]:
    """MODEL's newest version in ``store``: its ``windowed`` and ``forecast`` signatures, window."""
    import tensorflow as tf

    from contract import store as store_format

    version = max(store_format.versions(store, MODEL))
    folder = store_format.version_dir(store, MODEL, version)
    signatures = tf.saved_model.load(str(folder)).signatures
    return (
        signatures[store_format.WINDOWED_SIGNATURE],
        signatures[store_format.FORECAST_SIGNATURE],
        store_format.read_metadata(folder).window_size,
    )


def in_process_floors(store: Path, series: np.ndarray) -> tuple[float, float, int]:
    """Seconds for the SavedModel calls /forecast makes, and for the course's DIY predict."""
    import tensorflow as tf

    from contract import store as store_format
    from training.architectures import ARCHITECTURES

    windowed, ahead, w = _signatures(store)
    whole = tf.constant(series[None].astype(np.float32))
    last = tf.constant(series[None, -w:].astype(np.float32))
    steps = tf.constant(HORIZON, tf.int32)

    def compute_floor() -> None:
        windowed(**{store_format.SERIES_KEY: whole})
        ahead(window=last, steps=steps)

    # The course's path: its WaveNet (window 64, its receptive field), fed by the course's
    # window dataset through model.predict (weights do not change its cost).
    course = ARCHITECTURES["wavenet"].window_size
    model = ARCHITECTURES["wavenet"].build(course, 1, None)

    def diy() -> None:
        ds = tf.data.Dataset.from_tensor_slices(series.astype(np.float32))
        ds = ds.window(course, shift=1, drop_remainder=True).flat_map(lambda x: x.batch(course))
        model.predict(ds.batch(32).prefetch(1), verbose=0)

    return _median_seconds(compute_floor, 20), _median_seconds(diy, 5), w


def batching_gain(store: Path, series: np.ndarray, k: int = BATCH) -> tuple[float, float]:
    """Seconds for ``k`` requests' model calls one after another, and for the same in one batch.

    What a server-side batcher could save at concurrency ``k`` at best: same-length series
    stacked into one ``windowed`` and one ``forecast`` call, with no waiting for them to arrive.
    """
    import tensorflow as tf

    from contract import store as store_format

    windowed, ahead, w = _signatures(store)
    one = series[None].astype(np.float32)
    steps = tf.constant(HORIZON, tf.int32)

    def calls(rows: np.ndarray) -> None:
        windowed(**{store_format.SERIES_KEY: tf.constant(rows)})
        ahead(window=tf.constant(rows[:, -w:]), steps=steps)

    apart = _median_seconds(lambda: [calls(one) for _ in range(k)], 10)
    together = _median_seconds(lambda: calls(np.repeat(one, k, axis=0)), 10)
    return apart, together


def json_costs(body: bytes, answer: bytes) -> list[tuple[str, float]]:
    """Milliseconds to decode a request body and to encode its answer, each way FastAPI could."""
    from pydantic import TypeAdapter

    from app.schemas import ForecastRequest, ForecastResponse

    adapter = TypeAdapter(ForecastResponse)
    response = adapter.validate_json(answer)
    return [
        (
            "decode the request: `json.loads`, then validate (FastAPI's way)",
            _median_seconds(lambda: ForecastRequest.model_validate(json.loads(body)), 10),
        ),
        (
            "decode the request: pydantic's own JSON parser (`model_validate_json`)",
            _median_seconds(lambda: ForecastRequest.model_validate_json(body), 10),
        ),
        (
            "encode the answer: pydantic's `dump_json` (FastAPI 0.165's way)",
            _median_seconds(lambda: adapter.dump_json(response), 10),
        ),
        (
            "encode the answer: `model_dump`, then `json.dumps` (the older way)",
            _median_seconds(lambda: json.dumps(adapter.dump_python(response, mode="json")), 10),
        ),
    ]


PROTOCOLS = {
    "rest_predict": "REST `POST /v1/models/{name}:predict` (JSON `instances`)",
    "grpc_predict": "gRPC TF Serving `PredictionService/Predict` (`tf.make_tensor_proto`)",
    "rest_infer": "REST v2 `POST /v2/models/{name}/infer` (JSON tensors)",
    "grpc_infer": "gRPC v2 `GRPCInferenceService/ModelInfer` (`raw_input_contents`)",
}


def protocol_rows(
    server: harness.Server, windows: np.ndarray, requests: int
) -> list[tuple[str, int, harness.LoadResult]]:
    """Each protocol's one-step forecasts of ``windows`` [batch, window_size], at concurrency 1 and 8.

    Every request is built once; before any timing, each protocol's answer is checked to equal
    REST ``:predict``'s (rtol 1e-6), so the rows time the same work.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    from tritonclient.grpc import service_pb2, service_pb2_grpc

    from contract.store import INPUT_KEY, OUTPUT_KEY

    windows = windows.astype(np.float32)
    predict = predict_pb2.PredictRequest()
    predict.model_spec.name = MODEL
    predict.inputs[INPUT_KEY].CopyFrom(tf.make_tensor_proto(windows))
    tensor = service_pb2.ModelInferRequest.InferInputTensor(
        name=INPUT_KEY, datatype="FP32", shape=list(windows.shape)
    )
    infer = service_pb2.ModelInferRequest(
        model_name=MODEL, inputs=[tensor], raw_input_contents=[windows.astype("<f4").tobytes()]
    )
    rest_predict = json.dumps({"instances": windows.tolist()}).encode()
    rest_infer = json.dumps(
        {
            "inputs": [
                {
                    "name": INPUT_KEY,
                    "shape": list(windows.shape),
                    "datatype": "FP32",
                    "data": windows.ravel().tolist(),
                }
            ]
        }
    ).encode()

    def rest(path: str, body: bytes) -> Callable[..., harness.LoadResult]:
        return lambda **kw: harness.load("POST", server.url + path, body, max_seconds=60, **kw)

    def grpc_call(method: Callable[[Any], Any], request: Any) -> Callable[..., harness.LoadResult]:
        return lambda **kw: harness.grpc_load(
            server.grpc_target, method, request, max_seconds=60, **kw
        )

    def v2_forecasts(out: Any) -> np.ndarray:
        return np.frombuffer(out.raw_output_contents[0], "<f4").reshape(tuple(out.outputs[0].shape))

    sends: dict[str, tuple[Callable[..., harness.LoadResult], Callable[[Any], np.ndarray]]] = {
        "rest_predict": (
            rest(f"/v1/models/{MODEL}:predict", rest_predict),
            lambda out: np.asarray(out["predictions"]),
        ),
        "grpc_predict": (
            grpc_call(
                lambda ch: prediction_service_pb2_grpc.PredictionServiceStub(ch).Predict, predict
            ),
            lambda out: tf.make_ndarray(out.outputs[OUTPUT_KEY]),
        ),
        "rest_infer": (
            rest(f"/v2/models/{MODEL}/infer", rest_infer),
            lambda out: np.reshape(out["outputs"][0]["data"], out["outputs"][0]["shape"]),
        ),
        "grpc_infer": (
            grpc_call(lambda ch: service_pb2_grpc.GRPCInferenceServiceStub(ch).ModelInfer, infer),
            v2_forecasts,
        ),
    }
    answers = {}
    for key, (send, forecasts) in sends.items():
        first = send(concurrency=1, max_requests=1, keep_bodies=True)
        if first.errors:
            raise RuntimeError(f"{PROTOCOLS[key]}: {first.errors[0]}")
        answers[key] = forecasts(first.bodies[0])
        assert answers[key].shape == (len(windows), 1), (key, answers[key].shape)
    for key, answer in answers.items():
        np.testing.assert_allclose(answer, answers["rest_predict"], rtol=1e-6, err_msg=key)
    for send, _ in sends.values():
        send(concurrency=1, max_requests=5)  # warm-up: each protocol's first calls
    rows = []
    for c in (1, 8):  # the protocols back to back at each concurrency, under the same load
        for key, (send, _) in sends.items():
            result = send(concurrency=c, max_requests=max(int(requests * (1 + c / 8)), c))
            rows.append((key, c, result))
    return rows


PANEL_SERIES = 100
PANEL_SECTION = "## Many series in one request"


def panel_rows(url: str, series: np.ndarray, repeats: int) -> list[str]:
    """Table rows: ``PANEL_SERIES`` series of one length in one request, then one request each."""
    values = [np.roll(series, k).tolist() for k in range(PANEL_SERIES)]
    items = [{"id": f"s{k}", "values": v} for k, v in enumerate(values)]
    one = harness.load(
        "POST", url, {"model": MODEL, "series": items, "horizon": HORIZON},
        concurrency=1, max_requests=repeats, max_seconds=600,
    )  # fmt: skip
    singles: list[float] = []
    errors: list[str] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for v in values:
            r = harness.load(
                "POST", url, {"model": MODEL, "series": v, "horizon": HORIZON},
                concurrency=1, max_requests=1, max_seconds=60,
            )  # fmt: skip
            errors += r.errors
        singles.append(time.perf_counter() - t0)
    n = f"{len(series):,}"
    return [
        f"| {PANEL_SERIES} series of {n} points in one request | {one.requests} |"
        f" {len(one.errors)} | {one.percentile(50):.0f} |",
        f"| {PANEL_SERIES} single requests of {n} points, one after another | {repeats} |"
        f" {len(errors)} | {statistics.median(singles) * 1000:.0f} |",
    ] + [f"- error: {e}" for e in (one.errors + errors)[:3]]


def panel_section(store: Path, series: np.ndarray, repeats: int, log: Path) -> str:
    """The many-series section of the results, measured on a server of its own."""
    with harness.serve(
        {"FORECAST_MODEL_STORE": str(store)},
        log,
        "--no-access-log",
        ready=lambda url: harness.available(url, MODEL),
    ) as server:
        post = f"{server.url}/forecast"
        harness.load("POST", post, {"model": MODEL, "series": series.tolist()},
                     concurrency=1, max_requests=3, max_seconds=60)  # fmt: skip
        load_before = _load_average()
        rows = panel_rows(post, series, repeats)
        load_after = _load_average()
    return "\n".join(
        [
            PANEL_SECTION,
            "",
            f"Measured alone with `python bench/serving.py --panel` on {harness.machine()};"
            f" load average (1, 5, 15 min) {load_before} before and"
            f" {load_after} after (other work shared the cores). Model {MODEL},"
            f" horizon {HORIZON}, the default baselines; milliseconds for all {PANEL_SERIES}"
            " series (the single requests timed back to back, median of the repeats)."
            " Both do the same model work, one WaveNet pass over each series and its horizon:"
            " one request saves the per-request parsing, set-up and round trips.",
            "",
            "| request | repeats | errors | ms for all series |",
            "| --- | ---: | ---: | ---: |",
            *rows,
        ]
    )


STATISTICAL = ("auto_ets", "auto_arima")
STATISTICAL_SECTION = "## Statistical versions"
STATISTICAL_TARGET_MS = 20.0


def _train_statistical(store: Path, log: Path) -> float:
    """:data:`STATISTICAL` fitted on the synthetic series into ``store``; the wall seconds.

    ``python -m training.cli`` with this checkout first on ``PYTHONPATH`` (the ``forecast-train``
    script imports whatever checkout the package was installed from).
    """
    path = os.pathsep.join(p for p in (str(harness.ROOT), os.environ.get("PYTHONPATH", "")) if p)
    archs = [a for arch in STATISTICAL for a in ("--arch", arch)]
    started = time.perf_counter()
    with log.open("wb") as out:
        subprocess.run(
            [sys.executable, "-m", "training.cli", *archs, "--store", str(store), "--quiet"],
            cwd=harness.ROOT, env={**os.environ, "PYTHONPATH": path},
            stdout=out, stderr=subprocess.STDOUT, check=True,
        )  # fmt: skip
    return time.perf_counter() - started


def _statistical_in_process(folder: Path, series: np.ndarray) -> float:
    """Seconds for the statistical calls /forecast makes: the windowed forecasts and the horizon."""
    from contract import statistical
    from contract import store as store_format

    meta = store_format.read_metadata(folder)
    assert meta.statsforecast is not None
    shape = statistical.Shape(meta.architecture, tuple(meta.statsforecast.season_lengths))
    model = statistical.load(folder, meta.statsforecast.sha256)

    def calls() -> None:
        statistical.windowed(shape, model, series)
        statistical.ahead(shape, model, series, HORIZON)

    return _median_seconds(calls, 20)


def statistical_section(series: np.ndarray, repeats: int, scratch: Path) -> str:
    """The statistical versions' section of the results, measured on a server of its own."""
    from contract import store as store_format

    store = scratch / "statistical-store"
    train_s = _train_statistical(store, scratch / "train-statistical.log")
    names = [f"synthetic-{a.replace('_', '-')}" for a in STATISTICAL]
    folders = {
        n: store_format.version_dir(store, n, max(store_format.versions(store, n))) for n in names
    }
    meta = {n: store_format.read_metadata(f) for n, f in folders.items()}
    floors = {n: _statistical_in_process(f, series) for n, f in folders.items()}
    rows = []
    with harness.serve(
        {"FORECAST_MODEL_STORE": str(store)},
        scratch / "server-statistical.log",
        "--no-access-log",
        ready=lambda url: all(harness.available(url, n) for n in names),
    ) as server:
        post = f"{server.url}/forecast"
        load_before = _load_average()
        for n in names:
            body = {"model": n, "series": series.tolist(), "horizon": HORIZON}
            harness.load("POST", post, body, concurrency=1, max_requests=20, max_seconds=30)
            for c in (1, 8):
                result = harness.load(
                    "POST", post, body, concurrency=c,
                    max_requests=repeats * (1 + c // 8), max_seconds=60,
                )  # fmt: skip
                rows.append((n, c, result))
        load_after = _load_average()
    busy = max(float(load_before.split()[0]), float(load_after.split()[0])) > 1
    shared = " (above 1: other work shared the two cores with client and server)" if busy else ""
    lines = [
        STATISTICAL_SECTION,
        "",
        f"Measured on its own with `python bench/serving.py --statistical` on"
        f" {harness.machine()}; load average (1, 5, 15 min) {load_before} before and"
        f" {load_after} after{shared}. {', '.join(STATISTICAL)} fitted on the synthetic series"
        f" (split at 1000, season 365) by `python -m training.cli --arch auto_ets --arch"
        f" auto_arima` into a scratch store in {train_s:.0f} s; POST /forecast with the whole"
        f" {len(series):,} values, horizon {HORIZON}, the default baselines, as the WaveNet rows"
        " above. In process: the `contract.statistical` calls /forecast makes (`windowed` over"
        " the series and the horizon), median of 20.",
        "",
        "| version | fitted | concurrency | requests | errors | p50 ms | p95 ms | p99 ms | req/s |"
        " in process ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, c, r in rows:
        info = meta[n].statsforecast
        fitted = info.model if info is not None else "-"
        lines.append(
            f"| {n} | {fitted} | {c} | {r.requests} | {len(r.errors)} | {r.percentile(50):.2f} |"
            f" {r.percentile(95):.2f} | {r.percentile(99):.2f} | {r.throughput:.1f} |"
            f" {floors[n] * 1000:.2f} |"
        )
    lines += ["", "| target | figure | met |", "| --- | --- | --- |"]
    for n, c, r in rows:
        if c == 1:
            p50 = r.percentile(50)
            met = "yes" if p50 <= STATISTICAL_TARGET_MS else "MISSED"
            lines.append(
                f"| {n} /forecast p50, {len(series):,} points, at most"
                f" {STATISTICAL_TARGET_MS:.0f} ms | {p50:.2f} ms | {met} |"
            )
    for n, c, r in rows:
        lines += [f"- error in {n} at concurrency {c}: {e}" for e in r.errors[:3]]
    return "\n".join(lines)


def _with_section(text: str, section: str) -> str:
    """``text`` with the section of ``section``'s heading replaced by it, or ended with it.

    A section runs from its ``## `` heading to the next one or the end.
    """
    heading = section.split("\n", 1)[0]
    before, found, after = text.partition(heading + "\n")
    if not found:
        return f"{text.rstrip()}\n\n{section}\n"
    rest = after.split("\n## ", 1)
    tail = f"\n\n## {rest[1].rstrip()}\n" if len(rest) == 2 else "\n"
    return f"{before.rstrip()}\n\n{section}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help=f"a store holding {MODEL}")
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    parser.add_argument("--panel", action="store_true", help="only the many-series rows")
    parser.add_argument(
        "--statistical", action="store_true", help="only the statistical versions' rows"
    )
    args = parser.parse_args(argv)
    scale = 0.2 if args.quick else 1.0

    from training.data import synthetic_values

    scratch = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    if args.statistical:
        section = statistical_section(synthetic_values(), 80 if args.quick else 400, scratch)
        print(section)
        if not args.quick:
            RESULTS.write_text(_with_section(RESULTS.read_text(), section))
            print(f"written to {RESULTS}")
        return 0
    store = _store_with_model(args.store, scratch / "store")
    series = {n: synthetic_values(length=n) for n in (1461, 10_000, 100_000)}
    if args.panel:
        section = panel_section(store, series[1461], 1 if args.quick else 3, scratch / "log")
        print(section)
        if not args.quick:
            RESULTS.write_text(_with_section(RESULTS.read_text(), section))
            print(f"written to {RESULTS}")
        return 0
    compute_s, diy_s, window = in_process_floors(store, series[1461])
    print(f"compute floor {compute_s * 1000:.2f} ms, DIY predict {diy_s * 1000:.1f} ms", flush=True)

    windows = np.lib.stride_tricks.sliding_window_view(series[1461], window)

    def body(n: int) -> dict[str, object]:
        return {"model": MODEL, "series": series[n].tolist(), "horizon": HORIZON}

    rows: list[tuple[str, str, int, harness.LoadResult]] = []
    load_before = _load_average()
    with harness.serve(
        {"FORECAST_MODEL_STORE": str(store)},
        scratch / "server.log",
        "--no-access-log",
        ready=lambda url: harness.available(url, MODEL),
    ) as server:
        post = f"{server.url}/forecast"
        harness.load("POST", post, body(1461), concurrency=1, max_requests=20, max_seconds=30)
        # Memory first, while the peak still reflects the warm-up alone.
        rss_before = server.rss_bytes()
        big = harness.load(
            "POST", post, body(100_000), concurrency=1,
            max_requests=int(20 * scale) or 3, max_seconds=90,
        )  # fmt: skip
        extra_bytes = server.peak_rss_bytes() - rss_before
        big_body = json.dumps(body(100_000)).encode()
        big_answer = httpx.post(
            post, content=big_body, headers={"content-type": "application/json"}, timeout=90
        ).content
        rows.append(("POST /forecast, 100,000 points", "100000", 1, big))
        for n, requests in ((10_000, 100), (1461, 400)):
            for c in (1, 8, 64) if n == 1461 else (1, 8):
                result = harness.load(
                    "POST", post, body(n), concurrency=c,
                    max_requests=max(int(requests * scale * (1 + c / 8)), c), max_seconds=60,
                )  # fmt: skip
                rows.append((f"POST /forecast, {n:,} points", str(n), c, result))
        for c in (1, 8, 64):
            result = harness.load(
                "GET", f"{server.url}/health", concurrency=c,
                max_requests=int(2000 * scale), max_seconds=20,
            )  # fmt: skip
            rows.append(("GET /health (HTTP floor)", "health", c, result))
        protocols = protocol_rows(server, windows, int(100 * scale))
    load_after = _load_average()

    coding = json_costs(big_body, big_answer)
    apart_s, together_s = batching_gain(store, series[1461])
    by_key = {(key, c): r for _, key, c, r in rows}
    p50_small = by_key[("1461", 1)].percentile(50)
    p50_big = big.percentile(50)
    errors_64 = len(by_key[("1461", 64)].errors)
    speedup = diy_s * 1000 / p50_small
    by_protocol = {(key, c): r for key, c, r in protocols}
    p50_rest_predict = by_protocol[("rest_predict", 1)].percentile(50)
    p50_grpc_predict = by_protocol[("grpc_predict", 1)].percentile(50)
    grpc_met = p50_grpc_predict <= p50_rest_predict

    lines = [
        "# Serving benchmark",
        "",
        f"Machine: {harness.machine()}; load average (1, 5, 15 min) {load_before}"
        f" before the server started and {load_after} after its last request.",
        f"Model: {MODEL} (window {window}), horizon {HORIZON}, all baselines; client and server",
        "share the machine's cores. Produced by `python bench/serving.py`. The protocol rows send every",
        f"window of the {len(series[1461]):,}-point series ({len(windows):,} windows of {window}) in"
        " each request, built once, to the same",
        "server; each protocol's answer was checked once to equal REST `:predict`'s (rtol 1e-6), so",
        "the rows time the same model call and differ in encoding, decoding and transport (gRPC's",
        "callers share one channel; the REST bodies are JSON encoded once, before the clock).",
        "",
        "| request | concurrency | requests | errors | p50 ms | p95 ms | p99 ms | req/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, _, c, r in rows:
        lines.append(
            f"| {label} | {c} | {r.requests} | {len(r.errors)} | {r.percentile(50):.2f} |"
            f" {r.percentile(95):.2f} | {r.percentile(99):.2f} | {r.throughput:.1f} |"
        )
    lines += [
        "",
        f"| protocol, one-step forecasts of {len(windows):,} windows ({len(series[1461]):,} points)"
        " per request | concurrency | requests | errors | p50 ms | p95 ms | p99 ms | req/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {PROTOCOLS[key]} | {c} | {r.requests} | {len(r.errors)} | {r.percentile(50):.2f} |"
            f" {r.percentile(95):.2f} | {r.percentile(99):.2f} | {r.throughput:.1f} |"
            for key, c, r in protocols
        ),
        "",
        "| floor or peer, 1,461 points, in process | ms |",
        "| --- | ---: |",
        f"| compute floor: the SavedModel calls /forecast makes (`windowed` + horizon) | {compute_s * 1000:.2f} |",
        f"| do-it-yourself: the course's WaveNet (window 64), `model.predict` over a `tf.data` window dataset | {diy_s * 1000:.1f} |",
        f"| {BATCH} requests' model calls one after another | {apart_s * 1000:.2f} |",
        f"| the same {BATCH} series in one batched call (what a server-side batcher could reach) | {together_s * 1000:.2f} |",
        "",
        f"| JSON at 100,000 points, in process (request {len(big_body) / 2**20:.1f} MiB,"
        f" answer {len(big_answer) / 2**20:.1f} MiB) | ms |",
        "| --- | ---: |",
        *(f"| {label} | {seconds * 1000:.1f} |" for label, seconds in coding),
        "",
        "| target | figure | met |",
        "| --- | --- | --- |",
        f"| /forecast p50, 1,461 points, at most 10 ms | {p50_small:.2f} ms | {'yes' if p50_small <= 10 else 'MISSED'} |",
        f"| at least 20x faster than do-it-yourself | {speedup:.1f}x | {'yes' if speedup >= 20 else 'MISSED'} |",
        f"| 100,000 points within 1 s | {p50_big:.0f} ms | {'yes' if p50_big <= 1000 else 'MISSED'} |",
        f"| 100,000 points within 1 GiB extra memory | {extra_bytes / 2**20:.0f} MiB | {'yes' if extra_bytes <= 2**30 else 'MISSED'} |",
        f"| 0 errors at concurrency 64 | {errors_64} | {'yes' if errors_64 == 0 else 'MISSED'} |",
        f"| gRPC Predict p50 at 1,461 points no slower than REST `:predict` (same run) |"
        f" {p50_grpc_predict:.2f} ms against {p50_rest_predict:.2f} ms |"
        f" {'yes' if grpc_met else 'MISSED'} |",
        "",
        "Cost against length (p50 at concurrency 1): "
        + ", ".join(
            f"{n:,} points {by_key[(str(n), 1)].percentile(50):.1f} ms" for n in (1461, 10_000)
        )
        + f", 100,000 points {p50_big:.1f} ms.",
        f"HTTP floor at concurrency 64: {by_key[('health', 64)].throughput:.0f} req/s"
        f" beside /forecast's {by_key[('1461', 64)].throughput:.0f} req/s.",
    ]
    for label, _, c, r in rows:
        for e in r.errors[:3]:
            lines.append(f"- error in {label} at concurrency {c}: {e}")
    for key, c, r in protocols:
        for e in r.errors[:3]:
            lines.append(f"- error in {PROTOCOLS[key]} at concurrency {c}: {e}")
    text = "\n".join(lines) + "\n"
    print(text)
    text += harness.hand_written_notes(RESULTS)  # the notes on the tables, many-series rows
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
