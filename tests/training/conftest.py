"""The training suite's fixtures over the session's tiny series and store (``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.support import WINDOW, tiny_series
from training.data import Series


@pytest.fixture(scope="session")
def short_series() -> Series:
    """400 synthetic values with a season of 50, trained on the first 300."""
    return tiny_series()


@pytest.fixture(scope="session")
def model_store(tiny_store: Path) -> Path:
    """Version 1 of every architecture (``tiny-<arch>``) and of the multi-step ones (``-h3``)."""
    return tiny_store


@pytest.fixture(scope="session")
def trained_model(short_series: Series) -> Callable[..., Any]:
    """``trained_model(arch, horizon=1)``: :func:`training.pipeline.train`'s result, trained once."""
    from training.pipeline import TrainConfig, Trained, train

    @cache
    def get(arch: str, horizon: int = 1) -> Trained:
        config = TrainConfig(
            arch, short_series, window_size=WINDOW, horizon=horizon, epochs=1, verbose=False
        )
        return train(config)

    return get
