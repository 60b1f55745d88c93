"""Session-wide fixtures: every architecture trained for one epoch on a short series, once.

The short series has the synthetic shape with a period of 50 instead of 365, so that 400 values
hold several seasons and every baseline has room before the split at 300.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.training.support import MULTI_STEP, WINDOW
from training.data import Series, synthetic_values


@pytest.fixture(scope="session")
def short_series() -> Series:
    """400 synthetic values with period 50, trained on the first 300."""
    return Series("short", synthetic_values(length=400, period=50), split=300, season_length=50)


@pytest.fixture(scope="session")
def model_store(tmp_path_factory: pytest.TempPathFactory, short_series: Series) -> Path:
    """A store with version 1 of every architecture (horizon 1) and of MULTI_STEP's (``-h3``)."""
    from training.architectures import ARCHITECTURES
    from training.pipeline import TrainConfig, train_and_publish

    root = tmp_path_factory.mktemp("store")
    plans = [(arch, 1, None) for arch in ARCHITECTURES]
    plans += [(arch, h, f"short-{arch}-h{h}") for arch, h in MULTI_STEP.items()]
    for arch, horizon, name in plans:
        config = TrainConfig(
            arch,
            short_series,
            window_size=WINDOW,
            horizon=horizon,
            epochs=1,
            verbose=False,
            name=name,
        )
        train_and_publish(config, root)
    return root


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
