"""Alarms a custodian can act on: the rule's reason said plainly, the thread of steps, closed alarms kept and filtered;
and what a device card shows of commands: who sent the last one, and the station's clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scenarios.schema import load_scenario
from station.live import LiveStation
from station.settings import Settings
from tests.conftest import LIBRARY
from tests.hardware_bridge.conftest import wait_for
from tests.web.conftest import as_role, started
from twin.alarm import Severity
from web.app import create_app
from web.auth import Role


def _closed(client: TestClient, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    response = client.get("/api/alarms/closed", params=query, headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def test_a_closed_alarm_keeps_its_whole_thread(client: TestClient, station: LiveStation) -> None:
    bridge = station.bridge
    assert bridge is not None
    custodian, auditor = as_role(client, Role.CUSTODIAN), as_role(client, Role.AUDITOR)
    alarm = bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", bridge.clock.now(), "8.5 °C"))
    other = bridge.call(lambda twin: bridge.alarms.raise_("water", "tank_low", bridge.clock.now(), severity=Severity.CRITICAL))
    for step, body in (("acknowledge", {"note": "checking"}), ("note", {"note": "door was ajar"}), ("clear", {"note": "shut it"})):
        assert client.post(f"/api/alarms/{alarm.id}/{step}", json=body, headers=custodian).status_code == 200
    client.post(f"/api/alarms/{other.id}/clear", json={}, headers=custodian)
    wait_for(lambda: len(_closed(client, auditor)) == 2, timeout_s=15, what="the history to have both closed alarms")

    newest_first = _closed(client, auditor)
    assert [a["id"] for a in newest_first] == [other.id, alarm.id]
    fridge = newest_first[1]
    assert [(s["state"], s["who"], s["note"]) for s in fridge["steps"]] == [
        ("raised", "system", "8.5 °C"),
        ("acknowledged", "custodian:custodian", "checking"),
        ("noted", "custodian:custodian", "door was ajar"),
        ("cleared", "custodian:custodian", "shut it"),
    ]
    raised, cleared = datetime.fromisoformat(fridge["raised_at"]), datetime.fromisoformat(fridge["cleared_at"])
    assert raised.utcoffset() == timedelta(0) and raised <= cleared < raised + timedelta(minutes=1)
    assert [a["id"] for a in _closed(client, auditor, source="fridge")] == [alarm.id]
    assert [a["id"] for a in _closed(client, auditor, severity="critical")] == [other.id]
    assert _closed(client, auditor, since=(datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
                   until=(datetime.now(UTC) + timedelta(minutes=2)).isoformat()) == []  # fmt: skip
    assert len(_closed(client, auditor, limit=1)) == 1


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"since": "2026-07-20T08:00:00"}, "UTC offset"),
        ({"since": "2026-07-20T08:00:00+08:00", "until": "2026-07-19T08:00:00+08:00"}, "before until"),
        ({"since": "2026-01-01T00:00:00+00:00", "until": "2026-07-01T00:00:00+00:00"}, "at most 92 days"),
        ({"limit": 5000}, "limit"),
        ({"severity": "catastrophic"}, "severity"),
        ({"source": "../etc"}, "source"),
    ],
)
def test_a_bad_closed_alarms_query_says_what_is_wrong(client: TestClient, query: dict[str, Any], says: str) -> None:
    response = client.get("/api/alarms/closed", params=query, headers=as_role(client, Role.CUSTODIAN))
    assert response.status_code == 422 and says in response.text, response.text


def test_closed_alarms_need_a_sign_in(client: TestClient) -> None:
    assert client.get("/api/alarms/closed").status_code == 401


def test_an_empty_note_or_assignee_is_refused_before_it_is_audited(client: TestClient, station: LiveStation) -> None:
    bridge = station.bridge
    assert bridge is not None
    alarm = bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", bridge.clock.now()))
    admin = as_role(client, Role.ADMIN)
    before = len(client.get("/api/audit", headers=admin).json())
    note = client.post(f"/api/alarms/{alarm.id}/note", json={"note": "   "}, headers=admin)
    assign = client.post(f"/api/alarms/{alarm.id}/assign", json={"assignee": ""}, headers=admin)
    assert (note.status_code, assign.status_code) == (422, 422)
    assert "note" in note.json()["detail"] and "assignee" in assign.json()["detail"]
    assert len(client.get("/api/audit", headers=admin).json()) == before, "nothing was done, so nothing is in the log"
    auditor = client.post(f"/api/alarms/{alarm.id}/note", json={"note": "x"}, headers=as_role(client, Role.AUDITOR))
    assert auditor.status_code == 403


@pytest.fixture
def automated(tmp_path: Path) -> Iterator[TestClient]:
    """The automated station (its rules raise alarms), with an account per role."""
    scenario = load_scenario(LIBRARY / "automated_station.toml")
    live = started(scenario, tmp_path / "auto.db")
    try:
        with TestClient(create_app(Settings(database_url=live.settings.database_url), scenario.station, live)) as client:
            client.app.state.live = live  # type: ignore[attr-defined]
            yield client
    finally:
        live.stop()


def test_an_alarm_says_its_rule_and_the_value_now(automated: TestClient) -> None:
    live: LiveStation = automated.app.state.live  # type: ignore[attr-defined]
    bridge = live.bridge
    assert bridge is not None
    bridge.call(lambda twin: twin.report("water", bridge.clock.now(), {"level_l": 1.4}))
    bridge.call(lambda twin: bridge.alarms.raise_("water", "tank_low", bridge.clock.now(), "level_l < 2.0 (now 1.4)"))
    bridge.call(lambda twin: bridge.alarms.raise_("fridge", "offline", bridge.clock.now()))
    listed = {a["type"]: a for a in automated.get("/api/alarms", headers=as_role(automated, Role.CUSTODIAN)).json()}
    assert listed["tank_low"]["reason"] == {"field": "level_l", "op": "<", "limit": 2.0, "now": 1.4, "for_s": 300.0}
    assert listed["offline"]["reason"]["field"] is None and listed["offline"]["reason"]["for_s"] > 0


def test_a_device_says_who_sent_its_last_command_and_the_plan_says_the_stations_time(client: TestClient, lights: object) -> None:
    operator = as_role(client, Role.OPERATOR)
    sent = client.post("/api/devices/lights/commands", json={"set": {"on": True}}, headers=operator)
    assert sent.status_code == 202

    def settled() -> bool:  # the command is queued for the loop: it may not be the device's last one yet
        return (client.get("/api/devices/lights", headers=operator).json()["last_command"] or {}).get("state") == "acked"

    wait_for(settled, timeout_s=10)
    device = client.get("/api/devices/lights", headers=operator).json()
    last = device["last_command"]
    assert (last["id"], last["by"], last["fields"], last["reason"]) == (sent.json()["id"], "operator:operator", {"on": True}, None)
    assert device["manual_until"] is None, "no rule governs these lights: nothing to hold against"
    clock = client.get("/api/station/plan", headers=operator).json()["clock"]
    assert clock["speed"] == 1.0 and clock["emulated"] is False
    assert abs(datetime.fromisoformat(clock["now"]) - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_closed_alarm_forgotten_by_the_book_is_read_back_whole_from_the_history(client: TestClient, station: LiveStation) -> None:
    bridge = station.bridge
    assert bridge is not None
    custodian = as_role(client, Role.CUSTODIAN)
    alarm = bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", bridge.clock.now(), "9 °C"))
    client.post(f"/api/alarms/{alarm.id}/clear", json={"note": "door shut"}, headers=custodian)
    client.post(f"/api/alarms/{alarm.id}/note", json={"note": "checked again at dawn"}, headers=custodian)  # after closing
    again = bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", bridge.clock.now() + 3600, "10 °C"))
    assert again.id != alarm.id, "a new alarm, not the closed one reopened"

    def history_has_it() -> bool:
        return bool(station.history.events(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC), names=["alarm_noted"]))

    wait_for(history_has_it, timeout_s=15, what="the history writer's flush")
    bridge.call(lambda twin: bridge.alarms.forget_cleared(float("inf")))  # as a day later: only the history has it
    (closed,) = _closed(client, custodian)
    assert closed["id"] == alarm.id
    assert [(s["state"], s["note"]) for s in closed["steps"]] == [
        ("raised", "9 °C"),
        ("cleared", "door shut"),
        ("noted", "checked again at dawn"),
    ], "its notes after closing too, and nothing of the next alarm's"
