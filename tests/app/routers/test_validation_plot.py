"""GET /models/{name}/versions/{version}/plot: the validation picture drawn at training time."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract import store as store_format
from tests.app.support import TestClient, error_of, running


def test_serves_the_versions_validation_picture(
    shared_client: TestClient, trained_store: Path
) -> None:
    for version in (1, 2):
        r = shared_client.get(f"/models/linear/versions/{version}/plot")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        on_disk = store_format.version_dir(trained_store, "linear", version) / "assets"
        assert r.content == (on_disk / "validation.png").read_bytes()
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/models/nope/versions/1/plot", "model_not_found"),
        ("/models/linear/versions/9/plot", "version_not_found"),
        ("/models/..%2F..%2Fetc/versions/1/plot", "not_found"),  # no route matches
    ],
)
def test_unknown_model_or_version_is_404_in_the_one_shape(
    shared_client: TestClient, path: str, code: str
) -> None:
    r = shared_client.get(path)
    assert r.status_code == 404
    assert error_of(r)["code"] == code


def test_a_version_without_its_picture_is_404(client: TestClient, store: Path) -> None:
    (store_format.version_dir(store, "gru", 1) / "assets" / "validation.png").unlink()
    r = client.get("/models/gru/versions/1/plot")
    assert r.status_code == 404
    error = error_of(r)
    assert error["code"] == "picture_not_found"
    assert error["details"] == {"name": "gru", "version": 1}
    assert str(store) not in r.text  # no file paths in errors


def test_needs_the_api_key_when_keys_are_set(trained_store: Path) -> None:
    with running(trained_store, api_keys=["k-123"]) as client:
        assert client.get("/models/gru/versions/1/plot").status_code == 401
        r = client.get("/models/gru/versions/1/plot", headers={"X-API-Key": "k-123"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
