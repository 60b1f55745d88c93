"""A panel's windows as a global network reads them: left-padded, masked and scaled. Pure numpy.

A global version (kind ``global``) reads the last ``lookback`` values of any series; a series
shorter than that is padded on the left with zeros and a mask says which values are data
(1) and which are padding (0), so a short series is read, never refused, once it has
:data:`MIN_INPUTS` values. Each window is divided by its own scale, the mean absolute value of
its data (:func:`window_scale`), so series of any size look alike to the network; training
(``training.global_networks``) and the service (``app.global_network``) both frame windows here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

# The fewest values a window holds: one gives a scale but no shape, so two ("a couple").
MIN_INPUTS = 2


def last_windows(panel: Sequence[Array], lookback: int) -> tuple[Array, Array]:
    """The last ``lookback`` values of every series, left-padded: ``(values, mask)``, each
    ``(k, lookback)``, mask 1 where a value is data."""
    values = np.zeros((len(panel), lookback))
    mask = np.zeros((len(panel), lookback))
    for i, series in enumerate(panel):
        tail = np.asarray(series, dtype=np.float64)[-lookback:]
        if len(tail):
            values[i, -len(tail) :] = tail
            mask[i, -len(tail) :] = 1.0
    return values, mask


def windows_ending(series: Array, ends: npt.ArrayLike, lookback: int) -> tuple[Array, Array]:
    """The windows of ``series`` ``(n,)`` that end just before each of ``ends`` ``(k,)``,
    left-padded to ``lookback``: ``(values, mask)``, each ``(k, lookback)``."""
    at = np.asarray(ends, dtype=np.int64)[:, None] - lookback + np.arange(lookback)[None, :]
    data = at >= 0
    values = np.where(data, np.asarray(series, dtype=np.float64)[np.maximum(at, 0)], 0.0)
    return values, data.astype(np.float64)


def windows_from(
    panel: Sequence[Array], starts: Sequence[int], lookback: int, dtype: npt.DTypeLike = np.float64
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]:
    """:func:`windows_ending` for every position of every series at once: the windows ending
    just before ``starts[i]``, ``starts[i] + 1``, ... ``len(panel[i]) - 1`` of each series, in
    series order; ``(values, mask)``, each ``(sum of the counts, lookback)`` in ``dtype``.

    One gather over the series laid end to end, each after ``lookback`` zeros of padding, so a
    panel of thousands of series is framed without a Python loop over windows.
    """
    lengths = np.array([len(s) for s in panel], dtype=np.int64)
    first = np.minimum(np.asarray(starts, dtype=np.int64), lengths)
    counts = lengths - first
    # Where each series' padding begins in the laid-out buffer.
    offsets = np.concatenate([[0], np.cumsum(lengths + lookback)[:-1]]).astype(np.int64)
    flat = np.zeros(int((lengths + lookback).sum()), dtype=dtype)
    data = np.zeros(len(flat), dtype=dtype)
    for series, at, n in zip(panel, offsets, lengths, strict=True):
        flat[at + lookback : at + lookback + n] = series
        data[at + lookback : at + lookback + n] = 1
    # The window ending before position e of series i starts at offsets[i] + e in the buffer.
    ends = np.repeat(offsets + first, counts) + (
        np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    at = ends[:, None] + np.arange(lookback)[None, :]
    return flat[at], data[at]


def window_scale(values: Array, mask: Array) -> Array:
    """Each window's scale ``(k,)``: the mean absolute value of its data, 1 where that is 0.

    ``values``, ``mask`` ``(k, L)``. The guard keeps an all-zero window (or one of zeros and
    padding) at its own size instead of dividing by zero.
    """
    count = np.maximum(mask.sum(axis=1), 1.0)
    scale = (np.abs(values) * mask).sum(axis=1) / count
    return np.where(scale > 0, scale, 1.0)
