"""Brokers for the bridge tests: the embedded one always, Mosquitto (MQTT 5 and 3.1.1) at 127.0.0.1:1883.

In CI (CI=true) Mosquitto must be there: its cases fail when it is not. Elsewhere
they are skipped with the reason. Every test uses a station id of its own, so
retained messages of one test never reach another.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hardware_bridge.broker import EmbeddedBroker
from hardware_bridge.mqtt import BrokerConfig
from tests.conftest import IN_CI

MOSQUITTO = ("127.0.0.1", 1883)
MOSQUITTO_BIN = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
"""Debian installs the broker in /usr/sbin, which is not on every PATH."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["embedded", "mosquitto-5", "mosquitto-3.1.1"])
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerConfig]:
    if request.param == "embedded":
        with EmbeddedBroker(port=free_port()) as embedded:
            yield BrokerConfig.from_url(embedded.url)
        return
    if not reachable(*MOSQUITTO):
        if IN_CI:
            raise AssertionError("Mosquitto is required in CI and is not listening on 127.0.0.1:1883")
        pytest.skip("Mosquitto is not listening on 127.0.0.1:1883")
    yield BrokerConfig(*MOSQUITTO, protocol=request.param.split("-")[1])


@pytest.fixture
def station() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


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


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    try:
        subprocess.run([MOSQUITTO_BIN, "-h"], capture_output=True, check=False)
    except FileNotFoundError:
        if IN_CI:
            raise AssertionError("the mosquitto binary is required in CI") from None
        pytest.skip("no mosquitto binary")
    broker = PrivateMosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()
