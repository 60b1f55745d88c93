"""A disk that really fills up during export: a tiny tmpfs in a private mount namespace.

``unshare -rm`` gives the child its own user and mount namespaces, so it may mount a tmpfs of a
few pages without touching the machine's mounts; nothing is patched, the writes really fail with
ENOSPC. The mount vanishes with the child, so the child reports what it saw as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contract import store
from tests.training.support import metadata_for_tests
from training.export import save

# Lines TensorFlow's C++ logging writes to stderr on its own (absl's format), not the CLI's.
TF_LOG_LINE = re.compile(r"^([EWIF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl)")

ROOT = Path(__file__).resolve().parents[2]
RunFull = Callable[[str, str], subprocess.CompletedProcess[str]]


@pytest.fixture
def on_full_disk(tmp_path: Path) -> RunFull:
    """``run(size, command)``: ``command`` in sh, a new tmpfs of ``size`` on ``tmp_path/disk``."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("these tests need unshare (util-linux) to mount a real, small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()

    def run(size: str, command: str) -> subprocess.CompletedProcess[str]:
        mount = f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(disk))}"
        return subprocess.run(
            [unshare, "-rm", "sh", "-c", f"{mount} && {command}"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)},
        )  # fmt: skip

    trial = run("64k", f"df -k {shlex.quote(str(disk))}")
    if trial.returncode != 0 or "tmpfs" not in trial.stdout:
        pytest.fail(
            "cannot mount a tmpfs in a user+mount namespace here (unshare -rm); this test needs"
            f" it to fill a real disk: {trial.stderr.strip() or trial.stdout.strip()}"
        )
    return run


PUBLISH_ON_FULL_DISK = textwrap.dedent(
    """
    import hashlib, json, sys
    from pathlib import Path
    from contract.metadata import ModelMetadata
    from tests.support import copy_of
    from contract.publishing import publish

    source, root, kept_meta = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def small(folder):
        (folder / "saved_model.pb").write_bytes(b"small")
        return ModelMetadata.model_validate_json(kept_meta)

    copy_of_source = copy_of(source)

    def snapshot():
        return {
            str(p.relative_to(root)): (
                hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            )
            for p in sorted(root.rglob("*"))
        }

    publish(root, "kept", small)
    before = snapshot()
    errors = []
    for name in ("kept", "big"):
        try:
            publish(root, name, copy_of_source)
            errors.append(None)
        except OSError as e:
            errors.append({"errno": e.errno, "message": str(e)})
    print(json.dumps({"before": before, "after": snapshot(), "errors": errors}))
    """
)


@pytest.fixture
def saved_linear(trained_model: Callable[..., Any], tmp_path: Path) -> Path:
    """A real SavedModel version folder (the session's linear model) outside any store."""
    folder = tmp_path / "saved"
    save(trained_model("linear").servable, folder)
    (folder / store.METADATA_FILE).write_text(metadata_for_tests().model_dump_json())
    return folder


@pytest.mark.slow
def test_publish_on_a_full_disk_fails_cleanly_and_leaves_the_store_as_it_was(
    on_full_disk: RunFull, saved_linear: Path, tmp_path: Path
) -> None:
    source = saved_linear
    size = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    assert size > 32 * 1024  # the SavedModel cannot fit in the tmpfs below
    root = tmp_path / "disk" / "store"
    kept = metadata_for_tests().model_dump_json()
    child = on_full_disk(
        "32k",
        shlex.join([sys.executable, "-c", PUBLISH_ON_FULL_DISK, str(source), str(root), kept]),
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)

    assert report["before"] == report["after"]  # byte for byte, nothing added, nothing lost
    assert set(report["before"]) == {
        ".staging", "kept", "kept/1", "kept/1/saved_model.pb", "kept/1/metadata.json",
    }  # fmt: skip
    for error in report["errors"]:  # a new version of "kept", and a first one of "big"
        assert error is not None
        assert error["errno"] == 28 and "No space left on device" in error["message"]


@pytest.mark.slow
def test_forecast_train_on_a_full_disk_exits_2_with_one_line(
    on_full_disk: RunFull, tmp_path: Path
) -> None:
    train = Path(sys.executable).parent / "forecast-train"
    assert train.exists(), f"the console script is not installed next to {sys.executable}"
    root = tmp_path / "disk" / "store"
    # 32 KiB: TensorFlow's own writer runs out of room on saved_model.pb itself.
    command = shlex.join(
        [str(train), "--arch", "linear", "--epochs", "1", "--window", "8", "--quiet",
         "--store", str(root)]
    )  # fmt: skip
    child = on_full_disk("32k", f'{command}; code=$?; find {shlex.quote(str(root))}; exit "$code"')

    assert child.returncode == 2, child.stderr
    own = [line for line in child.stderr.splitlines() if not TF_LOG_LINE.match(line)]
    assert own == [
        f"forecast-train: error: no space left on device while writing synthetic-linear to {root};"
        " nothing was published for it"
    ]
    assert "Traceback" not in child.stderr
    assert sorted(child.stdout.split()) == [str(root), str(root / store.STAGING_DIR)]
