"""TensorFlow's devices: the GPU when there is one (memory grown on demand), else the CPU.

The service's first import of TensorFlow is here (``app.main`` imports this module before any
other of the app's), inside :func:`contract.host.cuda_logs_dropped` like the device search, so a
host without NVIDIA's driver starts without CUDA's complaints.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Literal

from contract import host

with host.cuda_logs_dropped():
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
    # Asked for a GPU, the user sees TensorFlow's own account of why there is none.
    with contextlib.nullcontext() if device == "gpu" else host.cuda_logs_dropped():
        gpus = tf.config.list_physical_devices("GPU")
    if device == "gpu" and not gpus:
        driver = "" if host.has_nvidia_driver() else " (this host has no NVIDIA driver)"
        raise RuntimeError(f"FORECAST_DEVICE is 'gpu' but TensorFlow finds no GPU{driver}")
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
