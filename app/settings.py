"""The service's settings, read from ``FORECAST_*`` environment variables once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "FORECAST_"


def env_name(field: str) -> str:
    """The environment variable that sets the setting ``field``, e.g. FORECAST_MAX_HORIZON."""
    return f"{ENV_PREFIX}{field.upper()}"


@dataclass(frozen=True)
class Limit:
    """A limit one setting sets: its value, and the environment variable a client is told of."""

    value: int
    setting: str

    def allows(self, unit: str = "") -> str:
        """The limit as a refusal says it: "the 1000 this server allows (FORECAST_MAX_HORIZON)"."""
        amount = f"{self.value} {unit}" if unit else str(self.value)
        return f"the {amount} this server allows ({self.setting})"


class Settings(BaseSettings):
    """Every knob of the service; each field is ``FORECAST_<FIELD NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    model_store: Path = Field(
        Path("model_store"), description="folder of the model store (contract/store.py's layout)"
    )
    reload_seconds: float = Field(
        5.0, gt=0, description="seconds between rescans of the store for new or removed versions"
    )
    load_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="versions loaded at once (default: the number of CPUs)",
    )
    max_series_length: int = Field(
        100_000, ge=1, description="most values a request's series may hold"
    )
    max_series: int = Field(10_000, ge=1, description="most series one /forecast request may hold")
    max_total_points: int = Field(
        1_000_000, ge=1, description="most values all the series of one request may hold together"
    )
    max_horizon: int = Field(1000, ge=1, description="most steps a forecast may look ahead")
    reference_max_length: int = Field(
        2000,
        ge=1,
        description=(
            "longest series /forecast fits the auto_ets and auto_arima baselines on (their"
            " one-step forecasts cost grows with the square of the length)"
        ),
    )
    reference_max_season: int = Field(
        12,
        ge=1,
        description="longest season /forecast fits auto_ets and auto_arima with; above it, none",
    )
    max_backtest_forecasts: int = Field(
        100_000, ge=1, description="most forecasts per method in one backtest (h * n_windows)"
    )
    max_instances: int = Field(
        100_000, ge=1, description="most windows one TF-Serving :predict request may hold"
    )
    max_body_bytes: int = Field(
        16 * 2**20,
        ge=1024,
        description="largest request body in bytes, enforced before parsing (chunked too)",
    )
    batch_windows: int = Field(
        4096,
        ge=1,
        description="windows per model call on the TF Serving :predict route (bounds memory)",
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="comma-separated keys accepted in X-API-Key; empty: no authentication",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated origins allowed by CORS; empty: CORS off"
    )
    grpc_port: int = Field(
        8500,
        ge=0,
        le=65535,
        description="port of the gRPC server (TF Serving's and KServe v2's services); 0: no gRPC",
    )
    grpc_host: str = Field(
        "0.0.0.0", min_length=1, description="address the gRPC server listens on"
    )
    device: Literal["auto", "cpu", "gpu"] = Field(
        "auto",
        description="auto: GPU when present, else CPU; cpu: hide GPUs; gpu: refuse to start without one",
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        """Accept the environment's comma-separated form as well as a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def limit(self, field: str) -> Limit:
        """The limit the setting ``field`` (e.g. ``max_horizon``) sets, named as it is set."""
        value = getattr(self, field)
        assert isinstance(value, int), field
        return Limit(value, env_name(field))


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment, read once."""
    return Settings()
