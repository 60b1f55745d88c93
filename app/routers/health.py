"""Liveness and readiness: open even when API keys are configured."""

from __future__ import annotations

import tensorflow as tf
from fastapi import APIRouter, Request

from app.dependencies import RegistryDep
from app.schemas import ERRORS, DeviceInfo, Health, KServeLive, Ready

router = APIRouter(tags=["health"])


@router.get("/", tags=["kserve"])
async def live() -> KServeLive:
    """KServe v1's liveness check (``InferenceRESTClient.is_server_live``): the process is up."""
    return KServeLive()


@router.get("/health")
async def health(request: Request, registry: RegistryDep) -> Health:
    """The process is up; the devices TensorFlow uses."""
    return Health(
        devices=[DeviceInfo.of(d) for d in request.app.state.devices],
        tensorflow_version=tf.__version__,
        versions_available=registry.available_count(),
    )


@router.get("/ready", responses={503: ERRORS[503]})
async def ready(registry: RegistryDep) -> Ready:
    """200 once every version found at start has loaded and one is AVAILABLE; else 503 and why."""
    registry.check_ready()
    return Ready(
        versions_available=registry.available_count(), loading=registry.loading(initial=False)
    )
