"""A call under a time cap: run in a child process, stopped once it runs past the cap.

statsforecast's searches cannot be interrupted from inside (a Python thread cannot be stopped),
so a capped call runs in a forked child: the child has the parent's modules already, and no
main module to import again. Its result comes back pickled through a pipe; an exception of one
of the ``expected`` types comes back as itself, anything else as :class:`CappedFailed`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import Any

from training.data import DataError

DEFAULT_ARIMA_TIME_CAP = 30.0
ARIMA_TIME_CAP_ENV = "FORECAST_ARIMA_TIME_CAP"


class CapError(DataError):
    """The time cap setting is not a positive number of seconds (a bad input, reported as one)."""


def arima_time_cap() -> float:
    """AutoARIMA's time cap: ``FORECAST_ARIMA_TIME_CAP`` seconds, else the default."""
    text = os.environ.get(ARIMA_TIME_CAP_ENV)
    if text is None:
        return DEFAULT_ARIMA_TIME_CAP
    try:
        value = float(text)
    except ValueError:
        raise CapError(f"{ARIMA_TIME_CAP_ENV} must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise CapError(f"{ARIMA_TIME_CAP_ENV} must be positive, got {text!r}")
    return value


class CappedFailed(RuntimeError):
    """The child ended without a result (it crashed, or raised an unexpected error)."""


def _body(
    pipe: Any,
    work: Callable[..., Any],
    args: tuple[Any, ...],
    expected: tuple[type[BaseException], ...],
) -> None:
    try:
        pipe.send(("ok", work(*args)))
    except expected as e:
        pipe.send(("raised", e))
    except Exception as e:  # reported to the parent, which decides what it means
        pipe.send(("failed", f"{type(e).__name__}: {e}"))


def run_capped(
    work: Callable[..., Any],
    args: tuple[Any, ...],
    cap: float,
    expected: tuple[type[BaseException], ...] = (),
) -> tuple[bool, Any]:
    """``(True, work(*args))``, or ``(False, None)`` when it runs past ``cap`` seconds."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_body, args=(send, work, args, expected), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(cap):
            return False, None
        status, result = receive.recv()
    except EOFError:
        raise CappedFailed(f"the process ended without a result (exit {child.exitcode})") from None
    finally:
        child.kill()
        child.join()
        receive.close()
    if status == "raised":
        raise result
    if status == "failed":
        raise CappedFailed(result)
    return True, result
