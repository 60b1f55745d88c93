"""The models in the store, their versions, states, labels and metadata."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from app import service
from app.dependencies import RegistryDep, tag_model
from app.errors import PictureNotFound
from app.schemas import ERRORS, ModelList, ModelStatus, VersionStatus
from contract import store

router = APIRouter(
    prefix="/models", tags=["models"], responses={code: ERRORS[code] for code in (401, 404, 422)}
)

VersionPath = Annotated[int, Path(ge=1, description="a version number")]


@router.get("")
async def list_models(registry: RegistryDep) -> ModelList:
    """Every model with every version: state, error, labels and metadata; the best per dataset."""
    return service.describe_models(registry.models(), registry.store_error)


@router.get("/{name}")
async def get_model(name: str, request: Request, registry: RegistryDep) -> ModelStatus:
    """One model with its versions."""
    model = registry.model(name)
    tag_model(request, model.name)
    return ModelStatus.of(model)


@router.get("/{name}/versions/{version}")
async def get_version(
    name: str, version: VersionPath, request: Request, registry: RegistryDep
) -> VersionStatus:
    """One version of a model."""
    entry = registry.version_of(name, version)
    tag_model(request, name)
    return VersionStatus.of(registry.model(name), entry)


@router.get("/{name}/labels/{label}")
async def get_label(
    name: str, label: str, request: Request, registry: RegistryDep
) -> VersionStatus:
    """The version a label names."""
    entry = registry.version_of(name, label)
    tag_model(request, name)
    return VersionStatus.of(registry.model(name), entry)


@router.get(
    "/{name}/versions/{version}/plot",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the validation picture"}},
)
async def get_validation_plot(
    name: str, version: VersionPath, request: Request, registry: RegistryDep
) -> Response:
    """The version's validation forecast as drawn at training time (``assets/validation.png``)."""
    entry = registry.version_of(name, version)
    tag_model(request, name)
    try:
        png = await run_in_threadpool(
            registry.source.read_asset, name, entry.version, store.VALIDATION_PICTURE
        )
    except store.AssetNotFound:
        raise PictureNotFound(
            f"version {entry.version} of {name!r} has no validation picture",
            {"name": name, "version": entry.version},
        ) from None
    return Response(png, media_type="image/png")
