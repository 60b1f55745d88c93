"""The real app around real tiny SavedModels from the session's store (``tests/conftest.py``).

The app's store holds ``linear`` versions 1 and 2 (labels stable -> 1, canary -> 2), ``gru``
(a sequence model, horizon 1) and ``dense`` (horizon 3), all with window 16: the session's
``tiny-linear``, ``tiny-gru`` and ``tiny-dense-h3`` published again under these names, and a
second linear with another seed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from contract import store as store_format
from contract.publishing import publish
from tests.app.support import TestClient, running
from tests.support import copy_of, tiny_series, train_tiny


@pytest.fixture(scope="session")
def trained_store(tiny_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's store, made once; copy it (``store``) before changing anything."""
    root = tmp_path_factory.mktemp("trained") / "store"
    for name, source in (
        ("linear", "tiny-linear"),
        ("gru", "tiny-gru"),
        ("dense", "tiny-dense-h3"),
    ):
        publish(root, name, copy_of(store_format.version_dir(tiny_store, source, 1)))
    train_tiny(root, "linear", "linear", seed=2)
    store_format.write_labels(root, "linear", {"stable": 1, "canary": 2})
    return root


@pytest.fixture
def store(trained_store: Path, tmp_path: Path) -> Path:
    """A private copy of the session's store, free to change."""
    return Path(shutil.copytree(trained_store, tmp_path / "store"))


@pytest.fixture(scope="session")
def series() -> np.ndarray:
    """The series the models were trained on, shape (400,)."""
    return tiny_series().values


@pytest.fixture(scope="session")
def shared_client(trained_store: Path) -> Iterator[TestClient]:
    """One app over the session store, for the tests that change nothing."""
    with running(trained_store) as client:
        yield client


@pytest.fixture
def client(store: Path) -> Iterator[TestClient]:
    """An app over a private copy of the store."""
    with running(store) as client:
        yield client
