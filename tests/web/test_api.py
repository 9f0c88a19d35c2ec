"""The web API: sign-in and its waits, commands with audit, alarms, the append-only audit log, the live feed."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import WebSocketDisconnect
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from hardware_bridge.bridge import FEED_RETAINED
from hardware_bridge.emulator import EmulatedDevice
from hardware_bridge.mqtt import BrokerConfig, MqttClient
from station.live import LiveStation
from station.settings import Settings
from tests.hardware_bridge.conftest import wait_for
from tests.web.conftest import PASSWORD, as_role, token
from web import feed as feed_module
from web.app import create_app
from web.auth import Role
from web.feed import GAP, TOO_SLOW


def test_sign_in_and_waiting_after_failures(client: TestClient, station: LiveStation) -> None:
    assert client.post("/api/auth/login", json={"username": "operator", "password": "nope"}).status_code == 401
    me = client.get("/api/auth/me", headers=as_role(client, Role.OPERATOR))
    assert me.json()["role"] == "operator"
    for _ in range(5):
        assert client.post("/api/auth/login", json={"username": "custodian", "password": "wrong"}).status_code == 401
    waiting = client.post("/api/auth/login", json={"username": "custodian", "password": PASSWORD})
    assert waiting.status_code == 429 and "try again in 30 s" in waiting.json()["detail"], waiting.text
    assert waiting.headers["retry-after"] == "30"
    with station.db.connect() as db:
        stored = db.execute(text("select password_hash from staff_user where username='admin'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_staff_change_their_password_and_officers_manage_accounts(client: TestClient) -> None:
    custodian, elsewhere = as_role(client, Role.CUSTODIAN), as_role(client, Role.CUSTODIAN)  # signed in on two phones
    new = "a much longer passphrase"
    wrong = client.post("/api/auth/password", json={"current": "guess", "new": new}, headers=custodian)
    assert wrong.status_code == 403 and "current password" in wrong.json()["detail"]
    assert client.post("/api/auth/password", json={"current": PASSWORD, "new": "short"}, headers=custodian).status_code == 422
    assert client.post("/api/auth/password", json={"current": PASSWORD, "new": new}, headers=custodian).status_code == 204
    assert client.get("/api/auth/me", headers=custodian).status_code == 200, "the session that changed it stays"
    assert client.get("/api/auth/me", headers=elsewhere).status_code == 401, "every other session is closed"
    assert client.post("/api/auth/login", json={"username": "custodian", "password": PASSWORD}).status_code == 401
    assert client.post("/api/auth/login", json={"username": "custodian", "password": new}).status_code == 200

    admin = as_role(client, Role.ADMIN)
    assert client.patch("/api/users/custodian", json={"active": False}, headers=as_role(client, Role.OPERATOR)).status_code == 403
    off = client.patch("/api/users/custodian", json={"active": False}, headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get("/api/auth/me", headers=custodian).status_code == 401, "a deactivated account is signed out"
    assert client.post("/api/auth/login", json={"username": "custodian", "password": new}).status_code == 401
    reset = client.patch("/api/users/custodian", json={"active": True, "password": "reset by the officer"}, headers=admin)
    assert (
        reset.status_code == 200
        and client.post("/api/auth/login", json={"username": "custodian", "password": "reset by the officer"}).status_code == 200
    )
    last = client.patch("/api/users/admin", json={"role": "operator"}, headers=admin)
    assert last.status_code == 409 and "last active admin" in last.json()["detail"]
    assert client.patch("/api/users/nobody", json={"active": False}, headers=admin).status_code == 404
    entries = client.get("/api/audit", headers=admin).json()
    changes = [e for e in entries if e["action"] in ("password_changed", "password_change_refused", "user_changed")]
    assert [e["action"] for e in changes] == ["user_changed", "user_changed", "password_changed", "password_change_refused"]
    assert client.patch("/api/users/operator", json={}, headers=admin).status_code == 200
    assert len(client.get("/api/audit", headers=admin).json()) == len(entries), "a change that changes nothing is not a write"
    assert changes[0]["after"] == {"display_name": "custodian 李", "role": "custodian", "active": True, "password": "reset"}
    assert all(PASSWORD not in str(e) and new not in str(e) for e in entries), "no password in the audit log"


def test_a_command_from_the_web_reaches_the_device_and_the_audit_log(client: TestClient, lights: EmulatedDevice) -> None:
    operator = as_role(client, Role.OPERATOR)
    sent = client.post("/api/devices/lights/commands", json={"set": {"on": True}}, headers=operator)
    assert sent.status_code == 202 and sent.json()["state"] == "pending"
    command_id = sent.json()["id"]

    def state() -> str | None:
        response = client.get(f"/api/commands/{command_id}", headers=operator)
        return response.json()["state"] if response.status_code == 200 else None

    wait_for(lambda: state() == "acked", what="the ack")
    wait_for(lambda: client.get("/api/devices/lights", headers=operator).json()["reported"]["on"] is True, what="lights on")
    settable = client.get("/api/devices/lights", headers=operator).json()["settable"]
    assert settable == {"on": {"type": "boolean"}, "brightness_pct": {"type": "number", "minimum": 0, "maximum": 100}}
    entries = client.get("/api/audit", headers=as_role(client, Role.AUDITOR)).json()
    command_entry = next(e for e in entries if e["action"] == "command")
    assert command_entry["username"] == "operator" and command_entry["before"]["on"] is False
    assert command_entry["after"] == {"on": True, "command": command_id}, "the entry names the command it let out"
    bad = client.post("/api/devices/lights/commands", json={"set": {"on": "yes"}}, headers=operator)
    assert bad.status_code == 422 and "on" in bad.json()["detail"]
    assert client.post("/api/devices/lights/commands", json={"set": {"on": True}}, headers=as_role(client, Role.AUDITOR)).status_code == 403


def test_alarm_life_cycle_over_the_api(client: TestClient, station: LiveStation) -> None:
    bridge = station.bridge
    assert bridge is not None
    alarm = bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", 0.0, "8.5 °C"))
    custodian = as_role(client, Role.CUSTODIAN)
    listed = client.get("/api/alarms", headers=custodian).json()
    assert [a["id"] for a in listed] == [alarm.id]
    assert (
        client.post(f"/api/alarms/{alarm.id}/acknowledge", json={"note": "checking"}, headers=custodian).json()["state"] == "acknowledged"
    )
    assigned = client.post(f"/api/alarms/{alarm.id}/assign", json={"assignee": "admin"}, headers=custodian).json()
    assert assigned["assignee"] == "admin"
    assert client.post(f"/api/alarms/{alarm.id}/clear", json={"note": "door ajar"}, headers=custodian).json()["state"] == "cleared"
    again = client.post(f"/api/alarms/{alarm.id}/clear", json={}, headers=custodian)
    assert again.status_code == 409 and "already cleared" in again.json()["detail"]
    steps = [s["state"] for s in client.get("/api/alarms?active=false", headers=custodian).json()[0]["steps"]]
    assert steps == ["raised", "acknowledged", "assigned", "cleared"]
    missing = client.post("/api/alarms/nope/clear", json={}, headers=custodian)
    assert missing.status_code == 404 and "no alarm 'nope'" in missing.json()["detail"]
    log = client.get("/api/audit", params={"username": "custodian"}, headers=as_role(client, Role.AUDITOR)).json()
    actions = [e["action"] for e in reversed(log) if e["action"].startswith("alarm_")]
    assert actions == ["alarm_acknowledge", "alarm_assign", "alarm_clear", "alarm_clear", "alarm_clear_refused"], actions


def test_the_audit_log_cannot_be_changed(client: TestClient, station: LiveStation) -> None:
    token(client, Role.ADMIN)  # a sign-in is audited
    with station.db.begin() as db:
        assert db.execute(text("select count(*) from audit_log")).scalar_one() >= 1
    for statement in ("update audit_log set username = 'nobody'", "delete from audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), station.db.begin() as db:
            db.execute(text(statement))


def test_the_device_list_says_where_the_feed_resumes(client: TestClient, station: LiveStation) -> None:
    """A page that loads the devices and then opens the feed after ``X-Feed-Seq`` misses nothing and replays nothing."""
    bridge = station.bridge
    assert bridge is not None
    headers = as_role(client, Role.AUDITOR)
    listed = client.get("/api/devices", headers=headers)
    seq = int(listed.headers["X-Feed-Seq"])
    assert seq == bridge.read(lambda t: t.feed.last_seq) or seq < bridge.read(lambda t: t.feed.last_seq)
    bridge.call(lambda twin: twin.record("lights", 0.0, "marker", {}))
    with client.websocket_connect(f"/api/feed?after={seq}", headers=headers) as ws:
        while (change := ws.receive_json())["name"] != "marker":
            assert change["seq"] > seq, "nothing the list already showed"
    assert change["seq"] > seq


def test_a_resume_from_a_forgotten_change_closes_with_gone_not_a_server_error(client: TestClient, station: LiveStation) -> None:
    bridge = station.bridge
    assert bridge is not None
    for n in range(FEED_RETAINED + 10):  # more changes than the feed keeps
        bridge.twin.feed.append(0.0, "lights", "marker", 0, {"n": n})
    secret = token(client, Role.AUDITOR)
    for after in (1, bridge.read(lambda t: t.feed.last_seq) + 689):  # forgotten, and from before a restart of the station
        with client.websocket_connect(f"/api/feed?after={after}", headers={"Authorization": f"Bearer {secret}"}) as ws:
            assert ws.receive_json()["error"] == "gap"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert closed.value.code == GAP


def test_a_client_too_far_behind_is_dropped_with_try_again_later(
    client: TestClient, station: LiveStation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its queue is bounded: a client that does not read while the station talks is let go, and may resume."""
    monkeypatch.setattr(feed_module, "QUEUE_LIMIT", 20)
    bridge = station.bridge
    assert bridge is not None
    secret = token(client, Role.AUDITOR)
    after = bridge.read(lambda t: t.feed.last_seq)
    with client.websocket_connect(f"/api/feed?after={after}", headers={"Authorization": f"Bearer {secret}"}) as ws:
        time.sleep(0.5)  # joined: the subscription is made in the bridge's thread
        bridge.call(lambda twin: [twin.record("lights", 0.0, "marker", {"n": n}) for n in range(200)])
        got = []
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                got.append(ws.receive_json())
    assert closed.value.code == TOO_SLOW
    seqs = [c["seq"] for c in got]
    assert seqs == list(range(after + 1, after + 1 + len(seqs))) and len(seqs) < 200, "in order, none skipped, until dropped"
    with client.websocket_connect(f"/api/feed?after={seqs[-1] if seqs else after}", headers={"Authorization": f"Bearer {secret}"}) as ws:
        assert ws.receive_json()["seq"] == (seqs[-1] if seqs else after) + 1, "it resumes where it was let go"


def test_a_page_that_closes_its_feed_leaves_it_at_once(client: TestClient, station: LiveStation, monkeypatch: pytest.MonkeyPatch) -> None:
    """The feed listens as well as talks: a closed socket ends its sender now, not at its next heartbeat, so a server
    shutting down does not wait on its open pages, and a phone that left is no subscriber a moment later. (Heartbeats
    and session checks a minute apart here: a sender that only noticed on writing would still be there.)"""
    monkeypatch.setattr(feed_module, "HEARTBEAT_S", 60.0)
    monkeypatch.setattr(feed_module, "SESSION_CHECK_S", 60.0)
    bridge = station.bridge
    assert bridge is not None
    subscribers = lambda: bridge.read(lambda t: t.feed.subscribers)  # noqa: E731
    secret = token(client, Role.AUDITOR)
    after = bridge.read(lambda t: t.feed.last_seq)
    before = subscribers()
    with client.websocket_connect(f"/api/feed?after={after}", headers={"Authorization": f"Bearer {secret}"}) as ws:
        ws.send_text("anything a page might send is read and dropped")
        bridge.call(lambda twin: twin.record("lights", 0.0, "marker", {"n": 1}))
        heard = [ws.receive_json()]
        while heard[-1].get("name") != "marker" and len(heard) < 50:
            heard.append(ws.receive_json())
        assert heard[-1]["data"] == {"n": 1}, "it still talks after being talked to"
        joined = subscribers()
        assert joined >= before + 1
    wait_for(lambda: subscribers() == joined - 1, timeout_s=20, what="the closed page leaving the feed")


def test_the_live_feed_resumes_where_it_left_off(client: TestClient, lights: EmulatedDevice) -> None:
    secret = token(client, Role.AUDITOR)
    with client.websocket_connect("/api/feed?after=0", headers={"Authorization": f"Bearer {secret}"}) as ws:
        first = ws.receive_json()
        assert first["seq"] == 1
        lights.update({"on": True})
        while True:
            change = ws.receive_json()
            if change["entity"] == "lights" and change["name"] == "state" and change["data"].get("on") is True:
                break
        last = change["seq"]
    lights.update({"on": False})
    with client.websocket_connect(f"/api/feed?after={last}", headers={"Authorization": f"Bearer {secret}"}) as ws:
        resumed = ws.receive_json()
        assert resumed["seq"] == last + 1
    with pytest.raises(Exception), client.websocket_connect("/api/feed?after=0") as ws:  # noqa: B017 - refused: not signed in
        ws.receive_json()


def test_a_planner_runs_a_scenario_and_reads_its_report(client: TestClient) -> None:
    operator = as_role(client, Role.OPERATOR)
    assert {"name": "rainstorm_day", "title": "暴雨日 / Rainstorm day"} in client.get("/api/runs/library", headers=operator).json()
    bad = client.post("/api/runs", json={"scenario": "rainstorm_day", "overrides": ["devices.microwave.units=0"]}, headers=operator)
    assert bad.status_code == 422 and "devices.microwave.units" in bad.json()["detail"]
    upload = "extends = 'rainstorm_day.toml'\n[devices.microwave]\nunits = 0\n"
    assert client.post("/api/runs", json={"toml": upload}, headers=operator).status_code == 422
    overrides = ["scenario.horizon=8h", "scenario.warmup=1h"]
    started = client.post("/api/runs", json={"scenario": "rainstorm_day", "overrides": overrides, "replications": 2}, headers=operator)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    auditor = as_role(client, Role.AUDITOR)
    wait_for(lambda: client.get(f"/api/runs/{run_id}", headers=auditor).json()["status"] == "done", timeout_s=60, what="the run")
    run = client.get(f"/api/runs/{run_id}", headers=auditor).json()
    assert run["done_replications"] == 2 and run["overrides"] == overrides
    report = client.get(f"/api/runs/{run_id}/report?lang=en", headers=auditor)
    assert report.status_code == 200 and "Rainstorm day" in report.text and '<html lang="en">' in report.text
    assert client.post("/api/runs", json={"scenario": "rainstorm_day"}, headers=auditor).status_code == 403


def test_door_log_and_todays_figures(client: TestClient, station: LiveStation) -> None:
    assert station.broker is not None
    door = EmulatedDevice("yunting", "door", "door", station.device_broker("door"), state={"occupancy": 0}).start()
    microwave = EmulatedDevice("yunting", "microwave", "microwave", station.device_broker("microwave"), state={"uses": 0}).start()
    custodian = as_role(client, Role.CUSTODIAN)
    try:
        door.event("worker_entered", {"worker": "m-3", "group": "sanitation"})
        door.event("worker_left", {"worker": "m-3", "group": "sanitation"})

        def log() -> list[dict[str, object]]:
            return client.get("/api/station/door-log", headers=custodian).json()  # type: ignore[no-any-return]

        wait_for(lambda: len(log()) == 2, what="the door log (history flushes every 2 s)")
        newest, oldest = log()
        assert (oldest["event"], oldest["worker"], oldest["group"]) == ("worker_entered", "m-3", "sanitation")
        assert newest["event"] == "worker_left"
        figures = client.get("/api/station/today", headers=custodian).json()
        assert figures["visitors"] == 1 and sum(figures["visitors_by_hour"]) == 1
        assert figures["timezone"] == "Asia/Shanghai"
        assert figures["day"] == datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        bridge = station.bridge
        assert bridge is not None
        wait_for(lambda: bridge.read(lambda t: t.entity("microwave").reported.get("uses")) == 0, what="the microwave's counter")
        microwave.update({"busy": 2, "queue": 3, "uses": 7})
        wait_for(lambda: bridge.read(lambda t: t.entity("microwave").reported.get("queue")) == 3, what="three waiting")
        time.sleep(0.5)
        microwave.update({"busy": 2, "queue": 0, "uses": 10})

        def microwave_today() -> dict[str, Any]:
            found = client.get("/api/station/today", headers=custodian).json()["devices"]
            return next(d for d in found if d["device"] == "microwave")  # type: ignore[no-any-return]

        wait_for(lambda: microwave_today()["uses"] == 10, what="the microwave's cycle counter in today's figures")
        today = microwave_today()
        assert today["label"].startswith("微波炉") and today["units"] == 2 and today["queue_peak"] == 3
        assert today["wait_mean_s"] >= 3 * 0.5 / 10, "three waited half a second or more; ten were served"
    finally:
        door.stop()
        microwave.stop()


def test_runs_compared_side_by_side(client: TestClient) -> None:
    admin = as_role(client, Role.ADMIN)
    base = ["scenario.horizon=6h", "scenario.warmup=1h"]
    ids = []
    for extra in ([], ["devices.microwave.units=1"]):
        started = client.post("/api/runs", json={"scenario": "stress_10x", "overrides": base + extra, "replications": 2}, headers=admin)
        ids.append(started.json()["id"])
    for run_id in ids:
        wait_for(lambda r=run_id: client.get(f"/api/runs/{r}", headers=admin).json()["status"] == "done", timeout_s=60, what="runs")
    page = client.get(f"/api/runs/compare?ids={ids[0]}&ids={ids[1]}&lang=en", headers=admin)
    assert page.status_code == 200 and "#2 10x-population stress day · Horizon 1d → 6h · Warm-up 2h → 1h · Microwave 2 → 1" in page.text
    other = client.post(
        "/api/runs", json={"scenario": "stress_10x", "overrides": ["scenario.horizon=4h", "scenario.warmup=1h"]}, headers=admin
    )
    wait_for(lambda: client.get(f"/api/runs/{other.json()['id']}", headers=admin).json()["status"] == "done", timeout_s=60, what="run")
    assert client.get(f"/api/runs/compare?ids={ids[0]}&ids={other.json()['id']}", headers=admin).status_code == 422


def test_an_open_feed_stops_once_its_account_is_deactivated(
    client: TestClient, station: LiveStation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("web.feed.SESSION_CHECK_S", 0.2)
    secret = token(client, Role.CUSTODIAN)
    bridge = station.bridge
    assert bridge is not None
    with client.websocket_connect("/api/feed?after=0", headers={"Authorization": f"Bearer {secret}"}) as ws:
        time.sleep(0.5)  # a few session checks pass while the account is active
        bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", 0.0))
        assert ws.receive_json()["name"] == "alarm_raised", "still open and streaming"
        assert client.patch("/api/users/custodian", json={"active": False}, headers=as_role(client, Role.ADMIN)).status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
    assert closed.value.code == 1008


def test_health_readiness_and_metrics(client: TestClient, station: LiveStation, lights: EmulatedDevice) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
    assert client.get("/metrics").status_code == 401, "anonymous callers read no metrics"
    assert client.get("/metrics", headers=as_role(client, Role.CUSTODIAN)).status_code == 403
    lights.mqtt.publish("yxy/yunting/lights/lights/state", b"not json", qos=1)
    bridge = station.bridge
    assert bridge is not None
    wait_for(lambda: bridge.rejected.get("PayloadError", 0) >= 1, what="the garbage to be refused")
    text = client.get("/metrics", headers=as_role(client, Role.AUDITOR)).text
    assert 'yxy_mqtt_rejected_total{reason="PayloadError"} 1.0' in text
    assert 'yxy_mqtt_messages_total{channel="state",kind="lights",outcome="applied"}' in text
    online = next(line for line in text.splitlines() if line.startswith("yxy_devices_online "))
    assert float(online.split()[1]) >= 1
    assert 'yxy_web_requests_total{method="GET",route="/readyz",status="200"} 1.0' in text
    assert "yxy_broker_connected 1.0" in text and "yxy_history_backlog" in text and "yxy_loop_lag_seconds" in text


def test_metrics_token_and_an_anonymous_broker_client_refused(station: LiveStation) -> None:
    settings = Settings(database_url=station.settings.database_url, metrics_token="s3cret-scraper")
    with TestClient(create_app(settings, station.station, station)) as scraper:
        assert scraper.get("/metrics", headers={"Authorization": "Bearer s3cret-scraper"}).status_code == 200
        assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert station.broker is not None
    stranger = MqttClient(BrokerConfig.from_url(station.broker.url), "stranger", lambda *_: None)
    stranger.start()
    try:
        assert not stranger.wait_connected(3), "the embedded broker of `yxy serve` refuses clients without an account"
    finally:
        stranger.close()


def test_readyz_fails_once_the_audit_log_is_tampered_with(client: TestClient, station: LiveStation) -> None:
    as_role(client, Role.ADMIN)  # a sign-in: the chain's first entry
    as_role(client, Role.AUDITOR)
    with station.db.begin() as db:
        db.execute(text("DROP TRIGGER audit_log_no_delete"))  # as the database's owner could
        db.execute(text("DELETE FROM audit_log WHERE id = 1"))
    ready = client.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert "audit log tampered with at entry 2: the chain does not start here" in ready.json()["problems"][0]


def test_the_audit_log_pages_through_every_entry_with_filters(client: TestClient) -> None:
    auditor = as_role(client, Role.AUDITOR)
    for _ in range(7):
        as_role(client, Role.CUSTODIAN)
    client.post("/api/auth/login", json={"username": "custodian", "password": "wrong"})
    seen: list[int] = []
    before: str | None = None
    while True:
        page = client.get("/api/audit", params={"limit": 3, **({"before": before} if before else {})}, headers=auditor)
        assert page.status_code == 200, page.text
        seen += [entry["id"] for entry in page.json()]
        before = page.headers.get("x-next-before")
        if before is None:
            break
    assert seen == sorted(seen, reverse=True) and seen == list(range(max(seen), 0, -1)), "every entry once, newest first"
    logins = client.get("/api/audit", params={"username": "custodian", "action": "login"}, headers=auditor).json()
    assert len(logins) == 7 and {e["action"] for e in logins} == {"login"}
    failed = client.get("/api/audit", params={"action": "sign_in_failed"}, headers=auditor).json()
    assert [(e["username"], e["role"]) for e in failed] == [("custodian", "")]
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert client.get("/api/audit", params={"since": (now + timedelta(hours=1)).isoformat()}, headers=auditor).json() == []
    recent = client.get("/api/audit", params={"since": (now - timedelta(hours=1)).isoformat()}, headers=auditor).json()
    assert len(recent) == len(seen), "a Shanghai offset is read as Shanghai time, not UTC"
    bare = client.get("/api/audit", params={"since": "2026-12-03T08:00:00"}, headers=auditor)
    assert bare.status_code == 422 and "offset" in bare.json()["detail"]
    assert client.get("/api/audit", headers=as_role(client, Role.OPERATOR)).status_code == 403


def test_a_quiet_feed_sends_heartbeats(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("web.feed.HEARTBEAT_S", 0.3)
    headers = as_role(client, Role.CUSTODIAN)
    seq = client.get("/api/devices", headers=headers).headers["X-Feed-Seq"]
    with client.websocket_connect(f"/api/feed?after={seq}", headers=headers) as ws:
        started = time.monotonic()
        heard = [ws.receive_json() for _ in range(2)]  # nothing else happens at this station: no device is connected
        assert heard == [{"heartbeat": True}] * 2, "a page that hears nothing can tell a quiet station from a dead link"
        assert time.monotonic() - started >= 0.5, "a heartbeat only after a quiet spell, not one per session check"
