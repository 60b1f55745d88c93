"""TensorFlow's devices."""

from __future__ import annotations

import pytest
import tensorflow as tf

from app.runtime import configure_devices


def test_auto_uses_what_tensorflow_finds() -> None:
    devices = configure_devices("auto")
    assert [d.name for d in devices] == [d.name for d in tf.config.list_logical_devices()]
    assert any(d.device_type == "CPU" for d in devices)
    gpus = tf.config.list_physical_devices("GPU")
    assert all(tf.config.experimental.get_memory_growth(g) for g in gpus)


def test_gpu_when_required() -> None:
    if tf.config.list_physical_devices("GPU"):
        assert any(d.device_type == "GPU" for d in configure_devices("gpu"))
    else:
        with pytest.raises(RuntimeError, match="no GPU"):
            configure_devices("gpu")
