"""The season length a series shows: the lag of its clearest autocorrelation peak. Pure numpy.

The season a time column's frequency usually has comes with :func:`training.data.infer_frequency`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def autocorrelation(values: Array, max_lag: int) -> Array:
    """Sample autocorrelation of ``values`` after removing a straight-line trend; ``(max_lag + 1,)``."""
    x = np.asarray(values, dtype=np.float64)
    t = np.arange(len(x), dtype=np.float64)
    residual = x - np.polyval(np.polyfit(t, x, 1), t)
    denominator = float(residual @ residual)
    if denominator == 0:
        return np.zeros(max_lag + 1)
    return np.array(
        [1.0] + [float(residual[k:] @ residual[:-k]) / denominator for k in range(1, max_lag + 1)]
    )


SEASON_MIN_ACF = 0.3


def season_from_autocorrelation(values: Array) -> int:
    """The lag (2 .. n/3) of the first clear autocorrelation peak, or 1 when there is none.

    A peak counts when it is a local maximum, above both 0.3 and 2/sqrt(n) (the 95% band of
    white noise), and higher than the lowest value before it by the same margin: a season
    shows as a dip and a rise again, while a trend's or random walk's correlation only decays.
    The first such peak is the season; later ones are mostly its multiples, and on a short
    series a multiple can come out a little higher by chance (lynx: 0.44 at 10, 0.46 at 19).
    """
    n = len(values)
    max_lag = n // 3
    if max_lag < 3:
        return 1
    acf = autocorrelation(values, max_lag + 1)
    bar = max(SEASON_MIN_ACF, 2 / np.sqrt(n))
    for k in range(2, max_lag + 1):
        peak = acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1]
        if peak and acf[k] > bar and acf[k] - acf[1:k].min() > bar:
            return k
    return 1
