"""Shared test set-up: quiet TensorFlow logs, and the session's one store of tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.support import MULTI_STEP, train_tiny


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every architecture trained for an epoch on the tiny series, once per session.

    Version 1 of ``tiny-<architecture>`` (horizon 1) for each, and of ``tiny-<arch>-h3`` for
    :data:`MULTI_STEP`'s. Copy it before changing anything.
    """
    from training.architectures import ARCHITECTURES

    root = tmp_path_factory.mktemp("tiny") / "store"
    for arch in ARCHITECTURES:
        train_tiny(root, arch)
    for arch, horizon in MULTI_STEP.items():
        train_tiny(root, arch, f"tiny-{arch}-h{horizon}".replace("_", "-"), horizon=horizon)
    return root
