"""The /ui page and /docs in Chromium against a real server with real SavedModels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import API_KEY, Server
from tests.support import WINDOW, tiny_series


def _open_with_key(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/ui")
    page.fill("#api-key", API_KEY)
    page.click("#load-models")
    expect(page.locator("#models table tbody tr")).to_have_count(3)
    expect(page.locator("#message")).to_be_hidden()


def _image_loaded(page: Page, selector: str) -> int:
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0 }",
        arg=selector,
    )
    width: int = page.eval_on_selector(selector, "i => i.naturalWidth")
    return width


def test_without_the_key_the_page_says_so_then_lists_the_models(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/ui")
    message = page.locator("#message")
    expect(message).to_contain_text("401 unauthorized: missing or invalid X-API-Key header")
    _open_with_key(page, server)
    rows = page.locator("#models table tbody tr")
    expect(rows.nth(0)).to_contain_text("dense")
    expect(rows.nth(1)).to_contain_text("stable")  # linear version 1's label
    headers = [" ".join(h.split()) for h in page.locator("#models thead th").all_inner_texts()]
    assert headers[:4] == ["Model", "Version", "State", "Architecture"]
    assert {"This model", "Naive", "Seasonal naive", "Seasonal diff. + MA", "AutoETS"} <= set(
        headers
    )
    assert not [h for h in headers if "_" in h]  # no API identifier as a header
    # Every baseline and statistical method, and still no horizontal scrolling at 1280 px.
    assert len(headers) >= 4 + 1 + 5 + 4 + 1, headers
    widths = page.evaluate(
        "() => [document.querySelector('#models').scrollWidth,"
        " document.querySelector('#models').clientWidth,"
        " document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
    # Every row marks its lowest MAE; dense's is the extra method, rendered like any other.
    for i in range(3):
        expect(rows.nth(i).locator("td.best")).to_have_count(1)
    auto_ets = headers.index("AutoETS")
    expect(rows.nth(0).locator("td").nth(auto_ets)).to_have_class("num best")
    page.locator("#metric").select_option("rmse")
    expect(rows.nth(0).locator("td.best")).to_have_count(1)


def test_the_validation_picture_of_a_version(page: Page, server: Server) -> None:
    _open_with_key(page, server)
    page.locator("#models tbody tr").nth(1).get_by_role("button", name="validation picture").click()
    assert _image_loaded(page, "#validation-image") > 500
    expect(page.locator("#validation-caption")).to_contain_text("linear version 1")


def test_a_csv_is_forecast_and_drawn(
    page: Page, server: Server, tmp_path: Path, screenshots: Path
) -> None:
    values = tiny_series().values
    start = dt.date(2024, 1, 1)
    lines = ["date,units"] + [
        f"{start + dt.timedelta(days=i)},{x:.3f}" for i, x in enumerate(values[:380])
    ]
    csv = tmp_path / "sales.csv"
    csv.write_text("\n".join(lines) + "\n")
    _open_with_key(page, server)
    page.locator("#model").select_option("linear")
    page.locator("#version").select_option(label="label stable (version 1)")
    page.set_input_files("#csv", str(csv))
    expect(page.locator("#csv-info")).to_have_text('380 values from "units"')
    page.fill("#horizon", "20")
    page.fill("#actuals", ", ".join(f"{x:.3f}" for x in values[380:400]))
    page.click("#submit")
    assert _image_loaded(page, "#forecast-image") >= 1000
    scores = page.locator("#scores")
    expect(scores).to_contain_text("linear version 1 (linear, window 16, season 50): 20 steps")
    expect(scores.locator("h3").nth(0)).to_contain_text("One step ahead over the series")
    expect(scores.locator("h3").nth(1)).to_contain_text("positions 380 to 399 (20 values)")
    expect(scores.locator("table").nth(0).locator("tr.best")).to_have_count(1)
    expect(page.locator("#message")).to_be_hidden()
    page.screenshot(path=str(screenshots / "ui.png"), full_page=True)


def test_an_api_error_is_a_readable_message(page: Page, server: Server) -> None:
    _open_with_key(page, server)
    page.locator("#model").select_option("linear")
    page.fill("#series", "1, 2, 3")
    page.click("#submit")
    message = page.locator("#message")
    expect(message).to_contain_text(
        f"422 series_too_short: the series has 3 values but this model's window_size is {WINDOW}"
    )
    expect(message).to_contain_text(f"window_size: {WINDOW}")
    expect(page.locator("#result")).to_be_hidden()
    page.fill("#series", "1, two, 3")
    page.click("#submit")
    expect(message).to_contain_text('series: value 2 ("two") is not a number')


def test_a_csv_error_stays_when_the_form_is_sent(
    page: Page, server: Server, tmp_path: Path
) -> None:
    csv = tmp_path / "broken.csv"
    csv.write_text("date,units\n2024-01-01,1\n\n2024-01-03,n/a\n")
    _open_with_key(page, server)
    page.locator("#model").select_option("linear")
    page.set_input_files("#csv", str(csv))
    message = page.locator("#message")
    said = 'CSV line 4, column "units": "n/a" is not a number'  # the file's line, header 1
    expect(message).to_contain_text(said)
    page.click("#submit")
    expect(message).to_contain_text(said)
    expect(message).not_to_contain_text("paste the series")
    page.fill("#series", "1")  # the series typed over: the CSV is no longer the reason
    page.fill("#series", "")
    page.click("#submit")
    expect(message).to_contain_text("paste the series or choose a CSV file first")


def test_docs_render_every_operation_offline(page: Page, server: Server, screenshots: Path) -> None:
    # Swagger UI draws an operation once under each of its tags (KServe's and TF Serving's share
    # GET /v1/models/{name}).
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"].values()
    operations = sum(
        max(1, len(op.get("tags", []))) for methods in paths for op in methods.values()
    )
    page.goto(f"{server.url}/docs")
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".opblock-summary-path", has_text="/forecast/plot")).to_have_count(1)
    page.screenshot(path=str(screenshots / "docs.png"))
