"""Training progress: one line per model, in place on a terminal, every so often in a log."""

from __future__ import annotations

import io
import math
import re

import keras
import numpy as np
import pytest

from training.progress import FitProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _drive(
    progress: FitProgress,
    clock: _Clock,
    losses: list[float],
    holds: list[float] | None,
    step: float,
) -> None:
    """One fit as Keras calls a callback: an epoch every ``step`` seconds."""
    progress.set_params({"epochs": len(losses) + 5, "steps": 3, "verbose": 0})
    progress.on_train_begin()
    for epoch, loss in enumerate(losses):
        clock.now += step
        logs = {"loss": loss} | ({} if holds is None else {"val_loss": holds[epoch]})
        progress.on_epoch_end(epoch, logs)
    progress.on_train_end()


def test_a_real_fit_off_a_terminal_prints_one_line_with_the_best_epoch() -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(loss="huber", optimizer=keras.optimizers.Adam(0.05))
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    log = io.StringIO()
    progress = FitProgress("tiny-dense", stream=log)
    history = model.fit(
        x[:48], y[:48], validation_data=(x[48:], y[48:]), epochs=6, verbose=0, callbacks=[progress]
    )
    holds = history.history["val_loss"]
    best = int(np.argmin(holds))
    (line,) = log.getvalue().splitlines()  # under 10 s: the last line only
    found = re.fullmatch(
        r"  tiny-dense: 6 epochs, best hold-out loss (\S+) at epoch (\d+), (\d+\.\d) s", line
    )
    assert found, line
    assert int(found[2]) == best + 1
    assert float(found[1]) == pytest.approx(holds[best], rel=1e-3)


def test_off_a_terminal_a_line_every_ten_seconds_at_most_then_the_last() -> None:
    clock, log = _Clock(), io.StringIO()
    progress = FitProgress("m", stream=log, clock=clock)
    losses = [1.0 / (e + 1) for e in range(20)]
    _drive(progress, clock, losses, [2 * v for v in losses], step=3.0)  # 60 s in all
    *interim, last = log.getvalue().splitlines()
    # Epochs end at 3, 6, ... 60 s: a line once 10 s have passed since the last one.
    assert re.findall(r"epoch (\d+)/25", "\n".join(interim)) == ["4", "8", "12", "16", "20"]
    assert (
        interim[0]
        == "  m [###.................] epoch 4/25, best hold-out loss 0.5 at epoch 4, 12 s"
    )
    assert last == "  m: 20 epochs, best hold-out loss 0.1 at epoch 20, 60.0 s"


def test_on_a_terminal_one_line_rewritten_in_place() -> None:
    clock, screen = _Clock(), _Terminal()
    progress = FitProgress("m", stream=screen, clock=clock)
    _drive(progress, clock, [0.5, 0.4, 0.3], [0.9, 0.7, 0.8], step=0.5)
    text = screen.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    shown = text.rstrip("\n").split("\r")[1:]
    assert [s.split(",")[0] for s in shown[:3]] == [
        f"  m [{'#' * n}{'.' * (20 - n)}] epoch {e}/8" for e, n in ((1, 2), (2, 5), (3, 8))
    ]
    assert "best hold-out loss 0.7 at epoch 2" in shown[2]
    assert shown[3].rstrip() == "  m: 3 epochs, best hold-out loss 0.7 at epoch 2, 1.5 s"
    # A shorter line blanks what the longer one before it left on the terminal.
    assert len(shown[3]) >= len(shown[2])


def test_a_refit_continues_the_line_and_the_last_line_follows_it() -> None:
    clock, log = _Clock(), io.StringIO()
    progress = FitProgress("m", refit=True, stream=log, clock=clock, every=math.inf)
    _drive(progress, clock, [0.5, 0.4, 0.3, 0.3], [0.9, 0.6, 0.7, 0.8], step=1.0)
    assert log.getvalue() == ""  # the search's end is not the model's
    _drive(progress, clock, [0.5, 0.4], None, step=1.0)
    assert log.getvalue() == (
        "  m: 4 epochs, best hold-out loss 0.6 at epoch 2, refit 2 epochs, 6.0 s\n"
    )


def test_a_search_that_diverged_ends_the_line_as_no_refit_follows() -> None:
    clock, log = _Clock(), io.StringIO()
    progress = FitProgress("m", refit=True, stream=log, clock=clock, every=math.inf)
    _drive(progress, clock, [0.5, math.nan], [0.9, math.nan], step=1.0)
    assert log.getvalue() == (
        "  m: 2 epochs, best hold-out loss 0.9 at epoch 1, the loss diverged, 2.0 s\n"
    )
