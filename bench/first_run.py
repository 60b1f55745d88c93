"""A fresh clone's first ``make serve``: seconds from the command to ``/ready`` answering 200.

Clones the repository into an empty folder, runs ``make serve`` there (in its own process group,
its output timestamped line by line), polls ``/ready`` every half second, then stops the whole
group. The wall time is split by make's own echo of each command: install (venv and pip) until
``forecast-train`` starts, train until ``uvicorn`` starts, load until ``/ready`` says 200.
Standard library only, so any Python 3.11 runs it. Prints the figures as markdown, for
bench/results/first_run.md.

Usage: ``python bench/first_run.py [--clone-into /tmp/firstrun] [--port 8000]``. The folder must
not exist; ``../shared`` must sit beside it (the README's layout).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def _read_lines(stream: IO[bytes], started: float, lines: list[tuple[float, str]]) -> None:
    for raw in stream:
        lines.append((time.monotonic() - started, raw.decode(errors="replace").rstrip("\n")))


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as answer:
            return int(answer.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _first(lines: list[tuple[float, str]], pattern: str) -> float | None:
    return next((t for t, line in lines if re.search(pattern, line)), None)


def main() -> int:
    """Clone, time ``make serve`` to ready, print the figures; 1 if it never got ready."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clone-into", type=Path, default=Path("/tmp/firstrun"))
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait at most")
    args = parser.parse_args()
    clone = args.clone_into
    if clone.exists():
        parser.error(f"{clone} exists: a first run needs a fresh folder")
    if not (clone.parent / "shared").exists():
        parser.error(f"no {clone.parent / 'shared'}: link the shared folder beside the clone")
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    commit = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    load_before = os.getloadavg()
    when = datetime.datetime.now(datetime.UTC)
    started = time.monotonic()
    make = subprocess.Popen(
        ["make", "serve", f"PORT={args.port}", "HOST=127.0.0.1"],
        cwd=clone,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: uvicorn and forecast-train stop with it
    )
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=_read_lines, args=(make.stdout, started, lines))
    reader.start()
    ready_at = None
    try:
        while time.monotonic() - started < args.timeout and make.poll() is None:
            if _ready(args.port):
                ready_at = time.monotonic() - started
                break
            time.sleep(0.5)
    finally:
        load_after = os.getloadavg()
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)
            try:
                make.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
        reader.join(timeout=10)
    venv = subprocess.run(
        ["du", "-sh", str(clone / ".venv")], capture_output=True, text=True
    ).stdout.split()
    (clone / "first_run.log").write_text(
        "".join(f"{t:8.1f}  {line}\n" for t, line in lines), encoding="utf-8"
    )

    trains = _first(lines, r"^\S*/forecast-train ")
    serves = _first(lines, r"uvicorn app\.main:app")
    text = "\n".join(line for _, line in lines)
    print(f"- commit {commit}, {when:%Y-%m-%d %H:%M} UTC; clone {clone}, log {clone}/first_run.log")
    print(
        f"- machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}"
        f" {platform.release()}, Python {platform.python_version()} (make's python3:"
        f" {shutil.which('python3')})"
    )
    print(
        f"- load average (1, 5, 15 min) before {', '.join(f'{v:.2f}' for v in load_before)};"
        f" after {', '.join(f'{v:.2f}' for v in load_after)}"
    )
    print(f"- venv: {venv[0] if venv else '?'}; output: {len(lines)} lines")
    print(
        f"- 'Epoch ' lines: {sum(line.startswith('Epoch ') for _, line in lines)};"
        f" 'cuInit' lines: {text.count('cuInit')}; 'cuda' mentions: {text.lower().count('cuda')}"
    )
    print()
    print("| step | seconds |")
    print("| --- | ---: |")
    if trains is not None:
        print(f"| install (venv, pip) | {trains:.0f} |")
        if serves is not None:
            print(f"| train the default set | {serves - trains:.0f} |")
            if ready_at is not None:
                print(f"| load until /ready is 200 | {ready_at - serves:.0f} |")
    total = f"{ready_at:.0f} ({ready_at / 60:.1f} min)" if ready_at is not None else "never ready"
    print(f"| **total** | **{total}** |")
    print()
    print("make serve's output, as timed (seconds from the start):")
    print()
    print("```")
    for t, line in lines:
        print(f"{t:7.1f}  {line}")
    print("```")
    return 0 if ready_at is not None else 1


if __name__ == "__main__":
    sys.exit(main())
