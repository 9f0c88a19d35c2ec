"""The README's main command end to end: `yxy serve --emulate` on a fresh SQLite file prints a first account once,
and a newcomer who signs in with it sees a living station."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx

from tests.hardware_bridge.conftest import free_port, wait_for


def serve(database: Path, *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    """The server, its first line and its base URL, once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "typical_week", "--port", str(port), "--database", f"sqlite:///{database}", *extra],
        env={**os.environ, "YXY_BROKER_PORT": str(free_port())}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline()
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, timeout_s=30, what="yxy serve to answer")
    return process, first, base


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.communicate(timeout=20)  # reads and closes its output


def test_the_main_command_shows_a_living_station_and_its_first_account_once(tmp_path: Path) -> None:
    database = tmp_path / "out" / "yxy.db"
    process, first, base = serve(database, "--emulate", "--speed", "60")
    try:
        assert first.startswith("first account: admin / "), first
        password = first.split("admin / ")[1].split()[0]
        signed_in = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": password})
        assert signed_in.status_code == 200
        headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}

        def online() -> int:
            return sum(1 for d in httpx.get(f"{base}/api/devices", headers=headers).json() if d["available"])

        wait_for(lambda: online() >= 10, timeout_s=30, what="the emulated devices online")
    finally:
        stop(process)
    again, first_again, _ = serve(database)
    try:
        assert "first account" not in first_again and "staff accounts are in" in first_again, first_again
    finally:
        stop(again)
