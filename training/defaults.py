"""The rules that size a run from the data: its input window, its epochs, what its network reads.

The course tuned its windows on 1,461 daily values with a yearly season (365), trained on the
first 1,000: 400 for the models that must see a whole season at once (linear, dense), WaveNet's
receptive field of 64, and 30 for the recurrent and convolutional ones. Here they are derived:

* an architecture with ``season_window`` sees a season plus a margin: ``1.1 * season`` to two
  significant figures, and at least ``season + 1`` (365 -> 400, 52 -> 57, 48 -> 53, 12 -> 13,
  4 -> 5); with no season (1) it takes its own short window instead;
* every other architecture keeps its own window (WaveNet's receptive field, 64; the
  recurrent ones' 30): a property of the model, not of the series;
* either is capped at half of the fit part (the training part less its early-stopping
  hold-out, :func:`fit_length`), so at least as many windows are left to learn from as a window
  has values, and a hold-out window always fits. A window below :data:`MIN_WINDOW` is refused.

On the course's series (fit part 800 of 1,000) the cap is 400, so all of today's windows stand.
An explicit ``--window`` is not capped; it only has to fit (:func:`training.data.check_length`).

The most epochs follow the same course: each architecture's epoch count was set for a fit part
of 800 values, so a longer fit part gets proportionally fewer epochs (the same number of
gradient steps: 500 epochs on 800 values, 194 on 2,064), and a shorter one the course's count.
Early stopping still ends most runs sooner. An explicit ``--epochs`` wins.

What the network reads follows from how the fit part's values change. The lag-1
autocorrelation r of its first differences is -0.5 for noise around a steady level (differencing
white noise gives exactly that) and 0 for a random walk (its steps are independent); a trend or
a slow cycle, whose steps follow each other, gives more. Below -0.25, halfway between the two,
the changes are mostly noise: the network reads levels, each window centred on its first value,
and can average a noisy season. Otherwise it reads first differences and forecasts the change
from the last value, so that a network with nothing to say (small weights, little data) falls
back on the naive forecast rather than on the window's first value. An explicit ``--inputs``
wins.

A causal convolution stack (WaveNet) reads positional inputs instead, so that its windowed
forecasts are one pass over the series (:mod:`training.export`): first differences as above,
or, where the rule says levels, each value less the mean of the values up to it over one
receptive field (``local_level``), which averages the noise a single first value carries. Its
window is the receptive field plus the values the first input needs (1 for a difference, the
span less one for a local level: 65 and 127 for WaveNet), capped as above; a local level
spans what the capped window holds beyond the receptive field. A window that cannot hold one
value beyond the receptive field keeps per-window inputs (``level`` or ``difference``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from training.data import DataError, fit_length, longest_window
from training.seasons import autocorrelation

MIN_WINDOW = 3
SEASON_MARGIN = 1.1
COURSE_FIT_LENGTH = 800  # the course's 1,000 training values less their 20% hold-out
NOISY_CHANGES = -0.25  # halfway between white noise's differences (-0.5) and a random walk's (0)


def inputs(train: npt.NDArray[np.float64], holdout: float = 0.2) -> tuple[str, str]:
    """``"level"`` or ``"difference"`` for a training part, and why (see the module's notes)."""
    changes = np.diff(train[: fit_length(len(train), holdout)])
    if len(changes) < 3 or not changes.any():
        return "difference", "too few changes to tell: differences, the naive fallback"
    r = float(autocorrelation(changes, 1)[1])
    if r < NOISY_CHANGES:
        return "level", f"changes mostly noise (lag-1 autocorrelation {r:.2f} < {NOISY_CHANGES})"
    return "difference", f"changes persist (lag-1 autocorrelation {r:.2f} >= {NOISY_CHANGES})"


def one_pass(
    reach: int, inputs: str, given: int | None, cap: int
) -> tuple[int, str, int, str] | None:
    """A causal stack's window, inputs, local-level span and why, for one-pass forecasts.

    ``reach`` is its receptive field, ``inputs`` what :func:`inputs` chose (``level`` becomes a
    local level) or was given, ``given`` an explicit window and ``cap`` :func:`max_window`.
    None when the window cannot hold a value beyond the receptive field.
    """
    lead = 1 if inputs == "difference" else reach - 1
    wanted = reach + lead
    window = given if given is not None else min(wanted, cap)
    if window < reach + 1:
        return None
    capped = (
        "" if given is not None or window == wanted else f", capped at {cap} (half the fit part)"
    )
    if inputs == "difference":
        why = f"receptive field {reach} + the value a first difference needs: {wanted}{capped}"
        return window, "difference", 0, why
    span = window - reach + 1
    why = (
        f"receptive field {reach} + {span - 1} values for a local level over {span}:"
        f" {reach + span - 1}{capped}"
    )
    return window, "local_level", span, why


def max_epochs(own: int, train_length: int, holdout: float = 0.2) -> tuple[int, str]:
    """The architecture's own epochs, scaled down on a fit part longer than the course's."""
    fit = fit_length(train_length, holdout)
    if fit <= COURSE_FIT_LENGTH:
        return own, f"the architecture's own: {own}"
    scaled = max(1, math.ceil(own * COURSE_FIT_LENGTH / fit))
    return scaled, f"the architecture's {own} x {COURSE_FIT_LENGTH} / {fit} fit values: {scaled}"


def max_window(train_length: int, horizon: int, holdout: float) -> int:
    """The longest default window: half the fit part, no longer than :func:`longest_window`."""
    return min(
        fit_length(train_length, holdout) // 2, longest_window(train_length, horizon, holdout)
    )


def _two_figures(value: float) -> int:
    digits = math.floor(math.log10(value)) + 1
    unit = 10 ** max(0, digits - 2)
    return int(round(value / unit) * unit)


def season_window(season_length: int) -> int:
    """A season plus a margin of about a tenth, to two significant figures."""
    return max(season_length + 1, _two_figures(SEASON_MARGIN * season_length))


def window_size(
    own: int,
    sees_season: bool,
    season_length: int,
    train_length: int,
    horizon: int = 1,
    holdout: float = 0.2,
) -> tuple[int, str]:
    """The default window of an architecture and a short reason; DataError if none fits.

    ``own`` is the architecture's own window, ``sees_season`` whether it must see a whole season.
    """
    if sees_season and season_length > 1:
        wanted, why = season_window(season_length), f"season {season_length} + 10%, two figures"
    else:
        wanted, why = own, "the architecture's own"
    cap = max_window(train_length, horizon, holdout)
    if cap < MIN_WINDOW:
        raise DataError(
            f"series too short: the training part has {train_length} values, which leaves no"
            f" window of at least {MIN_WINDOW} values with horizon {horizon} and a"
            f" {holdout:.0%} hold-out"
        )
    if wanted > cap:
        fit = fit_length(train_length, holdout)
        return cap, f"{why}: {wanted}, capped at half the fit part ({fit} values): {cap}"
    return wanted, f"{why}: {wanted}"
