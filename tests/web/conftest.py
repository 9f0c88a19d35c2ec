"""A live station with its web app, on the embedded broker and a fresh SQLite database, and one account per role."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from hardware_bridge.emulator import EmulatedDevice
from scenarios.schema import Scenario, load_scenario
from station.live import LiveStation
from station.settings import Settings
from store.db import migrate, sessions
from tests.conftest import LIBRARY
from tests.hardware_bridge.conftest import free_port, wait_for
from web.app import create_app, server_config
from web.auth import Role, create_user

PASSWORD = "correct horse battery"


def started(scenario: Scenario, database: Path, **options: Any) -> LiveStation:
    """``scenario``'s station live on the embedded broker and a fresh SQLite file, with an account per role
    (``<role>`` / ``PASSWORD``); ``options`` are more settings (``emulate=True`` drives it by the scenario's crowd)."""
    settings = Settings(broker_port=free_port(), database_url=f"sqlite:///{database}", report_interval_s=1.0, **options)
    live = LiveStation(scenario.station, settings, scenario if settings.emulate else None)
    migrate(live.db)
    with sessions(live.db).begin() as db:
        for role in Role:
            create_user(db, role.value, f"{role.value} 李", role, PASSWORD)
    return live.start()


@pytest.fixture
def station(tmp_path: Path) -> Iterator[LiveStation]:
    live = started(load_scenario(LIBRARY / "typical_week.toml"), tmp_path / "web.db")
    yield live
    live.stop()


@pytest.fixture
def client(station: LiveStation) -> Iterator[TestClient]:
    settings = Settings(database_url=station.settings.database_url)
    with TestClient(create_app(settings, station.station, station)) as test_client:
        yield test_client


@pytest.fixture
def lights(station: LiveStation) -> Iterator[EmulatedDevice]:
    assert station.broker is not None
    device = EmulatedDevice(
        "yunting", "lights", "lights", station.device_broker("lights"), report_interval_s=1.0, state={"on": False}
    ).start()
    assert station.bridge is not None
    bridge = station.bridge
    wait_for(lambda: "on" in bridge.read(lambda t: t.entity("lights").reported), what="the lights' first report")
    yield device
    device.stop()


def token(client: TestClient, role: Role) -> str:
    response = client.post("/api/auth/token", json={"username": role.value, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers, "a script's sign-in sets no cookie"
    value: str = response.json()["token"]
    return value


def as_role(client: TestClient, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client, role)}"}


def serve(station: LiveStation, **options: object) -> Iterator[str]:
    """The app for ``station`` under a real uvicorn in a thread, as ``yxy serve`` runs it; yields its URL."""
    settings = Settings(database_url=station.settings.database_url, **options)  # type: ignore[arg-type]
    port = free_port()
    server = uvicorn.Server(server_config(create_app(settings, station.station, station), settings, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def server(station: LiveStation) -> Iterator[str]:
    yield from serve(station)
