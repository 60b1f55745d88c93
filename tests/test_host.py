"""CUDA's logs dropped from file descriptor 2 on a host without NVIDIA's driver, and only there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract import host

CUINIT = (
    b"E0000 00:00:1796318758.426228   24727 cuda_platform.cc:52] failed call to cuInit:"
    b" INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
)
STUB = (
    b"I0000 00:00:1796318755.573832   24727 cudart_stub.cc:31] Could not find cuda drivers on"
    b" your machine, GPU will not be used.\n"
)
ONEDNN = b"I0000 00:00:1796318755.573478   24727 port.cc:153] oneDNN custom operations are on.\n"


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Where the driver's version file is looked for: absent until the test writes it."""
    version = tmp_path / "version"
    monkeypatch.setattr(host, "NVIDIA_DRIVER_FILES", (version, tmp_path / "nvidia0"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return version


def _write_logs() -> None:
    for line in (b"WARNING: before absl\n", STUB, ONEDNN, CUINIT, b"last\n"):
        os.write(2, line)


def test_without_the_driver_only_cuda_lines_are_dropped(
    driver: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert not host.has_nvidia_driver()
    with host.cuda_logs_dropped():
        _write_logs()
        assert capfd.readouterr().err == ""  # held until the block ends
    assert capfd.readouterr().err == (b"WARNING: before absl\n" + ONEDNN + b"last\n").decode()


def test_held_lines_are_written_back_when_the_block_raises(
    driver: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ImportError), host.cuda_logs_dropped():
        _write_logs()
        raise ImportError("TensorFlow failed to load")
    err = capfd.readouterr().err
    assert "port.cc:153" in err and "last" in err and "cuInit" not in err


@pytest.mark.parametrize("why", ["driver", "CUDA_VISIBLE_DEVICES"])
def test_with_the_driver_or_chosen_gpus_every_line_shows(
    driver: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    if why == "driver":
        driver.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14\n")
        assert host.has_nvidia_driver()
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with host.cuda_logs_dropped():
        _write_logs()
        err = capfd.readouterr().err  # nothing held
    assert STUB.decode() in err and CUINIT.decode() in err
