"""Visitors at the live door (issue 12, item 4): a non-member asks on their phone; at night the door's own rule makes
the ask ready for the toilet and water, by day the custodian approves or refuses; a ready ask's pass opens the door only
when its scanner reads it (someone is at the door), once; the phone is never stored, only a visit key that counts their
repeat visits; every answer is audited and every bound holds."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text

from actors.message import DeviceEvent
from scenarios.schema import load_scenario
from station.settings import Settings
from store import visitors as book
from store.models import AuditEntry, VisitorAsk
from tests.conftest import LIBRARY
from tests.hardware_bridge.conftest import wait_for
from tests.web.conftest import as_role, started
from web import members as web_members
from web.app import create_app
from web.auth import Role

PHONE = "13800138000"
ALWAYS_NIGHT = ["devices.door.night_from_h=0", "devices.door.night_to_h=24"]
NEVER_NIGHT = ["devices.door.night_from_h=3", "devices.door.night_to_h=3"]


def _client(tmp_path: Path, overrides: list[str]) -> Iterator[TestClient]:
    """The door station's app, its per-place pace out of the way (the tests ask many times from one place)."""
    live = started(load_scenario(LIBRARY / "typical_week_door.toml", overrides), tmp_path / "visitors.db")
    settings = Settings(database_url=live.settings.database_url, login_per_minute=1_000)
    with TestClient(create_app(settings, live.station, live)) as client:
        client.live = live  # type: ignore[attr-defined]  # the station itself, for its rounds
        yield client
    live.stop()


@pytest.fixture
def night(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, ALWAYS_NIGHT)


@pytest.fixture
def day(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, NEVER_NIGHT)


def ask(client: TestClient, phone: str = PHONE, needs: tuple[str, ...] = ("toilet",), **more: Any) -> Any:
    return client.post("/api/visitor/ask", json={"phone": phone, "needs": list(needs), **more})


def scanned(client: TestClient, text: str) -> dict[str, Any]:
    """The door's scanner reads ``text`` (straight to the door actor: tests/web/test_visitor_page.py goes over MQTT);
    the door's decision."""
    services = client.app.state.services  # type: ignore[attr-defined]
    heard: list[dict[str, Any]] = []
    services.bridge.twin.subscribe(lambda change: heard.append(dict(change.data)), names=["door_decided"])
    services.bridge.tell(["door"], DeviceEvent("pass_scanned", {"text": text}))
    wait_for(lambda: bool(heard), timeout_s=10, what="the door's decision on the scan")
    return heard[0]


def opened(client: TestClient) -> int:
    bridge = client.app.state.services.bridge  # type: ignore[attr-defined]
    return sum(1 for c in bridge.read(lambda t: list(t.commands.values())) if c.entity_id == "door" and c.fields.get("open"))


def every_text(client: TestClient) -> str:
    """Every row of every table, as text: where a phone number would be if it were stored anywhere."""
    engine = client.app.state.services.sessions.kw["bind"]  # type: ignore[attr-defined]
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        return "\n".join(str(row) for table in tables for row in connection.execute(text(f'SELECT * FROM "{table}"')))


def test_at_night_the_toilet_makes_the_ask_ready_and_only_its_scan_at_the_door_opens_it_once(night: TestClient) -> None:
    answer = ask(night, "+86 138-0013-8000", ("toilet", "drink_water"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "ready" and body["token"] and body["door_pass"]["text"].startswith("YXV1.")
    assert opened(night) == 0, "asking from anywhere opens nothing: the pass must be shown at the door"
    decision = scanned(night, body["door_pass"]["text"])
    assert (decision["reason"], decision["via"], decision["ask"]) == ("visitor_at_night", "visitor", body["id"])
    wait_for(lambda: opened(night) == 1, timeout_s=5, what="the door to open")
    polled = night.get(f"/api/visitor/ask/{body['token']}").json()
    assert polled["status"] == "admitted" and polled["door_pass"] is None
    assert scanned(night, body["door_pass"]["text"])["reason"] == "replayed" and opened(night) == 1
    again = night.get(f"/api/visitor/ask/{body['token']}").json()  # a pass for an ask already used opens nothing
    assert again["door_pass"] is None
    resting = ask(night, "13900139000", ("rest",)).json()  # not a night need: the custodian decides
    assert resting["status"] == "waiting" and resting["door_pass"] is None
    stored = every_text(night)
    assert PHONE not in stored and "13900139000" not in stored


def test_by_day_the_custodian_approves_once_and_each_answer_is_audited(day: TestClient) -> None:
    custodian, auditor = as_role(day, Role.CUSTODIAN), as_role(day, Role.AUDITOR)
    first = ask(day).json()
    assert first["status"] == "waiting" and first["door_pass"] is None
    again = ask(day).json()  # the same phone asks again: one ask is open, the first is replaced
    other = ask(day, "13900139000", ("drink_water", "charge_phone")).json()
    listed = {a["id"]: a for a in day.get("/api/visitors", headers=auditor).json()}
    assert listed[first["id"]]["status"] == "expired" and listed[again["id"]]["status"] == "waiting"
    assert listed[again["id"]]["asked_this_month"] == 2 and listed[other["id"]]["asked_this_month"] == 1
    assert "phone" not in listed[again["id"]]
    assert day.get("/api/visitors").status_code == 401
    assert day.get("/api/visitors", headers=as_role(day, Role.OPERATOR)).status_code == 403
    assert day.post(f"/api/visitors/{again['id']}/approve", headers=auditor).status_code == 403
    assert day.post(f"/api/visitors/{again['id']}/approve").status_code == 401

    with ThreadPoolExecutor(8) as pool:  # two custodians' phones, many taps: one approval
        codes = list(pool.map(lambda _: day.post(f"/api/visitors/{again['id']}/approve", headers=custodian).status_code, range(8)))
    assert sorted(codes) == [200] + [409] * 7, codes
    ready = day.get(f"/api/visitor/ask/{again['token']}").json()  # what the visitor's page sees
    assert ready["status"] == "ready" and ready["door_pass"] and opened(day) == 0
    assert scanned(day, ready["door_pass"]["text"])["reason"] == "visitor_approved"
    wait_for(lambda: opened(day) == 1, timeout_s=5, what="the door to open for the approved visitor")
    assert day.get(f"/api/visitor/ask/{again['token']}").json()["status"] == "admitted"

    assert day.post(f"/api/visitors/{other['id']}/approve", headers=custodian).status_code == 200
    withdrawn = day.get(f"/api/visitor/ask/{other['token']}").json()["door_pass"]["text"]
    refused = day.post(f"/api/visitors/{other['id']}/refuse", headers=custodian)  # changed their mind: withdrawn
    assert refused.status_code == 200 and refused.json()["reason"] == "custodian_refused"
    assert day.get(f"/api/visitor/ask/{other['token']}").json()["status"] == "refused"
    assert scanned(day, withdrawn)["reason"] == "no_such_ask" and opened(day) == 1
    with day.app.state.services.sessions() as db:  # type: ignore[attr-defined]
        actions = [(e.action, e.target) for e in db.scalars(select(AuditEntry).where(AuditEntry.action.like("visitor_%")))]
    assert actions == [("visitor_approved", f"visitor:{again['id']}"), ("visitor_approved", f"visitor:{other['id']}"),
                       ("visitor_refused", f"visitor:{other['id']}")]  # fmt: skip


def test_the_round_records_who_came_in_though_nobody_polls(night: TestClient) -> None:
    body = ask(night).json()
    scanned(night, body["door_pass"]["text"])
    # The visitor closed their page: the station's round stores the door's decision itself.
    assert night.live.store_visitor_outcomes() == 1  # type: ignore[attr-defined]
    listed = night.get("/api/visitors", headers=as_role(night, Role.CUSTODIAN)).json()
    assert [(a["id"], a["status"]) for a in listed] == [(body["id"], "admitted")]


def test_an_unanswered_ask_expires_and_the_queue_is_bounded_per_place(day: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    token = ask(day).json()["token"]
    later = web_members.now() + book.ASK_LIFE + timedelta(seconds=1)
    monkeypatch.setattr(web_members, "now", lambda: later)
    assert day.get(f"/api/visitor/ask/{token}").json()["status"] == "expired"
    for n in range(book.MOST_WAITING_FROM_ONE_PLACE):
        assert ask(day, f"139{n:08d}").status_code == 201
    full = ask(day, "13700137000")
    assert full.status_code == 429 and full.json()["code"] == "visitors_queue_full"


def test_the_station_wide_queue_holds_under_parallel_asks(engine: Any, tmp_path: Path) -> None:
    """On SQLite and PostgreSQL: asks from many places at once never leave more than MOST_WAITING waiting."""
    from datetime import UTC, datetime

    from store.db import sessions

    made, moment = sessions(engine), datetime.now(UTC)

    def one(n: int) -> bool:
        try:
            with made.begin() as db:
                book.ask(db, b"s" * 32, f"139{n:08d}", ["rest"], "door", f"10.0.0.{n}", False, moment)
            return True
        except book.VisitorError:
            return False

    with ThreadPoolExecutor(8) as pool:
        taken = sum(pool.map(one, range(3 * book.MOST_WAITING)))
    with made() as db:
        waiting = db.scalars(select(VisitorAsk).where(VisitorAsk.status == "waiting")).all()
    assert taken == len(waiting) == book.MOST_WAITING


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"phone": "12345", "needs": ["toilet"]}, 422, "member_invalid"),
        ({"phone": PHONE, "needs": ["shower"]}, 422, "visitor_needs"),
        ({"phone": PHONE, "needs": []}, 422, None),
        ({"phone": PHONE, "needs": ["toilet"] * 1000}, 422, None),
        ({"phone": PHONE, "needs": ["toilet"], "door": "microwave"}, 404, "no_visitor_door"),
        ({"phone": PHONE, "needs": ["toilet"], "name": "王小明"}, 422, None),
        ({"phone": "1" * 5000, "needs": ["toilet"]}, 422, None),
    ],
)
def test_bad_asks_are_named_and_store_nothing(day: TestClient, body: dict[str, Any], status: int, code: str | None) -> None:
    answer = day.post("/api/visitor/ask", json=body)
    assert answer.status_code == status, answer.text
    if code is not None:
        assert answer.json()["code"] == code
    with day.app.state.services.sessions() as db:  # type: ignore[attr-defined]
        assert db.scalars(select(VisitorAsk)).first() is None


def test_unknown_or_forged_tokens_find_nothing(day: TestClient) -> None:
    ask(day)
    assert day.get("/api/visitor/ask/" + "A" * 32).status_code == 404
    assert day.get("/api/visitor/ask/short").status_code == 422
    assert day.get("/api/visitor/ask/" + "%27%3B--" * 4).status_code in (404, 422)


def test_the_visitors_page_rules_name_the_door_and_the_night(night: TestClient) -> None:
    rules = night.get("/api/visitor/door").json()
    assert rules["door"] == "door" and set(rules["night_needs"]) == {"toilet", "drink_water"}
    assert rules["kept_days"] == 30.0 and rules["timezone"] == "Asia/Shanghai"
    assert night.get("/api/visitor/door?door=nowhere").json()["code"] == "no_visitor_door"
    page = night.get("/v")
    assert page.status_code == 200 and "visitor" in page.text


def test_an_ask_that_let_someone_in_opens_nothing_again_even_when_told_again(night: TestClient) -> None:
    """Found in review: every poll hands out a fresh pass, and the round re-tells ready asks; an ask used once stays
    closed at the door, so a second pass of it (a companion's phone) opens nothing."""
    body = ask(night).json()
    spare = night.get(f"/api/visitor/ask/{body['token']}").json()["door_pass"]["text"]  # a second pass, before the scan
    assert scanned(night, body["door_pass"]["text"])["admitted"]
    live = night.live  # type: ignore[attr-defined]
    with night.app.state.services.sessions() as db:  # type: ignore[attr-defined]
        row = book.get(db, body["id"])
        assert row is not None
        live.bridge.tell(["door"], book.at_door(row))  # the stale "ready" the round could send before it heard
    assert scanned(night, spare)["reason"] == "no_such_ask"
    assert opened(night) == 1
    assert night.post(f"/api/visitors/{body['id']}/refuse", headers=as_role(night, Role.CUSTODIAN)).status_code == 409


def test_a_stale_needs_approval_does_not_undo_the_custodians_approval(night: TestClient) -> None:
    from datetime import UTC, datetime

    body = ask(night, needs=("rest",)).json()
    assert night.post(f"/api/visitors/{body['id']}/approve", headers=as_role(night, Role.CUSTODIAN)).status_code == 200
    with night.app.state.services.sessions.begin() as db:  # type: ignore[attr-defined]
        row = book.get(db, body["id"])
        assert row is not None
        book.settle_by_door(row, {"reason": "needs_approval", "admitted": False}, datetime.now(UTC))
        assert row.status == "ready", "an approved ask cannot need approval: the answer predates the approval"
