"""The one rule that sizes a run's input window from the data. Pure python.

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
"""

from __future__ import annotations

import math

from training.data import DataError, fit_length

MIN_WINDOW = 3
SEASON_MARGIN = 1.1
COURSE_FIT_LENGTH = 800  # the course's 1,000 training values less their 20% hold-out


def max_epochs(own: int, train_length: int, holdout: float = 0.2) -> tuple[int, str]:
    """The architecture's own epochs, scaled down on a fit part longer than the course's."""
    fit = fit_length(train_length, holdout)
    if fit <= COURSE_FIT_LENGTH:
        return own, f"the architecture's own: {own}"
    scaled = max(1, math.ceil(own * COURSE_FIT_LENGTH / fit))
    return scaled, f"the architecture's {own} x {COURSE_FIT_LENGTH} / {fit} fit values: {scaled}"


def max_window(train_length: int, horizon: int, holdout: float) -> int:
    """The longest default window: half the fit part, leaving room for the horizon."""
    fit = fit_length(train_length, holdout)
    return min(fit // 2, fit - horizon - 1)


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
