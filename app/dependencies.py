"""What handlers reach through ``Depends``: the settings, the registry, the API-key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from app.errors import NotReady, Unauthorized
from app.forecaster import Forecaster
from app.registry import ModelRegistry
from app.settings import Settings

API_KEY_HEADER = "X-API-Key"
MODEL_STATE_KEY = "forecast_model"  # request.state attribute the metrics label requests by

_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="one of FORECAST_API_KEYS; not needed when none are configured",
)


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_registry(request: Request) -> ModelRegistry:
    """The model registry the lifespan built."""
    registry: ModelRegistry | None = getattr(request.app.state, "registry", None)
    if registry is None:
        raise NotReady("the model registry is not running")
    return registry


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


def require_api_key(
    settings: SettingsDep, key: Annotated[str | None, Security(_api_key)] = None
) -> None:
    """Refuse the request unless no keys are configured or it carries one of them."""
    if not settings.api_keys:
        return
    given = (key or "").encode("latin-1")  # the header's raw bytes
    # Compare with every key, without stopping at a match, in constant time each.
    matches = [
        hmac.compare_digest(given, k.get_secret_value().encode("utf-8")) for k in settings.api_keys
    ]
    if key is None or not any(matches):
        raise Unauthorized(f"missing or invalid {API_KEY_HEADER} header")


def resolve_model(
    request: Request, registry: ModelRegistry, name: str, version: int | str | None
) -> Forecaster:
    """The version a request means; also labels the request's metrics with its model."""
    model = registry.resolve(name, version)
    setattr(request.state, MODEL_STATE_KEY, model.name)
    return model


def tag_model(request: Request, name: str) -> None:
    """Label the request's metrics with a model known to the registry."""
    setattr(request.state, MODEL_STATE_KEY, name)
