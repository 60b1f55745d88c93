"""Whether this host can run CUDA, and TensorFlow's CUDA logs kept off a host that cannot.

TensorFlow's wheel looks for CUDA on every start: importing it logs ``Could not find cuda
drivers``, and finding its devices logs ``E0000 ... cuda_platform.cc:52] failed call to cuInit:
... CUDA error`` (once a process), CUDA's libraries installed or not. Hiding the GPUs
(``CUDA_VISIBLE_DEVICES`` empty or ``-1``) silences neither line. On a host without NVIDIA's
driver they only alarm, so both halves start TensorFlow inside :func:`cuda_logs_dropped`. Pure
python: importing this never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

# What NVIDIA's kernel driver creates: its version file, and a device node per GPU.
NVIDIA_DRIVER_FILES = (Path("/proc/driver/nvidia/version"), Path("/dev/nvidia0"))
# A log line from one of TensorFlow's CUDA sources (cuda_platform.cc, cudart_stub.cc,
# cuda_dnn.cc, ...), in absl's format: "E0000 00:00:... 123 cuda_platform.cc:52] ...".
_CUDA_LOG_LINE = re.compile(rb"\b(?:cuda\w*|cudart_stub)\.cc:\d+\]")


def has_nvidia_driver() -> bool:
    """True when NVIDIA's driver is loaded on this host (any of :data:`NVIDIA_DRIVER_FILES`)."""
    return any(path.exists() for path in NVIDIA_DRIVER_FILES)


def cuda_logs_are_noise() -> bool:
    """No NVIDIA driver here, and the user has not chosen GPUs with ``CUDA_VISIBLE_DEVICES``."""
    return "CUDA_VISIBLE_DEVICES" not in os.environ and not has_nvidia_driver()


def is_cuda_log_line(line: bytes) -> bool:
    """True for a line TensorFlow's CUDA code wrote (see :data:`_CUDA_LOG_LINE`)."""
    return _CUDA_LOG_LINE.search(line) is not None


@contextlib.contextmanager
def cuda_logs_dropped() -> Iterator[None]:
    """On a host where CUDA's logs are noise, drop them from what reaches file descriptor 2.

    TensorFlow's C++ writes to the descriptor directly, so it is pointed at a temporary file
    while the block runs, and everything else written there is written back afterwards, in
    order, even when the block raises. Elsewhere (a GPU host, ``CUDA_VISIBLE_DEVICES`` set)
    nothing is held: every line is TensorFlow's to show.
    """
    if not cuda_logs_are_noise():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                held.seek(0)
                kept = b"".join(line for line in held if not is_cuda_log_line(line))
                with open(2, "wb", closefd=False) as stderr:
                    stderr.write(kept)
    finally:
        os.close(saved)
