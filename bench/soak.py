"""Soak: 64 clients for 60 s against uvicorn on loopback, with versions published and removed.

During the run, 5 new versions are published through the store's atomic publish and 2 old ones
are removed (moved out of the model folder, then deleted). Checks: no failed request, every
response names a version that was in the store while it was served, and resident memory after
warm-up grows by less than 10%. Writes bench/results/reliability.md (the soak section).

Usage: ``python bench/soak.py [--seconds 60] [--clients 64]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

from contract import store as store_format
from contract.metadata import ModelMetadata
from contract.publishing import now_utc, publish
from training.data import synthetic, synthetic_values
from training.pipeline import TrainConfig, train_and_publish

MODEL = "soak-linear"
RESULTS = harness.ROOT / "bench" / "results" / "reliability.md"


@dataclass
class Timeline:
    """When each version was present in the store: version -> [appeared, disappeared)."""

    spans: dict[int, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def appeared(self, version: int) -> None:
        with self.lock:
            self.spans[version] = [time.monotonic(), float("inf")]

    def disappeared(self, version: int) -> None:
        with self.lock:
            self.spans[version][1] = time.monotonic()

    def present(self, version: int, start: float, end: float) -> bool:
        with self.lock:
            span = self.spans.get(version)
        return span is not None and span[0] <= end and span[1] >= start


def _copy_version(source: Path) -> Callable[[Path], ModelMetadata]:
    """What a publish of an already trained version looks like: its files, then its metadata."""
    metadata = store_format.read_metadata(source)

    def build(folder: Path) -> ModelMetadata:
        for item in source.iterdir():
            if item.name == store_format.METADATA_FILE:
                continue
            target = folder / item.name
            if item.is_dir():
                shutil.copytree(item, target)
            else:
                shutil.copy2(item, target)
        return metadata.model_copy(update={"created_at": now_utc()})

    return build


def churn(store: Path, timeline: Timeline, seconds: float, stop: threading.Event) -> list[str]:
    """Publish 5 versions and remove 2 old ones, spread over the soak."""
    events: list[str] = []
    # Version 1 itself is removed during the run: publish copies of a snapshot kept outside.
    source = store.parent / "publish-source"
    shutil.copytree(store_format.version_dir(store, MODEL, 1), source, dirs_exist_ok=True)
    plan = ["publish", "publish", "remove", "publish", "publish", "remove", "publish"]
    gap = seconds / (len(plan) + 1)
    removable = [1, 2]
    for step in plan:
        if stop.wait(gap):
            break
        if step == "publish":
            version, _ = publish(store, MODEL, _copy_version(source))
            timeline.appeared(version)
            events.append(f"{time.strftime('%H:%M:%S')} published version {version}")
        else:
            version = removable.pop(0)
            folder = store_format.version_dir(store, MODEL, version)
            # Moving out first makes the removal atomic for the server's rescan.
            trash = store / store_format.STAGING_DIR / f"removed-{MODEL}-{version}"
            os.rename(folder, trash)
            timeline.disappeared(version)
            shutil.rmtree(trash)
            events.append(f"{time.strftime('%H:%M:%S')} removed version {version}")
    return events


async def clients(
    url: str, body: dict[str, object], n: int, seconds: float, timeline: Timeline
) -> tuple[list[float], list[str], list[str], dict[int, int]]:
    latencies: list[float] = []
    errors: list[str] = []
    wrong: list[str] = []
    served: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                t0 = time.monotonic()
                try:
                    r = await client.post(url, json=body)
                except httpx.HTTPError as e:
                    errors.append(f"{type(e).__name__}: {e}")
                    continue
                t1 = time.monotonic()
                if r.status_code != 200:
                    errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                    continue
                latencies.append(t1 - t0)
                version = int(r.json()["model"]["version"])
                served[version] = served.get(version, 0) + 1
                if not timeline.present(version, t0, t1):
                    wrong.append(f"version {version} served at {t1:.2f} was not in the store")

        await asyncio.gather(*(worker() for _ in range(n)))
    return latencies, errors, wrong, served


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before memory counts")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    store = scratch / "store"
    print("training a small model for the soak ...", flush=True)
    train_and_publish(
        TrainConfig("linear", synthetic(), epochs=20, verbose=False, name=MODEL), store
    )
    publish(store, MODEL, _copy_version(store_format.version_dir(store, MODEL, 1)))
    timeline = Timeline()
    for v in store_format.versions(store, MODEL):
        timeline.appeared(v)

    body = {"model": MODEL, "series": synthetic_values().tolist(), "horizon": 30}
    with harness.serve(
        {"FORECAST_MODEL_STORE": str(store), "FORECAST_RELOAD_SECONDS": "1"},
        scratch / "server.log",
        "--no-access-log",
        ready=lambda url: harness.available(url, MODEL),
    ) as server:
        stop = threading.Event()
        samples: list[tuple[float, int]] = []

        def sample_memory() -> None:
            start = time.monotonic()
            while not stop.wait(1.0):
                samples.append((time.monotonic() - start, server.rss_bytes()))

        events: list[str] = []
        sampler = threading.Thread(target=sample_memory, daemon=True)
        churner = threading.Thread(
            target=lambda: events.extend(churn(store, timeline, args.seconds, stop)), daemon=True
        )
        sampler.start()
        churner.start()
        latencies, errors, wrong, served = asyncio.run(
            clients(f"{server.url}/forecast", body, args.clients, args.seconds, timeline)
        )
        stop.set()
        churner.join(timeout=30)
        sampler.join(timeout=5)

    result = harness.LoadResult(args.clients, args.seconds, latencies, errors)
    after_warmup = [rss for t, rss in samples if t >= args.warmup]
    base, peak, last = after_warmup[0], max(after_warmup), after_warmup[-1]
    growth = (last - base) / base
    checks = [
        ("0 failed requests", f"{len(errors)} of {result.requests}", not errors),
        ("every response names a version present while served", f"{len(wrong)} wrong", not wrong),
        ("5 versions published, 2 removed during the run", f"{len(events)} events",
         sum("published" in e for e in events) == 5 and sum("removed" in e for e in events) == 2),
        ("resident memory growth after warm-up under 10%", f"{growth:+.1%}", growth < 0.10),
    ]  # fmt: skip
    lines = [
        "## Soak and hot reload under load (`python bench/soak.py`)",
        "",
        f"Machine: {harness.machine()}.",
        f"{args.clients} clients for {args.seconds:.0f} s, POST /forecast with the 1,461-point"
        " synthetic series, horizon 30, all baselines, model `soak-linear`, reload every 1 s.",
        "",
        "| requests | errors | p50 ms | p99 ms | req/s | RSS after warm-up | RSS peak | RSS end |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {result.requests} | {len(errors)} | {result.percentile(50):.1f} |"
        f" {result.percentile(99):.1f} | {result.throughput:.1f} | {base / 2**20:.0f} MiB |"
        f" {peak / 2**20:.0f} MiB | {last / 2**20:.0f} MiB |",
        "",
        "| check | figure | met |",
        "| --- | --- | --- |",
        *(f"| {name} | {figure} | {'yes' if ok else 'MISSED'} |" for name, figure, ok in checks),
        "",
        "Responses by version: " + ", ".join(f"v{v}: {n}" for v, n in sorted(served.items())) + ".",
        "",
        "Store events: " + "; ".join(events) + ".",
    ]
    for e in (errors + wrong)[:5]:
        lines.append(f"- {e}")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    marker = "## Soak and hot reload under load"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Reliability\n\n"
    head = existing.split(marker)[0].rstrip() + "\n\n"
    RESULTS.write_text(head + text)
    print(f"written to {RESULTS}")
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
