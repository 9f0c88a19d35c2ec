"""Brokers and waiting, shared by every test that needs a broker: free ports, a private Mosquitto, ``wait_for``."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
"""In CI a missing broker or database fails the test that needs it; elsewhere it is skipped, saying why."""
MOSQUITTO_BIN = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
"""Debian installs the broker in /usr/sbin, which is not on every PATH."""


_PORTS_FROM, _PORTS_TO = 20000, 32000
"""Below Linux's ephemeral range (32768-60999): a port the kernel handed out for a probe could be taken by any outgoing
connection before the server binds it ("address already in use" in tests/web/test_headers.py once)."""
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nobody listens on, from this xdist worker's own slice of 20000-32000, never the same twice a process."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker) if worker.isdigit() else 0
    width = (_PORTS_TO - _PORTS_FROM) // max(workers, 1)
    start = _PORTS_FROM + index * width
    for _ in range(width):
        port = start + random.randrange(width)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {start}-{start + width}")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(condition: Callable[[], object], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


class PrivateMosquitto:
    """A Mosquitto of the test's own on a free port, to stop and start at will."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO_BIN, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: reachable("127.0.0.1", self.port), 10, "mosquitto to listen")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def require(binary: str) -> None:
    if not Path(binary).is_file():
        if IN_CI:
            raise AssertionError(f"{binary} is required in CI")
        pytest.skip(f"no {binary}")


class SecuredMosquitto:
    """A Mosquitto of the test's own, started from the files `mosquitto_files` (or `yxy broker config`) wrote."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.port = port
        self.log = config.parent / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SecuredMosquitto:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([MOSQUITTO_BIN, "-c", str(self.config), "-v"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"mosquitto did not start from {self.config}:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
