"""Races and a failing database, through the real server: two officers demoting each other at once, on SQLite and
PostgreSQL, and a command while the database is locked (neither the command nor its audit entry half-done)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, text

from hardware_bridge.emulator import EmulatedDevice
from scenarios.schema import load_scenario
from station.live import LiveStation
from station.settings import Settings
from store.db import sessions
from tests.conftest import LIBRARY, POSTGRES_URL
from tests.hardware_bridge.conftest import free_port
from tests.web.conftest import PASSWORD, serve
from web.auth import Role, create_user


@pytest.fixture
def station_on(engine: Engine, tmp_path: Path) -> Iterator[LiveStation]:
    """A live station whose accounts and audit log are in ``engine``'s database (SQLite, or a PostgreSQL schema)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    else:
        url = engine.url.render_as_string(hide_password=False)
    settings = Settings(broker_port=free_port(), database_url=url, audit_key_file=str(tmp_path / "audit.key"))  # not in the checkout
    live = LiveStation(load_scenario(LIBRARY / "typical_week.toml").station, settings)
    with sessions(live.db).begin() as db:
        for name in ("admin", "admin2"):
            create_user(db, name, name, Role.ADMIN, PASSWORD)
    live.start()
    yield live
    live.stop()


def _signed_in(url: str, username: str) -> httpx.Client:
    web = httpx.Client(base_url=url, timeout=30)
    answer = web.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return web


def _demote(web: httpx.Client, other: str, go: threading.Barrier, answers: dict[str, int]) -> None:
    go.wait()
    answers[other] = web.patch(f"/api/users/{other}", json={"role": "operator"}).status_code


def test_two_officers_demoting_each_other_at_once_leave_one_admin(station_on: LiveStation) -> None:
    for url in serve(station_on):
        for attempt in range(5):  # the race is run several times: a lucky ordering must not hide it
            a, b = _signed_in(url, "admin"), _signed_in(url, "admin2")
            go = threading.Barrier(2)
            answers: dict[str, int] = {}
            threads = [
                threading.Thread(target=_demote, args=(a, "admin2", go, answers)),
                threading.Thread(target=_demote, args=(b, "admin", go, answers)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(answers.values()) in ([200, 401], [200, 403], [200, 409]), answers
            with sessions(station_on.db)() as db:
                admins = db.execute(text("SELECT username FROM staff_user WHERE role = 'admin' AND active")).scalars().all()
            a.close()
            b.close()
            assert len(admins) == 1, f"attempt {attempt}: {answers} left {admins}"
            with sessions(station_on.db).begin() as db:  # both officers again for the next attempt
                db.execute(text("UPDATE staff_user SET role = 'admin'"))


def test_a_command_while_the_database_is_locked_is_neither_sent_nor_audited(
    station: LiveStation, lights: EmulatedDevice, tmp_path: Path
) -> None:
    for url in serve(station):
        web = _signed_in(url, "operator")
        database = station.settings.database_url.removeprefix("sqlite:///")
        with sessions(station.db)() as db:
            audited = db.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
        holder = sqlite3.connect(database, timeout=0)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
        try:
            answer = web.post("/api/devices/lights/commands", json={"set": {"on": True}})
        finally:
            holder.rollback()
            holder.close()
        assert answer.status_code == 503 and "nothing was changed" in answer.json()["detail"], answer.text
        assert lights.state.get("on") is False, "the command never left"
        with sessions(station.db)() as db:
            assert db.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == audited, "and no audit entry claims it did"
        again = web.post("/api/devices/lights/commands", json={"set": {"on": True}})
        web.close()
        assert again.status_code == 202, "once the database is free the same command goes through"
