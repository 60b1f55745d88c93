"""Security: API keys, request size, model names that try to leave the store, CORS, and what
error responses give away. Where the wire matters, against uvicorn on 127.0.0.1 over raw sockets.
"""

from __future__ import annotations

import ast
import inspect
import logging
import re
import select
import shutil
import socket
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import tensorflow as tf

from app import dependencies
from app.settings import Settings
from bench.harness import Server, serve
from contract import store as store_format
from contract.metadata import ModelMetadata
from contract.publishing import publish
from tests.app.support import ROOT, TestClient, error_of, running

KEYS = ("s3cret-key-one", "s3cret-key-two")
ALLOWED_ORIGIN = "https://allowed.example"
SENTINEL = "sentinel-outside-the-store"
# A JSON body's got \"...\", or got \"...… when the value was cut.
_ECHO = re.compile(r'got \\"(?:[^"\\]|\\[^"])*?(?:\\"|…(?="))')
MAX_BODY = 4096


# ---- a store with a model that fails at request time, and a model-like folder outside it ----


class RefusingModule(tf.Module):
    """A SavedModel that warms up fine but fails inside TensorFlow on windows beyond 1000."""

    def __init__(self, window: int) -> None:
        super().__init__()
        self.window = window
        spec = tf.TensorSpec([None, window], tf.float32, name=store_format.INPUT_KEY)
        steps = tf.TensorSpec([], tf.int32, name=store_format.STEPS_KEY)
        series = tf.TensorSpec([None, None], tf.float32, name=store_format.SERIES_KEY)
        self.serve = tf.function(self._serve, input_signature=[spec])
        self.ahead = tf.function(self._ahead, input_signature=[spec, steps])
        self.windowed = tf.function(self._windowed, input_signature=[series])

    def _check(self, window: tf.Tensor) -> None:
        tf.debugging.assert_less(tf.reduce_max(tf.abs(window)), 1000.0, message="refused")

    def _serve(self, window: tf.Tensor) -> dict[str, tf.Tensor]:
        self._check(window)
        return {store_format.OUTPUT_KEY: window[:, -1:]}

    def _ahead(self, window: tf.Tensor, steps: tf.Tensor) -> dict[str, tf.Tensor]:
        self._check(window)
        return {store_format.OUTPUT_KEY: tf.repeat(window[:, -1:], steps, axis=1)}

    def _windowed(self, series: tf.Tensor) -> dict[str, tf.Tensor]:
        self._check(series)
        return {store_format.OUTPUT_KEY: series[:, self.window - 1 : -1]}


@dataclass
class Layout:
    """``<base>/store`` served; ``<base>/evil/1`` a complete version outside it."""

    base: Path
    store: Path
    outside: Path


def _layout(trained_store: Path, base: Path) -> Layout:
    store = Path(shutil.copytree(trained_store, base / "store"))
    template = store_format.read_metadata(store_format.version_dir(store, "linear", 1))

    def build(folder: Path) -> ModelMetadata:
        module = RefusingModule(template.window_size)
        tf.saved_model.save(
            module,
            str(folder),
            signatures={
                store_format.SERVING_SIGNATURE: module.serve,
                store_format.FORECAST_SIGNATURE: module.ahead,
                store_format.WINDOWED_SIGNATURE: module.windowed,
            },
        )
        return template

    publish(store, "refusing", build)
    outside = base / "evil"
    shutil.copytree(store / "linear" / "1", outside / "1")
    meta = template.model_copy(update={"architecture": SENTINEL, "name": "evil"})
    (outside / "1" / store_format.METADATA_FILE).write_text(meta.model_dump_json())
    return Layout(base, store, outside)


@pytest.fixture(scope="module")
def layout(trained_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return _layout(trained_store, tmp_path_factory.mktemp("secure"))


@pytest.fixture(scope="module")
def keyed(layout: Layout) -> Iterator[TestClient]:
    with running(layout.store, api_keys=",".join(KEYS)) as client:
        yield client


# ---- uvicorn on loopback, configured from the environment ----


@pytest.fixture(scope="module")
def server(layout: Layout, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    def every_version_available(url: str) -> bool:
        models = httpx.get(f"{url}/models", headers={"X-API-Key": KEYS[0]}).json()
        states = [v["state"] for m in models["models"] for v in m["versions"]]
        if len(states) < 5 or "LOADING" in states:
            return False
        assert set(states) == {"AVAILABLE"}, models
        return True

    settings = {
        "FORECAST_MODEL_STORE": str(layout.store),
        "FORECAST_API_KEYS": ",".join(KEYS),
        "FORECAST_MAX_BODY_BYTES": str(MAX_BODY),
        "FORECAST_CORS_ORIGINS": ALLOWED_ORIGIN,
    }
    log = tmp_path_factory.mktemp("uvicorn-secure") / "server.log"
    # Debug logging: whatever the stack logs about a request, the test sees.
    with serve(settings, log, "--log-level", "debug", ready=every_version_available) as running:
        yield running


def _raw(server: Server, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send bytes as they are (no client normalises the path) and read the status and body."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as s:
        s.sendall(request)
        return _read_response(s)


def _read_response(s: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")),
        None,
    )  # fmt: skip
    while length is not None and len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, body


# ---- API keys ----


def test_api_keys_are_compared_in_constant_time_only() -> None:
    source = textwrap.dedent(inspect.getsource(dependencies.require_api_key))
    tree = ast.parse(source)
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "compare_digest" in calls
    assert "hmac.compare_digest" in source or "secrets.compare_digest" in source
    # No ==, !=, in or not in anywhere in the check: only "is None" tests are allowed.
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            assert all(isinstance(op, ast.Is | ast.IsNot) for op in node.ops), ast.unparse(node)


@pytest.mark.parametrize(
    "given",
    [
        KEYS[0][:-1],  # a prefix
        KEYS[0] + "x",  # longer
        KEYS[0].upper(),
        " " + KEYS[0],
        KEYS[0] + "," + KEYS[1],
        "",
        "ünïcødé",
    ],
)
def test_near_misses_of_a_key_are_refused(keyed: TestClient, given: str) -> None:
    r = keyed.get("/models", headers={"X-API-Key": given.encode("utf-8")})
    assert r.status_code == 401
    error = error_of(r)
    assert error == {
        "code": "unauthorized",
        "message": "missing or invalid X-API-Key header",
        "details": None,
    }


def test_keys_are_never_logged(keyed: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-but-secret-looking-key"
    assert keyed.get("/models", headers={"X-API-Key": KEYS[1]}).status_code == 200
    body = {"model": "linear", "series": [1.0] * 20}
    assert keyed.post("/forecast", json=body, headers={"X-API-Key": KEYS[0]}).status_code == 200
    r = keyed.post("/forecast", json=body, headers={"X-API-Key": wrong})
    assert r.status_code == 401 and wrong not in r.text
    assert keyed.get("/models").status_code == 401
    assert caplog.records  # the capture does see the service's logs
    for secret in (*KEYS, wrong):
        assert secret not in caplog.text
    settings = Settings(model_store=Path("s"), api_keys=",".join(KEYS))
    assert not any(key in repr(settings) or key in str(settings) for key in KEYS)


def test_keys_never_reach_the_server_log(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/models", headers={"X-API-Key": KEYS[0]}).status_code == 200
        assert http.get("/models", headers={"X-API-Key": "not-" + KEYS[1]}).status_code == 401
        r = http.get("/v1/models/linear")
        assert r.status_code == 401 and set(r.json()) == {"error"}  # TF Serving's shape
        assert http.get("/health").status_code == 200
        assert http.get("/ready").status_code == 200
    text = server.log.read_text()
    assert "GET /models" in text  # the access log is on
    assert not any(key in text for key in KEYS)


# ---- request size, before the body is read or parsed ----


def test_a_declared_oversized_body_is_refused_before_it_is_sent(server: Server) -> None:
    head = (
        "POST /forecast HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {KEYS[0]}\r\nContent-Length: 10000000000\r\n\r\n"
    ).encode()
    started = time.monotonic()
    status, body = _raw(server, head)  # not one byte of the 10 GB follows
    assert status == 413 and time.monotonic() - started < 5
    assert b'"body_too_large"' in body and str(MAX_BODY).encode() in body


def test_a_chunked_body_is_cut_off_just_past_the_limit(server: Server) -> None:
    head = (
        "POST /forecast HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {KEYS[0]}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = b"1.5, " * 200  # 1000 bytes
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(head + b'5\r\n{"a":\r\n')
        answered = False
        for _ in range(1000):  # up to 1 MB, if the server never answered
            s.sendall(chunk)
            sent += len(piece)
            if select.select([s], [], [], 0.02)[0]:
                answered = True
                break
        assert answered, f"no answer after {sent} bytes"
        status, body = _read_response(s)
    assert status == 413 and b'"body_too_large"' in body
    assert sent <= 16 * MAX_BODY  # the server stopped reading near the limit, not at the end


# ---- model names that try to leave the store ----

NAMES = [
    "..",
    "../evil",
    "..%2Fevil",
    "..%2fevil",
    "%2e%2e%2fevil",
    "%2E%2E/evil",
    "..%252Fevil",
    "....//evil",
    "..\\evil",
    "..%5Cevil",
    "evil%00",
    "store/../evil",
]


def _attempts(layout: Layout) -> list[str]:
    absolute = str(layout.outside)
    return [*NAMES, quote(absolute, safe=""), absolute.lstrip("/"), f"..%2F..{quote(absolute)}"]


@pytest.mark.parametrize("template", [
    "/models/{}", "/models/{}/versions/1", "/models/{}/labels/stable",
    "/v1/models/{}", "/v1/models/{}/versions/1", "/v1/models/{}:predict",
    "/v1/models/{}/versions/1:predict", "/v1/models/{}/metadata", "/v2/models/{}",
    "/v2/models/{}/ready", "/v2/models/{}/infer",
])  # fmt: skip
def test_names_in_paths_never_reach_outside_the_store(
    keyed: TestClient, layout: Layout, template: str
) -> None:
    headers = {"X-API-Key": KEYS[0]}
    body = {"instances": [[1.0] * 16]}
    for name in _attempts(layout):
        path = template.format(name)
        if path.endswith((":predict", "/infer")):
            r = keyed.post(path, json=body, headers=headers)
        else:
            r = keyed.get(path, headers=headers)
        assert SENTINEL not in r.text, path
        if not r.url.path.startswith(template.partition("{}")[0]):
            continue  # the client resolved ".." above the model routes (to "/", "/v2")
        assert r.status_code in (400, 404, 405, 422), (path, r.status_code, r.text)


def test_names_in_forecast_bodies_never_reach_outside_the_store(
    keyed: TestClient, layout: Layout
) -> None:
    headers = {"X-API-Key": KEYS[0]}
    names = [*NAMES, str(layout.outside), "evil", "../store/../evil", "evil/1"]
    for name in names:
        for route in ("/forecast", "/forecast/plot"):
            r = keyed.post(route, json={"model": name, "series": [1.0] * 20}, headers=headers)
            assert r.status_code in (404, 422), (name, r.status_code, r.text)
            assert error_of(r)["code"] in ("validation_error", "model_not_found")
            # A refused name is echoed back ("got ..."): that is the client's own text, not
            # the server telling it anything; nothing else may name what lies outside.
            told = _ECHO.sub("got …", r.text)
            assert SENTINEL not in told and str(layout.base) not in told
    listed = keyed.get("/models", headers=headers).text
    assert SENTINEL not in listed and '"evil"' not in listed


def test_raw_traversal_paths_over_the_socket(server: Server, layout: Layout) -> None:
    paths = [
        "/models/../evil",
        "/models/../../evil/1",
        "/models/%2e%2e/evil",
        "/models/..%2Fevil",
        "/v1/models/../evil",
        "/v1/models/..%2Fevil/versions/1",
        f"/models/{quote(str(layout.outside), safe='')}",
        "/models/./../evil",
    ]
    for path in paths:
        status, body = _raw(
            server,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {KEYS[0]}\r\n"
            "Connection: close\r\n\r\n".encode(),
        )
        assert status in (400, 404, 422), (path, status, body)
        assert SENTINEL.encode() not in body


# ---- CORS ----


def test_cors_is_off_by_default_even_for_preflight(shared_client: TestClient) -> None:
    r = shared_client.options(
        "/forecast",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code in (404, 405)
    assert not any(h.startswith("access-control-") for h in r.headers)
    r = shared_client.post(
        "/forecast",
        json={"model": "linear", "series": [1.0] * 20},
        headers={"Origin": ALLOWED_ORIGIN},
    )
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_cors_origins_come_from_the_environment(server: Server) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key",
    }
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.options("/forecast", headers={"Origin": ALLOWED_ORIGIN, **preflight})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "x-api-key" in r.headers["access-control-allow-headers"].lower()
        r = http.options("/forecast", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in r.headers
        r = http.get("/health", headers={"Origin": ALLOWED_ORIGIN})
        assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


# ---- error responses give nothing away ----


def _assert_discreet(text: str, layout: Layout) -> None:
    for leak in ("Traceback", 'File "', "/tmp/", str(layout.base), str(ROOT), "site-packages"):
        assert leak not in text, (leak, text[:500])


def test_errors_carry_no_traces_or_paths(server: Server, layout: Layout) -> None:
    key = {"X-API-Key": KEYS[0]}
    damaged = layout.store / "linear" / "9"
    shutil.copytree(layout.store / "linear" / "1", damaged)
    (damaged / "saved_model.pb").write_bytes(b"\x00 not a protocol buffer")
    big = [5000.0] * 20  # the refusing model fails inside TensorFlow on these
    ok = [1.0] * 20
    with httpx.Client(base_url=server.url, timeout=30) as http:
        deadline = time.monotonic() + 30
        while http.get("/v1/models/linear/versions/9", headers=key).status_code != 200:
            assert time.monotonic() < deadline, "the damaged version was never scanned"
            time.sleep(0.2)
        json_type = {**key, "content-type": "application/json"}
        one = {"instances": [[1.0] * 16]}
        answers = [
            http.get("/nowhere"),
            http.put("/forecast"),
            http.get("/models"),  # no key
            http.post("/forecast", content=b'{"model": ', headers=json_type),
            http.post("/forecast", content=b"\x80\x81 not UTF-8", headers=json_type),
            http.post("/forecast", json={"model": "linear", "series": [1.0] * 3000}, headers=key),
            http.post("/forecast", json={"model": "nope", "series": ok}, headers=key),
            http.post("/forecast", json={"model": "linear", "version": 9, "series": ok},
                      headers=key),
            http.get("/models/linear", headers=key),  # lists the damaged version's error
            http.get("/v1/models/linear/versions/9", headers=key),
            http.post("/v1/models/linear/versions/9:predict", json=one, headers=key),
            http.post("/forecast", json={"model": "refusing", "series": big}, headers=key),
            http.post("/v1/models/refusing:predict", json={"instances": [big[:16]]}, headers=key),
        ]  # fmt: skip
        # A 500 does not take the client's next request down with its connection.
        assert http.get("/health").status_code == 200
    statuses = [r.status_code for r in answers]
    assert statuses == [404, 405, 401, 422, 400, 413, 404, 503, 200, 200, 503, 500, 500]
    for r in answers:
        _assert_discreet(r.text, layout)
    assert error_of(answers[-2]) == {
        "code": "internal_error", "message": "internal server error", "details": None,
    }  # fmt: skip
    assert answers[-1].json() == {"error": "internal server error"}
    failed = answers[8].json()["versions"][-1]
    assert failed["state"] == "FAILED" and failed["error"]
    # The operator, not the client, gets the whole story.
    log = server.log.read_text()
    assert "Traceback" in log and "refused" in log
