"""Shared pieces of the benchmarks: a real uvicorn server on loopback, bounded HTTP and gRPC loads.

Traffic only ever goes to 127.0.0.1, and every load loop is bounded in requests and seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HOST = "127.0.0.1"


@dataclass
class Server:
    """A running uvicorn process serving ``app.main:app`` on loopback."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    host: str = HOST
    grpc_port: int = 0  # 0: gRPC off

    @property
    def grpc_target(self) -> str:
        """Where its gRPC server answers (host:port)."""
        return f"{self.host}:{self.grpc_port}"

    @property
    def url(self) -> str:
        """Where it answers."""
        return f"http://{self.host}:{self.port}"

    def rss_bytes(self) -> int:
        """Resident memory of the server process now."""
        return _status_kib(self.process.pid, "VmRSS") * 1024

    def peak_rss_bytes(self) -> int:
        """Highest resident memory of the server process so far."""
        return _status_kib(self.process.pid, "VmHWM") * 1024


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/{pid}/status")


@contextlib.contextmanager
def serve(
    settings: Mapping[str, str],
    log: Path,
    *uvicorn_args: str,
    ready: Callable[[str], bool] = lambda url: True,
    timeout: float = 180.0,
) -> Iterator[Server]:
    """``uvicorn app.main:app`` in a subprocess on a free loopback port; stopped on exit.

    ``settings`` are ``FORECAST_*`` variables; the gRPC server gets a free loopback port of its
    own unless they set ``FORECAST_GRPC_PORT``. Returns once ``/ready`` answers 200 and
    ``ready(url)`` is true (a connection error counts as not yet).
    """
    port = free_port()
    grpc = {"FORECAST_GRPC_PORT": str(free_port()), "FORECAST_GRPC_HOST": HOST}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **grpc, **settings}
    with log.open("wb") as out:
        # The image's uvicorn has neither uvloop nor httptools; the test extra's kserve brings
        # them, and uvicorn would prefer them: name the image's loop and HTTP parser.
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST,
             "--port", str(port), "--loop", "asyncio", "--http", "h11", *uvicorn_args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(process, port, log, grpc_port=int(env["FORECAST_GRPC_PORT"]))
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.url + "/ready", timeout=2).status_code == 200 and ready(
                    server.url
                ):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server not ready within {timeout:.0f} s: {log.read_text()[-2000:]}"
                )
            time.sleep(0.25)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def available(url: str, name: str) -> bool:
    """Model ``name`` has an AVAILABLE version on the server at ``url``."""
    r = httpx.get(f"{url}/models/{name}", timeout=2)
    return r.status_code == 200 and any(
        v["state"] == "AVAILABLE" for v in r.json().get("versions", [])
    )


@dataclass
class LoadResult:
    """Latencies (seconds) of the successful requests, and what failed."""

    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile latency in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def mean_ms(self) -> float:
        return 1000 * statistics.fmean(self.latencies) if self.latencies else float("nan")


async def _load(
    method: str,
    url: str,
    body: Any,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    keep_bodies: bool,
    headers: dict[str, str] | None,
) -> LoadResult:
    result = LoadResult(concurrency, 0.0)
    sent = 0
    # Bytes go as they are (a body encoded once, outside the timed loop); anything else as JSON.
    payload: dict[str, Any] = (
        {"content": body, "headers": {"content-type": "application/json"}}
        if isinstance(body, bytes)
        else {"json": body}
    )
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as client:
        started = time.perf_counter()
        deadline = started + max_seconds

        async def worker() -> None:
            nonlocal sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, url, **payload)
                except httpx.HTTPError as e:
                    result.errors.append(f"{type(e).__name__}: {e}")
                    continue
                elapsed = time.perf_counter() - t0
                if r.status_code != 200:
                    result.errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                    continue
                result.latencies.append(elapsed)
                if keep_bodies:
                    result.bodies.append(r.json())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


def load(
    method: str,
    url: str,
    body: Any = None,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    keep_bodies: bool = False,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Send at most ``max_requests`` requests in at most ``max_seconds`` from ``concurrency`` clients.

    ``body`` is sent as JSON, or as it is when it is ``bytes`` (JSON encoded once by the caller).
    """
    return asyncio.run(
        _load(method, url, body, concurrency, max_requests, max_seconds, keep_bodies, headers)
    )


GrpcMethod = Callable[..., Awaitable[Any]]


async def _grpc_load(
    target: str,
    method: Callable[[grpc.aio.Channel], GrpcMethod],
    request: Any,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    keep_bodies: bool,
    metadata: Sequence[tuple[str, str]] | None,
) -> LoadResult:
    result = LoadResult(concurrency, 0.0)
    sent = 0
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=30)
        call = method(channel)
        started = time.perf_counter()
        deadline = started + max_seconds

        async def caller() -> None:
            nonlocal sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                t0 = time.perf_counter()
                try:
                    response = await call(request, timeout=60, metadata=metadata)
                except grpc.aio.AioRpcError as e:
                    result.errors.append(f"{e.code().name}: {(e.details() or '')[:200]}")
                    continue
                result.latencies.append(time.perf_counter() - t0)
                if keep_bodies:
                    result.bodies.append(response)

        await asyncio.gather(*(caller() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


def grpc_load(
    target: str,
    method: Callable[[grpc.aio.Channel], GrpcMethod],
    request: Any,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    keep_bodies: bool = False,
    metadata: Sequence[tuple[str, str]] | None = None,
) -> LoadResult:
    """Make at most ``max_requests`` unary calls in at most ``max_seconds`` from ``concurrency`` callers.

    ``method`` picks the call from a generated stub on the channel (e.g. ``lambda channel:
    PredictionServiceStub(channel).Predict``); ``request`` is one message, built once and sent
    by every call. The callers share one ``grpc.aio`` channel, one HTTP/2 connection, as a
    gRPC client's calls do; the connection is made before the clock starts.
    """
    return asyncio.run(
        _grpc_load(
            target, method, request, concurrency, max_requests, max_seconds, keep_bodies, metadata
        )
    )


def hand_written_notes(results: Path) -> str:
    """A results file's sections from its first ``## `` heading on, kept when a bench rewrites it."""
    old = results.read_text(encoding="utf-8") if results.exists() else ""
    return "\n## " + old.split("\n## ", 1)[1] if "\n## " in old else ""


def machine() -> str:
    """One line describing where the figures were measured."""
    import numpy
    import tensorflow as tf

    return (
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, numpy {numpy.__version__}, "
        f"GPUs: {len(tf.config.list_physical_devices('GPU'))}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
