"""Where a version is in the registry's life: the one name the registry and the wire types share.

A module of its own so that the wire contract (``GET /models``, TF Serving's and the Open
Inference Protocol's status bodies) can name a version's state without importing the registry,
which loads SavedModels and so imports TensorFlow.
"""

from __future__ import annotations

from enum import StrEnum


class VersionState(StrEnum):
    """Where a version is in its life, as TF Serving names it (FAILED: could not be loaded)."""

    LOADING = "LOADING"
    AVAILABLE = "AVAILABLE"
    FAILED = "FAILED"
