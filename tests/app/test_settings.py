"""Settings come from FORECAST_* variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.settings import Settings, get_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MODEL_STORE", "RELOAD_SECONDS", "API_KEYS", "CORS_ORIGINS", "MAX_SERIES_LENGTH"):
        monkeypatch.delenv(f"FORECAST_{name}", raising=False)
    s = Settings()
    assert s.model_store == Path("model_store") and s.reload_seconds == 5.0
    assert (s.max_series_length, s.max_horizon) == (100_000, 1000)
    assert s.api_keys == [] and s.cors_origins == []


def test_environment_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_MODEL_STORE", "/srv/store")
    monkeypatch.setenv("FORECAST_RELOAD_SECONDS", "0.5")
    monkeypatch.setenv("FORECAST_API_KEYS", "alpha, beta,,")
    monkeypatch.setenv("FORECAST_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("FORECAST_DEVICE", "cpu")
    monkeypatch.setenv("MODEL_STORE", "/ignored/without/the/prefix")
    s = Settings()
    assert s.model_store == Path("/srv/store") and s.reload_seconds == 0.5
    assert [k.get_secret_value() for k in s.api_keys] == ["alpha", "beta"]
    assert s.cors_origins == ["https://a.example", "https://b.example"]
    assert s.device == "cpu"
    assert "alpha" not in repr(s)  # keys never show in logs of the settings


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_DEVICE", "tpu")
    with pytest.raises(ValueError, match="device"):
        Settings()


def test_read_once() -> None:
    assert get_settings() is get_settings()


def test_the_readme_configuration_table_lists_every_setting() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `FORECAST_([A-Z_]+)` \|", table, flags=re.MULTILINE))
    assert listed == {name.upper() for name in Settings.model_fields}
