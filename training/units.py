"""One unit of a run: one model trained (or combined) and published, its failure its own.

``forecast-train`` trains a series' units one after another (:mod:`training.cli`), and a
panel's units through an engine (:mod:`training.fanout`), in this process or as Ray tasks; every
unit goes through :func:`attempt`. A model that cannot be trained on its data (a DataError, a
diverged loss) comes back as a :class:`Failed` row and the run goes on; a store that cannot be
written ends the run with a :class:`CliError`. TensorFlow is imported only when a unit runs.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from contract.statistical import StatisticalError
from training.data import DataError

if TYPE_CHECKING:
    from training.pipeline import Published, TrainConfig
    from training.statistical import StatisticalConfig

    Unit = TrainConfig | StatisticalConfig


class CliError(Exception):
    """A problem to report as one line; ``status`` is the exit code."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Failed:
    """A requested model that was not published, and why."""

    name: str
    reason: str


def _disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError):
        return error.errno == errno.ENOSPC
    # TensorFlow's file system raises its own OpError, with only strerror(ENOSPC) in the message.
    return os.strerror(errno.ENOSPC) in str(error)


def attempt(
    model_name: str, store_path: Path, work: Callable[[], Published]
) -> tuple[Published | Failed, float]:
    """``work()`` and its seconds; a failure of this model alone a Failed, a full disk a CliError."""
    started = time.perf_counter()
    import tensorflow as tf

    from training.pipeline import TrainingDiverged

    outcome: Published | Failed
    try:
        outcome = work()
    except (DataError, TrainingDiverged, StatisticalError) as e:
        outcome = Failed(model_name, " ".join(str(e).split()))
    except (OSError, tf.errors.OpError) as e:
        if _disk_full(e):
            raise CliError(
                f"no space left on device while writing {model_name} to {store_path};"
                " nothing was published for it"
            ) from None
        if isinstance(e, OSError):
            raise CliError(f"cannot write {model_name} to {store_path}: {e}") from None
        raise
    return outcome, time.perf_counter() - started


def train_one(config: Unit, store_path: Path) -> tuple[Published | Failed, float]:
    """Train and publish one config as one unit: a network
    (:func:`training.pipeline.train_and_publish`) or a statistical model
    (:func:`training.statistical.fit_and_publish`)."""
    # Looked up when a unit runs, so that importing this module does not import TensorFlow.
    from training import pipeline, statistical

    if isinstance(config, statistical.StatisticalConfig):
        stat = config
        return attempt(
            stat.model_name, store_path, lambda: statistical.fit_and_publish(stat, store_path)
        )
    net = config
    return attempt(net.model_name, store_path, lambda: pipeline.train_and_publish(net, store_path))
