"""TensorFlow's devices: the GPU when there is one (memory grown on demand), else the CPU."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import tensorflow as tf

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Device:
    """A logical device TensorFlow places work on."""

    name: str
    device_type: str


def configure_devices(device: Literal["auto", "cpu", "gpu"]) -> list[Device]:
    """Set TensorFlow up for ``device`` and return the devices it will use.

    ``auto`` uses every GPU present with memory growth on, so several workers can share a card,
    and the CPU when there is none; ``cpu`` hides the GPUs; ``gpu`` refuses to run without one.
    Device set-up is per process: a second call (a second app in one test process) only reports.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if device == "gpu" and not gpus:
        raise RuntimeError("FORECAST_DEVICE is 'gpu' but TensorFlow finds no GPU")
    try:
        if device == "cpu":
            tf.config.set_visible_devices([], "GPU")
        else:
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:
        # Raised once the runtime is initialised; the first configuration stands.
        logger.info("TensorFlow devices were already initialised; keeping their configuration")
    devices = [Device(d.name, d.device_type) for d in tf.config.list_logical_devices()]
    logger.info("TensorFlow devices: %s", ", ".join(d.name for d in devices))
    return devices
