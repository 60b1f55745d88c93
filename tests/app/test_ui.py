"""The web page at /ui, its files, and /docs served without the internet (no browser here:
tests/browser drives both in Chromium)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from app.main import create_app
from tests.app.support import TestClient, error_of, running, settings_for


class _Links(HTMLParser):
    """Every src and href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def test_the_page_and_its_files_are_served(shared_client: TestClient) -> None:
    r = shared_client.get("/ui")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    links = _links(r.text)
    assert "/ui/static/ui.js" in links and "/ui/static/ui.css" in links
    assert all(u.startswith(("/", "data:")) for u in links), links  # nothing from elsewhere
    js = shared_client.get("/ui/static/ui.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    for route in ("/models", "/forecast", "/forecast/plot", "X-API-Key"):
        assert route in js.text
    css = shared_client.get("/ui/static/ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_unknown_page_files_are_404_in_the_one_shape(shared_client: TestClient) -> None:
    for path in ("/ui/static/index.html", "/ui/static/nope.js", "/ui/static/..%2F..%2Fmain.py"):
        r = shared_client.get(path)
        assert r.status_code == 404, path
        error_of(r)


def test_the_page_needs_no_key_but_the_data_does(trained_store: Path) -> None:
    with running(trained_store, api_keys=["k-123"]) as client:
        assert client.get("/ui").status_code == 200
        assert client.get("/ui/static/ui.js").status_code == 200
        assert client.get("/docs").status_code == 200
        assert client.get("/models").status_code == 401
        assert client.get("/models", headers={"X-API-Key": "k-123"}).status_code == 200


def test_the_page_follows_the_root_path(trained_store: Path) -> None:
    behind_a_prefix = TestClient(create_app(settings_for(trained_store)), root_path="/api")
    r = behind_a_prefix.get("/ui")  # no lifespan needed: the page holds no data
    assert 'data-root="/api"' in r.text and "/api/ui/static/ui.js" in _links(r.text)
    assert "url: '/api/openapi.json'" in behind_a_prefix.get("/docs").text


def test_docs_load_every_file_from_the_app(shared_client: TestClient) -> None:
    r = shared_client.get("/docs")
    assert r.status_code == 200
    links = _links(r.text)
    scripts = re.findall(r"url: '([^']+)'", r.text)
    assert scripts == ["/openapi.json"]
    assert not re.search(r"https?://", r.text), "the docs page names another host"
    assert {"/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"} <= set(links)
    for url in links:
        got = shared_client.get(url)
        assert got.status_code == 200 and len(got.content) > 500, url
    bundle = shared_client.get("/docs/static/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"] and len(bundle.content) > 500_000
    assert shared_client.get("/docs/static/index.html").status_code == 404  # the package's demo
    assert shared_client.get("/redoc").status_code == 404


def test_the_page_routes_stay_out_of_the_openapi_document(shared_client: TestClient) -> None:
    paths = set(shared_client.get("/openapi.json").json()["paths"])
    assert not {p for p in paths if p.startswith(("/ui", "/docs"))}
    assert "/models/{name}/versions/{version}/plot" in paths


def test_the_page_and_the_api_document_name_the_service_alike(shared_client: TestClient) -> None:
    title = shared_client.get("/openapi.json").json()["info"]["title"]
    page = shared_client.get("/ui").text
    assert title == "Forecast service" and f"<title>{title}</title>" in page


def test_the_openapi_descriptions_are_markdown_not_rst(shared_client: TestClient) -> None:
    # Swagger UI renders Markdown: an RST ``literal`` or :mod:`role` shows its marks literally.
    text = shared_client.get("/openapi.json").text
    assert "``" not in text
    assert not re.search(r":(mod|func|class|data):`", text)
    assert "`text/csv`" in text  # a literal survives, as Markdown's
