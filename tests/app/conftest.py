"""Real tiny SavedModels, trained once per session, and the real app around a copy of them.

The session store holds ``linear`` versions 1 and 2 (labels stable -> 1, canary -> 2), ``gru``
(a sequence model, horizon 1) and ``dense`` (horizon 3), all with window 16, trained for a few
epochs on 300 values of the course's series with a season of 50.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.app.support import TestClient, course_series, publish, running
from training import store as store_format


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's store, trained once; copy it (``store``) before changing anything."""
    root = tmp_path_factory.mktemp("trained") / "store"
    publish(root, "linear", "linear", seed=1)
    publish(root, "linear", "linear", seed=2)
    publish(root, "gru", "gru", epochs=1)
    publish(root, "dense", "dense", horizon=3)
    store_format.write_labels(root, "linear", {"stable": 1, "canary": 2})
    return root


@pytest.fixture
def store(trained_store: Path, tmp_path: Path) -> Path:
    """A private copy of the session's store, free to change."""
    return Path(shutil.copytree(trained_store, tmp_path / "store"))


@pytest.fixture(scope="session")
def series() -> np.ndarray:
    """The series the models were trained on, shape (400,)."""
    return course_series().values


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
