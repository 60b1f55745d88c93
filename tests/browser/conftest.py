"""A real uvicorn over real tiny SavedModels, with API keys on, and Debian's Chromium driven by
Playwright with every name but 127.0.0.1 unresolvable and a proxy that goes nowhere: a request
to any other host fails on this machine, and every request the browser makes is recorded.

Not part of ``make test``; ``make ui-check`` runs these.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from bench.harness import serve
from contract import store as store_format
from tests.support import SEASON, train_tiny

API_KEY = "browser-test-key"
LOOPBACK = "127.0.0.1"
CUT_OFF = [
    f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOOPBACK}",
    "--proxy-server=http://127.0.0.1:9",  # discard port, nothing listens: loopback is exempt
]


@dataclass
class Server:
    """The running service."""

    url: str
    store: Path


@dataclass
class Requests:
    """Every URL the browser asked for."""

    urls: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        """Those to any host but 127.0.0.1 (data: and blob: URLs stay in the page)."""
        return [
            u
            for u in self.urls
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname != LOOPBACK
        ]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn on 127.0.0.1 over ``linear`` (versions 1, 2; stable -> 1) and ``dense`` (horizon 3),
    whose metadata also scores the methods no baseline is (``auto_ets`` better than the rest)."""
    base = tmp_path_factory.mktemp("browser")
    root = base / "store"
    train_tiny(root, "linear", "linear", seed=1, epochs=5)
    train_tiny(root, "linear", "linear", seed=2, epochs=5)
    train_tiny(root, "dense", "dense", horizon=3, epochs=5)
    store_format.write_labels(root, "linear", {"stable": 1})
    meta_path = store_format.version_dir(root, "dense", 1) / "metadata.json"
    meta = json.loads(meta_path.read_text())
    scores = meta["validation"]["scores"]
    scores["auto_ets"] = {
        k: min(s[k] for s in scores.values()) * 0.5 for k in ("mae", "mse", "rmse")
    } | {"mape": None, "mase": None}
    for name in ("auto_arima", "auto_theta", "mstl"):  # the widest table a store can give
        scores[name] = {k: max(s[k] for s in scores.values()) * 2 for k in ("mae", "mse", "rmse")}
        scores[name] |= {"mape": None, "mase": None}
    meta_path.write_text(json.dumps(meta))

    settings = {"FORECAST_MODEL_STORE": str(root), "FORECAST_API_KEYS": API_KEY}
    with serve(settings, base / "uvicorn.log") as running:  # /ready: all three loaded
        yield Server(running.url, root)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (``CHROMIUM`` overrides the path), headless, cut off from outside."""
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if executable is None:
        pytest.fail("no chromium: apt-get install -y chromium (make ui-check does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CUT_OFF)
        yield browser
        browser.close()


@pytest.fixture
def requests_seen() -> Requests:
    """The URLs the test's page asked for."""
    return Requests()


@pytest.fixture
def page(browser: Browser, requests_seen: Requests) -> Iterator[Page]:
    """A fresh page; afterwards, asserts it asked nothing of any host but 127.0.0.1."""
    context: BrowserContext = browser.new_context(viewport={"width": 1280, "height": 900})
    context.on("request", lambda request: requests_seen.urls.append(request.url))
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()
    assert requests_seen.urls, "the page made no request at all"
    assert requests_seen.outside() == [], requests_seen.outside()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``UI_SCREENSHOTS`` if set, else a temporary folder."""
    folder = Path(os.environ.get("UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


__all__ = ["API_KEY", "SEASON", "Requests", "Server"]
