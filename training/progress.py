"""One line of progress per model while it trains, in place of Keras' line per epoch."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import keras

BAR_WIDTH = 20
# Off a terminal (a log file, CI) a line is written at most this often, and one at the end.
LOG_EVERY_SECONDS = 10.0


class FitProgress(keras.callbacks.Callback):
    """Reports one model's training: on a terminal one line rewritten after every epoch (epoch
    n/most, the best hold-out loss so far, a bar); elsewhere a line every
    :data:`LOG_EVERY_SECONDS` at most. Either way it ends with one line: the epochs run, the best
    epoch and its hold-out loss, the seconds.

    One instance follows the fit on the hold-out and, when ``refit``, the fit on the whole
    training part after it; the last line comes after the refit (or after a search whose loss
    diverged, which no refit follows).
    """

    def __init__(
        self,
        name: str,
        *,
        refit: bool = False,
        stream: TextIO | None = None,
        every: float = LOG_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.name = name
        self.refit = refit
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.every = every
        self.clock = clock
        self.fits = 0
        self.started = self.last_line = 0.0
        self.epochs = self.most = 0
        self.searched = 0  # epochs of the hold-out search, once it has ended
        self.best: tuple[int, float] | None = None  # (epoch from 1, hold-out loss)
        self.diverged = False
        self.width = 0  # of the line on the terminal, to blank what a shorter one leaves

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.fits == 0:
            self.started = self.last_line = self.clock()
        self.fits += 1
        self.epochs, self.most = 0, int(self.params.get("epochs") or 0)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.epochs = epoch + 1
        loss, hold = logs.get("loss"), logs.get("val_loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = True
        if (
            hold is not None
            and math.isfinite(float(hold))
            and (self.best is None or float(hold) < self.best[1])
        ):
            self.best = (self.epochs, float(hold))
        if self.tty:
            self._show(self.line())
        elif self.clock() - self.last_line >= self.every:
            self._log(self.line())

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.fits == 1:
            self.searched = self.epochs
            if self.refit and not self.diverged:
                return  # the refit follows; the last line comes after it
        if self.tty:
            self._show(self.summary())
            self.stream.write("\n")
            self.stream.flush()
        else:
            self._log(self.summary())

    def line(self) -> str:
        """Where training is: the fit, its epoch, the best hold-out loss so far, a bar."""
        what = "refit epoch" if self.fits > 1 else "epoch"
        filled = round(BAR_WIDTH * self.epochs / self.most) if self.most else 0
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return (
            f"  {self.name} [{bar}] {what} {self.epochs}/{self.most}, {self._best()},"
            f" {self.clock() - self.started:.0f} s"
        )

    def summary(self) -> str:
        """The model's last line: epochs run, best epoch and its hold-out loss, seconds."""
        parts = [_epochs(self.searched), self._best()]
        if self.fits > 1:
            parts.append(f"refit {_epochs(self.epochs)}")
        if self.diverged:
            parts.append("the loss diverged")
        return f"  {self.name}: {', '.join(parts)}, {self.clock() - self.started:.1f} s"

    def _best(self) -> str:
        if self.best is None:
            return "no hold-out loss"
        epoch, loss = self.best
        return f"best hold-out loss {loss:.4g} at epoch {epoch}"

    def _show(self, text: str) -> None:
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def _log(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self.last_line = self.clock()


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"
