"""Shared test set-up: quiet TensorFlow logs, and the session's one store of tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.support import (
    GLOBAL_ARCHITECTURES,
    MULTI_STEP,
    PANEL_HORIZON,
    panel_values,
    train_tiny,
    write_panel,
)


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


@pytest.fixture(scope="session")
def global_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``panel-nbeats`` and ``panel-linear``, global versions trained for an epoch across the
    tiny panel (``tests.support.panel_values``) by the CLI, once per session. Copy it before
    changing anything."""
    from training.cli import main

    folder = tmp_path_factory.mktemp("global")
    csv = write_panel(folder / "panel.csv", panel_values())
    argv = ["--global", "--data", str(csv), "--id-column", "unique_id", "--column", "y"]
    argv += ["--time-column", "ds", "--horizon", str(PANEL_HORIZON), "--epochs", "1"]
    for arch in GLOBAL_ARCHITECTURES:
        argv += ["--arch", arch]
    assert main([*argv, "--store", str(folder / "store"), "--quiet"]) == 0
    return folder / "store"
